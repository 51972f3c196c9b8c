"""The engine with the real embedded venue: orders cross, rest, cancel and end the day.

CLIENT1 trades for ACC1 and CLIENT2 for ACC2 (config/oms.toml), so orders of the two
sessions may trade with each other, while two orders of one account never do
(self-match prevention cancels the incoming one).
"""

from __future__ import annotations

from decimal import Decimal

from engine_harness import ACC1, ACC2, CLIENT1, CLIENT2, SECOND, T0, EmbeddedHarness

from oms.events import Event
from oms.model import ExecType, OrdStatus, Side, Symbol, TimeInForce, price_from_decimal

X = ExecType
S = OrdStatus
AAPL = Symbol("AAPL")


def labels(messages: list[Event]) -> list[tuple[str | None, str, str]]:
    return [
        (m.cl_ord_id, m.exec_type.label if m.exec_type else "-",
         m.ord_status.label if m.ord_status else "-")
        for m in messages
    ]


def test_crossing_order_fills_both_sides_at_the_resting_price(embedded: EmbeddedHarness) -> None:
    h = embedded
    h.new("B1", 100, "190.00", side=Side.BUY, session=CLIENT1)
    assert labels(h.take()) == [("B1", "New", "New")]

    h.new("S1", 100, "189.00", side=Side.SELL, session=CLIENT2)

    messages = h.take()
    assert labels(messages) == [
        ("S1", "New", "New"),
        ("S1", "Trade", "Filled"),
        ("B1", "Trade", "Filled"),
    ]
    resting_price = price_from_decimal("190.00")
    for trade in messages[1:]:
        assert (trade.last_quantity, trade.last_price) == (100, resting_price)
        assert trade.avg_price == Decimal("190.00")
        assert trade.leaves_quantity == 0
    assert h.engine.book.open_orders() == []
    assert h.engine.risk.usage[ACC1].symbols[AAPL].position == 100
    assert h.engine.risk.usage[ACC2].symbols[AAPL].position == -100


def test_immediate_or_cancel_order_trades_what_it_can_and_its_remainder_is_canceled(
    embedded: EmbeddedHarness,
) -> None:
    h = embedded
    h.new("B1", 100, "190.00", side=Side.BUY, session=CLIENT1)
    h.take()

    h.new("S1", 150, "189.00", side=Side.SELL, session=CLIENT2, tif=TimeInForce.IOC)

    messages = h.take()
    assert labels(messages) == [
        ("S1", "New", "New"),
        ("S1", "Trade", "Partially Filled"),
        ("B1", "Trade", "Filled"),
        ("S1", "Canceled", "Canceled"),
    ]
    canceled = messages[-1]
    assert canceled.orig_cl_ord_id is None
    assert (canceled.cum_quantity, canceled.leaves_quantity) == (100, 0)
    assert "immediate or cancel" in canceled.text
    assert h.engine.book.open_orders() == []


def test_order_that_would_trade_with_its_own_account_is_canceled_with_the_reason(
    embedded: EmbeddedHarness,
) -> None:
    h = embedded
    h.new("B1", 100, "190.00", side=Side.BUY)
    h.take()

    h.new("S1", 100, "189.00", side=Side.SELL)

    messages = h.take()
    assert labels(messages) == [("S1", "New", "New"), ("S1", "Canceled", "Canceled")]
    canceled = messages[-1]
    assert "self-match prevented" in canceled.text
    assert (canceled.cum_quantity, canceled.leaves_quantity) == (0, 0)
    resting = h.order("B1")
    assert (resting.status, resting.cum_quantity) == (S.NEW, 0)
    assert h.engine.book.open_orders(ACC1) == [resting]


def test_end_of_day_ends_day_orders_and_leaves_good_till_cancel_orders_working(
    embedded: EmbeddedHarness,
) -> None:
    h = embedded
    h.new("DAY", 300, "190.00", side=Side.BUY)
    h.new("GTC", 200, "191.00", side=Side.SELL, session=CLIENT2, tif=TimeInForce.GTC)
    h.new("HIT", 100, "190.00", side=Side.SELL, session=CLIENT2)
    h.take()

    h.venue.end_of_day()

    [done] = h.take()
    assert (done.cl_ord_id, done.exec_type, done.ord_status) == ("DAY", X.DONE_FOR_DAY,
                                                                   S.DONE_FOR_DAY)
    assert (done.cum_quantity, done.leaves_quantity) == (100, 0)
    assert [o.terms.cl_ord_id for o in h.engine.book.open_orders()] == ["GTC"]
    assert h.engine.risk.usage[ACC1].open_orders == 0
    assert h.engine.risk.usage[ACC2].open_orders == 1


def test_cancel_and_replace_go_through_the_venue_and_come_back_at_once(
    embedded: EmbeddedHarness,
) -> None:
    h = embedded
    h.new("X", 300, "190.00")
    h.take()

    h.replace("Y", "X", 200, "189.50")
    h.cancel("Z", "Y")

    assert labels(h.take()) == [
        ("Y", "Pending Replace", "Pending Replace"),
        ("Y", "Replaced", "New"),
        ("Z", "Pending Cancel", "Pending Cancel"),
        ("Z", "Canceled", "Canceled"),
    ]
    assert h.venue.depth(AAPL) == ([], [])


def test_good_till_date_order_expires_at_its_expire_time_and_not_before(
    embedded: EmbeddedHarness,
) -> None:
    h = embedded
    expire_at = T0 + 3600 * SECOND
    h.new("G", 100, "190.00", tif=TimeInForce.GTD, expire_time_ns=expire_at)
    h.new("D", 100, "190.00")
    h.take()

    h.engine.expire(expire_at - 1)
    assert h.take() == []

    h.engine.expire(expire_at)

    messages = h.take()
    assert labels(messages) == [("G", "Expired", "Expired")]
    assert messages[0].leaves_quantity == 0
    assert [o.terms.cl_ord_id for o in h.engine.book.open_orders(ACC1)] == ["D"]
