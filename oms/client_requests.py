"""Client requests: what the engine decides for each new order, cancel, replace and status
request, as events.

Each request is recorded first, as received (a `*_REQUESTED` event), then either denied
by our own checks (validation in `oms.validation`, then the pre-trade risk checks) or
accepted and sent to its venue. A denied new order is answered Rejected; a denied cancel
or replace, with an OrderCancelReject (35=9).
"""

from __future__ import annotations

import logging

from oms.book import UNUSED
from oms.commands import CancelOrder, FixContext, NewOrder, ReplaceOrder, StatusRequest
from oms.engine_state import NO_ORDER_ID, EngineState, K, S, X, tuple_new
from oms.events import Event, EventKind, RiskVerdict
from oms.model import (
    ClOrdID,
    CxlRejReason,
    CxlRejResponseTo,
    ExecID,
    OrderID,
    OrdRejReason,
    SessionID,
    VenueName,
)
from oms.order import TERMINAL, Order, OrderTerms, PendingRequest
from oms.refdata import Instrument
from oms.validation import (
    Denial,
    replace_terms,
    requested_terms,
    validate_new,
    validate_replace,
)

log = logging.getLogger(__name__)


class ClientRequests(EngineState):
    """The engine's decisions on client requests (see `oms.engine.Engine.handle`)."""

    # New orders.

    def _new_order(self, command: NewOrder) -> None:
        session = command.session
        cl_ord_id = command.cl_ord_id
        self._emit_request(K.NEW_REQUESTED, command, None)
        existing = self.book.lookup(session, cl_ord_id)
        if existing is not UNUSED:
            if command.poss_resend and isinstance(existing, Order):
                # PossResend(97)=Y: a copy of an order we have; answer with its status.
                self._emit_status(existing, cl_ord_id, command.fix, command.received_ns)
            else:
                self._deny_new(
                    command, None, None, OrdRejReason.DUPLICATE_ORDER,
                    f"ClOrdID(11) {cl_ord_id} is already used by this session", None,
                )
            return

        try:
            terms, instrument = validate_new(
                command, self.sessions, self.risk, self.instruments, self._clock
            )
        except Denial as denial:
            self._deny_new(command, None, None, denial.reason, denial.text, None)
            return
        verdict = self.risk.check_new(terms, instrument)
        if verdict is not None:
            reason = (
                OrdRejReason.BROKER_OPTION
                if verdict.check == "kill_switch"
                else OrdRejReason.ORDER_EXCEEDS_LIMIT
            )
            self._deny_new(
                command, terms, instrument, reason, self.risk.describe(verdict), verdict
            )
            return

        venue_name = self._route(instrument)
        venue = self.venues.get(venue_name)
        if venue is None:
            self._deny_new(
                command, terms, instrument, OrdRejReason.OTHER,
                f"venue {venue_name} for {terms.symbol} is not connected", None,
            )
            return
        seq = self._seq + 1
        event = tuple_new(Event, (
            seq, self._clock(), K.PENDING_NEW, session, OrderID(f"O{seq}"), cl_ord_id, None,
            terms, None, None, S.PENDING_NEW, 0, terms.quantity, 0, 0, 0, None, venue_name,
            None, None, None, None, None, None, None, command.transact_time_ns or 0,
            command.received_ns, command.fix, instrument.avg_px_decimals, None,
        ))
        order = self._commit(event)
        venue.submit(order)  # type: ignore[arg-type]

    def _route(self, instrument: Instrument) -> VenueName:
        if self._router is not None:
            return self._router(instrument)
        return next(iter(self.venues), VenueName("none"))

    def _deny_new(
        self,
        command: NewOrder,
        terms: OrderTerms | None,
        instrument: Instrument | None,
        reason: int,
        text: str,
        verdict: RiskVerdict | None,
        exec_id: ExecID | None = None,
    ) -> None:
        """Answer a new order with Rejected. A duplicate ClOrdID creates no order, nor
        does a denial given an ExecID of its own (see `Engine.halt`): OrderID NONE."""
        duplicate = reason == OrdRejReason.DUPLICATE_ORDER
        seq = self._seq + 1
        if terms is None:
            terms = requested_terms(command)
        if exec_id is None:
            order_id = NO_ORDER_ID if duplicate else OrderID(f"O{seq}")
            exec_id = ExecID(f"E{seq}")
        else:
            order_id = NO_ORDER_ID
        log.warning("new order denied: session=%s cl_ord_id=%s reason=%s text=%s",
                    command.session, command.cl_ord_id, reason, text)
        self._commit(tuple_new(Event, (
            seq, self._clock(), K.NEW_DENIED, command.session, order_id, command.cl_ord_id,
            None, terms, None, X.REJECTED, S.REJECTED, 0, 0, 0, 0, 0, exec_id,
            None, None, None, int(reason), None, None, text, verdict,
            command.transact_time_ns or 0, command.received_ns, command.fix,
            instrument.avg_px_decimals if instrument is not None else 4, None,
        )))

    # Cancel and replace requests.

    def _find(
        self, session: SessionID, orig: ClOrdID | None, order_id: OrderID | None
    ) -> Order | None:
        """The session's own order named by OrigClOrdID, else by OrderID."""
        if orig is not None:
            order = self.book.find(session, orig)
            if order is not None:
                return order
        if order_id is not None:
            return self.book.find_by_order_id(session, order_id)
        return None

    def _refusal(
        self, order: Order | None, command: CancelOrder | ReplaceOrder
    ) -> tuple[int, str] | None:
        """Why a cancel or replace cannot go ahead, or None if it can (the rules shared)."""
        session, cl_ord_id = command.session, command.cl_ord_id
        if self.book.has_cl_ord_id(session, cl_ord_id):
            return CxlRejReason.DUPLICATE_CLORDID, (
                f"ClOrdID(11) {cl_ord_id} is already used by this session"
            )
        if order is None:
            return CxlRejReason.UNKNOWN_ORDER, "unknown order"
        if order.status in TERMINAL:
            return CxlRejReason.TOO_LATE_TO_CANCEL, (
                f"order {order.order_id} is {order.status.label}"
            )
        if order.pending is not None:
            pending = "cancel" if order.pending.terms is None else "replace"
            return CxlRejReason.ALREADY_PENDING, (
                f"order {order.order_id} already has a {pending} pending "
                f"(ClOrdID(11) {order.pending.cl_ord_id})"
            )

        # OrigClOrdID(41) names the previous order of the chain, not its first (FIX 4.4
        # Vol. 6, field 41), which the matrices take as the last ClOrdID not rejected
        # (Vol. 4, Appendix D, D.2.a); with nothing pending, that is the order's own. A
        # request naming an older one was written against terms since replaced, so it
        # is refused rather than applied to the current ones. None of the shared FIX 4.4
        # scenarios names an older ClOrdID (D.1.a's second replace names the first).
        orig = command.orig_cl_ord_id
        current = order.terms.cl_ord_id
        if orig is not None and orig != current:
            return CxlRejReason.OTHER, (
                f"OrigClOrdID(41) {orig} is not the order's current ClOrdID(11) {current}"
            )
        return None

    def _cancel(self, command: CancelOrder) -> None:
        self._emit_request(K.CANCEL_REQUESTED, command, None)
        order = self._find(command.session, command.orig_cl_ord_id, command.order_id)
        refusal = self._refusal(order, command)
        if refusal is None:
            assert order is not None
            refusal = _cancel_mismatch(order.terms, command)
        if refusal is not None:
            self._deny_cancel(K.CANCEL_DENIED, command, order, *refusal)
            return
        assert order is not None
        orig = order.terms.cl_ord_id
        self._commit(self._order_event(
            K.PENDING_CANCEL, order, X.PENDING_CANCEL, command.cl_ord_id, orig,
            PendingRequest(command.cl_ord_id, orig, None), order.terms,
            order.cum_quantity, order.notional, order.status,
            transact=command.transact_time_ns, received=command.received_ns, fix=command.fix,
        ), order)
        self.venues[order.venue].cancel(order)  # type: ignore[index]

    def _replace(self, command: ReplaceOrder) -> None:
        order = self._find(command.session, command.orig_cl_ord_id, command.order_id)
        self._emit_request(
            K.REPLACE_REQUESTED, command, replace_terms(order, command) if order else None
        )
        refusal = self._refusal(order, command)
        if refusal is not None:
            self._deny_cancel(K.REPLACE_DENIED, command, order, *refusal)
            return
        assert order is not None and order.instrument is not None
        instrument = order.instrument
        old = order.terms
        try:
            requested = validate_replace(order, command, self._clock)
        except Denial as denial:
            self._deny_cancel(K.REPLACE_DENIED, command, order, CxlRejReason.OTHER, denial.text)
            return
        verdict = self.risk.check_replace(old, requested, order.cum_quantity, instrument)
        if verdict is not None:
            self._deny_cancel(
                K.REPLACE_DENIED, command, order, CxlRejReason.BROKER_OPTION,
                self.risk.describe(verdict), verdict,
            )
            return
        orig = old.cl_ord_id
        # Pending Replace restates the order as it stands: the old OrderQty (Vol. 4, D.*).
        self._commit(self._order_event(
            K.PENDING_REPLACE, order, X.PENDING_REPLACE, command.cl_ord_id, orig,
            PendingRequest(command.cl_ord_id, orig, requested), old,
            order.cum_quantity, order.notional, order.status, requested=requested,
            transact=command.transact_time_ns, received=command.received_ns, fix=command.fix,
        ), order)
        self.venues[order.venue].replace(order, requested)  # type: ignore[index]

    def _deny_cancel(
        self,
        kind: EventKind,
        command: CancelOrder | ReplaceOrder,
        order: Order | None,
        reason: int,
        text: str,
        verdict: RiskVerdict | None = None,
    ) -> None:
        """Answer a cancel or replace with an OrderCancelReject (35=9)."""
        response_to = (
            CxlRejResponseTo.CANCEL if kind is K.CANCEL_DENIED else CxlRejResponseTo.REPLACE
        )
        log.warning("%s denied: session=%s cl_ord_id=%s reason=%s text=%s",
                    "cancel" if kind is K.CANCEL_DENIED else "replace",
                    command.session, command.cl_ord_id, reason, text)
        seq = self._seq + 1
        if order is None or reason == CxlRejReason.UNKNOWN_ORDER:
            # Unknown, or another session's: answered alike, revealing nothing (OrderID NONE).
            self._commit(tuple_new(Event, (
                seq, self._clock(), kind, command.session, NO_ORDER_ID, command.cl_ord_id,
                command.orig_cl_ord_id, None, None, None, S.REJECTED, 0, 0, 0, 0, 0, None,
                None, None, None, None, int(reason), response_to, text, verdict,
                command.transact_time_ns or 0, command.received_ns, command.fix, 4, None,
            )))
            return
        # OrigClOrdID(41) of the reject is the last accepted ClOrdID, whatever the request
        # named (FIX 4.4 Vol. 2, OrderCancelReject; Vol. 4, D.2.a).
        self._commit(self._order_event(
            kind, order, None, command.cl_ord_id, order.terms.cl_ord_id, order.pending,
            order.terms,
            order.cum_quantity, order.notional, order.status, text=text, cxl_reason=reason,
            response_to=response_to, risk=verdict, transact=command.transact_time_ns,
            received=command.received_ns, fix=command.fix, exec_id=False,
        ), order)

    # Status requests.

    def _status(self, command: StatusRequest) -> None:
        self._emit_request(K.STATUS_REQUESTED, command, None)
        order = None
        if command.cl_ord_id is not None:
            order = self.book.find(command.session, command.cl_ord_id)
        if order is None and command.order_id is not None:
            order = self.book.find_by_order_id(command.session, command.order_id)
        if order is None:
            self._deny_status(command, OrdRejReason.UNKNOWN_ORDER, "unknown order")
            return
        self._emit_status(order, command.cl_ord_id or order.terms.cl_ord_id, command.fix,
                          command.received_ns)

    def _deny_status(
        self, command: StatusRequest, reason: int, text: str, exec_id: ExecID | None = None
    ) -> None:
        """A status request for an order the session does not have: OrdStatus Rejected."""
        seq = self._seq + 1
        self._commit(tuple_new(Event, (
            seq, self._clock(), K.STATUS_DENIED, command.session, NO_ORDER_ID,
            command.cl_ord_id, None, None, None, X.ORDER_STATUS, S.REJECTED, 0, 0, 0, 0, 0,
            exec_id or ExecID(f"E{seq}"), None, None, None, int(reason), None, None, text, None, 0,
            command.received_ns, command.fix, 4, None,
        )))

    def _emit_status(
        self, order: Order, cl_ord_id: ClOrdID, fix: FixContext | None, received_ns: int
    ) -> None:
        self._commit(self._order_event(
            K.STATUS, order, X.ORDER_STATUS, cl_ord_id, None, order.pending, order.terms,
            order.cum_quantity, order.notional, order.status, fix=fix, received=received_ns,
        ), order)

    # Requests as received.

    def _emit_request(
        self,
        kind: EventKind,
        command: NewOrder | CancelOrder | ReplaceOrder | StatusRequest,
        requested: OrderTerms | None,
    ) -> None:
        seq = self._seq + 1
        terms = requested_terms(command) if type(command) is NewOrder else None
        orig = getattr(command, "orig_cl_ord_id", None)
        order_id = getattr(command, "order_id", None)
        self._commit(tuple_new(Event, (
            seq, self._clock(), kind, command.session, order_id, command.cl_ord_id, orig,
            terms, requested, None, None, 0, 0, 0, 0, 0, None, None, None, None, None, None,
            None, None, None, getattr(command, "transact_time_ns", None) or 0,
            command.received_ns, command.fix, 4, None,
        )))


def _cancel_mismatch(terms: OrderTerms, command: CancelOrder) -> tuple[int, str] | None:
    """Why a cancel does not name the order it asks to cancel, or None.

    An OrderCancelRequest restates the order's Symbol(55) and Side(54) (both required in
    FIX 4.4 Vol. 2); a request whose values differ is refused rather than trusted.
    """
    if command.symbol is not None and command.symbol != terms.symbol:
        return CxlRejReason.OTHER, (
            f"Symbol(55) {command.symbol} is not the order's Symbol(55) {terms.symbol}"
        )
    if command.side is not None and command.side is not terms.side:
        return CxlRejReason.OTHER, (
            f"Side(54) {command.side.name.lower()} is not the order's Side(54) "
            f"{terms.side.name.lower()}"
        )
    return None
