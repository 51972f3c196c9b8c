"""A FIX 4.4 venue the engine routes to: one quickfix initiator session, the engine's
`Venue` interface on one side and the venue's reports, as `VenueReport`s, on the other.

The link and what happens when it breaks:

- The session starts afresh at every logon (ResetSeqNumFlag(141)=Y, sequence numbers in
  memory), so that either side can restart without an operator resetting sequence numbers.
  What either side sent while the other was away is therefore not resent by quickfix; the
  adapter makes up for it itself, as follows.
- While the session is down, orders stay exactly as they are: nothing is canceled or
  rejected on the venue's behalf, and the client hears nothing it did not hear before.
- Requests made while it is down (new orders, cancels, replaces) are held, in order, and
  sent once the session is back and reconciled. quickfix tells us when a request did not
  go out (the session resets on disconnect, so it refuses to queue one), so a request is
  never lost in between.
- After each logon the adapter sends an OrderStatusRequest (35=H) for every live order the
  engine routed here, and compares each answer with what the venue had told us (see
  `gateways.fix.venue_reports`): a fill, a cancel or a replace we missed is reported; a
  NewOrderSingle the venue never received is sent again under the same ClOrdID; a cancel
  or replace it never received is sent again under a new one. Then the held requests go.

Known shortcomings:
- TODO: held requests never expire: after a long outage a day-old new order still goes out
  once the venue is back. Refusing them after a limit needs a way for the adapter to deny
  an order on the OMS's behalf, which the Venue interface does not have yet.
- TODO: venues that keep sequence numbers for the whole day (and refuse a reset Logon)
  need a per-venue choice of a file store with resends; VenueConfig has no key for it yet.
- Fills the venue made while the session was down come back as one fill per order, priced
  from the venue's AvgPx(6) (on the tick grid), not as the venue's own executions.

Threads:
- the engine thread calls submit/cancel/replace/request_status and sends with
  `quickfix.Session.sendToTarget`, holding no lock (the adapter's own lock is released
  first);
- quickfix's initiator thread runs the callbacks, holding the session's lock: they read the
  venue's messages and only post reports (`Runtime.post_report`, which never blocks);
- a small thread of our own runs what a logon sets off on the engine thread
  (`Runtime.call`), since a callback must not wait for the engine.
The adapter's lock guards the per-order records and is held only for bookkeeping.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import quickfix

from gateways.fix.fields import EscapedFields, MessageFields, tag_name
from gateways.fix.messagelog import MessageLog
from gateways.fix.session import (
    GuardedApplication,
    SessionSpec,
    build_settings,
    stop_quietly,
)
from gateways.fix.venue_reports import RoutedOrder, StatusOutcome, VenueReader
from gateways.fix.venue_requests import (
    VenueRequest,
    cancel_request,
    new_order_cl_ord_id,
    new_order_single,
    order_id_of,
    replace_request,
    status_request,
    venue_cl_ord_id,
)
from gateways.fix.wire import build_message, escaped, invalid_utf8_tag, printable
from oms.commands import FixContext
from oms.config import VenueConfig
from oms.model import PRICE_SCALE, ClOrdID, OrderID, Symbol, VenueName
from oms.order import Order, OrderTerms
from oms.reports import ReportSink

if TYPE_CHECKING:
    from oms.runtime import Runtime

log = logging.getLogger(__name__)

BEGIN_STRING = "FIX.4.4"
# How long a reconcile waits for status answers before it sends the held requests anyway.
STATUS_TIMEOUT_SECONDS = 5.0
# How many sent messages are remembered, to read a session Reject's RefSeqNum(45).
_SENT_REMEMBERED = 4096


class LinkState(str, Enum):
    DOWN = "down"
    RECONCILING = "reconciling"
    READY = "ready"
    CLOSED = "closed"


class FixVenue:
    """Implements `oms.reports.Venue` over a FIX 4.4 initiator session."""

    def __init__(self, config: VenueConfig, sink: ReportSink, runtime: Runtime) -> None:
        self.name = VenueName(config.name)
        self.config = config
        self._runtime = runtime
        self._engine = runtime.engine
        instruments = runtime.instruments
        self._reader = VenueReader(
            self.name, sink,
            lambda symbol: instruments[symbol].tick if symbol in instruments else None,
        )
        self._lock = threading.Lock()
        self._orders: dict[OrderID, RoutedOrder] = {}
        self._held: deque[VenueRequest] = deque()
        self._state = LinkState.DOWN
        # Counts logons, so that work a logon set off is dropped once the link went down.
        self._generation = 0
        self._awaiting: set[OrderID] = set()
        self._outcomes: dict[OrderID, StatusOutcome] = {}
        self._deadline = 0.0
        self._last_number = 0
        self._sent: OrderedDict[int, VenueRequest] = OrderedDict()
        self._jobs: queue.SimpleQueue[tuple[int, Callable[[int], None]] | None] = (
            queue.SimpleQueue()
        )
        self._watcher: threading.Thread | None = None
        spec = SessionSpec(BEGIN_STRING, config.sender_comp_id, config.target_comp_id)
        self._session_id = spec.session_id
        fix = runtime.config.fix
        self._settings = build_settings({
            "ConnectionType": "initiator",
            "SocketConnectHost": config.host,
            "SocketConnectPort": config.port,
            "HeartBtInt": fix.heartbeat_seconds,
            "ReconnectInterval": config.reconnect_seconds,
            "NonStopSession": True,
            # A fresh start at every logon, and no queueing while down (see above).
            "ResetOnLogon": True,
            "ResetOnLogout": True,
            "ResetOnDisconnect": True,
            "SocketNodelay": True,
            "LogonTimeout": 10,
            "LogoutTimeout": 2,
        }, [spec])
        self._message_log = (
            MessageLog(Path(runtime.config.data_directory) / "fix" / "log")
            if fix.log == "file" else None
        )
        self._app = _VenueSession(self)
        self._initiator: quickfix.SocketInitiator | None = None

    # Life cycle.

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def held(self) -> int:
        """How many requests wait for the session to come back."""
        return len(self._held)

    def start(self) -> None:
        """Start connecting (and reconnecting every reconnect_seconds while down)."""
        self._watcher = threading.Thread(
            target=self._watch, name=f"venue-{self.name}", daemon=True
        )
        self._watcher.start()
        self._initiator = quickfix.SocketInitiator(
            self._app, quickfix.MemoryStoreFactory(), self._settings
        )
        self._initiator.start()
        log.info("venue %s: connecting to %s:%d as %s", self.name, self.config.host,
                 self.config.port, self.config.sender_comp_id)

    def stop(self) -> None:
        with self._lock:
            self._state = LinkState.CLOSED
        initiator, self._initiator = self._initiator, None
        if initiator is not None:
            stop_quietly(initiator, self._app, [self._session_id],
                         reason="the OMS is shutting down")
        self._jobs.put(None)
        if self._watcher is not None:
            self._watcher.join(timeout=2)
            self._watcher = None
        if self._message_log is not None:
            self._message_log.close()

    # The engine's Venue interface (engine thread).

    def submit(self, order: Order) -> None:
        request = new_order_single(order, time.time_ns())
        with self._lock:
            self._orders[order.order_id] = RoutedOrder(
                order.order_id, order.terms.symbol, request.cl_ord_id, new=request
            )
        self._send(request)

    def cancel(self, order: Order) -> None:
        with self._lock:
            routed = self._routed(order)
            request = cancel_request(
                order, self._next_cl_ord_id(order), routed.working,
                routed.venue_order_id or order.venue_order_id, time.time_ns(),
            )
            routed.pending = request
        self._send(request)

    def replace(self, order: Order, terms: OrderTerms) -> None:
        with self._lock:
            routed = self._routed(order)
            request = replace_request(
                order, terms, self._next_cl_ord_id(order), routed.working,
                routed.venue_order_id or order.venue_order_id, time.time_ns(),
            )
            routed.pending = request
        self._send(request)

    def request_status(self, order: Order) -> None:
        with self._lock:
            routed = self._routed(order)
            request = status_request(
                order, routed.working, routed.venue_order_id or order.venue_order_id
            )
        self._send(request)

    def _routed(self, order: Order) -> RoutedOrder:
        """The record of an order (under the lock); rebuilt from the engine after a restart."""
        routed = self._orders.get(order.order_id)
        if routed is None:
            cum = order.cum_quantity
            routed = RoutedOrder(
                order.order_id, order.terms.symbol, new_order_cl_ord_id(order.order_id),
                acknowledged=order.venue_order_id is not None,
                venue_order_id=order.venue_order_id, cum_quantity=cum,
                notional=Decimal(order.notional) / PRICE_SCALE,
            )
            self._orders[order.order_id] = routed
        return routed

    def _next_cl_ord_id(self, order: Order) -> ClOrdID:
        # The engine event that asked for this request numbers it (see venue_requests).
        number = max(self._engine.seq, self._last_number + 1)
        self._last_number = number
        return venue_cl_ord_id(order.order_id, number)

    # Sending (engine thread).

    def _send(self, request: VenueRequest) -> None:
        with self._lock:
            if self._state is not LinkState.READY:
                self._held.append(request)
                log.debug("venue %s is %s: request held: %r", self.name, self._state.value,
                          request)
                return
        if not self._transmit(request):
            with self._lock:
                self._held.append(request)

    def _transmit(self, request: VenueRequest) -> bool:
        """Hand one request to quickfix; False if the session would not take it."""
        message = build_message(request.msg_type, request.fields)
        try:
            taken = bool(quickfix.Session.sendToTarget(message, self._session_id))
        except quickfix.SessionNotFound:
            taken = False
        if taken:
            request.sent = True
        else:
            log.debug("venue %s: session down, request held: %r", self.name, request)
        return taken

    # Logon and reconcile.

    def logged_on(self) -> None:
        """quickfix thread: the venue took our Logon."""
        with self._lock:
            self._generation += 1
            self._state = LinkState.RECONCILING
            self._sent.clear()
            generation = self._generation
        log.info("venue %s logged on: session=%s; asking the status of its live orders",
                 self.name, self._session_id)
        self._jobs.put((generation, self._begin_reconcile))

    def logged_out(self) -> None:
        """quickfix thread: the session is gone (logout, or the connection dropped)."""
        with self._lock:
            if self._state is LinkState.DOWN:
                return  # quickfix may report one disconnect twice
            if self._state is LinkState.CLOSED:
                log.info("venue %s logged out: the OMS is stopping", self.name)
                return
            self._state = LinkState.DOWN
            self._awaiting.clear()
            self._outcomes.clear()
            live = sum(1 for routed in self._orders.values() if not routed.done)
        log.info("venue %s logged out: session=%s; %d orders stay as they are and new "
                 "requests are held until it is back", self.name, self._session_id, live)

    def _begin_reconcile(self, generation: int) -> None:
        """Engine thread: ask the venue the status of every live order routed to it."""
        requests = []
        with self._lock:
            if generation != self._generation or self._state is not LinkState.RECONCILING:
                return
            for order in self._engine.book.open_orders():
                if order.venue != self.name:
                    continue
                routed = self._routed(order)
                if routed.new is not None and not routed.new.sent:
                    continue  # its NewOrderSingle is still held: the venue cannot know it
                requests.append(status_request(
                    order, routed.working, routed.venue_order_id or order.venue_order_id
                ))
                self._awaiting.add(order.order_id)
            self._deadline = time.monotonic() + STATUS_TIMEOUT_SECONDS
        for request in requests:
            if not self._transmit(request):
                return  # down again; the next logon starts over
        if not requests:
            self._finish_reconcile(generation)

    def _finish_reconcile(self, generation: int) -> None:
        """Engine thread: send again what the venue never received, then what was held.

        Runs after the reports the status answers produced have been applied, so each
        order's state here already includes them.
        """
        with self._lock:
            if generation != self._generation or self._state is not LinkState.RECONCILING:
                return
            outcomes, self._outcomes = self._outcomes, {}
            self._awaiting.clear()
        again = [r for r in (self._resend(o) for o in outcomes.values()) if r is not None]
        with self._lock:
            self._state = LinkState.READY
            queued = again + list(self._held)
            self._held.clear()
        if again:
            log.warning("venue %s: sending %d requests again that it never received",
                        self.name, len(again))
        for index, request in enumerate(queued):
            if not self._transmit(request):
                with self._lock:
                    self._held.extendleft(reversed(queued[index:]))
                return

    def _resend(self, outcome: StatusOutcome) -> VenueRequest | None:
        order = self._engine.book.get(outcome.order_id)
        if order is None or not order.is_live:
            return None
        with self._lock:
            routed = self._routed(order)
            if outcome.unknown:
                request = new_order_single(order, time.time_ns())
                routed.new = request
                return request
            pending = order.pending
            if pending is None or outcome.venue_pending:
                return None
            if routed.pending is not None and not routed.pending.sent:
                return None  # still held: it goes out with the held requests
            now = time.time_ns()
            venue_order_id = routed.venue_order_id or order.venue_order_id
            if pending.terms is None:
                request = cancel_request(order, self._next_cl_ord_id(order), routed.working,
                                         venue_order_id, now)
            else:
                request = replace_request(order, pending.terms, self._next_cl_ord_id(order),
                                          routed.working, venue_order_id, now)
            routed.pending = request
            return request

    def _watch(self) -> None:
        """Our own thread: runs logon work on the engine thread; times out a reconcile."""
        while True:
            try:
                job = self._jobs.get(timeout=0.25)
            except queue.Empty:
                self._check_deadline()
                continue
            if job is None:
                return
            generation, function = job
            try:
                self._runtime.call(functools.partial(function, generation), timeout=30.0)
            except TimeoutError:
                log.warning("venue %s: the engine thread did not answer in 30 s", self.name)
            except Exception:
                log.exception("venue %s: reconcile failed", self.name)

    def _check_deadline(self) -> None:
        with self._lock:
            late = (
                self._state is LinkState.RECONCILING and bool(self._awaiting)
                and time.monotonic() > self._deadline
            )
            if not late:
                return
            missing = len(self._awaiting)
            self._awaiting.clear()
            generation = self._generation
        log.warning("venue %s: no status answer for %d orders within %.0f s; sending the "
                    "held requests", self.name, missing, STATUS_TIMEOUT_SECONDS)
        self._jobs.put((generation, self._finish_reconcile))

    # What the venue sends (quickfix thread).

    def read(self, message: quickfix.Message) -> tuple[Mapping[int, str], str]:
        """The fields and text of a message from the venue. A value that is not valid UTF-8
        is read with those bytes escaped as \\xNN, and a WARNING names the tag: a venue's
        report says what happened at the venue (a fill is a fill), so it is applied, not
        refused, but its text must be writable to the audit log and to clients."""
        raw = message.toString()
        fields = MessageFields(message)
        tag = invalid_utf8_tag(raw)
        if tag is None:
            return fields, raw
        log.warning("venue %s sent %s that is not valid UTF-8; read with those bytes as "
                    "\\xNN: %s", self.name, tag_name(tag, BEGIN_STRING), printable(raw))
        return EscapedFields(fields), escaped(raw)

    def received(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        received_ns = time.time_ns()
        fields, raw = self.read(message)
        msg_type = fields.get(35, "")
        log.debug("from venue %s: %s", self.name, printable(raw))
        context = FixContext(BEGIN_STRING, fields.get(49, ""), fields.get(56, ""),
                             int(fields.get(34, "0") or 0), raw)
        if msg_type == "j":
            self._refused(fields, context, received_ns)
            return
        if msg_type not in ("8", "9"):
            # quickfix answers with BusinessMessageReject(35=j), BusinessRejectReason(380)=3.
            raise quickfix.UnsupportedMessageType()
        cl_ord_id = fields.get(11)
        order_id = order_id_of(cl_ord_id) or order_id_of(fields.get(41))
        if order_id is None:
            log.warning("venue %s reported on a ClOrdID we did not send: %s",
                        self.name, printable(raw))
            return
        with self._lock:
            routed = self._orders.get(order_id)
            if routed is None:
                # After a restart, before the reconcile has rebuilt the records.
                routed = RoutedOrder(order_id, Symbol(fields.get(55, "")),
                                     ClOrdID(cl_ord_id or new_order_cl_ord_id(order_id)))
                self._orders[order_id] = routed
            if msg_type == "9":
                self._reader.cancel_reject(fields, routed, context, received_ns)
                outcome = None
            else:
                outcome = self._reader.execution_report(fields, routed, context, received_ns)
            if routed.done and routed.pending is None:
                # The venue works it no more. A late report rebuilds the record from itself.
                del self._orders[order_id]
            if outcome is None or outcome.order_id not in self._awaiting:
                return
            self._awaiting.discard(outcome.order_id)
            self._outcomes[outcome.order_id] = outcome
            finished = not self._awaiting and self._state is LinkState.RECONCILING
            generation = self._generation
        if finished:
            self._jobs.put((generation, self._finish_reconcile))

    def sent(self, message: quickfix.Message) -> None:
        """Remember which request went under which MsgSeqNum(34), to read the venue's
        rejects that name only that (called from `to_app`, by whichever thread sends)."""
        fields = MessageFields(message)
        log.debug("to venue %s: %s", self.name, printable(message.toString()))
        order_id = order_id_of(fields.get(11))
        if order_id is None:
            return
        request = VenueRequest(fields.get(35, ""), order_id, ClOrdID(fields[11]), [])
        with self._lock:
            self._sent[int(fields.get(34, "0") or 0)] = request
            while len(self._sent) > _SENT_REMEMBERED:
                self._sent.popitem(last=False)

    def session_reject(self, fields: Mapping[int, str], context: FixContext) -> None:
        """A session Reject (35=3) of one of our messages, named by RefSeqNum(45)."""
        ref = fields.get(45, "")
        with self._lock:
            request = self._sent.get(int(ref)) if ref.isdigit() else None
            routed = self._orders.get(request.order_id) if request is not None else None
            if request is None or routed is None:
                return
            text = f"venue session reject: {fields.get(58, 'no text')} (tag {fields.get(371)})"
            self._reader.request_refused(request, routed, text, context, time.time_ns())

    def _refused(self, fields: Mapping[int, str], context: FixContext,
                 received_ns: int) -> None:
        """BusinessMessageReject (35=j): by BusinessRejectRefID(379), else RefSeqNum(45)."""
        ref_seq = fields.get(45, "")
        with self._lock:
            request = self._sent.get(int(ref_seq)) if ref_seq.isdigit() else None
            order_id = order_id_of(fields.get(379)) or (
                request.order_id if request is not None else None
            )
            routed = self._orders.get(order_id) if order_id is not None else None
            if routed is None:
                log.warning("venue %s business reject of no request we know: %s",
                            self.name, printable(context.raw or ""))
                return
            if request is None or request.order_id != routed.order_id:
                request = VenueRequest(fields.get(372, ""), routed.order_id, routed.working, [])
            text = f"venue business reject: {fields.get(58, 'no text')}"
            self._reader.request_refused(request, routed, text, context, received_ns)

    def log_message(self, direction: str, message: quickfix.Message,
                    session_id: quickfix.SessionID) -> None:
        if self._message_log is None:
            return
        if direction == "in":
            self._message_log.incoming(message, session_id)
        else:
            self._message_log.outgoing(message, session_id)


class _VenueSession(GuardedApplication):
    """The quickfix callbacks of the venue session; each hands over to the FixVenue."""

    def __init__(self, venue: FixVenue) -> None:
        super().__init__()
        self._venue = venue

    def on_logon(self, session_id: quickfix.SessionID) -> None:
        self._venue.logged_on()

    def on_logout(self, session_id: quickfix.SessionID) -> None:
        self._venue.logged_out()

    def to_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._venue.log_message("out", message, session_id)

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        venue = self._venue
        venue.log_message("in", message, session_id)
        fields, raw = venue.read(message)
        msg_type = fields.get(35)
        if msg_type == "3":
            log.warning("venue %s rejected a message of ours: %s", venue.name,
                        printable(raw))
            context = FixContext(BEGIN_STRING, fields.get(49, ""), fields.get(56, ""),
                                 int(fields.get(34, "0") or 0), raw)
            venue.session_reject(fields, context)
        elif msg_type == "5" and 58 in fields:
            log.info("venue %s logs out: %s", venue.name, fields[58])

    def to_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._venue.log_message("out", message, session_id)
        self._venue.sent(message)

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._venue.log_message("in", message, session_id)
        self._venue.received(message, session_id)


__all__ = ["BEGIN_STRING", "FixVenue", "LinkState", "STATUS_TIMEOUT_SECONDS"]
