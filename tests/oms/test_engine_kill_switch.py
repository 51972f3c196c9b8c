"""The kill switch as an engine event: recorded, replayed, and refused for unknown accounts.

An operator's switch becomes one KILL_SWITCH event (no order, no client report), applied
like any other event, so a replay of the events halts the same accounts again.
"""

from __future__ import annotations

import pytest
from engine_harness import ACC1, ACC2, CLIENT2, ScriptedHarness

from compliance.risk import UnknownAccount
from oms.events import EventKind, RiskVerdict
from oms.model import Account, ExecType, OrdRejReason


def replayed(h: ScriptedHarness) -> ScriptedHarness:
    """A fresh engine on the same configuration with every event so far replayed."""
    fresh = ScriptedHarness(limits=h.limits)
    fresh.engine.replay(h.events)
    return fresh


def test_engaging_the_switch_records_one_event_with_account_state_and_reason() -> None:
    h = ScriptedHarness()

    h.engine.set_kill_switch(ACC1, True, "runaway algo on desk 4")

    [event] = h.events
    assert event.kind is EventKind.KILL_SWITCH
    assert (event.account, event.text, event.order_id) == (ACC1, "runaway algo on desk 4", None)
    assert event.risk == RiskVerdict(
        "kill_switch", "engaged", "kill switch engaged for account ACC1"
    )
    assert event.seq == h.engine.seq and h.take() == []


def test_a_switch_for_all_accounts_carries_no_account_and_no_reason_when_none_given() -> None:
    h = ScriptedHarness()

    h.engine.set_kill_switch(None, True)

    [event] = h.events
    assert (event.account, event.text) == (None, None)
    assert event.risk.limit == "kill switch engaged for all accounts"


def test_replaying_the_events_restores_an_engaged_switch_and_its_denials() -> None:
    h = ScriptedHarness()
    h.working("A", 100)
    h.engine.set_kill_switch(ACC1, True, "limit breach")

    restarted = replayed(h)

    assert restarted.engine.risk.halted_accounts == {ACC1}
    assert restarted.engine.digest() == h.engine.digest()
    restarted.new("B", 100)
    [denied] = restarted.take()
    assert denied.exec_type is ExecType.REJECTED
    assert denied.ord_rej_reason == OrdRejReason.BROKER_OPTION
    assert denied.text == "kill switch engaged for account ACC1"


def test_replaying_a_release_leaves_the_account_trading() -> None:
    h = ScriptedHarness()
    h.engine.set_kill_switch(ACC1, True)
    h.engine.set_kill_switch(ACC1, False, "cleared by risk")

    restarted = replayed(h)

    assert restarted.engine.risk.halted_accounts == set()
    restarted.new("A", 100)
    restarted.venue.ack()
    assert [e.exec_type for e in restarted.take()] == [ExecType.NEW]


def test_the_switch_for_an_unknown_account_is_refused_naming_it_and_records_nothing() -> None:
    h = ScriptedHarness()

    with pytest.raises(UnknownAccount, match="account ACC9 is not known") as refused:
        h.engine.set_kill_switch(Account("ACC9"), True)

    assert "ACC1" in str(refused.value)
    assert h.events == [] and h.engine.risk.halted_accounts == set()


def test_releasing_the_switch_for_all_accounts_releases_each_accounts_own_switch() -> None:
    h = ScriptedHarness()
    h.engine.set_kill_switch(ACC1, True)
    h.engine.set_kill_switch(None, True)

    h.engine.set_kill_switch(None, False)

    assert (h.engine.risk.halted_all, h.engine.risk.halted_accounts) == (False, set())
    assert replayed(h).engine.digest() == h.engine.digest()


def test_releasing_one_account_while_all_are_halted_keeps_it_halted() -> None:
    h = ScriptedHarness()
    h.engine.set_kill_switch(None, True)

    h.engine.set_kill_switch(ACC2, False)
    h.new("A", 100, session=CLIENT2)

    [denied] = h.take()
    assert denied.text == "kill switch engaged for all accounts"
