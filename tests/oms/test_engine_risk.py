"""Pre-trade risk checks through the engine: each denies with its code, value and limit.

ACC1 gets one small limit per test (every other check off); ACC2 keeps no limits. A denied
new order is Rejected with OrdRejReason 3 (0 for the kill switch), its event carries the
verdict, and nothing is routed or counted against the account.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from engine_harness import ACC1, ACC2, CLIENT2, ScriptedHarness

from compliance import risk
from oms.config import AccountLimits
from oms.events import RiskVerdict
from oms.model import (
    CxlRejReason,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    price_from_decimal,
)


def harness(**limits: Any) -> ScriptedHarness:
    return ScriptedHarness(limits={ACC1: AccountLimits(**limits), ACC2: AccountLimits()})


def nothing(h: ScriptedHarness) -> None:
    pass


def two_working(h: ScriptedHarness) -> None:
    h.working("A", 100)
    h.working("B", 100)


def working_600(h: ScriptedHarness) -> None:
    h.working("A", 600)


def traded_400(h: ScriptedHarness) -> None:
    h.working("A", 400)
    h.venue.fill(400, "190.00")
    h.take()


def kill_account(h: ScriptedHarness) -> None:
    h.engine.risk.set_kill_switch(ACC1, True)


class Check(NamedTuple):
    code: str
    limits: dict[str, Any]
    before: Callable[[ScriptedHarness], None]
    quantity: int
    price: str
    verdict: RiskVerdict


CHECKS = [
    Check(risk.KILL_SWITCH, {}, kill_account, 100, "190.00",
          RiskVerdict("kill_switch", "engaged", "kill switch engaged for account ACC1")),
    Check(risk.MAX_ORDER_QUANTITY, {"max_order_quantity": 500}, nothing, 600, "190.00",
          RiskVerdict("max_order_quantity", "600", "500")),
    Check(risk.MAX_ORDER_NOTIONAL, {"max_order_notional": Decimal(100_000)}, nothing, 600,
          "190.00", RiskVerdict("max_order_notional", "114000.00", "100000.00")),
    Check(risk.PRICE_BAND, {"price_band_percent": Decimal(5)}, nothing, 100, "200.00",
          RiskVerdict("price_band", "200.00 (5.26% from reference 190.00)", "5%")),
    Check(risk.MAX_OPEN_ORDERS, {"max_open_orders": 2}, two_working, 100, "190.00",
          RiskVerdict("max_open_orders", "3", "2")),
    Check(risk.MAX_POSITION, {"max_position": 1000}, working_600, 500, "190.00",
          RiskVerdict("max_position", "1100", "1000")),
    Check(risk.MAX_DAILY_NOTIONAL, {"max_daily_notional": Decimal(100_000)}, traded_400, 200,
          "190.00", RiskVerdict("max_daily_notional", "114000.00", "100000.00")),
]


@pytest.mark.parametrize("check", CHECKS, ids=[c.code for c in CHECKS])
def test_new_order_over_a_limit_is_denied_with_the_checks_code_value_and_limit(
    check: Check,
) -> None:
    h = harness(**check.limits)
    check.before(h)
    before = h.state()
    submitted = len(h.venue.calls_of("submit"))

    h.new("RISKY", check.quantity, check.price)

    [denied] = h.take()
    assert (denied.exec_type, denied.ord_status) == (ExecType.REJECTED, OrdStatus.REJECTED)
    assert denied.risk == check.verdict
    expected_reason = (
        OrdRejReason.BROKER_OPTION if check.code == risk.KILL_SWITCH
        else OrdRejReason.ORDER_EXCEEDS_LIMIT
    )
    assert denied.ord_rej_reason == expected_reason
    assert denied.text == h.engine.risk.describe(check.verdict)
    assert check.verdict.value in denied.text and check.verdict.limit in denied.text
    assert h.state(without=[denied.order_id]) == before
    assert len(h.venue.calls_of("submit")) == submitted


def test_every_risk_check_has_a_denial_case() -> None:
    assert {c.code for c in CHECKS} == set(risk.CHECKS)


def test_order_within_every_limit_is_routed() -> None:
    h = harness(
        max_order_quantity=500, max_order_notional=Decimal(100_000),
        price_band_percent=Decimal(5), max_open_orders=2, max_position=1000,
        max_daily_notional=Decimal(100_000),
    )

    h.new("OK", 500, "199.50")

    assert h.take() == []
    assert len(h.venue.calls_of("submit")) == 1


def test_kill_switch_of_one_account_denies_only_that_accounts_new_orders() -> None:
    h = harness()
    h.engine.risk.set_kill_switch(ACC1, True)

    h.new("A", 100)
    h.new("B", 100, session=CLIENT2)

    [denied] = h.take()
    assert denied.cl_ord_id == "A" and denied.risk.check == "kill_switch"
    assert [call.terms.account for call in h.venue.calls_of("submit")] == ["ACC2"]


def test_global_kill_switch_denies_every_account_until_released() -> None:
    h = harness()
    h.engine.risk.set_kill_switch(None, True)

    h.new("A", 100)
    h.new("B", 100, session=CLIENT2)
    denied = h.take()
    h.engine.risk.set_kill_switch(None, False)
    h.new("C", 100)

    assert [d.risk.limit for d in denied] == ["kill switch engaged for all accounts"] * 2
    assert [call.terms.cl_ord_id for call in h.venue.calls_of("submit")] == ["C"]


def test_kill_switch_denies_a_replace_that_adds_quantity_but_not_one_that_reduces_it() -> None:
    h = harness()
    h.working("A", 1000)
    h.engine.risk.set_kill_switch(ACC1, True)

    h.replace("B", "A", 1500, "190.00")
    [denied] = h.take()
    h.replace("C", "A", 500, "190.00")
    [pending] = h.take()

    assert denied.is_cancel_reject
    assert denied.cxl_rej_reason == CxlRejReason.BROKER_OPTION
    assert denied.risk.check == "kill_switch"
    assert pending.exec_type is ExecType.PENDING_REPLACE


def test_kill_switch_lets_a_cancel_through() -> None:
    h = harness()
    h.working("A", 1000)
    h.engine.risk.set_kill_switch(None, True)

    h.cancel("B", "A")

    [pending] = h.take()
    assert pending.exec_type is ExecType.PENDING_CANCEL
    assert len(h.venue.calls_of("cancel")) == 1


def test_replace_over_a_limit_is_refused_with_the_verdict_and_leaves_the_order_as_it_was() -> (
    None
):
    h = harness(max_order_quantity=1000)
    order = h.working("A", 800)
    before = h.state()

    h.replace("B", "A", 1200, "190.00")

    [refused] = h.take()
    assert refused.is_cancel_reject
    assert refused.cxl_rej_reason == CxlRejReason.BROKER_OPTION
    assert refused.risk == RiskVerdict("max_order_quantity", "1200", "1000")
    assert (refused.order_id, refused.ord_status) == (order.order_id, OrdStatus.NEW)
    assert h.state() == before
    assert h.venue.calls_of("replace") == []


def test_replace_adding_quantity_counts_it_against_the_position_limit() -> None:
    h = harness(max_position=1000)
    h.working("A", 600)
    h.working("B", 300)

    h.replace("C", "A", 800, "190.00")

    [refused] = h.take()
    assert refused.risk == RiskVerdict("max_position", "1100", "1000")


# The price band on StopPx(99).


@pytest.mark.parametrize(
    ("ord_type", "price", "stop"),
    [(OrdType.STOP, None, "1000000.00"), (OrdType.STOP, None, "99.99"),
     (OrdType.STOP_LIMIT, "190.00", "1000000.00")],
    ids=["stop far above", "stop far below", "stop limit with its limit in the band"],
)
def test_new_stop_order_with_a_stop_price_outside_the_band_is_denied_naming_stop_px(
    ord_type: OrdType, price: str | None, stop: str,
) -> None:
    h = harness(price_band_percent=Decimal(10))

    h.new("STOP", 100, price, ord_type=ord_type, stop_price=stop)

    [denied] = h.take()
    assert (denied.exec_type, denied.ord_rej_reason) == (
        ExecType.REJECTED, OrdRejReason.ORDER_EXCEEDS_LIMIT,
    )
    assert denied.risk is not None and denied.risk.check == "price_band"
    text = denied.text or ""
    for named in (f"StopPx(99) {stop}", "from reference 190.00", "limit 10%"):
        assert named in text, f"{named!r} not in {text!r}"
    assert h.venue.calls_of("submit") == []


def test_new_stop_order_with_a_stop_price_inside_the_band_is_routed() -> None:
    h = harness(price_band_percent=Decimal(10))

    h.new("STOP", 100, None, ord_type=OrdType.STOP, stop_price="200.00")

    assert h.take() == []
    assert len(h.venue.calls_of("submit")) == 1


def test_replace_of_a_stop_order_to_a_stop_price_outside_the_band_is_refused() -> None:
    h = harness(price_band_percent=Decimal(10))
    order = h.working("STOP", 100, None, ord_type=OrdType.STOP, stop_price="200.00")
    before = h.state()

    h.replace("STOP2", "STOP", 100, None, stop_price=price_from_decimal("1000000.00"))

    [refused] = h.take()
    assert refused.is_cancel_reject
    assert refused.cxl_rej_reason == CxlRejReason.BROKER_OPTION
    assert refused.risk == RiskVerdict(
        "price_band", "StopPx(99) 1000000.00 (526215.79% from reference 190.00)", "10%",
    )
    assert (refused.order_id, h.state()) == (order.order_id, before)
    assert h.venue.calls_of("replace") == []
