"""New orders with bad fields: each is rejected naming the field (its tag) and the value.

A rejected new order leaves a Rejected order record behind and nothing else: the book's
indexes, the open orders and the risk usage are as they were, and nothing was routed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from engine_harness import T0, ScriptedHarness

from oms.engine import SessionAccounts
from oms.model import ExecType, OrdRejReason, OrdStatus, OrdType, SessionID, TimeInForce
from oms.refdata import make_instrument

CLIENT9 = SessionID("CLIENT9")


class BadOrder(NamedTuple):
    id: str
    fields: dict[str, Any]
    reason: OrdRejReason
    # The text must name these: the field with its tag, and the value.
    named: tuple[str, ...]


BAD_ORDERS = [
    BadOrder("unknown instrument", {"symbol": "XYZ"}, OrdRejReason.UNKNOWN_SYMBOL,
             ("Symbol(55)", "XYZ")),
    BadOrder("halted instrument", {"symbol": "HALT", "quantity": 100, "price": "10.00"},
             OrdRejReason.EXCHANGE_CLOSED, ("Symbol(55)", "HALT")),
    BadOrder("zero quantity", {"quantity": 0}, OrdRejReason.INCORRECT_QUANTITY,
             ("OrderQty(38)", " 0 ")),
    BadOrder("negative quantity", {"quantity": -100}, OrdRejReason.INCORRECT_QUANTITY,
             ("OrderQty(38)", "-100")),
    BadOrder("quantity not a multiple of the lot",
             {"symbol": "LOT100", "quantity": 150, "price": "10.00"},
             OrdRejReason.INCORRECT_QUANTITY, ("OrderQty(38)", "150", "lot size 100")),
    BadOrder("decimal quantity", {"quantity": Decimal("10.5")},
             OrdRejReason.INCORRECT_QUANTITY, ("OrderQty(38)", "10.5")),
    BadOrder("price off the tick grid", {"price": "190.001"}, OrdRejReason.OTHER,
             ("Price(44)", "190.001", "tick 0.01")),
    BadOrder("price finer than the price scale", {"price": "190.000000001"},
             OrdRejReason.OTHER, ("Price(44)", "190.000000001")),
    BadOrder("negative price", {"price": "-1.00"}, OrdRejReason.OTHER,
             ("Price(44)", "-1.00")),
    BadOrder("limit order without a price", {"price": None},
             OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC, ("Price(44)", "required")),
    BadOrder("market order with a price", {"ord_type": OrdType.MARKET},
             OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC, ("Price(44)", "190.00")),
    BadOrder("good till date without an expire time", {"tif": TimeInForce.GTD},
             OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
             ("ExpireTime(126)", "TimeInForce(59) GTD")),
    BadOrder("good till date expiring in the past",
             {"tif": TimeInForce.GTD, "expire_time_ns": T0 - 1},
             OrdRejReason.TOO_LATE_TO_ENTER, ("ExpireTime(126)", "2024-06-03T13:29:59")),
    BadOrder("account the session may not use", {"account": "ACC2"},
             OrdRejReason.UNKNOWN_ACCOUNT, ("Account(1)", "ACC2")),
    BadOrder("account with no limits", {"account": "GHOST", "session": CLIENT9},
             OrdRejReason.UNKNOWN_ACCOUNT, ("Account(1)", "GHOST")),
    BadOrder("no account and no default", {"session": CLIENT9},
             OrdRejReason.UNKNOWN_ACCOUNT, ("Account(1)", "missing")),
]


def harness() -> ScriptedHarness:
    h = ScriptedHarness(
        instruments=[make_instrument("LOT100", "0.01", 100, "10.00")],
        sessions={
            SessionID("CLIENT1"): SessionAccounts(["ACC1"], "ACC1"),
            SessionID("CLIENT2"): SessionAccounts(["ACC2"], "ACC2"),
            CLIENT9: SessionAccounts(["ACC1", "GHOST"]),
        },
    )
    # Something to leave alone: a part-filled order, and a second one working.
    h.working("A", 1000)
    h.venue.fill(300, "190.00")
    h.working("B", 500, "189.50")
    h.take()
    return h


@pytest.mark.parametrize("bad", BAD_ORDERS, ids=[b.id for b in BAD_ORDERS])
def test_new_order_with_a_bad_field_is_rejected_naming_field_and_value_and_changes_nothing(
    bad: BadOrder,
) -> None:
    h = harness()
    before = h.state()
    submitted = len(h.venue.calls_of("submit"))
    fields = {"quantity": 1000, "price": "190.00", **bad.fields}

    h.new("BAD", **fields)

    [rejected] = h.take()
    assert (rejected.exec_type, rejected.ord_status) == (ExecType.REJECTED, OrdStatus.REJECTED)
    assert rejected.ord_rej_reason == bad.reason
    for name in bad.named:
        assert name in rejected.text, f"{name!r} not named in {rejected.text!r}"
    assert (rejected.cum_quantity, rejected.leaves_quantity) == (0, 0)
    assert rejected.order_id != "NONE"
    record = h.engine.book.get(rejected.order_id)
    assert record is not None and record.status is OrdStatus.REJECTED
    assert not record.is_live
    assert h.state(without=[rejected.order_id]) == before
    assert len(h.venue.calls_of("submit")) == submitted


def test_rejected_new_orders_cl_ord_id_counts_as_used(h: ScriptedHarness) -> None:
    h.new("BAD", 0)
    h.take()

    h.new("BAD", 1000)

    [duplicate] = h.take()
    assert duplicate.ord_rej_reason == OrdRejReason.DUPLICATE_ORDER


def test_numbers_too_large_to_keep_are_denied_and_no_event_carries_them() -> None:
    """A quantity, price or time beyond what the audit log holds never reaches an event."""
    h = ScriptedHarness()
    h.new("BIG1", 10**20, "190.00")
    h.new("BIG2", 100, "1000000000000000000000000000000000")
    h.new("BIG3", 100, "190.00", tif=TimeInForce.GTD, expire_time_ns=2**70)
    answers = h.take()
    assert [a.exec_type for a in answers] == [ExecType.REJECTED] * 3
    assert "OrderQty(38) 100000000000000000000 exceeds" in (answers[0].text or "")
    assert "Price(44)" in (answers[1].text or "")
    assert "ExpireTime(126) is out of range" in (answers[2].text or "")
    for event in h.events:
        terms = event.terms
        if terms is not None:
            assert terms.quantity <= 10**12
            assert terms.price is None or terms.price <= 10**17
    h.new("OK1", 100, "190.00")
    h.venue.ack()
    assert h.take()[-1].exec_type is ExecType.NEW
