"""The order engine: decides what each command and venue report means, as events.

The engine is single-threaded: gateways hand it commands and venue reports on one thread
(see `oms.runtime`). For each input it decides, builds events, and applies them; applying
an event is the only way any state changes (`apply`), and `replay` rebuilds the whole state
from the audit log by applying the same events.

Words: an order is *denied* by our own checks and *rejected* by a venue. A cancel or a
replace that fails is answered with an OrderCancelReject (a denial of ours, or the venue's
cancel reject).

`Engine` is put together from one module per job, each a part of the same object (so that
the order path makes no call more than one class would):

- `oms.engine` (here): the inputs, client commands, venue reports, the operators' kill
  switch and refused requests, and the order they are taken in;
- `oms.client_requests`: the decisions on new orders, cancels, replaces, status requests;
- `oms.venue_reports`: the decisions on venue reports;
- `oms.validation`: the checks of new and replace requests, before risk;
- `oms.engine_state`: the state, `apply`, `replay` and `digest`.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator

from compliance.risk import (
    ENGAGED,
    KILL_SWITCH,
    RELEASED,
    RiskChecks,
    UnknownAccount,
    kill_switch_text,
)
from oms.client_requests import ClientRequests
from oms.commands import (
    CancelOrder,
    Command,
    FixContext,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from oms.engine_state import NO_ORDER_ID, K, Router, tuple_new
from oms.events import Event, RiskVerdict
from oms.model import (
    PRICE_SCALE,
    Account,
    ClOrdID,
    CxlRejReason,
    CxlRejResponseTo,
    ExecID,
    OrdRejReason,
    SessionID,
    Symbol,
)
from oms.refdata import Instrument
from oms.reports import VenueReport
from oms.validation import SessionAccounts, format_ns, out_of_range
from oms.venue_reports import VenueReports

log = logging.getLogger(__name__)

_REQUEST_KINDS = {
    NewOrder: K.NEW_REQUESTED,
    CancelOrder: K.CANCEL_REQUESTED,
    ReplaceOrder: K.REPLACE_REQUESTED,
    StatusRequest: K.STATUS_REQUESTED,
}


class Engine(ClientRequests, VenueReports):
    """The order engine: one input at a time, decided, turned into events and applied."""

    def __init__(
        self,
        instruments: dict[Symbol, Instrument],
        risk: RiskChecks,
        *,
        sessions: dict[SessionID, SessionAccounts],
        clock: Callable[[], int] = time.time_ns,
        router: Router | None = None,
    ) -> None:
        super().__init__(instruments, risk, sessions=sessions, clock=clock, router=router)
        self._inbox: deque[VenueReport] = deque()
        self._draining = False
        # Set by `halt`: the prefix and the counter of the ExecIDs of denials made since.
        self._halt_exec_ids: tuple[str, Iterator[int]] | None = None

    # Inputs.

    def handle(self, command: Command) -> None:
        """Decide one client command, then apply whatever the venues reported meanwhile."""
        kind = type(command)
        # Reports a venue makes from inside submit/cancel/replace wait in the inbox until
        # the decision is complete, so they never interleave with it.
        self._draining = True
        try:
            problem = out_of_range(command)
            if problem is not None:
                self._emit_request(_REQUEST_KINDS[kind], command, None)
                self.refuse(command, problem)
            elif kind is NewOrder:
                self._new_order(command)  # type: ignore[arg-type]
            elif kind is CancelOrder:
                self._cancel(command)  # type: ignore[arg-type]
            elif kind is ReplaceOrder:
                self._replace(command)  # type: ignore[arg-type]
            elif kind is StatusRequest:
                self._status(command)  # type: ignore[arg-type]
            else:
                raise TypeError(f"not a command: {command!r}")
        finally:
            self._draining = False
        if self._inbox:
            self._drain()

    def refuse(self, command: Command, text: str) -> None:
        """Answer a command the engine failed on (a bug of ours), or one that came while
        the OMS is halted, with a denial."""
        self._draining = False
        exec_id = None
        halted = self._halt_exec_ids
        if halted is not None:
            prefix, counter = halted
            exec_id = ExecID(f"{prefix}{next(counter)}")
        if isinstance(command, NewOrder):
            self._deny_new(command, None, None, OrdRejReason.OTHER, text, None, exec_id)
        elif isinstance(command, (CancelOrder, ReplaceOrder)):
            # An OrderCancelReject carries no ExecID, and OrderID NONE for no order.
            kind = K.CANCEL_DENIED if isinstance(command, CancelOrder) else K.REPLACE_DENIED
            self._deny_cancel(kind, command, None, CxlRejReason.OTHER, text)
        else:
            self._deny_status(command, OrdRejReason.OTHER, text, exec_id)

    def halt(self) -> None:
        """The OMS has stopped recording (its audit log failed); any thread may call this.

        Events made from now on are never logged, so a restart hands out their sequence
        numbers again, and with them OrderID O<seq> and ExecID E<seq>. The denials
        `refuse` makes from now on therefore carry OrderID NONE, as a rejection for
        which no order was made does already (a duplicate ClOrdID, an unknown order),
        and ExecIDs "H<time of the halt in ns>-<n>", which no run makes otherwise and
        no other halt makes. The runtime calls this when its audit log fails.
        """
        if self._halt_exec_ids is None:
            self._halt_exec_ids = (f"H{self._clock()}-", itertools.count(1))

    def record_refusal(
        self,
        session: SessionID,
        msg_type: str,
        cl_ord_id: ClOrdID | None,
        orig_cl_ord_id: ClOrdID | None,
        reason: int,
        text: str,
        fix: FixContext | None,
        received_ns: int,
    ) -> None:
        """Record a request the gateway refused before the engine and answered itself.

        `reason` is the code the answer carried: an OrdRejReason(103) for a new order, a
        CxlRejReason(102) for a cancel (MsgType F) or a replace (G). The event changes no
        state and has no ExecType, so no report is sent for it.
        """
        seq = self._seq + 1
        if msg_type in ("F", "G"):
            ord_reason, cxl_reason = None, int(reason)
            response_to = CxlRejResponseTo.CANCEL if msg_type == "F" else (
                CxlRejResponseTo.REPLACE
            )
        else:
            ord_reason, cxl_reason, response_to = int(reason), None, None
        self._commit(tuple_new(Event, (
            seq, self._clock(), K.REQUEST_REFUSED, session, None, cl_ord_id, orig_cl_ord_id,
            None, None, None, None, 0, 0, 0, 0, 0, None, None, None, None, ord_reason,
            cxl_reason, response_to, text, None, 0, received_ns, fix, 4, None,
        )))

    def set_kill_switch(
        self, account: Account | None, engaged: bool, reason: str | None = None
    ) -> Event:
        """Engage or release the kill switch of one account, or of all (account None).

        An operator's command: it becomes a KILL_SWITCH event, applied and logged like any
        other, so that a replay of the audit log halts the same accounts. Releasing it for
        all accounts releases every account's own switch too (see
        `RiskChecks.set_kill_switch`). An account without configured limits is refused
        with `UnknownAccount`, naming it, and nothing is recorded.
        """
        if account is not None and not self.risk.knows(account):
            raise UnknownAccount(account, self.risk.accounts)
        text = kill_switch_text(account, engaged=engaged)
        log.warning("%s: reason=%s", text, reason or "-")
        seq = self._seq + 1
        now = self._clock()
        # No client session and no order: the operator's reason is the event's text.
        event = tuple_new(Event, (
            seq, now, K.KILL_SWITCH, SessionID(""), None, None, None, None, None, None, None,
            0, 0, 0, 0, 0, None, None, None, None, None, None, None, reason or None,
            RiskVerdict(KILL_SWITCH, ENGAGED if engaged else RELEASED, text), 0, now, None, 4,
            account,
        ))
        self._commit(event)
        return event

    def on_venue_report(self, report: VenueReport) -> None:
        """Take a venue report; applied at once unless the engine is mid-decision."""
        self._inbox.append(report)
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        self._draining = True
        try:
            inbox = self._inbox
            while inbox:
                self._venue_report(inbox.popleft())
        finally:
            self._draining = False

    # Operations.

    def expire(self, now_ns: int | None = None) -> None:
        """Ask every venue that keeps no clock of its own to expire its past-due GTD orders.

        The embedded venue expires them when asked (it reports Expired for each); a FIX
        venue expires GTD orders itself and reports them.
        """
        now = now_ns if now_ns is not None else self._clock()
        for venue in self.venues.values():
            expire = getattr(venue, "expire", None)
            if expire is not None:
                expire(now)


__all__ = ["Engine", "SessionAccounts", "NO_ORDER_ID", "PRICE_SCALE", "format_ns"]
