"""The order engine: decides what each command and venue report means, as events.

The engine is single-threaded: gateways hand it commands and venue reports on one thread
(see `oms.runtime`). For each input it decides, builds events, and applies them; applying
an event is the only way any state changes (`apply`), and `replay` rebuilds the whole state
from the audit log by applying the same events.

Words: an order is *denied* by our own checks and *rejected* by a venue. A cancel or a
replace that fails is answered with an OrderCancelReject (a denial of ours, or the venue's
cancel reject).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from types import SimpleNamespace

from compliance.risk import (
    ENGAGED,
    KILL_SWITCH,
    RELEASED,
    RiskChecks,
    UnknownAccount,
    kill_switch_text,
)
from oms.book import OrderBook
from oms.commands import (
    CancelOrder,
    Command,
    FixContext,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from oms.events import Event, EventKind, RiskVerdict
from oms.model import (
    PRICE_SCALE,
    Account,
    ClOrdID,
    CxlRejReason,
    CxlRejResponseTo,
    ExecID,
    ExecType,
    OrderID,
    OrdRejReason,
    OrdStatus,
    OrdType,
    SessionID,
    Symbol,
    TimeInForce,
    VenueName,
    price_to_decimal,
)
from oms.order import TERMINAL, Order, OrderTerms, PendingRequest, status_after_quantities
from oms.refdata import Instrument
from oms.reports import Venue, VenueReport, VenueReportKind

log = logging.getLogger(__name__)

# The enumerations' members as plain attributes: reading a member off an Enum class costs
# about 120 ns, off a namespace about 20 ns, and the order path reads dozens per order.
K = SimpleNamespace(**EventKind.__members__)
S = SimpleNamespace(**OrdStatus.__members__)
X = SimpleNamespace(**ExecType.__members__)
R = SimpleNamespace(**VenueReportKind.__members__)
# Events are built positionally with tuple.__new__, skipping the NamedTuple constructor.
_new = tuple.__new__

NO_ORDER_ID = OrderID("NONE")

# Kinds whose apply sets the base status outright.
_SETS_STATUS = {
    K.PENDING_NEW: S.PENDING_NEW,
    K.NEW_DENIED: S.REJECTED,
    K.REJECTED: S.REJECTED,
    K.CANCELED: S.CANCELED,
    K.EXPIRED: S.EXPIRED,
    K.DONE_FOR_DAY: S.DONE_FOR_DAY,
}
# Kinds whose apply derives the base status from OrderQty and CumQty.
_DERIVES_STATUS = frozenset({K.ACCEPTED, K.TRADE, K.REPLACED, K.RESTATED})
_PRICED_TYPES = frozenset({OrdType.LIMIT, OrdType.STOP_LIMIT})
_STOP_TYPES = frozenset({OrdType.STOP, OrdType.STOP_LIMIT})
_DAY_ORDERS = frozenset({TimeInForce.DAY})


class SessionAccounts:
    """The accounts one client session may trade, and the one its orders default to."""

    __slots__ = ("accounts", "default")

    def __init__(self, accounts: Iterable[str], default: str | None = None) -> None:
        self.accounts = frozenset(Account(a) for a in accounts)
        self.default = Account(default) if default else None


class Denial(Exception):
    """Raised inside validation only, caught at once: the field, the value and the code."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


Listener = Callable[[Event], None]
Router = Callable[[Instrument], VenueName]


class Engine:
    def __init__(
        self,
        instruments: dict[Symbol, Instrument],
        risk: RiskChecks,
        *,
        sessions: dict[SessionID, SessionAccounts],
        clock: Callable[[], int] = time.time_ns,
        router: Router | None = None,
    ) -> None:
        self.instruments = instruments
        self.risk = risk
        self.sessions = sessions
        self.book = OrderBook()
        self.venues: dict[VenueName, Venue] = {}
        self._clock = clock
        self._router = router
        self._listeners: list[Listener] = []
        self._seq = 0
        self._inbox: deque[VenueReport] = deque()
        self._draining = False
        # (venue, venue ExecID) of every venue report applied: a duplicate is applied once.
        self._venue_exec_ids: set[tuple[VenueName | None, ExecID]] = set()

    # Wiring.

    def add_venue(self, venue: Venue) -> None:
        self.venues[venue.name] = venue

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every event, after it has been applied."""
        self._listeners.append(listener)

    @property
    def seq(self) -> int:
        """The sequence number of the last event."""
        return self._seq

    # Inputs.

    def handle(self, command: Command) -> None:
        """Decide one client command, then apply whatever the venues reported meanwhile."""
        kind = type(command)
        # Reports a venue makes from inside submit/cancel/replace wait in the inbox until
        # the decision is complete, so they never interleave with it.
        self._draining = True
        try:
            problem = _out_of_range(command)
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
        """Answer a command the engine failed on (a bug of ours) with a denial."""
        self._draining = False
        if isinstance(command, NewOrder):
            self._deny_new(command, None, None, OrdRejReason.OTHER, text, None)
        elif isinstance(command, (CancelOrder, ReplaceOrder)):
            kind = K.CANCEL_DENIED if isinstance(command, CancelOrder) else K.REPLACE_DENIED
            self._deny_cancel(kind, command, None, CxlRejReason.OTHER, text)
        else:
            self._deny_status(command, OrdRejReason.OTHER, text)

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
        self._commit(_new(Event, (
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
        event = _new(Event, (
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

    # New orders.

    def _new_order(self, command: NewOrder) -> None:
        session = command.session
        cl_ord_id = command.cl_ord_id
        self._emit_request(K.NEW_REQUESTED, command, None)
        existing = self.book.find(session, cl_ord_id)
        if existing is not None or self.book.has_cl_ord_id(session, cl_ord_id):
            if command.poss_resend and existing is not None:
                # PossResend(97)=Y: a copy of an order we have; answer with its status.
                self._emit_status(existing, cl_ord_id, command.fix, command.received_ns)
            else:
                self._deny_new(
                    command, None, None, OrdRejReason.DUPLICATE_ORDER,
                    f"ClOrdID(11) {cl_ord_id} is already used by this session", None,
                )
            return

        try:
            terms, instrument = self._validate_new(command)
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
        event = _new(Event, (
            seq, self._clock(), K.PENDING_NEW, session, OrderID(f"O{seq}"), cl_ord_id, None,
            terms, None, None, S.PENDING_NEW, 0, terms.quantity, 0, 0, 0, None, venue_name,
            None, None, None, None, None, None, None, command.transact_time_ns or 0,
            command.received_ns, command.fix, instrument.avg_px_decimals, None,
        ))
        order = self._commit(event)
        venue.submit(order)  # type: ignore[arg-type]

    def _validate_new(self, command: NewOrder) -> tuple[OrderTerms, Instrument]:
        """The order's terms, or a Denial naming the field and the value."""
        session = self.sessions.get(command.session)
        account = command.account
        if account is None:
            account = session.default if session is not None else None
            if account is None:
                raise Denial(
                    OrdRejReason.UNKNOWN_ACCOUNT,
                    f"Account(1) is missing and session {command.session} has no default",
                )
        if session is not None and account not in session.accounts:
            raise Denial(
                OrdRejReason.UNKNOWN_ACCOUNT,
                f"Account(1) {account} is not an account of session {command.session}",
            )
        if not self.risk.knows(account):
            raise Denial(OrdRejReason.UNKNOWN_ACCOUNT, f"Account(1) {account} is not known")
        instrument = self.instruments.get(command.symbol)
        if instrument is None:
            raise Denial(
                OrdRejReason.UNKNOWN_SYMBOL, f"Symbol(55) {command.symbol} is not known"
            )
        if not instrument.tradable:
            raise Denial(
                OrdRejReason.EXCHANGE_CLOSED,
                f"Symbol(55) {command.symbol} is not tradable (halted)",
            )
        ord_type = command.ord_type
        price, stop_price = self._prices(ord_type, command.price, command.stop_price, instrument)
        self._check_expiry(command.time_in_force, command.expire_time_ns)
        terms = OrderTerms(
            command.cl_ord_id,
            account,
            instrument.symbol,
            command.side,
            ord_type,
            command.time_in_force,
            self._quantity(command.quantity, instrument),
            price,
            stop_price,
            command.expire_time_ns,
        )
        return terms, instrument

    def _quantity(self, quantity: int | Decimal, instrument: Instrument) -> int:
        if type(quantity) is not int or quantity <= 0:
            raise Denial(
                OrdRejReason.INCORRECT_QUANTITY,
                f"OrderQty(38) {quantity} is not a positive whole number",
            )
        if quantity % instrument.lot:
            raise Denial(
                OrdRejReason.INCORRECT_QUANTITY,
                f"OrderQty(38) {quantity} is not a multiple of the lot size "
                f"{instrument.lot} of {instrument.symbol}",
            )
        return quantity

    def _prices(
        self,
        ord_type: OrdType,
        price: int | Decimal | None,
        stop_price: int | Decimal | None,
        instrument: Instrument,
    ) -> tuple[int | None, int | None]:
        """Price(44) and StopPx(99), checked against the order type and the tick grid."""
        if ord_type in _PRICED_TYPES:
            if price is None:
                raise Denial(
                    OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                    f"Price(44) is required for OrdType(40) {ord_type.name.lower()}",
                )
            price = self._tick_price("Price(44)", price, instrument)
        elif price is not None:
            raise Denial(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                f"Price(44) {price_text(price)} is not allowed on OrdType(40) "
                f"{ord_type.name.lower()}",
            )
        if ord_type in _STOP_TYPES:
            if stop_price is None:
                raise Denial(
                    OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                    f"StopPx(99) is required for OrdType(40) {ord_type.name.lower()}",
                )
            stop_price = self._tick_price("StopPx(99)", stop_price, instrument)
        elif stop_price is not None:
            raise Denial(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                f"StopPx(99) {price_text(stop_price)} is not allowed on OrdType(40) "
                f"{ord_type.name.lower()}",
            )
        return price, stop_price  # type: ignore[return-value]

    def _check_expiry(self, time_in_force: TimeInForce, expire_time_ns: int | None) -> None:
        if time_in_force is not TimeInForce.GTD:
            return
        if expire_time_ns is None:
            raise Denial(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                "ExpireTime(126) is required for TimeInForce(59) GTD",
            )
        if expire_time_ns <= self._clock():
            raise Denial(
                OrdRejReason.TOO_LATE_TO_ENTER,
                f"ExpireTime(126) {format_ns(expire_time_ns)} is in the past",
            )

    @staticmethod
    def _tick_price(field: str, price: int | Decimal, instrument: Instrument) -> int:
        if type(price) is not int:
            raise Denial(
                OrdRejReason.OTHER,
                f"{field} {price} is not on the tick grid of {instrument.symbol} "
                f"(tick {instrument.tick_size})",
            )
        if price <= 0:
            raise Denial(OrdRejReason.OTHER, f"{field} {price_text(price)} must be positive")
        if price % instrument.tick:
            raise Denial(
                OrdRejReason.OTHER,
                f"{field} {price_text(price)} is not on the tick grid of {instrument.symbol} "
                f"(tick {instrument.tick_size})",
            )
        return price

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
    ) -> None:
        """Answer a new order with Rejected. A duplicate ClOrdID creates no order."""
        duplicate = reason == OrdRejReason.DUPLICATE_ORDER
        seq = self._seq + 1
        if terms is None:
            terms = _requested_terms(command)
        order_id = NO_ORDER_ID if duplicate else OrderID(f"O{seq}")
        log.warning("new order denied: session=%s cl_ord_id=%s reason=%s text=%s",
                    command.session, command.cl_ord_id, reason, text)
        self._commit(_new(Event, (
            seq, self._clock(), K.NEW_DENIED, command.session, order_id, command.cl_ord_id,
            None, terms, None, X.REJECTED, S.REJECTED, 0, 0, 0, 0, 0, ExecID(f"E{seq}"),
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

    def _refusal(self, order: Order | None, cl_ord_id: ClOrdID, session: SessionID) -> tuple[
        int, str
    ] | None:
        """Why a cancel or replace cannot go ahead, or None if it can (the rules shared)."""
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
        return None

    def _cancel(self, command: CancelOrder) -> None:
        self._emit_request(K.CANCEL_REQUESTED, command, None)
        order = self._find(command.session, command.orig_cl_ord_id, command.order_id)
        refusal = self._refusal(order, command.cl_ord_id, command.session)
        if refusal is not None:
            self._deny_cancel(K.CANCEL_DENIED, command, order, *refusal)
            return
        assert order is not None
        orig = command.orig_cl_ord_id or order.terms.cl_ord_id
        self._commit(self._order_event(
            K.PENDING_CANCEL, order, X.PENDING_CANCEL, command.cl_ord_id, orig,
            PendingRequest(command.cl_ord_id, orig, None), order.terms,
            order.cum_quantity, order.notional, order.status,
            transact=command.transact_time_ns, received=command.received_ns, fix=command.fix,
        ))
        self.venues[order.venue].cancel(order)  # type: ignore[index]

    def _replace(self, command: ReplaceOrder) -> None:
        order = self._find(command.session, command.orig_cl_ord_id, command.order_id)
        self._emit_request(
            K.REPLACE_REQUESTED, command, _replace_terms(order, command) if order else None
        )
        refusal = self._refusal(order, command.cl_ord_id, command.session)
        if refusal is not None:
            self._deny_cancel(K.REPLACE_DENIED, command, order, *refusal)
            return
        assert order is not None and order.instrument is not None
        instrument = order.instrument
        old = order.terms
        try:
            if command.side is not None and command.side is not old.side:
                raise Denial(
                    OrdRejReason.OTHER,
                    f"Side(54) cannot change on a replace ({old.side.name.lower()} to "
                    f"{command.side.name.lower()})",
                )
            if command.symbol is not None and command.symbol != old.symbol:
                raise Denial(
                    OrdRejReason.OTHER,
                    f"Symbol(55) cannot change on a replace ({old.symbol} to {command.symbol})",
                )
            ord_type = command.ord_type or old.ord_type
            time_in_force = command.time_in_force or old.time_in_force
            price, stop = command.price, command.stop_price
            # Price(44) and StopPx(99) left out of a replace keep their values.
            if price is None and ord_type in _PRICED_TYPES:
                price = old.price
            if stop is None and ord_type in _STOP_TYPES:
                stop = old.stop_price
            price, stop = self._prices(ord_type, price, stop, instrument)
            expire = command.expire_time_ns
            if expire is None and time_in_force is TimeInForce.GTD:
                expire = old.expire_time_ns
            self._check_expiry(time_in_force, expire)
            requested = old.replaced(
                command.cl_ord_id, self._quantity(command.quantity, instrument), price, stop,
                ord_type, time_in_force, expire if time_in_force is TimeInForce.GTD else None,
            )
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
        orig = command.orig_cl_ord_id or old.cl_ord_id
        # Pending Replace restates the order as it stands: the old OrderQty (Vol. 4, D.*).
        self._commit(self._order_event(
            K.PENDING_REPLACE, order, X.PENDING_REPLACE, command.cl_ord_id, orig,
            PendingRequest(command.cl_ord_id, orig, requested), old,
            order.cum_quantity, order.notional, order.status, requested=requested,
            transact=command.transact_time_ns, received=command.received_ns, fix=command.fix,
        ))
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
            self._commit(_new(Event, (
                seq, self._clock(), kind, command.session, NO_ORDER_ID, command.cl_ord_id,
                command.orig_cl_ord_id, None, None, None, S.REJECTED, 0, 0, 0, 0, 0, None,
                None, None, None, None, int(reason), response_to, text, verdict,
                command.transact_time_ns or 0, command.received_ns, command.fix, 4, None,
            )))
            return
        self._commit(self._order_event(
            kind, order, None, command.cl_ord_id,
            command.orig_cl_ord_id or order.terms.cl_ord_id, order.pending, order.terms,
            order.cum_quantity, order.notional, order.status, text=text, cxl_reason=reason,
            response_to=response_to, risk=verdict, transact=command.transact_time_ns,
            received=command.received_ns, fix=command.fix, exec_id=False,
        ))

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

    def _deny_status(self, command: StatusRequest, reason: int, text: str) -> None:
        """A status request for an order the session does not have: OrdStatus Rejected."""
        seq = self._seq + 1
        self._commit(_new(Event, (
            seq, self._clock(), K.STATUS_DENIED, command.session, NO_ORDER_ID,
            command.cl_ord_id, None, None, None, X.ORDER_STATUS, S.REJECTED, 0, 0, 0, 0, 0,
            ExecID(f"E{seq}"), None, None, None, int(reason), None, None, text, None, 0,
            command.received_ns, command.fix, 4, None,
        )))

    def _emit_status(
        self, order: Order, cl_ord_id: ClOrdID, fix: FixContext | None, received_ns: int
    ) -> None:
        self._commit(self._order_event(
            K.STATUS, order, X.ORDER_STATUS, cl_ord_id, None, order.pending, order.terms,
            order.cum_quantity, order.notional, order.status, fix=fix, received=received_ns,
        ))

    # Venue reports.

    def _venue_report(self, report: VenueReport) -> None:
        order = self.book.get(report.order_id)
        if order is None:
            self._ignore(report, None, f"report for unknown order {report.order_id}")
            return
        if report.venue_exec_id is not None:
            if (report.venue, report.venue_exec_id) in self._venue_exec_ids:
                self._ignore(report, order, f"duplicate venue ExecID {report.venue_exec_id}")
                return
        kind = report.kind
        if kind is R.FILL:
            self._fill(order, report)
        elif kind is R.ACKNOWLEDGED:
            if order.status is not S.PENDING_NEW:
                self._ignore(report, order, f"acknowledgement of a {order.status.label} order")
                return
            self._commit(self._order_event(
                K.ACCEPTED, order, X.NEW, order.terms.cl_ord_id, None, order.pending,
                order.terms, order.cum_quantity, order.notional, S.NEW, report=report,
            ))
        elif kind is R.CANCELED:
            self._venue_canceled(order, report)
        elif kind is R.REPLACED:
            self._venue_replaced(order, report)
        elif kind is R.CANCEL_REJECTED:
            self._venue_cancel_rejected(order, report)
        elif kind is R.REJECTED:
            if order.status is not S.PENDING_NEW:
                self._ignore(report, order, f"reject of a {order.status.label} order")
                return
            self._commit(self._order_event(
                K.REJECTED, order, X.REJECTED, order.terms.cl_ord_id, None, None,
                order.terms, order.cum_quantity, order.notional, S.REJECTED, report=report,
                text=report.text, ord_reason=report.reason
                if report.reason is not None else int(OrdRejReason.BROKER_OPTION),
            ))
        elif kind in (R.DONE_FOR_DAY, R.EXPIRED):
            if order.status in TERMINAL:
                self._ignore(report, order, f"{kind.value} of a {order.status.label} order")
                return
            done_dfd = kind is R.DONE_FOR_DAY
            self._commit(self._order_event(
                K.DONE_FOR_DAY if done_dfd else K.EXPIRED, order,
                X.DONE_FOR_DAY if done_dfd else X.EXPIRED, order.terms.cl_ord_id, None, None,
                order.terms, order.cum_quantity, order.notional,
                S.DONE_FOR_DAY if done_dfd else S.EXPIRED, report=report, text=report.text,
            ))
        elif kind is R.RESTATED:
            self._venue_restated(order, report)
        else:
            # Pending Cancel / Pending Replace from the venue: we told the client already.
            self._ignore(report, order, f"venue {kind.value} (already reported)", quiet=True)

    def _fill(self, order: Order, report: VenueReport) -> None:
        quantity = report.last_quantity
        price = report.last_price
        if quantity <= 0 or price <= 0:
            self._ignore(report, order, f"fill with LastQty {quantity} LastPx {price}")
            return
        terms = order.terms
        leaves = order.leaves_quantity
        cum = order.cum_quantity + quantity
        status = status_after_quantities(order.status, terms.quantity, cum)
        text = report.text
        if order.status is S.FILLED:
            # Every share was filled already: the venue filled beyond OrderQty.
            text = (
                f"overfill: venue reported LastQty {quantity} on a Filled order, "
                f"CumQty {cum} beyond OrderQty {terms.quantity}"
            )
            log.warning("overfill: order=%s last_qty=%s cum_qty=%s order_qty=%s",
                        order.order_id, quantity, cum, terms.quantity)
        elif order.status in TERMINAL:
            # A trade the venue made before it saw our cancel: real, so recorded (flagged).
            text = f"late fill on a {order.status.label} order: LastQty {quantity}"
            log.warning("late fill: order=%s status=%s last_qty=%s",
                        order.order_id, order.status.label, quantity)
        elif quantity > leaves:
            text = f"overfill: venue reported LastQty {quantity} beyond LeavesQty {leaves}"
            log.warning("overfill: order=%s last_qty=%s leaves_qty=%s",
                        order.order_id, quantity, leaves)
        self._commit(self._order_event(
            K.TRADE, order, X.TRADE, terms.cl_ord_id, None, order.pending, terms, cum,
            order.notional + quantity * price, status, report=report, last_qty=quantity,
            last_px=price, text=text,
        ))

    def _venue_canceled(self, order: Order, report: VenueReport) -> None:
        if order.status in TERMINAL:
            self._ignore(report, order, f"cancel of a {order.status.label} order")
            return
        pending = order.pending
        if pending is not None and pending.terms is None:
            cl_ord_id, orig = pending.cl_ord_id, pending.orig_cl_ord_id
        else:
            # Unsolicited (or the venue canceled instead of replacing): the order's own id.
            cl_ord_id, orig = order.terms.cl_ord_id, None
        self._commit(self._order_event(
            K.CANCELED, order, X.CANCELED, cl_ord_id, orig, None, order.terms,
            order.cum_quantity, order.notional, S.CANCELED, report=report, text=report.text,
        ))

    def _venue_replaced(self, order: Order, report: VenueReport) -> None:
        pending = order.pending
        if order.status in TERMINAL or pending is None or pending.terms is None:
            self._ignore(report, order, "replace that was not pending")
            return
        terms = pending.terms
        status = status_after_quantities(order.status, terms.quantity, order.cum_quantity)
        self._commit(self._order_event(
            K.REPLACED, order, X.REPLACED, pending.cl_ord_id, pending.orig_cl_ord_id, None,
            terms, order.cum_quantity, order.notional, status, report=report,
        ))

    def _venue_cancel_rejected(self, order: Order, report: VenueReport) -> None:
        pending = order.pending
        if pending is None:
            self._ignore(report, order, "cancel reject with nothing pending")
            return
        response_to = CxlRejResponseTo.CANCEL if pending.terms is None else (
            CxlRejResponseTo.REPLACE
        )
        reason = report.reason if report.reason is not None else int(CxlRejReason.OTHER)
        self._commit(self._order_event(
            K.CANCEL_REJECTED, order, None, pending.cl_ord_id, pending.orig_cl_ord_id, None,
            order.terms, order.cum_quantity, order.notional, order.status, report=report,
            text=report.text, cxl_reason=reason, response_to=response_to, exec_id=False,
        ))

    def _venue_restated(self, order: Order, report: VenueReport) -> None:
        if order.status in TERMINAL or report.quantity is None or report.quantity <= 0:
            self._ignore(report, order, "restatement without a usable OrderQty")
            return
        old = order.terms
        terms = OrderTerms(
            old.cl_ord_id, old.account, old.symbol, old.side, old.ord_type,
            old.time_in_force, report.quantity,
            report.price if report.price is not None else old.price,
            old.stop_price, old.expire_time_ns,
        )
        status = status_after_quantities(order.status, terms.quantity, order.cum_quantity)
        self._commit(self._order_event(
            K.RESTATED, order, X.RESTATED, old.cl_ord_id, None, order.pending, terms,
            order.cum_quantity, order.notional, status, report=report, text=report.text,
            ord_reason=report.reason,
        ))

    def _ignore(
        self, report: VenueReport, order: Order | None, why: str, quiet: bool = False
    ) -> None:
        """Record a venue report that changes nothing, so the log still holds it."""
        if not quiet:
            log.warning("venue report ignored: %s: %r", why, report)
        seq = self._seq + 1
        self._commit(_new(Event, (
            seq, self._clock(), K.REPORT_IGNORED, order.session if order else SessionID(""),
            report.order_id, order.terms.cl_ord_id if order else None, None,
            order.terms if order else None, None, None,
            order.ord_status if order else None,
            order.cum_quantity if order else 0, order.leaves_quantity if order else 0,
            order.notional if order else 0, report.last_quantity, report.last_price, None,
            report.venue, report.venue_order_id, report.venue_exec_id, None, None, None,
            why, None, report.transact_time_ns or 0, report.received_ns, report.fix,
            order.instrument.avg_px_decimals if order and order.instrument else 4, None,
        )))

    # Building, applying and publishing events.

    def _emit_request(
        self,
        kind: EventKind,
        command: NewOrder | CancelOrder | ReplaceOrder | StatusRequest,
        requested: OrderTerms | None,
    ) -> None:
        seq = self._seq + 1
        terms = _requested_terms(command) if type(command) is NewOrder else None
        orig = getattr(command, "orig_cl_ord_id", None)
        order_id = getattr(command, "order_id", None)
        self._commit(_new(Event, (
            seq, self._clock(), kind, command.session, order_id, command.cl_ord_id, orig,
            terms, requested, None, None, 0, 0, 0, 0, 0, None, None, None, None, None, None,
            None, None, None, getattr(command, "transact_time_ns", None) or 0,
            command.received_ns, command.fix, 4, None,
        )))

    def _order_event(
        self,
        kind: EventKind,
        order: Order,
        exec_type: ExecType | None,
        cl_ord_id: ClOrdID,
        orig: ClOrdID | None,
        pending: PendingRequest | None,
        terms: OrderTerms,
        cum: int,
        notional: int,
        status: OrdStatus,
        *,
        report: VenueReport | None = None,
        last_qty: int = 0,
        last_px: int = 0,
        text: str | None = None,
        ord_reason: int | None = None,
        cxl_reason: int | None = None,
        response_to: CxlRejResponseTo | None = None,
        risk: RiskVerdict | None = None,
        requested: OrderTerms | None = None,
        transact: int | None = None,
        received: int = 0,
        fix: FixContext | None = None,
        exec_id: bool = True,
    ) -> Event:
        """An event restating `order` with the given outcome (status before pending)."""
        seq = self._seq + 1
        if pending is not None:
            ord_status = S.PENDING_CANCEL if pending.terms is None else S.PENDING_REPLACE
        else:
            ord_status = status
        leaves = terms.quantity - cum if status not in TERMINAL else 0
        if report is not None:
            venue_order_id = report.venue_order_id or order.venue_order_id
            venue_exec_id = report.venue_exec_id
            transact = report.transact_time_ns
            received = report.received_ns
            fix = report.fix
        else:
            venue_order_id = order.venue_order_id
            venue_exec_id = None
        instrument = order.instrument
        return _new(Event, (
            seq, self._clock(), kind, order.session, order.order_id, cl_ord_id, orig, terms,
            requested, exec_type, ord_status, cum, leaves if leaves > 0 else 0, notional,
            last_qty, last_px, ExecID(f"E{seq}") if exec_id else None, order.venue,
            venue_order_id, venue_exec_id, ord_reason, cxl_reason, response_to, text, risk,
            transact or 0, received, fix, instrument.avg_px_decimals if instrument else 4, None,
        ))

    def _commit(self, event: Event) -> Order:
        """Apply an event and hand it to every listener."""
        order = self.apply(event)
        for listener in self._listeners:
            listener(event)
        return order  # type: ignore[return-value]

    def apply(self, event: Event) -> Order | None:
        """Change state by one event: the only way state changes, live or in replay."""
        self._seq = event.seq
        kind = event.kind
        book = self.book
        order = book.by_id.get(event.order_id) if event.order_id is not None else None

        if order is None:
            if kind is K.PENDING_NEW or (kind is K.NEW_DENIED and event.order_id != NO_ORDER_ID):
                terms = event.terms
                assert terms is not None and event.order_id is not None
                order = Order(
                    event.order_id, event.session, terms, self.instruments.get(terms.symbol),
                    _SETS_STATUS[kind], event.venue, event.time_ns,
                )
                book.add(order)
                if order.is_live:
                    self.risk.record(
                        terms.account, terms.symbol, terms.side, order.leaves_quantity, 0, 0, 1
                    )
            elif kind in (K.CANCEL_DENIED, K.REPLACE_DENIED) and event.cl_ord_id is not None:
                book.use_cl_ord_id(event.session, event.cl_ord_id, None)
            elif kind is K.KILL_SWITCH:
                assert event.risk is not None
                self.risk.set_kill_switch(event.account, event.risk.value == ENGAGED)
            return order

        if kind in (K.CANCEL_DENIED, K.REPLACE_DENIED):
            if event.cxl_rej_reason != CxlRejReason.DUPLICATE_CLORDID:
                book.use_cl_ord_id(event.session, event.cl_ord_id, order)  # type: ignore[arg-type]
            return order
        if kind is K.REPORT_IGNORED or kind is K.STATUS or event.exec_type is None and (
            kind not in (K.CANCEL_REJECTED,)
        ):
            return order

        was_live = order.is_live
        old_leaves = order.leaves_quantity
        old_terms = order.terms
        filled = event.cum_quantity - order.cum_quantity

        terms = event.terms
        assert terms is not None
        status = _SETS_STATUS.get(kind)
        if status is None:
            if kind in _DERIVES_STATUS:
                status = status_after_quantities(
                    S.NEW if order.status is S.PENDING_NEW and kind is K.ACCEPTED
                    else order.status, terms.quantity, event.cum_quantity,
                )
            else:
                status = order.status
        if kind is K.PENDING_CANCEL or kind is K.PENDING_REPLACE:
            cl_ord_id, orig = event.cl_ord_id, event.orig_cl_ord_id
            assert cl_ord_id is not None and orig is not None
            order.pending = PendingRequest(cl_ord_id, orig, event.requested_terms)
            book.use_cl_ord_id(event.session, event.cl_ord_id, order)  # type: ignore[arg-type]
        elif kind is K.CANCELED or kind is K.REPLACED or kind is K.CANCEL_REJECTED:
            order.pending = None
        elif status in TERMINAL and kind is not K.TRADE and kind is not K.RESTATED:
            # A fill or a restatement that fills the order leaves its request pending:
            # the venue still answers it (a cancel reject, too late), as the event says.
            order.pending = None

        moved = terms is not old_terms and (
            terms.price != old_terms.price or terms.side is not old_terms.side
        )
        if was_live and (status in TERMINAL or moved):
            book.unwork(order, old_terms.price, old_terms.side)
        order.terms = terms
        order.status = status
        order.cum_quantity = event.cum_quantity
        order.notional = event.notional
        if event.venue_order_id is not None:
            order.venue_order_id = event.venue_order_id
        if event.venue_exec_id is not None:
            self._venue_exec_ids.add((event.venue, event.venue_exec_id))
        is_live = status not in TERMINAL
        if is_live and (moved or not was_live):
            book.work(order)

        leaves = order.leaves_quantity
        fill_notional = event.last_quantity * event.last_price if kind is K.TRADE else 0
        if leaves != old_leaves or filled or was_live != is_live or fill_notional:
            self.risk.record(
                terms.account, terms.symbol, terms.side, leaves - old_leaves,
                filled if kind is K.TRADE else 0, fill_notional, int(is_live) - int(was_live),
            )
        return order

    # Recovery and operations.

    def replay(self, events: Iterable[Event]) -> int:
        """Rebuild state from logged events (no listener hears them); returns how many."""
        count = 0
        for event in events:
            self.apply(event)
            count += 1
        return count

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

    def digest(self) -> str:
        """A hash of every order's state, to compare state before a crash and after replay."""
        sha = hashlib.sha256()
        for order_id in sorted(self.book.by_id):
            order = self.book.by_id[order_id]
            pending = order.pending
            sha.update(repr((
                order.order_id, order.session, order.terms, order.status.value,
                order.cum_quantity, order.leaves_quantity, order.notional,
                order.venue, order.venue_order_id,
                (pending.cl_ord_id, pending.orig_cl_ord_id, pending.terms) if pending else None,
            )).encode())
        for account in sorted(self.risk.usage):
            usage = self.risk.usage[account]
            sha.update(repr((account, usage.open_orders, usage.traded_notional, sorted(
                (s, e.position, e.working_buy, e.working_sell) for s, e in usage.symbols.items()
            ))).encode())
        sha.update(repr(sorted(self._venue_exec_ids, key=repr)).encode())
        sha.update(repr((self.risk.halted_all, sorted(self.risk.halted_accounts))).encode())
        return sha.hexdigest()


# The largest values the OMS takes: a quantity and a notional (quantity x price units) that
# the audit log's decimal128 columns hold, and a time that fits nanoseconds in 64 bits.
MAX_QUANTITY = 10**12
MAX_PRICE = 10**17  # price units: one billion currency units
MAX_TIME_NS = 2**63 - 1
_REQUEST_KINDS = {
    NewOrder: K.NEW_REQUESTED,
    CancelOrder: K.CANCEL_REQUESTED,
    ReplaceOrder: K.REPLACE_REQUESTED,
    StatusRequest: K.STATUS_REQUESTED,
}


def _out_of_range(command: Command) -> str | None:
    """Why a command carries a number too large to keep, or None; such a value is cleared
    from the command (so that no event carries it) before the command is denied."""
    problem = None
    quantity = getattr(command, "quantity", 0)
    if type(quantity) is int and quantity > MAX_QUANTITY:
        problem = f"OrderQty(38) {quantity} exceeds the largest quantity taken, {MAX_QUANTITY}"
        command.quantity = 0  # type: ignore[union-attr]
    for field, tag in (("price", "Price(44)"), ("stop_price", "StopPx(99)")):
        price = getattr(command, field, None)
        if price is not None and abs(price) > MAX_PRICE:
            shown = Decimal(price).scaleb(-8) if type(price) is int else price
            problem = problem or f"{tag} {shown} exceeds the largest price taken"
            setattr(command, field, None)
    for field, tag in (("expire_time_ns", "ExpireTime(126)"),
                       ("transact_time_ns", "TransactTime(60)")):
        value = getattr(command, field, None)
        if value is not None and not 0 <= value <= MAX_TIME_NS:
            problem = problem or f"{tag} is out of range (after the year 2262)"
            setattr(command, field, None)
    return problem


def _requested_terms(command: NewOrder | CancelOrder | ReplaceOrder | StatusRequest) -> (
    OrderTerms
):
    """A new order's terms as requested, before any check (for the record of a request)."""
    assert isinstance(command, NewOrder)
    return OrderTerms(
        command.cl_ord_id,
        command.account or Account(""),
        command.symbol,
        command.side,
        command.ord_type,
        command.time_in_force,
        command.quantity if type(command.quantity) is int else 0,
        command.price if type(command.price) is int else None,
        command.stop_price if type(command.stop_price) is int else None,
        command.expire_time_ns,
    )


def _replace_terms(order: Order, command: ReplaceOrder) -> OrderTerms:
    """A replace's terms as requested, before any check (for the record of a request)."""
    old = order.terms
    return old.replaced(
        command.cl_ord_id,
        command.quantity if type(command.quantity) is int else 0,
        command.price if type(command.price) is int else None,
        command.stop_price if type(command.stop_price) is int else None,
        command.ord_type or old.ord_type,
        command.time_in_force or old.time_in_force,
        command.expire_time_ns,
    )


def price_text(price: int | Decimal) -> str:
    return str(price_to_decimal(price)) if type(price) is int else str(price)


def format_ns(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{nanos:09d}Z"


__all__ = ["Engine", "SessionAccounts", "NO_ORDER_ID", "PRICE_SCALE", "format_ns"]
