"""Cancels and replaces the engine refuses before anything is sent to the venue.

A replace restates the order: it must carry the order's Account, Side and Symbol, a
Price where the OrdType has one, and may not change what the venues cannot change
(OrdType, TimeInForce, ExpireTime). A cancel must name the order's Symbol and Side. Both
must name the order by its current ClOrdID. Each refusal is one OrderCancelReject with
CxlRejReason 99 (Other) and a text naming the tag and both values; no Pending report goes
out first, and the order, the book and the risk usage stay as they were.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
from engine_harness import ACC1, T0, ScriptedHarness

from oms.engine import NO_ORDER_ID
from oms.events import EventKind
from oms.model import (
    Account,
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdStatus,
    OrdType,
    Side,
    Symbol,
    TimeInForce,
)

HOUR = 3600 * 1_000_000_000


class BadReplace(NamedTuple):
    id: str
    fields: dict[str, Any]
    # The text must name these: the field with its tag, and the values.
    named: tuple[str, ...]


BAD_REPLACES = [
    BadReplace("another account", {"account": Account("ACC2")},
               ("Account(1)", "ACC1", "ACC2")),
    BadReplace("another side", {"side": Side.SELL}, ("Side(54)", "buy", "sell")),
    BadReplace("another symbol", {"symbol": Symbol("MSFT")}, ("Symbol(55)", "AAPL", "MSFT")),
    BadReplace("limit order without a price", {"price": None},
               ("Price(44)", "required", "limit")),
    BadReplace("to a market order without a price",
               {"ord_type": OrdType.MARKET, "price": None}, ("OrdType(40)", "limit", "market")),
    BadReplace("to a stop order", {"ord_type": OrdType.STOP, "price": None,
                                   "stop_price": 18_900_000_000},
               ("OrdType(40)", "limit", "stop")),
    BadReplace("to immediate or cancel", {"time_in_force": TimeInForce.IOC},
               ("TimeInForce(59)", "day", "ioc")),
    BadReplace("to fill or kill", {"time_in_force": TimeInForce.FOK},
               ("TimeInForce(59)", "day", "fok")),
    BadReplace("to good till cancel", {"time_in_force": TimeInForce.GTC},
               ("TimeInForce(59)", "day", "gtc")),
]


def working_part_filled(h: ScriptedHarness) -> None:
    h.working("X", 1000, "190.00")
    h.venue.fill(300, "190.00")
    h.take()


class Before(NamedTuple):
    """What a refused request must leave as it was."""

    state: dict[str, Any]
    events: int
    venue_calls: int


def before(h: ScriptedHarness) -> Before:
    calls = len(h.venue.calls_of("replace")) + len(h.venue.calls_of("cancel"))
    return Before(h.state(), len(h.events), calls)


def assert_refused_and_nothing_changed(
    h: ScriptedHarness, was: Before, response_to: CxlRejResponseTo, named: tuple[str, ...],
) -> None:
    [reject] = h.take()
    assert reject.is_cancel_reject
    assert (reject.cxl_rej_reason, reject.cxl_rej_response_to) == (
        CxlRejReason.OTHER, response_to,
    )
    assert reject.ord_status is OrdStatus.PARTIALLY_FILLED
    for name in named:
        assert name in (reject.text or ""), f"{name!r} not named in {reject.text!r}"
    assert h.state() == was.state
    calls = len(h.venue.calls_of("replace")) + len(h.venue.calls_of("cancel"))
    assert calls == was.venue_calls
    assert not any(
        e.kind in (EventKind.PENDING_REPLACE, EventKind.PENDING_CANCEL)
        for e in h.events[was.events:]
    )


@pytest.mark.parametrize("bad", BAD_REPLACES, ids=[b.id for b in BAD_REPLACES])
def test_replace_with_a_term_that_cannot_change_is_refused_naming_it_and_changes_nothing(
    h: ScriptedHarness, bad: BadReplace,
) -> None:
    working_part_filled(h)
    was = before(h)
    fields = {"price": "190.00", **bad.fields}

    h.replace("Y", "X", 800, **fields)

    assert_refused_and_nothing_changed(h, was, CxlRejResponseTo.REPLACE, bad.named)


def test_replace_of_a_good_till_date_order_to_another_expire_time_is_refused(
    h: ScriptedHarness,
) -> None:
    h.working("X", 1000, "190.00", tif=TimeInForce.GTD, expire_time_ns=T0 + HOUR)
    h.venue.fill(300, "190.00")
    h.take()
    was = before(h)

    h.replace("Y", "X", 800, "190.00", expire_time_ns=T0 + 2 * HOUR)

    assert_refused_and_nothing_changed(
        h, was, CxlRejResponseTo.REPLACE,
        ("ExpireTime(126)", "2024-06-03T14:30:00", "2024-06-03T15:30:00"),
    )


def test_replace_restating_every_term_with_a_new_quantity_and_price_is_pending_replace(
    h: ScriptedHarness,
) -> None:
    working_part_filled(h)

    h.replace(
        "Y", "X", 800, "190.05", account=ACC1, side=Side.BUY, symbol=Symbol("AAPL"),
        ord_type=OrdType.LIMIT, time_in_force=TimeInForce.DAY,
    )

    [pending] = h.take()
    assert pending.exec_type is ExecType.PENDING_REPLACE
    [call] = h.venue.calls_of("replace")
    assert (call.terms.quantity, call.terms.price) == (800, 19_005_000_000)


@pytest.mark.parametrize(
    ("restated", "named"),
    [({"symbol": Symbol("MSFT")}, ("Symbol(55)", "MSFT", "AAPL")),
     ({"side": Side.SELL}, ("Side(54)", "sell", "buy"))],
    ids=["symbol", "side"],
)
def test_cancel_naming_another_symbol_or_side_is_refused_naming_both_values(
    h: ScriptedHarness, restated: dict[str, Any], named: tuple[str, ...],
) -> None:
    working_part_filled(h)
    was = before(h)

    h.cancel("Y", "X", **restated)

    assert_refused_and_nothing_changed(h, was, CxlRejResponseTo.CANCEL, named)


def test_cancel_restating_the_orders_symbol_and_side_is_pending_cancel(
    h: ScriptedHarness,
) -> None:
    working_part_filled(h)

    h.cancel("Y", "X", symbol=Symbol("AAPL"), side=Side.BUY)

    [pending] = h.take()
    assert pending.exec_type is ExecType.PENDING_CANCEL
    assert len(h.venue.calls_of("cancel")) == 1


# OrigClOrdID(41): the ClOrdID last accepted in the chain.


def replaced_once(h: ScriptedHarness) -> None:
    """X part-filled, then replaced by Y: Y is the order's current ClOrdID."""
    working_part_filled(h)
    h.replace("Y", "X", 800, "190.00")
    h.venue.replaced()
    h.take()


@pytest.mark.parametrize("request_kind", ["cancel", "replace"])
def test_request_naming_a_clordid_superseded_by_a_replace_is_refused_naming_both(
    h: ScriptedHarness, request_kind: str,
) -> None:
    replaced_once(h)
    was = before(h)

    if request_kind == "cancel":
        h.cancel("Z", "X")
        response_to = CxlRejResponseTo.CANCEL
    else:
        h.replace("Z", "X", 600, "190.00")
        response_to = CxlRejResponseTo.REPLACE

    assert_refused_and_nothing_changed(
        h, was, response_to, ("OrigClOrdID(41)", " X ", "ClOrdID(11) Y"),
    )
    reject = h.events[-1]
    # The reject's OrigClOrdID is the last accepted ClOrdID (FIX 4.4, OrderCancelReject).
    assert (reject.cl_ord_id, reject.orig_cl_ord_id) == ("Z", "Y")
    assert reject.order_id == h.order("Y").order_id != NO_ORDER_ID


def test_cancel_naming_the_current_clordid_after_a_replace_is_pending_cancel(
    h: ScriptedHarness,
) -> None:
    replaced_once(h)

    h.cancel("Z", "Y")

    [pending] = h.take()
    assert pending.exec_type is ExecType.PENDING_CANCEL
    assert (pending.cl_ord_id, pending.orig_cl_ord_id) == ("Z", "Y")


def test_cancel_naming_a_replace_the_venue_rejected_is_refused_naming_the_current_clordid(
    h: ScriptedHarness,
) -> None:
    working_part_filled(h)
    h.replace("Y", "X", 800, "190.00")
    h.venue.cancel_reject(0)
    h.take()
    was = before(h)

    h.cancel("Z", "Y")

    assert_refused_and_nothing_changed(
        h, was, CxlRejResponseTo.CANCEL, ("OrigClOrdID(41) Y", "ClOrdID(11) X"),
    )
