"""The embedded venue's matching engine: price-time priority, order types, self-match
prevention, cancel and replace, session end and expiry, bad input, and invariants that must
hold after any sequence of commands."""

from __future__ import annotations

import gc
import tracemalloc
from itertools import count
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.simvenue.matching import (
    CANCELED_ON_REQUEST,
    IMMEDIATE_OR_CANCEL,
    NO_LIQUIDITY,
    MatchingEngine,
    SelfMatchPolicy,
)
from oms.model import OrdType, Side, TimeInForce

BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = OrdType.MARKET, OrdType.LIMIT, OrdType.STOP, OrdType.STOP_LIMIT
DAY, GTC, IOC, FOK, GTD = (
    TimeInForce.DAY,
    TimeInForce.GTC,
    TimeInForce.IOC,
    TimeInForce.FOK,
    TimeInForce.GTD,
)
TICK = 100


class Recorder:
    """A listener that keeps every callback as a tuple, in the order received."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_accepted(self, ref: str) -> None:
        self.events.append(("accepted", ref))

    def on_rejected(self, ref: str, reason: str) -> None:
        self.events.append(("rejected", ref, reason))

    def on_fill(
        self, ref: str, quantity: int, price: int, trade_id: str, leaves: int, contra_ref: str
    ) -> None:
        self.events.append(("fill", ref, quantity, price, trade_id, leaves, contra_ref))

    def on_canceled(self, ref: str, leaves: int, reason: str) -> None:
        self.events.append(("canceled", ref, leaves, reason))

    def on_replaced(self, ref: str, quantity: int, price: int | None, leaves: int) -> None:
        self.events.append(("replaced", ref, quantity, price, leaves))

    def on_cancel_rejected(self, ref: str, reason: str) -> None:
        self.events.append(("cancel_rejected", ref, reason))

    def on_triggered(self, ref: str) -> None:
        self.events.append(("triggered", ref))

    def on_done_for_day(self, ref: str, leaves: int) -> None:
        self.events.append(("done_for_day", ref, leaves))

    def on_expired(self, ref: str, leaves: int) -> None:
        self.events.append(("expired", ref, leaves))

    def take(self) -> list[tuple[Any, ...]]:
        """The events since the last take, with trade ids left out."""
        events = [e[:4] + e[5:] if e[0] == "fill" else e for e in self.events]
        self.events.clear()
        return events

    def fills(self, ref: str) -> list[tuple[int, int]]:
        return [(e[2], e[3]) for e in self.events if e[0] == "fill" and e[1] == ref]


class Venue:
    """An engine with a recorder, a trade id counter and a settable clock."""

    def __init__(self, policy: SelfMatchPolicy = SelfMatchPolicy.CANCEL_INCOMING) -> None:
        self.recorder = Recorder()
        self.now = 1_000
        trade_numbers = count(1)
        self.engine = MatchingEngine(
            "TEST",
            TICK,
            self.recorder,
            trade_ids=lambda: f"T{next(trade_numbers)}",
            clock=lambda: self.now,
            self_match=policy,
        )

    def limit(
        self, ref: str, side: Side, quantity: int, price: int, *, owner: str = "", tif=DAY
    ) -> None:
        self.engine.submit(ref, owner or f"acct-{ref}", side, LIMIT, tif, quantity, price, None)

    def market(self, ref: str, side: Side, quantity: int, *, owner: str = "", tif=DAY) -> None:
        self.engine.submit(ref, owner or f"acct-{ref}", side, MARKET, tif, quantity, None, None)

    def stop(
        self,
        ref: str,
        side: Side,
        quantity: int,
        stop_price: int,
        price: int | None = None,
        *,
        owner: str = "",
        tif=DAY,
    ) -> None:
        ord_type = STOP if price is None else STOP_LIMIT
        owner = owner or f"acct-{ref}"
        self.engine.submit(ref, owner, side, ord_type, tif, quantity, price, stop_price)

    def take(self) -> list[tuple[Any, ...]]:
        return self.recorder.take()


@pytest.fixture
def venue() -> Venue:
    return Venue()


def p(ticks: int) -> int:
    """A price `ticks` ticks above zero."""
    return ticks * TICK


# -- price-time priority ----------------------------------------------------------------------


def test_buy_fills_against_the_lowest_ask_first(venue: Venue) -> None:
    venue.limit("a2", SELL, 10, p(102))
    venue.limit("a1", SELL, 10, p(101))
    venue.take()
    venue.limit("b", BUY, 10, p(105))
    assert venue.take() == [
        ("accepted", "b"),
        ("fill", "b", 10, p(101), 0, "a1"),
        ("fill", "a1", 10, p(101), 0, "b"),
    ]
    assert venue.engine.best_ask() == p(102)


def test_orders_at_one_price_fill_in_arrival_order(venue: Venue) -> None:
    for ref in ("first", "second", "third"):
        venue.limit(ref, BUY, 5, p(100))
    venue.take()
    venue.limit("s", SELL, 12, p(100))
    fills = [e for e in venue.take() if e[0] == "fill" and e[1] != "s"]
    assert [(e[1], e[2], e[4]) for e in fills] == [
        ("first", 5, 0),
        ("second", 5, 0),
        ("third", 2, 3),
    ]


def test_aggressor_trades_at_resting_price_not_its_own_limit(venue: Venue) -> None:
    venue.limit("b", BUY, 10, p(99))
    venue.limit("s", SELL, 10, p(95))
    assert venue.recorder.fills("s") == [(10, p(99))]
    assert venue.engine.last_trade_price == p(99)


def test_fill_reports_both_sides_each_with_its_own_leaves(venue: Venue) -> None:
    venue.limit("s", SELL, 30, p(100))
    venue.take()
    venue.limit("b", BUY, 10, p(100))
    events = venue.recorder.events
    assert events[1][:4] == ("fill", "b", 10, p(100)) and events[1][5:] == (0, "s")
    assert events[2][:4] == ("fill", "s", 10, p(100)) and events[2][5:] == (20, "b")
    assert events[1][4] == events[2][4], "both sides of one trade share its trade id"


def test_partially_filled_aggressor_rests_remainder_at_its_limit(venue: Venue) -> None:
    venue.limit("s", SELL, 4, p(100))
    venue.limit("b", BUY, 10, p(101))
    view = venue.engine.order("b")
    assert view is not None
    assert (view.quantity, view.filled, view.leaves, view.price) == (10, 4, 6, p(101))
    assert venue.engine.depth(5) == ([(p(101), 6, 1)], [])


def test_partially_filled_resting_order_keeps_its_place_at_the_front(venue: Venue) -> None:
    venue.limit("s1", SELL, 10, p(100))
    venue.limit("s2", SELL, 10, p(100))
    venue.limit("b1", BUY, 4, p(100))
    venue.take()
    venue.limit("b2", BUY, 8, p(100))
    assert [e[1:3] for e in venue.take() if e[0] == "fill" and e[1] != "b2"] == [
        ("s1", 6),
        ("s2", 2),
    ]


def test_aggressor_sweeps_levels_until_its_limit(venue: Venue) -> None:
    for i, ticks in enumerate((100, 101, 102, 103)):
        venue.limit(f"s{i}", SELL, 5, p(ticks))
    venue.limit("b", BUY, 100, p(102))
    assert venue.recorder.fills("b") == [(5, p(100)), (5, p(101)), (5, p(102))]
    assert venue.engine.depth(5) == ([(p(102), 85, 1)], [(p(103), 5, 1)])


# -- immediate or cancel, fill or kill, market ------------------------------------------------


def test_ioc_remainder_is_canceled_after_its_fills(venue: Venue) -> None:
    venue.limit("s", SELL, 3, p(100))
    venue.take()
    venue.limit("b", BUY, 10, p(100), tif=IOC)
    assert venue.take() == [
        ("accepted", "b"),
        ("fill", "b", 3, p(100), 7, "s"),
        ("fill", "s", 3, p(100), 0, "b"),
        ("canceled", "b", 7, IMMEDIATE_OR_CANCEL),
    ]
    assert len(venue.engine) == 0


def test_ioc_that_is_not_marketable_is_canceled_unfilled(venue: Venue) -> None:
    venue.limit("s", SELL, 3, p(101))
    venue.take()
    venue.limit("b", BUY, 10, p(100), tif=IOC)
    assert venue.take() == [("accepted", "b"), ("canceled", "b", 10, IMMEDIATE_OR_CANCEL)]


def test_fok_fills_completely_across_levels(venue: Venue) -> None:
    venue.limit("s1", SELL, 6, p(100))
    venue.limit("s2", SELL, 6, p(101))
    venue.limit("b", BUY, 10, p(101), tif=FOK)
    assert venue.recorder.fills("b") == [(6, p(100)), (4, p(101))]
    assert venue.engine.order("b") is None


def test_fok_without_enough_quantity_is_canceled_without_any_fill(venue: Venue) -> None:
    venue.limit("s1", SELL, 6, p(100))
    venue.limit("s2", SELL, 6, p(102))
    venue.take()
    venue.limit("b", BUY, 10, p(101), tif=FOK)
    events = venue.take()
    assert [e[0] for e in events] == ["accepted", "canceled"]
    assert events[1][:3] == ("canceled", "b", 10)
    assert "fill or kill" in events[1][3] and "6 of 10" in events[1][3]
    assert venue.engine.depth(5)[1] == [(p(100), 6, 1), (p(102), 6, 1)]


def test_fok_with_only_own_liquidity_is_canceled_without_any_fill(venue: Venue) -> None:
    venue.limit("mine", SELL, 50, p(100), owner="acct")
    venue.limit("other", SELL, 5, p(100), owner="other")
    venue.take()
    venue.limit("b", BUY, 10, p(100), owner="acct", tif=FOK)
    events = venue.take()
    assert [e[0] for e in events] == ["accepted", "canceled"]
    assert events[1][1:3] == ("b", 10)
    assert venue.engine.order("mine") is not None, "the resting order is left alone"


def test_market_order_sweeps_the_book_and_cancels_the_rest_for_no_liquidity(
    venue: Venue,
) -> None:
    venue.limit("s1", SELL, 5, p(100))
    venue.limit("s2", SELL, 5, p(150))
    venue.take()
    venue.market("m", BUY, 12)
    events = venue.take()
    assert [e for e in events if e[1] == "m"] == [
        ("accepted", "m"),
        ("fill", "m", 5, p(100), 7, "s1"),
        ("fill", "m", 5, p(150), 2, "s2"),
        ("canceled", "m", 2, NO_LIQUIDITY),
    ]


def test_market_order_on_an_empty_side_is_canceled_for_no_liquidity(venue: Venue) -> None:
    venue.limit("b", BUY, 5, p(100))
    venue.take()
    venue.market("m", BUY, 12)
    assert venue.take() == [("accepted", "m"), ("canceled", "m", 12, NO_LIQUIDITY)]


@pytest.mark.parametrize("side", [Side.SELL, Side.SELL_SHORT, Side.SELL_SHORT_EXEMPT])
def test_every_sell_side_takes_the_sell_side_of_the_book(venue: Venue, side: Side) -> None:
    venue.limit("b", BUY, 5, p(100))
    venue.limit("s", side, 5, p(100))
    assert venue.recorder.fills("s") == [(5, p(100))]
    venue.limit("s2", side, 5, p(101))
    assert venue.engine.best_ask() == p(101)


# -- stops ------------------------------------------------------------------------------------


def trade_at(venue: Venue, ticks: int, quantity: int = 1) -> None:
    """Two other accounts trade `quantity` at `ticks`."""
    venue.limit(f"mk{len(venue.recorder.events)}", SELL, quantity, p(ticks), owner="maker")
    venue.limit(f"tk{len(venue.recorder.events)}", BUY, quantity, p(ticks), owner="taker")


def test_stop_waits_outside_the_book_until_a_trade_reaches_it(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.limit("ask", SELL, 50, p(106))
    venue.stop("st", BUY, 10, p(105))
    assert venue.engine.depth(5) == ([], [(p(106), 50, 1)])
    view = venue.engine.order("st")
    assert view is not None and not view.in_book and view.ord_type is STOP
    trade_at(venue, 104)
    assert venue.recorder.fills("st") == []
    venue.take()
    trade_at(venue, 105)
    events = venue.take()
    assert ("triggered", "st") in events
    assert ("fill", "st", 10, p(106), 0, "ask") in events


def test_sell_stop_triggers_on_a_trade_at_or_below_its_stop(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.limit("bid", BUY, 50, p(90))
    venue.stop("st", SELL, 10, p(95))
    trade_at(venue, 96)
    assert venue.engine.order("st") is not None
    trade_at(venue, 95)
    assert venue.recorder.fills("st") == [(10, p(90))]


def test_stop_limit_enters_the_book_at_its_limit_after_the_trigger(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.stop("st", BUY, 10, p(102), p(103))
    trade_at(venue, 102)
    view = venue.engine.order("st")
    assert view is not None and view.in_book and view.ord_type is STOP_LIMIT
    assert venue.engine.best_bid() == p(103)


def test_triggered_stop_limit_queues_behind_orders_already_at_its_price(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.stop("st", BUY, 10, p(101), p(99))
    venue.limit("early", BUY, 10, p(99))
    trade_at(venue, 101)
    venue.limit("late", BUY, 10, p(99))
    venue.take()
    venue.limit("s", SELL, 30, p(99))
    order = [e[1] for e in venue.take() if e[0] == "fill" and e[1] != "s"]
    assert order == ["early", "st", "late"]


def test_stop_whose_condition_already_holds_triggers_on_submission(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.limit("ask", SELL, 10, p(100))
    venue.take()
    venue.stop("st", BUY, 10, p(99))
    assert venue.take() == [
        ("accepted", "st"),
        ("triggered", "st"),
        ("fill", "st", 10, p(100), 0, "ask"),
        ("fill", "ask", 10, p(100), 0, "st"),
    ]


def test_stop_before_any_trade_waits(venue: Venue) -> None:
    venue.limit("ask", SELL, 10, p(100))
    venue.stop("st", BUY, 10, p(1))
    assert venue.engine.order("st") is not None
    assert venue.recorder.fills("st") == []


def test_triggered_stops_cascade_through_each_other(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.limit("a1", SELL, 10, p(101))
    venue.limit("a2", SELL, 10, p(103))
    venue.limit("a3", SELL, 10, p(106))
    venue.stop("st1", BUY, 10, p(101))
    venue.stop("st2", BUY, 10, p(103))
    venue.take()
    venue.limit("b", BUY, 10, p(101))
    events = venue.take()
    assert [e[1] for e in events if e[0] == "triggered"] == ["st1", "st2"]
    fills = [e for e in events if e[0] == "fill" and e[1].startswith("st")]
    assert [(e[1], e[3]) for e in fills] == [("st1", p(103)), ("st2", p(106))]
    assert venue.engine.last_trade_price == p(106)


def test_sweep_triggers_stops_at_prices_it_trades_through(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.stop("sell-stop", SELL, 5, p(99))
    venue.limit("bid", BUY, 5, p(90))
    venue.limit("a1", SELL, 5, p(98))
    venue.limit("a2", SELL, 5, p(104))
    venue.take()
    # The sweep trades at 98, below the sell stop, and then at 104, above it.
    venue.limit("b", BUY, 10, p(104))
    events = venue.take()
    assert ("triggered", "sell-stop") in events
    assert ("fill", "sell-stop", 5, p(90), 0, "bid") in events
    assert venue.engine.last_trade_price == p(90)


def test_triggered_stop_market_remainder_is_canceled_for_no_liquidity(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.limit("ask", SELL, 4, p(101))
    venue.stop("st", BUY, 10, p(100))
    assert venue.take()[-1] == ("canceled", "st", 6, NO_LIQUIDITY)


def test_cancel_removes_an_untriggered_stop(venue: Venue) -> None:
    venue.stop("st", BUY, 10, p(105))
    assert venue.engine.cancel("st")
    trade_at(venue, 110)
    assert ("triggered", "st") not in venue.take()


# -- self-match prevention --------------------------------------------------------------------


def test_self_match_cancel_incoming_cancels_the_incoming_order_and_keeps_resting(
    venue: Venue,
) -> None:
    venue.limit("other", SELL, 5, p(100), owner="x")
    venue.limit("mine", SELL, 5, p(100), owner="me")
    venue.limit("beyond", SELL, 5, p(100), owner="y")
    venue.take()
    venue.limit("b", BUY, 20, p(100), owner="me")
    assert venue.take() == [
        ("accepted", "b"),
        ("fill", "b", 5, p(100), 15, "other"),
        ("fill", "other", 5, p(100), 0, "b"),
        ("canceled", "b", 15, "self-match prevented: would trade against own resting order mine"),
    ]
    assert venue.engine.depth(5) == ([], [(p(100), 10, 2)])


def test_self_match_cancel_resting_cancels_resting_and_keeps_matching() -> None:
    venue = Venue(SelfMatchPolicy.CANCEL_RESTING)
    venue.limit("mine", SELL, 5, p(100), owner="me")
    venue.limit("other", SELL, 5, p(100), owner="x")
    venue.take()
    venue.limit("b", BUY, 5, p(100), owner="me")
    events = venue.take()
    assert events[1][:3] == ("canceled", "mine", 5) and "self-match" in events[1][3]
    assert events[2:] == [
        ("fill", "b", 5, p(100), 0, "other"),
        ("fill", "other", 5, p(100), 0, "b"),
    ]
    assert len(venue.engine) == 0


def test_self_match_cancel_both_cancels_resting_and_incoming() -> None:
    venue = Venue(SelfMatchPolicy.CANCEL_BOTH)
    venue.limit("mine", SELL, 5, p(100), owner="me")
    venue.limit("other", SELL, 5, p(100), owner="x")
    venue.take()
    venue.limit("b", BUY, 8, p(100), owner="me")
    events = venue.take()
    assert [e[:3] for e in events] == [
        ("accepted", "b"),
        ("canceled", "mine", 5),
        ("canceled", "b", 8),
    ]
    assert "own resting order mine" in events[2][3]
    assert venue.engine.depth(5) == ([], [(p(100), 5, 1)])


def test_fok_that_would_reach_its_own_order_midway_is_canceled_without_any_fill(
    venue: Venue,
) -> None:
    venue.limit("other1", SELL, 5, p(100), owner="x")
    venue.limit("mine", SELL, 5, p(100), owner="me")
    venue.limit("other2", SELL, 50, p(101), owner="y")
    venue.take()
    venue.limit("b", BUY, 10, p(101), owner="me", tif=FOK)
    events = venue.take()
    assert [e[0] for e in events] == ["accepted", "canceled"]
    assert "only 5 of 10" in events[1][3]


def test_self_match_cancel_resting_clears_own_orders_across_a_sweep() -> None:
    venue = Venue(SelfMatchPolicy.CANCEL_RESTING)
    venue.limit("mine1", SELL, 5, p(100), owner="me")
    venue.limit("other1", SELL, 5, p(100), owner="x")
    venue.limit("mine2", SELL, 5, p(101), owner="me")
    venue.limit("other2", SELL, 5, p(102), owner="y")
    venue.take()
    venue.market("b", BUY, 10, owner="me")
    events = venue.take()
    assert [e[:2] for e in events if e[0] == "canceled"] == [
        ("canceled", "mine1"),
        ("canceled", "mine2"),
    ]
    assert len(venue.engine) == 0
    assert [e[1:4] for e in events if e[0] == "fill" and e[1] == "b"] == [
        ("b", 5, p(100)),
        ("b", 5, p(102)),
    ]


def test_market_fok_fills_completely_or_not_at_all(venue: Venue) -> None:
    venue.limit("s", SELL, 5, p(100))
    venue.market("m1", BUY, 6, tif=FOK)
    assert venue.recorder.fills("m1") == []
    venue.market("m2", BUY, 5, tif=FOK)
    assert venue.recorder.fills("m2") == [(5, p(100))]


def test_fok_under_cancel_resting_counts_only_other_owners_liquidity() -> None:
    venue = Venue(SelfMatchPolicy.CANCEL_RESTING)
    venue.limit("mine", SELL, 10, p(100), owner="me")
    venue.limit("other", SELL, 6, p(100), owner="x")
    venue.take()
    venue.limit("b", BUY, 8, p(100), owner="me", tif=FOK)
    assert [e[0] for e in venue.take()] == ["accepted", "canceled"]
    assert venue.engine.order("mine") is not None
    venue.limit("b2", BUY, 6, p(100), owner="me", tif=FOK)
    assert venue.recorder.fills("b2") == [(6, p(100))]
    assert venue.engine.order("mine") is None, "the own resting order met on the way is canceled"


# -- cancel -----------------------------------------------------------------------------------


def test_cancel_of_a_resting_order_reports_its_leaves_and_the_request(venue: Venue) -> None:
    venue.limit("b", BUY, 10, p(100))
    venue.limit("s", SELL, 3, p(100))
    venue.take()
    assert venue.engine.cancel("b") is True
    assert venue.take() == [("canceled", "b", 7, CANCELED_ON_REQUEST)]
    assert venue.engine.depth(5) == ([], [])


@pytest.mark.parametrize("ref", ["never", "filled", 7, None])
def test_cancel_of_an_order_that_is_not_working_is_rejected(venue: Venue, ref: Any) -> None:
    venue.limit("filled", BUY, 1, p(100))
    venue.limit("s", SELL, 1, p(100))
    venue.take()
    assert venue.engine.cancel(ref) is False
    events = venue.take()
    assert events[0][:2] == ("cancel_rejected", ref) and repr(ref) in events[0][2]


# -- replace ----------------------------------------------------------------------------------


def fill_order(venue: Venue) -> list[str]:
    """Sell into the bids at p(100) and return who got filled, in order."""
    venue.take()
    venue.limit("hit", SELL, 1_000, p(100), tif=IOC)
    return [e[1] for e in venue.take() if e[0] == "fill" and e[1] != "hit"]


def test_replace_that_only_lowers_quantity_keeps_time_priority(venue: Venue) -> None:
    venue.limit("b1", BUY, 10, p(100))
    venue.limit("b2", BUY, 10, p(100))
    assert venue.engine.replace("b1", 5, p(100), None)
    assert venue.take()[-1] == ("replaced", "b1", 5, p(100), 5)
    assert fill_order(venue) == ["b1", "b2"]


@pytest.mark.parametrize(("quantity", "ticks"), [(15, 100), (10, 99)])
def test_replace_raising_quantity_or_changing_price_loses_time_priority(
    venue: Venue, quantity: int, ticks: int
) -> None:
    venue.limit("b1", BUY, 10, p(100))
    venue.limit("b2", BUY, 10, p(100))
    assert venue.engine.replace("b1", quantity, p(ticks), None)
    if ticks != 100:
        venue.engine.replace("b1", quantity, p(100), None)
    assert fill_order(venue) == ["b2", "b1"]


def test_replace_quantity_counts_what_is_already_filled(venue: Venue) -> None:
    venue.limit("b", BUY, 10, p(100))
    venue.limit("s", SELL, 4, p(100))
    venue.take()
    venue.engine.replace("b", 8, p(100), None)
    assert venue.take() == [("replaced", "b", 8, p(100), 4)]
    view = venue.engine.order("b")
    assert view is not None and (view.quantity, view.filled, view.leaves) == (8, 4, 4)


@pytest.mark.parametrize("quantity", [4, 3, 0])
def test_replace_to_quantity_at_or_below_filled_finishes_the_order(
    venue: Venue, quantity: int
) -> None:
    venue.limit("b", BUY, 10, p(100))
    venue.limit("s", SELL, 4, p(100))
    venue.take()
    assert venue.engine.replace("b", quantity, p(100), None)
    assert venue.take() == [("replaced", "b", quantity, p(100), 0)]
    assert venue.engine.order("b") is None and venue.engine.depth(5) == ([], [])


def test_replace_to_a_marketable_price_trades_at_once(venue: Venue) -> None:
    venue.limit("b", BUY, 10, p(99))
    venue.limit("s", SELL, 6, p(101))
    venue.take()
    venue.engine.replace("b", 10, p(101), None)
    assert venue.take() == [
        ("replaced", "b", 10, p(101), 10),
        ("fill", "b", 6, p(101), 4, "s"),
        ("fill", "s", 6, p(101), 0, "b"),
    ]
    assert venue.engine.depth(5) == ([(p(101), 4, 1)], [])


def test_replace_of_a_stop_price_that_now_holds_triggers_it(venue: Venue) -> None:
    trade_at(venue, 100)
    venue.limit("ask", SELL, 10, p(101))
    venue.stop("st", BUY, 10, p(105))
    venue.take()
    venue.engine.replace("st", 10, None, p(100))
    assert venue.take() == [
        ("replaced", "st", 10, None, 10),
        ("triggered", "st"),
        ("fill", "st", 10, p(101), 0, "ask"),
        ("fill", "ask", 10, p(101), 0, "st"),
    ]


@pytest.mark.parametrize(
    ("quantity", "price", "stop_price", "words"),
    [
        (-1, p(100), None, "OrderQty(38) -1"),
        (5, None, None, "Price(44) is required"),
        (5, p(100) + 1, None, "Price(44) 10001 is not on the tick grid"),
        (5, p(100), p(100), "StopPx(99) 10000 is not allowed"),
    ],
)
def test_replace_with_bad_values_is_refused_and_leaves_the_order_alone(
    venue: Venue, quantity: int, price: int | None, stop_price: int | None, words: str
) -> None:
    venue.limit("b", BUY, 10, p(100))
    venue.take()
    assert venue.engine.replace("b", quantity, price, stop_price) is False
    events = venue.take()
    assert events[0][:2] == ("cancel_rejected", "b") and words in events[0][2]
    assert venue.engine.depth(5) == ([(p(100), 10, 1)], [])


def test_replace_of_an_unknown_order_is_refused(venue: Venue) -> None:
    assert venue.engine.replace("nope", 5, p(100), None) is False
    assert venue.take()[0][:2] == ("cancel_rejected", "nope")


# -- end of day and expiry --------------------------------------------------------------------


def test_end_of_day_ends_day_orders_and_waiting_day_or_ioc_stops_and_keeps_gtc_and_gtd(
    venue: Venue,
) -> None:
    venue.limit("day", BUY, 10, p(100))
    venue.limit("gtc", BUY, 10, p(99), tif=GTC)
    venue.engine.submit(
        "gtd", "a", SELL, LIMIT, GTD, 10, p(105), None, expire_time_ns=venue.now + 10
    )
    venue.stop("day-stop", SELL, 7, p(90))
    venue.stop("gtc-stop", SELL, 7, p(90), tif=GTC)
    venue.stop("ioc-stop", SELL, 3, p(90), tif=IOC)
    venue.take()
    venue.engine.end_of_day()
    assert venue.take() == [
        ("done_for_day", "day", 10),
        ("done_for_day", "day-stop", 7),
        ("done_for_day", "ioc-stop", 3),
    ]
    assert len(venue.engine) == 3


def test_expire_ends_gtd_orders_whose_time_has_passed(venue: Venue) -> None:
    now = venue.now
    for ref, delay in (("late", 300), ("early", 100), ("gone", 50)):
        venue.engine.submit(ref, ref, BUY, LIMIT, GTD, 5, p(100), None, expire_time_ns=now + delay)
    venue.engine.cancel("gone")
    venue.take()
    assert venue.engine.expire(now + 99) == 0
    assert venue.engine.expire(now + 100) == 1
    assert venue.take() == [("expired", "early", 5)]
    assert venue.engine.order("late") is not None


@pytest.mark.parametrize(
    ("tif", "expire_time_ns", "words"),
    [
        (GTD, None, "ExpireTime(126) is required"),
        (GTD, 1_000, "ExpireTime(126) 1000 has already passed"),
        (GTD, 1.5e9, "ExpireTime(126) 1500000000.0 is not a time"),
        (DAY, 5_000, "ExpireTime(126) 5000 is only allowed with TimeInForce(59) GTD"),
    ],
)
def test_bad_expire_time_is_rejected(
    venue: Venue, tif: TimeInForce, expire_time_ns: Any, words: str
) -> None:
    venue.engine.submit("o", "a", BUY, LIMIT, tif, 5, p(100), None, expire_time_ns=expire_time_ns)
    events = venue.take()
    assert events[0][:2] == ("rejected", "o") and words in events[0][2]


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"quantity": 0}, "OrderQty(38) 0 is not a positive whole number"),
        ({"quantity": -5}, "OrderQty(38) -5"),
        ({"quantity": 1.5}, "OrderQty(38) 1.5"),
        ({"quantity": True}, "OrderQty(38) True"),
        ({"price": None}, "Price(44) is required with OrdType(40) LIMIT"),
        ({"price": p(100) + 7}, "Price(44) 10007 is not on the tick grid (tick 100)"),
        ({"price": -p(1)}, "Price(44) -100 is not a positive price"),
        ({"price": "100"}, "Price(44) '100' is not a positive price"),
        ({"ord_type": "P"}, "OrdType(40) 'P' is not supported"),
        ({"ord_type": "2"}, "OrdType(40) '2' is not supported"),
        ({"side": "9"}, "Side(54) '9' is not supported"),
        ({"tif": "7"}, "TimeInForce(59) '7' is not supported"),
        ({"ord_type": MARKET}, "Price(44) 10000 is not allowed with OrdType(40) MARKET"),
        ({"stop_price": p(100)}, "StopPx(99) 10000 is not allowed with OrdType(40) LIMIT"),
        ({"ord_type": STOP_LIMIT}, "StopPx(99) is required with OrdType(40) STOP_LIMIT"),
        ({"ord_type": STOP_LIMIT, "stop_price": 150}, "StopPx(99) 150 is not on the tick grid"),
        ({"ref": ""}, "order reference '' is not a non-empty string"),
    ],
)
def test_bad_new_order_is_rejected_with_a_reason_naming_field_and_value(
    venue: Venue, fields: dict[str, Any], words: str
) -> None:
    order: dict[str, Any] = {
        "ref": "o",
        "owner": "a",
        "side": BUY,
        "ord_type": LIMIT,
        "tif": DAY,
        "quantity": 10,
        "price": p(100),
        "stop_price": None,
    } | fields
    venue.engine.submit(**order)
    events = venue.take()
    assert len(events) == 1
    assert events[0][:2] == ("rejected", order["ref"])
    assert words in events[0][2]
    assert len(venue.engine) == 0


def test_duplicate_reference_of_a_working_order_is_rejected(venue: Venue) -> None:
    venue.limit("o", BUY, 10, p(100))
    venue.take()
    venue.limit("o", SELL, 10, p(101))
    events = venue.take()
    assert events[0][:2] == ("rejected", "o") and "duplicate order reference 'o'" in events[0][2]
    assert venue.engine.depth(5) == ([(p(100), 10, 1)], [])


def test_engine_with_a_bad_tick_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="tick 0"):
        MatchingEngine("X", 0, Recorder(), trade_ids=str, clock=int)


# -- queries ----------------------------------------------------------------------------------


def test_depth_reports_price_quantity_and_count_best_first(venue: Venue) -> None:
    venue.limit("b1", BUY, 10, p(99))
    venue.limit("b2", BUY, 5, p(100))
    venue.limit("b3", BUY, 7, p(99))
    venue.limit("b4", BUY, 1, p(98))
    venue.limit("a1", SELL, 3, p(102))
    venue.limit("a2", SELL, 4, p(101))
    assert venue.engine.depth(2) == (
        [(p(100), 5, 1), (p(99), 17, 2)],
        [(p(101), 4, 1), (p(102), 3, 1)],
    )
    assert venue.engine.depth(0) == ([], [])
    assert (venue.engine.best_bid(), venue.engine.best_ask()) == (p(100), p(101))


def test_order_reports_the_state_of_a_working_order(venue: Venue) -> None:
    venue.engine.submit("o", "acct", BUY, LIMIT, GTC, 10, p(100), None)
    venue.limit("s", SELL, 4, p(100))
    view = venue.engine.order("o")
    assert view is not None
    assert view._asdict() == {
        "ref": "o",
        "owner": "acct",
        "side": BUY,
        "ord_type": LIMIT,
        "time_in_force": GTC,
        "quantity": 10,
        "filled": 4,
        "leaves": 6,
        "price": p(100),
        "stop_price": None,
        "expire_time_ns": None,
        "in_book": True,
    }
    assert venue.engine.order("s") is None and venue.engine.order("never") is None


class Quiet(Recorder):
    """Keeps no acceptances, so that a memory figure is the engine's own."""

    def on_accepted(self, ref: str) -> None:
        pass


def test_resting_orders_cost_the_engine_under_250_bytes_each() -> None:
    engine = MatchingEngine("TEST", TICK, Quiet(), trade_ids=str, clock=int)
    number = 100_000
    refs = [f"r{n}" for n in range(number)]
    prices = [p(100 - n % 50) for n in range(number)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for ref, price in zip(refs, prices, strict=True):
            engine.submit(ref, "acct", BUY, LIMIT, GTC, 100, price, None)
        allocated = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(engine) == number
    assert allocated / number < 250


# -- determinism ------------------------------------------------------------------------------


def scripted_session(venue: Venue) -> list[tuple[Any, ...]]:
    trade_at(venue, 100)
    for i in range(20):
        side = BUY if i % 3 else SELL
        venue.limit(f"o{i}", side, 5 + i, p(95 + (i * 7) % 11), owner=f"acct{i % 4}")
    venue.stop("st", SELL, 10, p(99))
    venue.engine.replace("o4", 30, p(104), None)
    venue.engine.cancel("o7")
    venue.market("m", SELL, 40, owner="acct1")
    venue.engine.end_of_day()
    return venue.recorder.events


def test_same_input_twice_gives_identical_callback_streams() -> None:
    first = scripted_session(Venue())
    second = scripted_session(Venue())
    assert first == second
    assert any(e[0] == "fill" for e in first)


# -- invariants under random commands ---------------------------------------------------------

owners = st.sampled_from(["acct1", "acct2", "acct3"])
ticks = st.integers(97, 103)
quantities = st.integers(1, 30)
new_orders = st.tuples(
    st.just("new"),
    st.sampled_from([BUY, SELL, Side.SELL_SHORT]),
    st.sampled_from([LIMIT, LIMIT, LIMIT, MARKET, STOP, STOP_LIMIT]),
    st.sampled_from([DAY, GTC, IOC, FOK, GTD]),
    quantities,
    ticks,
    ticks,
    owners,
)
commands = st.one_of(
    new_orders,
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("replace"), st.integers(0, 40), st.integers(0, 40), ticks, ticks),
    st.tuples(st.just("end_of_day")),
    st.tuples(st.just("expire"), st.integers(0, 50)),
)


class Model:
    """What the callbacks say about each order, to check against what the engine says."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.orders: dict[str, dict[str, Any]] = {}
        self.seen = 0

    def absorb(self) -> None:
        events = self.venue.recorder.events
        trades: dict[str, list[tuple[Any, ...]]] = {}
        for event in events[self.seen :]:
            kind, ref = event[0], event[1]
            if kind == "cancel_rejected":
                continue
            state = self.orders[ref]
            assert not state["done"], f"{kind} for {ref} after it was done"
            if kind == "rejected":
                state["done"] = True
            elif kind == "fill":
                _, _, quantity, price, trade_id, leaves, _ = event
                state["filled"] += quantity
                assert state["quantity"] - state["filled"] == leaves
                limit = state["price"]
                if limit is not None:
                    assert price <= limit if state["buy"] else price >= limit
                trades.setdefault(trade_id, []).append(event)
                state["done"] = leaves == 0
            elif kind in ("canceled", "done_for_day", "expired"):
                assert event[2] == state["quantity"] - state["filled"]
                state["done"] = True
            elif kind == "replaced":
                _, _, quantity, price, leaves = event
                state["quantity"], state["price"] = quantity, price
                assert leaves == max(quantity - state["filled"], 0)
                state["done"] = leaves == 0
        for trade in trades.values():
            assert len(trade) == 2
            one, other = trade
            assert one[1] == other[6] and other[1] == one[6] and one[2:4] == other[2:4]
            assert self.orders[one[1]]["buy"] != self.orders[other[1]]["buy"]
            assert self.orders[one[1]]["owner"] != self.orders[other[1]]["owner"]
        self.seen = len(events)

    def check(self) -> None:
        self.absorb()
        engine = self.venue.engine
        bid, ask = engine.best_bid(), engine.best_ask()
        assert bid is None or ask is None or bid < ask, "the book is crossed"
        resting: dict[tuple[bool, int], list[int]] = {}
        live = 0
        for ref, state in self.orders.items():
            view = engine.order(ref)
            assert (view is None) == state["done"], ref
            if view is None:
                continue
            live += 1
            assert view.filled + view.leaves == view.quantity == state["quantity"]
            assert view.filled == state["filled"] and view.leaves > 0
            if view.in_book:
                assert view.price is not None
                resting.setdefault((state["buy"], view.price), []).append(view.leaves)
        assert len(engine) == live
        bids, asks = engine.depth(1_000)
        from_book = {(True, p): (q, n) for p, q, n in bids} | {
            (False, p): (q, n) for p, q, n in asks
        }
        assert from_book == {key: (sum(leaves), len(leaves)) for key, leaves in resting.items()}
        bought = sum(s["filled"] for s in self.orders.values() if s["buy"])
        sold = sum(s["filled"] for s in self.orders.values() if not s["buy"])
        assert bought == sold
        for state in self.orders.values():
            if state["fok"]:
                assert state["filled"] in (0, state["quantity"]), "fill or kill filled in part"


@pytest.mark.parametrize("policy", list(SelfMatchPolicy))
@settings(max_examples=150, deadline=None)
@given(script=st.lists(commands, max_size=60))
def test_random_commands_keep_the_book_consistent(
    policy: SelfMatchPolicy, script: list[tuple[Any, ...]]
) -> None:
    venue = Venue(policy)
    engine = venue.engine
    model = Model(venue)
    refs: list[str] = []
    for number, command in enumerate(script):
        kind = command[0]
        if kind == "new":
            _, side, ord_type, tif, quantity, price, stop, owner = command
            ref = f"o{number}"
            refs.append(ref)
            limit = p(price) if ord_type in (LIMIT, STOP_LIMIT) else None
            stop_price = p(stop) if ord_type in (STOP, STOP_LIMIT) else None
            expire = venue.now + 20 if tif is GTD else None
            model.orders[ref] = {
                "buy": side is BUY,
                "owner": owner,
                "quantity": quantity,
                "price": limit,
                "filled": 0,
                "done": False,
                "fok": tif is FOK,
            }
            engine.submit(
                ref, owner, side, ord_type, tif, quantity, limit, stop_price, expire_time_ns=expire
            )
        elif kind == "cancel" and refs:
            engine.cancel(refs[command[1] % len(refs)])
        elif kind == "replace" and refs:
            ref = refs[command[1] % len(refs)]
            view = engine.order(ref)
            if view is not None:
                price = None if view.price is None else p(command[3])
                stop_price = None if view.stop_price is None else p(command[4])
                engine.replace(ref, command[2], price, stop_price)
        elif kind == "end_of_day":
            engine.end_of_day()
        elif kind == "expire":
            venue.now += command[1]
            engine.expire(venue.now)
        model.check()
