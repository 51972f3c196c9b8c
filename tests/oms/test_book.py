"""The order book's indexes: the ever-growing ones are sharded, and read like dicts."""

from __future__ import annotations

from oms.book import SHARDS, UNUSED, OrderBook, ShardedIndex
from oms.model import (
    Account,
    ClOrdID,
    OrderID,
    OrdStatus,
    OrdType,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
    VenueName,
)
from oms.order import Order, OrderTerms

CLIENT1 = SessionID("CLIENT1")


def order(number: int, cl_ord_id: str) -> Order:
    terms = OrderTerms(
        ClOrdID(cl_ord_id), Account("ACC1"), Symbol("AAPL"), Side.BUY, OrdType.LIMIT,
        TimeInForce.DAY, 100, 19_000_000_000, None, None,
    )
    return Order(OrderID(f"O{number}"), CLIENT1, terms, None, OrdStatus.NEW,
                 VenueName("embedded"), 0)


def test_a_sharded_index_reads_like_a_dict_of_the_same_items() -> None:
    index: ShardedIndex[str, int] = ShardedIndex()
    plain = {f"K{i}": i for i in range(5000)}

    for key, value in plain.items():
        index[key] = value

    assert len(index) == len(plain) and sorted(index) == sorted(plain)
    assert dict(index.items()) == plain and sorted(index.values()) == sorted(plain.values())
    assert index["K42"] == 42 and "K42" in index and "nope" not in index
    assert index.get("nope") is None
    assert sum(1 for shard in index.shards if shard) > SHARDS // 2


def test_orders_are_found_by_order_id_and_by_their_sessions_client_order_id() -> None:
    book = OrderBook()
    orders = [order(i, f"C{i}") for i in range(3000)]

    for each in orders:
        book.add(each)

    assert book.get(OrderID("O1234")) is orders[1234]
    assert book.find(CLIENT1, ClOrdID("C1234")) is orders[1234]
    assert book.find_by_order_id(SessionID("CLIENT2"), OrderID("O1234")) is None
    assert book.find(SessionID("CLIENT2"), ClOrdID("C1234")) is None
    assert len(book.by_id) == 3000 and len(book.open_orders()) == 3000


def test_lookup_tells_an_unused_client_order_id_from_one_a_denied_request_used() -> None:
    book = OrderBook()
    placed = order(1, "C1")
    book.add(placed)
    book.use_cl_ord_id(CLIENT1, ClOrdID("DENIED"), None)

    assert book.lookup(CLIENT1, ClOrdID("C1")) is placed
    assert book.lookup(CLIENT1, ClOrdID("DENIED")) is None
    assert book.has_cl_ord_id(CLIENT1, ClOrdID("DENIED"))
    assert book.lookup(CLIENT1, ClOrdID("NEW")) is UNUSED
    assert book.lookup(SessionID("CLIENT2"), ClOrdID("C1")) is UNUSED
