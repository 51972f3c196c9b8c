"""The audit log written by a process of its own, so that it does not hold the OMS's GIL.

A commit costs the writer about 0.7 ms of CPU for a few events (Arrow conversion, IPC
serialisation, the hash chain, the fsync's system time; bench/FIGURES.md), and pyarrow
holds the GIL for most of it. On a thread of the OMS that time is taken from the order
path. Here the OMS's side of the log only queues each event; one thread of its own pickles
what has gathered and sends it down a pipe, and another waits for the writer's answers.
The writer process runs an ordinary `AuditLog` (segments, hash chain) without a thread of
its own: it reads every frame that has arrived, commits all their events with one fsync,
answers with the highest durable sequence number, and reads again. Whatever arrives while
one commit is written and fsynced joins the next, as does what comes within the batch
window (`batch_window_ms`, cut short by a spell of an eighth of it without a frame).

    OMS process                                    writer process
    engine thread: append -> deque, ship
    audit-ship thread: pickle, send  ----------->  read what has come, unpickle,
                                                   convert, write, fsync
    audit-durable thread: on_durable  <----------  ("durable", seq)

The process is started from a fork server (`multiprocessing`'s "forkserver" method): a
process that imported this module once, single-threaded, and forks a writer from itself on
request, so that a writer starts in milliseconds and never inherits the OMS's threads or
locks. The writer ignores SIGINT (a Ctrl-C meant for the OMS reaches its whole process
group); it stops when the OMS closes the log, or, if the OMS dies, once the pipe reads
end-of-file, after writing every event it was sent. It holds the directory's writer lock
(compliance/audit/lock.py) until it exits, so an OMS restarted meanwhile waits for it.

If the writer fails (disk full, a bad event) or dies, the OMS's side keeps the error and
raises AuditLogError from every later call, as `AuditLog` does; `on_failure` tells at once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing import reduction
from multiprocessing.connection import Connection

from compliance.audit.errors import AuditLogError
from compliance.audit.lock import DirectoryLock
from compliance.audit.writer import AuditLog, DurableLog
from oms.config import AuditConfig
from oms.events import Event

log = logging.getLogger(__name__)

# The OMS's last frame to the writer; event frames are pickles, which never equal it.
_CLOSE = b"close"
# The most events one commit (one fsync) takes, as many as the writer thread's.
_BATCHES_PER_COMMIT = 16
_PICKLE = pickle.HIGHEST_PROTOCOL
# Events appended with no `ship` after them (outside the engine's input loop) leave anyway
# after this many seconds.
_SHIP_AFTER = 0.005


class AuditLogProcess(DurableLog):
    """`AuditLog`'s interface, with the writing done by a child process.

    `lock` must be held for the log's directory (the caller has recovered the log under it);
    its descriptor is handed to the writer, which keeps the lock while it runs.
    """

    def __init__(
        self,
        config: AuditConfig,
        lock: DirectoryLock,
        *,
        on_durable: Callable[[int], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        compression: str | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        if config.mode == "off":
            raise ValueError("an audit log in mode off has no writer process")
        self._on_durable = on_durable
        self._on_failure = on_failure
        self._pending: deque[Event] = deque()
        self._wake = threading.Event()
        self._idle = False
        self._stopping = False
        self._durable_changed = threading.Condition()
        self._durable_seq = 0
        self._appended_seq = 0
        self._error: BaseException | None = None
        self._refusing = False
        self._closed_cleanly = False

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        self._connection, theirs = context.Pipe(duplex=True)
        self._process = context.Process(
            target=_serve,
            args=(theirs, config, compression, logging.getLogger().getEffectiveLevel()),
            name="oms-audit-writer",
            daemon=True,
        )
        self._process.start()
        theirs.close()
        reduction.send_handle(self._connection, lock.fd, self._process.pid)
        self._durable_seq = self._appended_seq = self._await_ready(start_timeout)
        log.info(
            "audit writer process started: pid=%d directory=%s last_seq=%d",
            self._process.pid, config.directory, self._durable_seq,
        )  # fmt: skip
        self._shipper = threading.Thread(target=self._ship, name="audit-ship", daemon=True)
        self._receiver = threading.Thread(
            target=self._receive, name="audit-durable", daemon=True
        )
        self._shipper.start()
        self._receiver.start()

    def _await_ready(self, timeout: float) -> int:
        try:
            ready = self._connection.poll(timeout)
            answer = self._connection.recv() if ready else None
        except (EOFError, OSError):
            answer = None
        if isinstance(answer, tuple) and answer[0] == "ready":
            return int(answer[1])
        self._process.join(1.0)
        if self._process.is_alive():
            self._process.kill()
        self._connection.close()
        if isinstance(answer, tuple) and answer[0] == "failed":
            raise AuditLogError(f"the audit writer could not open the log: {answer[1]}")
        raise AuditLogError(
            f"the audit writer process did not start within {timeout:g} s "
            f"(exit code {self._process.exitcode})"
        )

    # The engine's side.

    def append(self, event: Event) -> None:
        """Queue one event for the log; cheap, and never blocks on the disk or the pipe.

        The event leaves at the next `ship` (or within `_SHIP_AFTER` seconds): the events
        of one input travel together, so that the writer commits them with one fsync.
        """
        if self._refusing:
            self._refuse()
        self._pending.append(event)
        self._appended_seq = event.seq

    def ship(self) -> None:
        """Send what has been appended: the engine has finished one input."""
        if self._idle and self._pending:
            self._wake.set()

    @property
    def pid(self) -> int:
        """The writer process's id."""
        return int(self._process.pid or 0)

    def flush(self) -> None:
        """Block until every event appended so far is durable."""
        if self._error is not None:
            self._refuse()
        target = self._appended_seq
        self._wake.set()
        self.wait_durable(target)

    def close(self, timeout: float = 30.0) -> None:
        """Send everything appended, have the writer close its segment, and wait for it."""
        if self._stopping:
            return
        self._refusing = True
        self._stopping = True
        self._wake.set()
        self._shipper.join(timeout)
        self._receiver.join(timeout)
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
            self._fail(AuditLogError(f"the audit writer did not stop within {timeout:g} s"))
        self._connection.close()
        if self._error is not None:
            self._refuse()

    def _fail(self, error: BaseException) -> None:
        if self._error is not None:
            return
        self._error = error
        self._refusing = True
        log.error("audit log writer failed; no further events will be recorded: %s", error)
        with self._durable_changed:
            self._durable_changed.notify_all()
        if self._on_failure is not None:
            self._on_failure(error)

    # The audit-ship thread: events to the writer.

    def _ship(self) -> None:
        pending = self._pending
        send = self._connection.send_bytes
        try:
            while True:
                if not pending:
                    # Idle: appenders wake us only while this flag is up (see AuditLog).
                    self._wake.clear()
                    self._idle = True
                    while not (pending or self._stopping):
                        self._wake.wait(_SHIP_AFTER)
                        self._wake.clear()
                    self._idle = False
                count = len(pending)
                if count:
                    events = [pending.popleft() for _ in range(count)]
                    send(pickle.dumps(events, _PICKLE))
                if self._stopping and not pending:
                    send(_CLOSE)
                    return
        except (OSError, ValueError) as error:
            self._fail(AuditLogError(f"the audit writer process is gone: {error!r}"))
        except BaseException as error:
            self._fail(error)

    # The audit-durable thread: the writer's answers.

    def _receive(self) -> None:
        recv = self._connection.recv
        while True:
            try:
                kind, value = recv()
            except (EOFError, OSError):
                if not self._closed_cleanly:
                    self._process.join(1.0)
                    self._fail(AuditLogError(
                        f"the audit writer process exited (exit code {self._process.exitcode})"
                    ))
                return
            if kind == "durable":
                with self._durable_changed:
                    self._durable_seq = value
                    self._durable_changed.notify_all()
                if self._on_durable is not None:
                    try:
                        self._on_durable(value)
                    except Exception as error:
                        self._fail(error)
                        return
            elif kind == "closed":
                self._closed_cleanly = True
            elif kind == "failed":
                self._fail(AuditLogError(value))


# ----------------------------------------------------------------------------- the writer


def _next_frame(connection: Connection) -> bytes | None:
    """The next frame from the OMS, or None once the OMS has gone (end of file)."""
    try:
        return connection.recv_bytes()
    except EOFError:
        # The OMS died: what it sent is still written, then the writer stops.
        log.warning("the OMS closed the pipe; writing what was sent, then stopping")
        return None


def _serve(
    connection: Connection, config: AuditConfig, compression: str | None, level: int
) -> None:
    """The writer process: receive events, write them with an AuditLog, report durability."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s [audit writer] %(message)s"
    )
    # The directory lock, held from here until this process exits.
    lock_fd = reduction.recv_handle(connection)
    send_lock = threading.Lock()

    def answer(kind: str, value: object) -> None:
        with send_lock:
            connection.send((kind, value))

    try:
        audit = AuditLog(
            config,
            on_durable=lambda seq: answer("durable", seq),
            on_failure=lambda error: answer("failed", f"{error!r}"),
            compression=compression,
            threaded=False,
        )
    except BaseException as error:
        answer("failed", f"{error!r}")
        return
    answer("ready", audit.durable_seq)
    loads = pickle.loads
    limit = config.batch_events * _BATCHES_PER_COMMIT
    try:
        window = max(config.batch_window_ms, 0.0) / 1000.0
        closing = False
        while not closing:
            # Group commit: whatever arrived while the last commit was being written and
            # fsynced joins the next one, and so does what arrives within the batch window,
            # until a spell of an eighth of it passes without a frame (as AuditLog does).
            events: list[Event] = []
            frame = _next_frame(connection)
            deadline = time.monotonic() + window
            while True:
                if frame is None or frame == _CLOSE:
                    closing = True
                    break
                events += loads(frame)
                remaining = deadline - time.monotonic()
                if len(events) >= limit or not connection.poll(
                    max(0.0, min(window / 8, remaining))
                ):
                    break
                frame = _next_frame(connection)
            if events:
                audit.commit(events)
        audit.close()
        answer("closed", audit.durable_seq)
    except AuditLogError as error:
        # Already answered through on_failure; nothing more can be written.
        log.error("audit writer stopping: %s", error)
    except OSError:
        log.warning("the OMS is gone; the audit writer stops")
    finally:
        os.close(lock_fd)
