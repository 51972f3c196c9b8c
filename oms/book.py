"""The in-memory order book: every order, indexed the ways the engine and its users ask.

- by OrderID (every order the engine has seen, done ones included);
- by session and ClOrdID: every ClOrdID a session has used, each mapped to the order it
  named (so lookups, uniqueness and status requests are scoped to the session that owns
  the order, and an order of another session is simply not there);
- live orders per account and per instrument;
- each instrument's working orders in bid and ask price levels, for depth.

The engine keeps the indexes current as it applies events; nothing else writes here.

The first two only ever grow. A dict that grows stops whoever inserts into it for a whole
resize, which copies every entry: 1.5 ms at 44,000 entries, 6.5 ms at 175,000 (see
bench/FIGURES.md), a pause on the order path. So each is a `ShardedIndex`: `SHARDS` dicts,
a key's shard chosen by its hash, so that a resize copies one shard's entries only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from oms.levels import PriceLevels
from oms.model import Account, ClOrdID, OrderID, SessionID, Side, Symbol
from oms.order import Order

# A resize copies 1/SHARDS of an index: under 0.5 ms up to about 4 million keys. Each
# index costs SHARDS small dicts (about 60 KiB) once it holds a key in every shard. A
# shard number below 256 is one of Python's cached small ints: nothing is allocated.
SHARDS = 256
SHARD_MASK = SHARDS - 1

Key = TypeVar("Key")
Value = TypeVar("Value")


class ShardedIndex(Generic[Key, Value]):
    """A mapping kept in `SHARDS` dicts, a key's shard chosen by its hash.

    The order path reaches a key's shard itself, `index.shards[hash(key) & SHARD_MASK]`,
    which costs one builtin call more than a dict; the methods are for everything else.
    """

    __slots__ = ("shards",)

    def __init__(self) -> None:
        self.shards: list[dict[Key, Value]] = [{} for _ in range(SHARDS)]

    def get(self, key: Key) -> Value | None:
        return self.shards[hash(key) & SHARD_MASK].get(key)

    def __getitem__(self, key: Key) -> Value:
        return self.shards[hash(key) & SHARD_MASK][key]

    def __setitem__(self, key: Key, value: Value) -> None:
        self.shards[hash(key) & SHARD_MASK][key] = value

    def __contains__(self, key: object) -> bool:
        return key in self.shards[hash(key) & SHARD_MASK]

    def __len__(self) -> int:
        return sum(map(len, self.shards))

    def __iter__(self) -> Iterator[Key]:
        for shard in self.shards:
            yield from shard

    def items(self) -> Iterator[tuple[Key, Value]]:
        for shard in self.shards:
            yield from shard.items()

    def values(self) -> Iterator[Value]:
        for shard in self.shards:
            yield from shard.values()


class InstrumentBook:
    """One instrument's live orders: priced ones in levels, the rest (market, stop) aside."""

    __slots__ = ("bids", "asks", "unpriced")

    def __init__(self) -> None:
        self.bids: PriceLevels[OrderID, Order] = PriceLevels(descending=True)
        self.asks: PriceLevels[OrderID, Order] = PriceLevels(descending=False)
        self.unpriced: dict[OrderID, Order] = {}

    def add(self, order: Order) -> None:
        price = order.terms.price
        if price is None:
            self.unpriced[order.order_id] = order
        elif order.terms.side is Side.BUY:
            self.bids.add(price, order.order_id, order)
        else:
            self.asks.add(price, order.order_id, order)

    def remove(self, order: Order, price: int | None, side: Side) -> None:
        if price is None:
            self.unpriced.pop(order.order_id, None)
        elif side is Side.BUY:
            self.bids.remove(price, order.order_id)
        else:
            self.asks.remove(price, order.order_id)

    def __len__(self) -> int:
        return sum(len(level) for _, level in self.bids.levels()) + sum(
            len(level) for _, level in self.asks.levels()
        ) + len(self.unpriced)

    def orders(self) -> Iterator[Order]:
        yield from self.bids.items()
        yield from self.asks.items()
        yield from self.unpriced.values()


# What `OrderBook.lookup` answers for a ClOrdID the session has never used.
UNUSED = object()


class OrderBook:
    def __init__(self) -> None:
        self.by_id: ShardedIndex[OrderID, Order] = ShardedIndex()
        self._by_session: dict[SessionID, ShardedIndex[ClOrdID, Order | None]] = {}
        self._by_account: dict[Account, dict[OrderID, Order]] = {}
        self._by_symbol: dict[Symbol, InstrumentBook] = {}

    # Lookups.

    def get(self, order_id: OrderID) -> Order | None:
        return self.by_id.shards[hash(order_id) & SHARD_MASK].get(order_id)

    def find(self, session: SessionID, cl_ord_id: ClOrdID) -> Order | None:
        """The order a session's ClOrdID names, or None (unknown, or another session's)."""
        ids = self._by_session.get(session)
        if ids is None:
            return None
        return ids.shards[hash(cl_ord_id) & SHARD_MASK].get(cl_ord_id)

    def lookup(self, session: SessionID, cl_ord_id: ClOrdID) -> object:
        """`find` and `has_cl_ord_id` in one look: the order a session's ClOrdID names,
        None for one a denied request used, or `UNUSED`."""
        ids = self._by_session.get(session)
        if ids is None:
            return UNUSED
        return ids.shards[hash(cl_ord_id) & SHARD_MASK].get(cl_ord_id, UNUSED)

    def find_by_order_id(self, session: SessionID, order_id: OrderID) -> Order | None:
        """An order by OrderID, only if `session` owns it."""
        order = self.by_id.shards[hash(order_id) & SHARD_MASK].get(order_id)
        return order if order is not None and order.session == session else None

    def has_cl_ord_id(self, session: SessionID, cl_ord_id: ClOrdID) -> bool:
        ids = self._by_session.get(session)
        return ids is not None and cl_ord_id in ids.shards[hash(cl_ord_id) & SHARD_MASK]

    # Changes (called by the engine as it applies events).

    def use_cl_ord_id(self, session: SessionID, cl_ord_id: ClOrdID, order: Order | None) -> None:
        """Record that `session` used `cl_ord_id`; the first order it named stays."""
        ids = self._by_session.get(session)
        if ids is None:
            ids = self._by_session[session] = ShardedIndex()
        shard = ids.shards[hash(cl_ord_id) & SHARD_MASK]
        if shard.get(cl_ord_id) is None:
            shard[cl_ord_id] = order

    def add(self, order: Order) -> None:
        order_id = order.order_id
        self.by_id.shards[hash(order_id) & SHARD_MASK][order_id] = order
        # `use_cl_ord_id`, written out: every new order comes this way.
        session = order.session
        ids = self._by_session.get(session)
        if ids is None:
            ids = self._by_session[session] = ShardedIndex()
        cl_ord_id = order.terms.cl_ord_id
        shard = ids.shards[hash(cl_ord_id) & SHARD_MASK]
        if shard.get(cl_ord_id) is None:
            shard[cl_ord_id] = order
        if order.is_live:
            self.work(order)

    def work(self, order: Order) -> None:
        """Put a live order into its account's and its instrument's indexes."""
        terms = order.terms
        account = self._by_account.get(terms.account)
        if account is None:
            account = self._by_account[terms.account] = {}
        account[order.order_id] = order
        self.instrument(terms.symbol).add(order)

    def unwork(self, order: Order, price: int | None, side: Side) -> None:
        """Take an order out of the live indexes (it is done, or about to move price)."""
        account = self._by_account.get(order.terms.account)
        if account is not None:
            account.pop(order.order_id, None)
        book = self._by_symbol.get(order.terms.symbol)
        if book is not None:
            book.remove(order, price, side)

    def instrument(self, symbol: Symbol) -> InstrumentBook:
        book = self._by_symbol.get(symbol)
        if book is None:
            book = self._by_symbol[symbol] = InstrumentBook()
        return book

    # Queries.

    def open_orders(
        self, account: Account | None = None, symbol: Symbol | None = None
    ) -> list[Order]:
        """Live orders, optionally of one account and/or one instrument."""
        if account is not None:
            orders = list(self._by_account.get(account, {}).values())
            return [o for o in orders if symbol is None or o.terms.symbol == symbol]
        if symbol is not None:
            book = self._by_symbol.get(symbol)
            return list(book.orders()) if book is not None else []
        return [order for book in self._by_symbol.values() for order in book.orders()]

    def depth(self, symbol: Symbol, levels: int = 5) -> tuple[list[tuple[int, int, int]], ...]:
        """(price, LeavesQty total, order count) per level, bids then asks, best first."""
        book = self._by_symbol.get(symbol)
        if book is None:
            return [], []
        sides = []
        for side in (book.bids, book.asks):
            rows: list[tuple[int, int, int]] = []
            for price, level in side.levels():
                if len(rows) == levels:
                    break
                rows.append((price, sum(o.leaves_quantity for o in level.values()), len(level)))
            sides.append(rows)
        return sides[0], sides[1]

    def sessions(self) -> Iterator[SessionID]:
        return iter(self._by_session)
