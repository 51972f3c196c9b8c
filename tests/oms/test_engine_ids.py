"""OrderIDs and ExecIDs the engine sends never come again, across a halt and a restart.

A run's unlogged events are lost at a restart, and with them the sequence numbers that
OrderID O<seq> and ExecID E<seq> are made of: the ones a halted OMS used for its denials,
and the ones an async audit log had not written when the OMS crashed. The tests play both
runs on the same fake clock, "logging" only what the audit log would have kept.
"""

from __future__ import annotations

import re

from engine_harness import CLIENT1, FakeClock, ScriptedHarness

from oms.commands import CancelOrder, NewOrder, StatusRequest
from oms.engine import NO_ORDER_ID
from oms.events import Event
from oms.model import ClOrdID, OrdType, Side, Symbol, TimeInForce

HALTED = "the OMS takes no requests: its audit log failed (disk full)"


def new_order(cl: str) -> NewOrder:
    return NewOrder(
        CLIENT1, ClOrdID(cl), None, Symbol("AAPL"), Side.BUY, OrdType.LIMIT, TimeInForce.DAY,
        100, 19_000_000_000,
    )


def sent_ids(events: list[Event]) -> set[str]:
    """Every OrderID and ExecID a client was told, NONE aside."""
    ids = {e.exec_id for e in events if e.exec_id is not None}
    ids |= {e.order_id for e in events if e.exec_type is not None or e.is_cancel_reject}
    return {i for i in ids if i is not None and i != NO_ORDER_ID}


def restarted(h: ScriptedHarness, logged: list[Event]) -> ScriptedHarness:
    """A second run on the same clock and configuration, rebuilt from `logged`."""
    second = ScriptedHarness(clock=h.clock)
    second.engine.replay(logged)
    return second


def test_denials_after_a_halt_carry_order_id_none_and_exec_ids_of_the_halt(
    h: ScriptedHarness,
) -> None:
    h.working("A", 100)
    h.engine.halt()

    h.engine.refuse(new_order("B"), HALTED)
    h.engine.refuse(StatusRequest(CLIENT1, ClOrdID("A")), HALTED)
    h.engine.refuse(CancelOrder(CLIENT1, ClOrdID("C"), ClOrdID("A")), HALTED)

    rejected, status, cancel_reject = h.take()
    assert (rejected.order_id, status.order_id, cancel_reject.order_id) == (NO_ORDER_ID,) * 3
    assert rejected.exec_id is not None and status.exec_id is not None
    assert re.fullmatch(r"H\d+-1", rejected.exec_id)
    assert status.exec_id == rejected.exec_id[:-1] + "2"
    assert cancel_reject.exec_id is None and cancel_reject.text == HALTED
    assert h.engine.book.find(CLIENT1, ClOrdID("B")) is None


def test_order_after_a_restart_gets_ids_none_of_the_halted_runs_denials_had() -> None:
    # A clock that stands still, so that the replay moves the sequence nowhere: the
    # denials' own IDs are what keeps them apart.
    h = ScriptedHarness(clock=FakeClock(step=0))
    h.working("A", 100)
    logged = list(h.events)
    h.engine.halt()
    for n in range(5):
        h.engine.refuse(new_order(f"H{n}"), HALTED)
    told = sent_ids(h.events)

    second = restarted(h, logged)
    second.new("B", 100)
    second.venue.ack()

    assert sent_ids(second.events).isdisjoint(told)


def test_order_after_a_crash_gets_ids_none_of_the_lost_async_reports_had(
    h: ScriptedHarness,
) -> None:
    h.working("A", 100)
    logged = list(h.events)
    # Async audit mode: these reports went out, their events never reached the disk.
    for n in range(20):
        h.new(f"L{n}", 100)
        h.venue.ack()
    told = sent_ids(h.events)

    second = restarted(h, logged)
    second.new("B", 100)
    second.venue.ack()
    second.new("C", 100)
    second.venue.ack()

    assert sent_ids(second.events).isdisjoint(told)


def test_replay_keeps_the_sequence_where_the_log_ends_when_no_time_has_passed() -> None:
    # A clock that stands still: nothing can have been made after the last logged event.
    clock = FakeClock(step=0)
    h = ScriptedHarness(clock=clock)
    h.working("A", 100)

    second = restarted(h, list(h.events))

    assert second.engine.seq == h.engine.seq
