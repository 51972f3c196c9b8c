"""The running OMS: the engine on its own thread, its venues, audit log and metrics.

Threads, and why they cannot deadlock:
- quickfix threads (client and venue sessions) only *post* to the engine's queue, which
  never blocks; they hold their own session's lock while they do, and nothing else.
- the engine thread takes one input at a time, decides, and appends the events to the
  audit log buffer. It sends to venue sessions (submit, cancel, replace) holding no lock.
- in durable mode the audit writer thread, after each fsync, releases the reports whose
  events are now durable to the client sinks; in async and off modes the engine thread
  releases them at once. The FIX acceptor's sink only queues each report on its session's
  outbox (gateways/fix/outbox.py), whose own thread sends it.
No thread ever holds one quickfix session's lock while taking another's, so there is no
lock cycle. A client that stops reading stalls only its own outbox thread: quickfix's
threaded acceptor blocks a send to a full socket, and no other session shares that thread.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from compliance.audit.errors import AuditLogError
from compliance.risk import RiskChecks
from oms.commands import (
    CancelOrder,
    Command,
    FixContext,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from oms.config import OmsConfig
from oms.engine import Engine, SessionAccounts
from oms.events import Event, EventKind
from oms.metrics import Metrics, open_order_count
from oms.model import Account, ClOrdID, SessionID, Symbol, VenueName
from oms.refdata import Instrument, load_instruments
from oms.reports import VenueReport

log = logging.getLogger(__name__)

ClientSink = Callable[[Event], None]
_COMMANDS = (NewOrder, CancelOrder, ReplaceOrder, StatusRequest)
_STOP = object()
_FREEZE_EVERY = 1000
_INTERNAL_ERROR = "internal error: the OMS could not process this request"
# What a halted OMS still sends: denials, which change no order.
_DENIALS = frozenset({
    EventKind.NEW_DENIED, EventKind.CANCEL_DENIED, EventKind.REPLACE_DENIED,
    EventKind.STATUS_DENIED,
})


class Call:
    """A function to run on the engine thread, with a way to wait for its result."""

    __slots__ = ("function", "done", "result", "error")

    def __init__(self, function: Callable[[], Any]) -> None:
        self.function = function
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class _Refusal(NamedTuple):
    """A request a gateway refused, to be recorded by the engine: the arguments of
    `Engine.record_refusal`, in order, then the gateway's answer to send once recorded."""

    session: SessionID
    msg_type: str
    cl_ord_id: ClOrdID | None
    orig_cl_ord_id: ClOrdID | None
    reason: int
    text: str
    fix: FixContext | None
    received_ns: int
    answer: Callable[[], None] | None


class _HeldAnswer(NamedTuple):
    """A gateway's answer to a refused request, held until its record (event `seq`) is
    durable, in line with the reports."""

    seq: int
    answer: Callable[[], None]


class Runtime:
    def __init__(
        self,
        config: OmsConfig,
        *,
        instruments: dict[Symbol, Instrument] | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = config
        self.instruments = instruments or load_instruments(config.instruments)
        self.risk = RiskChecks(
            {Account(name): limits for name, limits in config.accounts.items()}
        )
        self.metrics = Metrics()
        sessions = {
            SessionID(s.sender_comp_id): SessionAccounts(s.accounts, s.default_account or None)
            for s in config.fix.sessions
        }
        self.engine = Engine(
            self.instruments, self.risk, sessions=sessions, clock=clock, router=self._route
        )
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.metrics.track(
            open_orders=lambda: open_order_count(self.risk),
            queue_depth=self._queue.qsize,
            halted=lambda: float(self.halted is not None),
        )
        self._client_sinks: list[ClientSink] = []
        self._outbox: deque[Event | _HeldAnswer] = deque()
        # The answer to the refused request the engine is recording (engine thread only).
        self._refusal_answer: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._audit: Any = None
        self._audit_lock: Any = None
        # Set when the audit log fails: the reason every later request is refused with.
        self.halted: str | None = None
        self._durable = config.audit.mode == "durable"
        self._add_venues(clock)
        self.recovered_events = 0

    # Wiring.

    def _add_venues(self, clock: Callable[[], int]) -> None:
        from gateways.embedded import EmbeddedVenue

        for name, venue in self.config.venues.items():
            if venue.kind == "embedded":
                self.engine.add_venue(
                    EmbeddedVenue(VenueName(name), self.instruments, self.engine.on_venue_report,
                                  clock=clock)
                )
            else:
                from gateways.fix.venue import FixVenue

                self.engine.add_venue(FixVenue(venue, self.post_report, self))

    def _route(self, instrument: Instrument) -> VenueName:
        routing = self.config.routing
        name = routing.symbols.get(instrument.symbol) or routing.exchanges.get(
            instrument.exchange
        )
        return VenueName(name or routing.default)

    def add_client_sink(self, sink: ClientSink) -> None:
        """Call `sink` with every client-visible event, in order, once it may be sent."""
        self._client_sinks.append(sink)

    # Life cycle.

    def start(self) -> None:
        """Recover from the audit log, then start taking inputs."""
        if self.config.audit.mode != "off":
            self._open_audit()
        self.engine.subscribe(self._on_event)
        self._restore_venues()
        self._thread = threading.Thread(target=self._run, name="oms-engine", daemon=True)
        self._thread.start()
        self._ticker = threading.Thread(target=self._tick, name="oms-clock", daemon=True)
        self._ticker.start()
        # FIX venues connect once the engine thread is there to take their reports.
        for venue in self.engine.venues.values():
            start = getattr(venue, "start", None)
            if start is not None:
                start()

    def _open_audit(self) -> None:
        """Take the log's directory, mend and replay it, then start its writer."""
        from compliance.audit.lock import DirectoryLock
        from compliance.audit.reader import read_events, recover

        config = self.config.audit
        directory = Path(config.directory)
        self._audit_lock = DirectoryLock(directory)
        result = recover(directory)
        log.info("audit log recovered: %s", result)
        self.recovered_events = self.engine.replay(read_events(directory))
        log.info("state rebuilt from %d events: digest=%s", self.recovered_events,
                 self.engine.digest())
        if config.writer == "process":
            from compliance.audit.process import AuditLogProcess

            self._audit = AuditLogProcess(
                config, self._audit_lock, on_durable=self._released, on_failure=self._halt
            )
        else:
            from compliance.audit.writer import AuditLog

            self._audit = AuditLog(config, on_durable=self._released, on_failure=self._halt)

    @property
    def audit_writer_pid(self) -> int | None:
        """The audit log's writer process, if it has one."""
        return getattr(self._audit, "pid", None)

    def _tick(self) -> None:
        """Once a second, have the engine expire past-due GTD orders on its thread."""
        while not self._stopping.wait(1.0):
            if self.halted is None:
                self._queue.put(Call(self.engine.expire))

    def _restore_venues(self) -> None:
        """Put the orders that were working on the embedded venue back on it."""
        from gateways.embedded import EmbeddedVenue

        for venue in self.engine.venues.values():
            if isinstance(venue, EmbeddedVenue):
                # The last sequence number grows across runs: a fresh trade id space.
                venue.restart(self.engine.seq)
        live = sorted(self.engine.book.open_orders(), key=lambda o: o.created_ns)
        for order in live:
            working_on = self.engine.venues.get(order.venue)  # type: ignore[arg-type]
            if isinstance(working_on, EmbeddedVenue):
                working_on.restore(order)
        if live:
            log.info("restored %d live orders onto their venues", len(live))

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None
        for venue in self.engine.venues.values():
            stop = getattr(venue, "stop", None)
            if stop is not None:
                stop()
        if self._audit is not None:
            try:
                self._audit.close()
            except Exception as error:
                # Already logged when it failed; what was durable stays on disk.
                log.error("audit log closed after a failure: %s", error)
            self._audit = None
        if self._audit_lock is not None:
            self._audit_lock.release()
            self._audit_lock = None

    # Inputs (any thread).

    def submit(self, command: Command) -> None:
        self._queue.put(command)

    def post_report(self, report: VenueReport) -> None:
        self._queue.put(report)

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
        answer: Callable[[], None] | None = None,
    ) -> None:
        """Have the engine record a request the gateway refused (see
        `Engine.record_refusal`), then call `answer`, which sends the gateway's reply: in
        durable mode once the record is durable, as a report would be. It never blocks."""
        self._queue.put(_Refusal(
            session, msg_type, cl_ord_id, orig_cl_ord_id, reason, text, fix, received_ns,
            answer,
        ))

    def call(self, function: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Run `function` on the engine thread and return its result."""
        call = Call(function)
        self._queue.put(call)
        if not call.done.wait(timeout):
            raise TimeoutError("the engine thread did not answer")
        if call.error is not None:
            raise call.error
        return call.result

    def flush(self) -> None:
        """Wait until every input posted so far is applied and its events are durable."""
        self.call(lambda: None)
        if self._audit is not None:
            self._audit.flush()

    # The engine thread.

    def _run(self) -> None:
        take = self._queue.get
        engine = self.engine
        observe = self.metrics.engine_seconds.observe
        ship = self._audit.ship if self._audit is not None else None
        # The collector is managed: what start-up built is frozen out of its scans, and so
        # is what the engine keeps (orders, indexes) every _FREEZE_EVERY inputs, so that no
        # collection pauses the order path for long. The engine makes no reference cycles.
        gc.collect()
        gc.freeze()
        inputs = 0
        while True:
            item = take()
            inputs += 1
            if inputs % _FREEZE_EVERY == 0:
                gc.freeze()
            if item is _STOP:
                return
            started = time.perf_counter()
            try:
                if isinstance(item, _COMMANDS):
                    if self.halted is None:
                        engine.handle(item)
                    else:
                        self._refuse(item, self.halted)
                elif isinstance(item, VenueReport):
                    if self.halted is None:
                        engine.on_venue_report(item)
                    else:
                        log.error("venue report not applied, the audit log has failed: %r",
                                  item)
                elif isinstance(item, Call):
                    try:
                        item.result = item.function()
                    except BaseException as error:  # handed back to the caller
                        item.error = error
                    finally:
                        item.done.set()
                elif isinstance(item, _Refusal):
                    self._record_refusal(item)
            except Exception:
                # A bug in our own code: the input is logged, counted and answered.
                log.exception("engine failed on %r", item)
                self.metrics.engine_errors.inc()
                if isinstance(item, _COMMANDS):
                    self._refuse(item, _INTERNAL_ERROR)
            if ship is not None:
                # The input's events go to the log's writer together, for one fsync.
                ship()
            observe(time.perf_counter() - started)

    def _refuse(self, command: Command, text: str) -> None:
        try:
            self.engine.refuse(command, text)
        except Exception:
            log.exception("could not answer %r after an internal error", command)

    def _record_refusal(self, refusal: _Refusal) -> None:
        if self.halted is not None:
            if refusal.answer is not None:
                self._answer(refusal.answer)
            return
        # _on_event holds the answer in line with the reports, under the record's seq.
        self._refusal_answer = refusal.answer
        try:
            self.engine.record_refusal(*refusal[:-1])
        finally:
            answer, self._refusal_answer = self._refusal_answer, None
            if answer is not None:
                # Not held (the engine failed, or the log did): the client still hears.
                self._answer(answer)

    def _answer(self, answer: Callable[[], None]) -> None:
        try:
            answer()
        except Exception:
            log.exception("a gateway's answer to a refused request failed")

    def _halt(self, error: BaseException) -> None:
        """The audit log failed (any thread): from now on every request is refused.

        What the log cannot hold must not reach a client, or a restart would contradict
        what the client was told. So reports still waiting for their events to become
        durable are never sent, venue reports are no longer applied, and requests are
        answered with a denial that names the failure (a denial changes no order).
        """
        if self.halted is not None:
            return
        # Denials from now on are never logged: their IDs must not come again after a restart.
        self.engine.halt()
        self.halted = f"the OMS takes no requests: its audit log failed ({error})"
        log.critical("%s; %d reports not sent; restart the OMS once the cause is fixed "
                     "(it recovers from what is durable)", self.halted, len(self._outbox))

    def _on_event(self, event: Event) -> None:
        self.metrics.observe(event)
        visible = event.exec_type is not None or event.is_cancel_reject
        if self.halted is not None:
            if visible and event.kind in _DENIALS:
                self._deliver(event)
            return
        if visible and self._durable:
            # Queued before the log sees it, so its release can never be missed.
            self._outbox.append(event)
        answer = self._refusal_answer
        if answer is not None and event.kind is EventKind.REQUEST_REFUSED:
            self._refusal_answer = None
            if self._durable:
                self._outbox.append(_HeldAnswer(event.seq, answer))
            else:
                self._answer(answer)
        if self._audit is not None:
            try:
                self._audit.append(event)
            except AuditLogError as error:
                self._halt(error)
                return
        if visible and not self._durable:
            self._deliver(event)

    def _released(self, durable_seq: int) -> None:
        """Audit writer thread: events up to `durable_seq` are on disk; send their reports."""
        if not self._durable:
            return
        outbox = self._outbox
        while outbox and outbox[0].seq <= durable_seq:
            item = outbox.popleft()
            if isinstance(item, _HeldAnswer):
                self._answer(item.answer)
            else:
                self._deliver(item)

    def _deliver(self, event: Event) -> None:
        for sink in self._client_sinks:
            try:
                sink(event)
            except Exception:
                log.exception("client sink failed on %s", event.describe())

    # Operator commands (any thread; run on the engine thread).

    def end_of_day(self) -> None:
        """Day orders end on every embedded venue; traded notional limits start again."""

        def run() -> None:
            for venue in self.engine.venues.values():
                end = getattr(venue, "end_of_day", None)
                if end is not None:
                    end()
            self.risk.reset_day()

        self.call(run)

    def set_kill_switch(
        self, account: str | None, engaged: bool, reason: str | None = None
    ) -> None:
        """Engage or release the kill switch of one account, or of all (`account` None).

        The engine records it as an event; this returns once that event is in the audit
        log (so a restart keeps the switch), and raises `compliance.risk.UnknownAccount`
        for an account that is not configured.
        """
        from oms.model import Account

        switched = Account(account) if account else None
        self.call(lambda: self.engine.set_kill_switch(switched, engaged, reason))
        self.flush()
