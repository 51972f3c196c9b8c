"""Events: what happened. The engine changes state only by applying these.

Every event restates the order as it stands after the event (terms, OrdStatus, CumQty,
LeavesQty, AvgPx), so that any one event read on its own, in the audit log or on the
wire, is complete. Replaying the same events rebuilds the same state.

Requests are events too (one per new, cancel, replace and status request), so the log
holds what was asked beside what was decided. A request the gateway refuses before the
engine sees it (a value FIX allows that the OMS does not support) is one event that holds
both: the request's FIX text and the refusal.

An operator's kill switch is an event as well (KILL_SWITCH), concerning no order: so the
log records who was halted and why, and a replay after a restart halts them again.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import NamedTuple

from oms.commands import FixContext
from oms.model import (
    Account,
    ClOrdID,
    CxlRejResponseTo,
    ExecID,
    ExecType,
    OrderID,
    OrdStatus,
    SessionID,
    VenueName,
    VenueOrderID,
    average_price,
)
from oms.order import OrderTerms


class EventKind(str, Enum):
    # Requests, as received.
    NEW_REQUESTED = "new_requested"
    CANCEL_REQUESTED = "cancel_requested"
    REPLACE_REQUESTED = "replace_requested"
    STATUS_REQUESTED = "status_requested"
    # Our own refusals: a new order denied (the client sees Rejected), a cancel or
    # replace denied (the client sees an OrderCancelReject), a status request for an
    # order the session does not have.
    NEW_DENIED = "new_denied"
    CANCEL_DENIED = "cancel_denied"
    REPLACE_DENIED = "replace_denied"
    STATUS_DENIED = "status_denied"
    # A request the FIX gateway refused before the engine (an OrdType, Side or
    # TimeInForce the OMS does not support, ...): recorded here, answered by the gateway.
    REQUEST_REFUSED = "request_refused"
    # State changes.
    PENDING_NEW = "pending_new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TRADE = "trade"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    CANCEL_REJECTED = "cancel_rejected"
    DONE_FOR_DAY = "done_for_day"
    EXPIRED = "expired"
    RESTATED = "restated"
    # An operator engaged or released the kill switch of one account, or of all: the event
    # carries the account (None for all), the state in `risk` and the operator's reason.
    KILL_SWITCH = "kill_switch"
    # Answers that change nothing.
    STATUS = "status"
    # A venue report that changed nothing: a duplicate ExecID, a report for an unknown
    # order, a report the state table does not take in the order's status.
    REPORT_IGNORED = "report_ignored"


# Events the client hears about as an OrderCancelReject (35=9) rather than a report.
CANCEL_REJECT_KINDS = frozenset(
    {EventKind.CANCEL_DENIED, EventKind.REPLACE_DENIED, EventKind.CANCEL_REJECTED}
)


class RiskVerdict:
    """The pre-trade check that denied an order: bounded code, value and limit.

    A KILL_SWITCH event carries one too: the check `kill_switch`, the value `engaged` or
    `released`, and the switch's scope as the limit a denial would name.
    """

    __slots__ = ("check", "value", "limit")

    def __init__(self, check: str, value: str, limit: str) -> None:
        self.check = check
        self.value = value
        self.limit = limit

    # By value, so that an event read back from the audit log equals the one written.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RiskVerdict):
            return NotImplemented
        return (self.check, self.value, self.limit) == (other.check, other.value, other.limit)

    def __hash__(self) -> int:
        return hash((self.check, self.value, self.limit))

    def __repr__(self) -> str:
        return f"RiskVerdict({self.check}, value={self.value}, limit={self.limit})"


class Event(NamedTuple):
    """One immutable fact about one order (or about one refused request).

    A tuple, so that it is immutable, compact and cheap to build on the order path.
    """

    seq: int
    time_ns: int
    kind: EventKind
    session: SessionID
    order_id: OrderID | None
    # The ClOrdID this event is reported under, and OrigClOrdID(41) where one applies.
    cl_ord_id: ClOrdID | None
    orig_cl_ord_id: ClOrdID | None
    # The order's terms as they stand after the event.
    terms: OrderTerms | None
    # The terms a replace request asks for (replace requests and Pending Replace only).
    requested_terms: OrderTerms | None
    # Set on the events the client hears about as an ExecutionReport.
    exec_type: ExecType | None
    ord_status: OrdStatus | None
    cum_quantity: int
    leaves_quantity: int
    notional: int
    last_quantity: int
    last_price: int
    exec_id: ExecID | None
    venue: VenueName | None
    venue_order_id: VenueOrderID | None
    venue_exec_id: ExecID | None
    ord_rej_reason: int | None
    cxl_rej_reason: int | None
    cxl_rej_response_to: CxlRejResponseTo | None
    text: str | None
    risk: RiskVerdict | None
    transact_time_ns: int
    received_ns: int
    fix: FixContext | None
    avg_px_decimals: int
    # The account an operator's action concerns (KILL_SWITCH; None means every account).
    # Order events leave it None: their account is in `terms`.
    account: Account | None = None

    @property
    def avg_price(self) -> Decimal:
        return average_price(self.notional, self.cum_quantity, self.avg_px_decimals)

    @property
    def is_execution_report(self) -> bool:
        return self.exec_type is not None

    @property
    def is_cancel_reject(self) -> bool:
        return self.kind in CANCEL_REJECT_KINDS

    def describe(self) -> str:
        status = self.ord_status.label if self.ord_status is not None else "-"
        return (
            f"#{self.seq} {self.kind.value} order={self.order_id} cl={self.cl_ord_id} "
            f"orig={self.orig_cl_ord_id} status={status} cum={self.cum_quantity} "
            f"leaves={self.leaves_quantity} last={self.last_quantity}@{self.last_price}"
        )
