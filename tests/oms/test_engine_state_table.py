"""The order state table (`oms.order.STATE_TABLE`), one test per transition it lists.

Each case brings one order of 1000 AAPL to a status through scripted venue reports (and a
client cancel or replace where the transition needs one pending), sends one more venue
report and checks the status the order ends in, what the client hears, and LeavesQty.
A report the table does not list for a status must change nothing and is recorded as
ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
from engine_harness import ScriptedHarness

from oms.events import EventKind
from oms.model import ExecType, OrdStatus
from oms.order import STATE_TABLE, TERMINAL
from oms.reports import VenueReportKind as R

S = OrdStatus
Step = Callable[[ScriptedHarness], object]


def reach(h: ScriptedHarness, status: OrdStatus) -> None:
    """Bring order X (1000 at 190.00) to `status` through venue reports only."""
    h.new("X", 1000, "190.00")
    venue = h.venue
    if status is S.PENDING_NEW:
        pass
    elif status is S.REJECTED:
        venue.rejected()
    else:
        venue.ack()
        if status is S.PARTIALLY_FILLED:
            venue.fill(400, "190.00")
        elif status is S.FILLED:
            venue.fill(1000, "190.00")
        elif status is S.CANCELED:
            venue.canceled(text="canceled by the venue")
        elif status is S.EXPIRED:
            venue.expired()
        elif status is S.DONE_FOR_DAY:
            venue.done_for_day()
    h.take()
    assert h.order("X").status is status


def cancel(h: ScriptedHarness) -> None:
    h.cancel("Y", "X")
    h.take()


def replace_to(quantity: int) -> Step:
    def replace(h: ScriptedHarness) -> None:
        h.replace("Y", "X", quantity, "190.00")
        h.take()

    return replace


def fill(quantity: int) -> Step:
    return lambda h: h.venue.fill(quantity, "190.00")


def restate(quantity: int) -> Step:
    return lambda h: h.venue.restated(quantity, 5)


class Transition(NamedTuple):
    id: str
    start: OrdStatus
    report: R
    act: Step
    status: OrdStatus
    # What the client hears: an ExecType, "cancel reject", or None for nothing.
    heard: ExecType | str | None
    before: Step | None = None


X = ExecType
TRANSITIONS = [
    Transition("pending new, acknowledged: New", S.PENDING_NEW, R.ACKNOWLEDGED,
               lambda h: h.venue.ack(), S.NEW, X.NEW),
    Transition("pending new, rejected by the venue: Rejected", S.PENDING_NEW, R.REJECTED,
               lambda h: h.venue.rejected(), S.REJECTED, X.REJECTED),
    Transition("pending new, part fill before the ack: Partially Filled", S.PENDING_NEW,
               R.FILL, fill(400), S.PARTIALLY_FILLED, X.TRADE),
    Transition("pending new, full fill before the ack: Filled", S.PENDING_NEW, R.FILL,
               fill(1000), S.FILLED, X.TRADE),
    Transition("pending new, canceled by the venue: Canceled", S.PENDING_NEW, R.CANCELED,
               lambda h: h.venue.canceled(), S.CANCELED, X.CANCELED),
    Transition("pending new, expired: Expired", S.PENDING_NEW, R.EXPIRED,
               lambda h: h.venue.expired(), S.EXPIRED, X.EXPIRED),
    Transition("pending new, replaced before the ack: Pending New", S.PENDING_NEW,
               R.REPLACED, lambda h: h.venue.replaced(), S.PENDING_NEW, X.REPLACED,
               replace_to(1500)),
    Transition("pending new, cancel rejected before the ack: Pending New", S.PENDING_NEW,
               R.CANCEL_REJECTED, lambda h: h.venue.cancel_reject(0), S.PENDING_NEW,
               "cancel reject", cancel),
    Transition("pending new, done for day: Done for Day", S.PENDING_NEW, R.DONE_FOR_DAY,
               lambda h: h.venue.done_for_day(), S.DONE_FOR_DAY, X.DONE_FOR_DAY),
    Transition("pending new, restated: Pending New", S.PENDING_NEW, R.RESTATED,
               restate(800), S.PENDING_NEW, X.RESTATED),
    Transition("new, part fill: Partially Filled", S.NEW, R.FILL, fill(400),
               S.PARTIALLY_FILLED, X.TRADE),
    Transition("new, full fill: Filled", S.NEW, R.FILL, fill(1000), S.FILLED, X.TRADE),
    Transition("new, canceled on our request: Canceled", S.NEW, R.CANCELED,
               lambda h: h.venue.canceled(), S.CANCELED, X.CANCELED, cancel),
    Transition("new, canceled unsolicited: Canceled", S.NEW, R.CANCELED,
               lambda h: h.venue.canceled(text="halted"), S.CANCELED, X.CANCELED),
    Transition("new, replaced to more: New", S.NEW, R.REPLACED,
               lambda h: h.venue.replaced(), S.NEW, X.REPLACED, replace_to(1500)),
    Transition("new, cancel rejected: New", S.NEW, R.CANCEL_REJECTED,
               lambda h: h.venue.cancel_reject(0), S.NEW, "cancel reject", cancel),
    Transition("new, done for day: Done for Day", S.NEW, R.DONE_FOR_DAY,
               lambda h: h.venue.done_for_day(), S.DONE_FOR_DAY, X.DONE_FOR_DAY),
    Transition("new, expired: Expired", S.NEW, R.EXPIRED, lambda h: h.venue.expired(),
               S.EXPIRED, X.EXPIRED),
    Transition("new, restated to less: New", S.NEW, R.RESTATED, restate(800), S.NEW,
               X.RESTATED),
    Transition("partially filled, more fill: Partially Filled", S.PARTIALLY_FILLED, R.FILL,
               fill(200), S.PARTIALLY_FILLED, X.TRADE),
    Transition("partially filled, the rest filled: Filled", S.PARTIALLY_FILLED, R.FILL,
               fill(600), S.FILLED, X.TRADE),
    Transition("partially filled, canceled: Canceled", S.PARTIALLY_FILLED, R.CANCELED,
               lambda h: h.venue.canceled(), S.CANCELED, X.CANCELED, cancel),
    Transition("partially filled, replaced to more: Partially Filled", S.PARTIALLY_FILLED,
               R.REPLACED, lambda h: h.venue.replaced(), S.PARTIALLY_FILLED, X.REPLACED,
               replace_to(1500)),
    Transition("partially filled, replaced down to CumQty: Filled", S.PARTIALLY_FILLED,
               R.REPLACED, lambda h: h.venue.replaced(), S.FILLED, X.REPLACED,
               replace_to(400)),
    Transition("partially filled, cancel rejected: Partially Filled", S.PARTIALLY_FILLED,
               R.CANCEL_REJECTED, lambda h: h.venue.cancel_reject(0), S.PARTIALLY_FILLED,
               "cancel reject", cancel),
    Transition("partially filled, done for day: Done for Day", S.PARTIALLY_FILLED,
               R.DONE_FOR_DAY, lambda h: h.venue.done_for_day(), S.DONE_FOR_DAY,
               X.DONE_FOR_DAY),
    Transition("partially filled, expired: Expired", S.PARTIALLY_FILLED, R.EXPIRED,
               lambda h: h.venue.expired(), S.EXPIRED, X.EXPIRED),
    Transition("partially filled, restated above CumQty: Partially Filled",
               S.PARTIALLY_FILLED, R.RESTATED, restate(800), S.PARTIALLY_FILLED, X.RESTATED),
    Transition("partially filled, restated to CumQty: Filled", S.PARTIALLY_FILLED,
               R.RESTATED, restate(400), S.FILLED, X.RESTATED),
    Transition("filled, another fill (an overfill): Filled", S.FILLED, R.FILL, fill(100),
               S.FILLED, X.TRADE),
    Transition("filled, cancel rejected after the fill won the race: Filled", S.FILLED,
               R.CANCEL_REJECTED, lambda h: h.venue.cancel_reject(0), S.FILLED,
               "cancel reject", cancel),
    Transition("canceled, late fill: Canceled", S.CANCELED, R.FILL, fill(100), S.CANCELED,
               X.TRADE),
    Transition("canceled, cancel rejected with nothing pending: Canceled", S.CANCELED,
               R.CANCEL_REJECTED, lambda h: h.venue.cancel_reject(0), S.CANCELED, None),
    Transition("expired, late fill: Expired", S.EXPIRED, R.FILL, fill(100), S.EXPIRED,
               X.TRADE),
    Transition("expired, cancel rejected with nothing pending: Expired", S.EXPIRED,
               R.CANCEL_REJECTED, lambda h: h.venue.cancel_reject(0), S.EXPIRED, None),
    Transition("done for day, late fill: Done for Day", S.DONE_FOR_DAY, R.FILL, fill(100),
               S.DONE_FOR_DAY, X.TRADE),
    Transition("rejected, a fill after the reject: Rejected", S.REJECTED, R.FILL, fill(100),
               S.REJECTED, X.TRADE),
]


def start(h: ScriptedHarness, case: Transition) -> None:
    """Reach the case's start status; a request the case needs pending is sent before."""
    if case.before is None:
        reach(h, case.start)
        return
    if case.start is S.FILLED:
        # The cancel was sent while the order was working; then the fill won the race.
        reach(h, S.PARTIALLY_FILLED)
        case.before(h)
        h.venue.fill(600, "190.00")
        h.take()
    else:
        reach(h, case.start)
        case.before(h)
    assert h.order("X").pending is not None


@pytest.mark.parametrize("case", TRANSITIONS, ids=[t.id for t in TRANSITIONS])
def test_venue_report_moves_the_order_as_the_state_table_says(case: Transition) -> None:
    h = ScriptedHarness()
    start(h, case)
    order = h.order("X")
    assert order.status is case.start

    case.act(h)

    heard = h.take()
    assert order.status is case.status
    if order.status in TERMINAL:
        assert order.leaves_quantity == 0
    else:
        assert order.leaves_quantity == max(order.terms.quantity - order.cum_quantity, 0)
    if case.heard is None:
        assert heard == []
        assert h.events[-1].kind is EventKind.REPORT_IGNORED
        return
    [message] = heard
    if case.heard == "cancel reject":
        assert message.is_cancel_reject and message.cxl_rej_reason == 0
        assert order.pending is None
    else:
        assert message.exec_type is case.heard
    assert message.leaves_quantity == order.leaves_quantity
    assert message.cum_quantity == order.cum_quantity
    assert message.ord_status is order.ord_status


def test_every_transition_of_the_state_table_has_a_case() -> None:
    listed = {(status, report) for status, row in STATE_TABLE.items() for report in row}
    covered = {(case.start, case.report) for case in TRANSITIONS}
    assert covered == listed


UNLISTED = [
    pytest.param(status, report, id=f"{status.label}, {report.value}")
    for status, row in STATE_TABLE.items()
    for report in R
    if report not in row
]


@pytest.mark.parametrize(("status", "report"), UNLISTED)
def test_venue_report_the_table_does_not_list_is_ignored_and_changes_nothing(
    status: OrdStatus, report: R
) -> None:
    h = ScriptedHarness()
    reach(h, status)
    before = h.state()
    venue = h.venue
    send: dict[R, Step] = {
        R.ACKNOWLEDGED: lambda h: venue.ack(),
        R.REJECTED: lambda h: venue.rejected(),
        R.FILL: fill(100),
        R.PENDING_CANCEL: lambda h: venue.pending_cancel(),
        R.CANCELED: lambda h: venue.canceled(),
        R.PENDING_REPLACE: lambda h: venue.pending_replace(),
        R.REPLACED: lambda h: venue.replaced(),
        R.CANCEL_REJECTED: lambda h: venue.cancel_reject(0),
        R.DONE_FOR_DAY: lambda h: venue.done_for_day(),
        R.EXPIRED: lambda h: venue.expired(),
        R.RESTATED: restate(800),
        R.STATUS: lambda h: venue.order_status(1000, 0),
    }

    send[report](h)

    assert h.take() == []
    assert h.events[-1].kind is EventKind.REPORT_IGNORED
    assert h.state() == before
