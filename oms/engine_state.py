"""The order engine's state, and the only way it changes: applying one event.

`EngineState` holds what the engine keeps (the order book, with each order's venue
ExecIDs; the venues; the risk checks' usage) and changes it in `apply`, live and in
`replay` alike, so that the state rebuilt from the audit log is the state before. It also
builds the event that restates an order (`_order_event`) and publishes events
(`_commit`). The decisions that make events live beside it: `oms.client_requests` and
`oms.venue_reports`, brought together by `oms.engine.Engine`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from types import SimpleNamespace

from compliance.risk import ENGAGED, RiskChecks
from oms.book import SHARD_MASK, OrderBook
from oms.commands import FixContext
from oms.events import Event, EventKind, RiskVerdict
from oms.model import (
    ClOrdID,
    CxlRejReason,
    CxlRejResponseTo,
    ExecID,
    ExecType,
    OrderID,
    OrdStatus,
    SessionID,
    Symbol,
    VenueName,
)
from oms.order import TERMINAL, Order, OrderTerms, PendingRequest, status_after_quantities
from oms.refdata import Instrument
from oms.reports import Venue, VenueReport, VenueReportKind
from oms.validation import SessionAccounts

# The enumerations' members as plain attributes: reading a member off an Enum class costs
# about 120 ns, off a namespace about 20 ns, and the order path reads dozens per order.
K = SimpleNamespace(**EventKind.__members__)
S = SimpleNamespace(**OrdStatus.__members__)
X = SimpleNamespace(**ExecType.__members__)
R = SimpleNamespace(**VenueReportKind.__members__)
# Events are built positionally with tuple.__new__, skipping the NamedTuple constructor.
tuple_new = tuple.__new__

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
# An order's venue ExecIDs are kept in a tuple up to this many, then in a set.
_EXEC_IDS_IN_A_TUPLE = 8
# Kinds whose apply derives the base status from OrderQty and CumQty.
_DERIVES_STATUS = frozenset({K.ACCEPTED, K.TRADE, K.REPLACED, K.RESTATED})

# The most events the engine can make in a second, with a wide margin: at full speed it
# makes about 150,000 (50,000 new orders, three events each; README, Performance). It
# bounds how many events a crashed run can have made after its last logged one.
_MAX_EVENTS_PER_SECOND = 10_000_000

Listener = Callable[[Event], None]
Router = Callable[[Instrument], VenueName]


class EngineState:
    """What the engine keeps, and `apply`: the one place it changes."""

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

    # Building, applying and publishing events.

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
        return tuple_new(Event, (
            seq, self._clock(), kind, order.session, order.order_id, cl_ord_id, orig, terms,
            requested, exec_type, ord_status, cum, leaves if leaves > 0 else 0, notional,
            last_qty, last_px, ExecID(f"E{seq}") if exec_id else None, order.venue,
            venue_order_id, venue_exec_id, ord_reason, cxl_reason, response_to, text, risk,
            transact or 0, received, fix, instrument.avg_px_decimals if instrument else 4, None,
        ))

    def _commit(self, event: Event, order: Order | None = None) -> Order:
        """Apply an event and hand it to every listener. `order` is the event's order
        when the caller has it at hand, which saves looking it up."""
        order = self._apply(event, order)
        for listener in self._listeners:
            listener(event)
        return order  # type: ignore[return-value]

    def apply(self, event: Event) -> Order | None:
        """Change state by one event: the only way state changes, live or in replay."""
        return self._apply(event, None)

    def _apply(self, event: Event, order: Order | None) -> Order | None:
        self._seq = event.seq
        kind = event.kind
        book = self.book
        order_id = event.order_id
        # A new order's OrderID is the sequence number of its first event: never seen yet.
        if order is None and order_id is not None and (
            kind is not K.PENDING_NEW and kind is not K.NEW_DENIED
        ):
            order = book.by_id.shards[hash(order_id) & SHARD_MASK].get(order_id)

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
            seen = order.venue_exec_ids
            if type(seen) is tuple and len(seen) < _EXEC_IDS_IN_A_TUPLE:
                order.venue_exec_ids = (*seen, event.venue_exec_id)
            else:
                # Past a few fills a set: each check and each addition stays O(1).
                if type(seen) is tuple:
                    seen = order.venue_exec_ids = set(seen)
                seen.add(event.venue_exec_id)  # type: ignore[union-attr]
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

    # Recovery.

    def replay(self, events: Iterable[Event]) -> int:
        """Rebuild state from logged events (no listener hears them); returns how many.

        Then the sequence number, and with it every OrderID and ExecID made from it, moves
        past whatever the run that wrote the log can have sent without logging it: in
        async mode a report goes out before its event is durable, and a crash loses the
        event but not what the client was told. Nothing bounds how many such events the
        writer held, but the engine cannot have made them faster than
        `_MAX_EVENTS_PER_SECOND` since the last logged one, so the sequence skips that
        many for the time since then. A wall clock stepped back between the two runs,
        or a run that lost every event it made, defeats it.
        """
        count = 0
        apply = self._apply
        event = None
        for event in events:
            apply(event, None)
            count += 1
        if event is not None:
            elapsed = self._clock() - event.time_ns
            if elapsed > 0:
                self._seq += elapsed * _MAX_EVENTS_PER_SECOND // 1_000_000_000
        return count

    def digest(self) -> str:
        """A hash of every order's state, to compare state before a crash and after replay."""
        sha = hashlib.sha256()
        for order_id in sorted(self.book.by_id):
            order = self.book.by_id[order_id]
            pending = order.pending
            sha.update(repr((
                order.order_id, order.session, order.terms, order.status.value,
                order.cum_quantity, order.leaves_quantity, order.notional,
                order.venue, order.venue_order_id, sorted(order.venue_exec_ids),
                (pending.cl_ord_id, pending.orig_cl_ord_id, pending.terms) if pending else None,
            )).encode())
        for account in sorted(self.risk.usage):
            usage = self.risk.usage[account]
            sha.update(repr((account, usage.open_orders, usage.traded_notional, sorted(
                (s, e.position, e.working_buy, e.working_sell) for s, e in usage.symbols.items()
            ))).encode())
        sha.update(repr((self.risk.halted_all, sorted(self.risk.halted_accounts))).encode())
        return sha.hexdigest()

