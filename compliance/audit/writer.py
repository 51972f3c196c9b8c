"""The audit log writer: every event, group-committed to disk on its own thread.

The engine thread calls `append` for each event; that only puts the event on a deque. The
writer thread takes what has gathered, converts it to record batches, writes them to the
current segment, fsyncs once, and only then advances `durable_seq` and calls `on_durable`.
In durable mode the runtime holds each report until its event is durable; in async mode it
does not wait, but the same writer still writes and fsyncs behind it.

Grouping: once events are waiting, the writer lets more join for up to `batch_window_ms`
(less when no more come, see `_gather`; `flush` and `close` cut it short), then takes all
that has gathered, up to 16 batches' worth, and writes them as record batches of at most
`batch_events` with one fsync. A batch is never split into single rows while more are
waiting.

Segments rotate by size: a batch that finds its segment at `segment_bytes` or more starts
a new one, so a segment exceeds the limit by less than one batch. They also rotate by
trading day, taken as the UTC date of the event time: an event dated later than its
segment starts a new one, even inside a batch. The date only moves forward; an event
stamped earlier than its segment's day (a clock stepped back) stays in that segment.

A failure on the writer thread (disk full, a bad event, an `on_durable` that raises) is
kept, logged at ERROR once, and raised as AuditLogError from every later `append`, `flush`
and `close`, so the engine can stop taking orders. Events not yet durable stay in memory,
unwritten.
"""

from __future__ import annotations

import logging
import operator
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Self

import numpy as np
import pyarrow as pa

from compliance.audit.errors import AuditLogError
from compliance.audit.samples import event as sample_event
from compliance.audit.schema import audit_schema, batch_from_events
from compliance.audit.segments import (
    CHAIN_START_KEY,
    COMPRESSION_KEY,
    CREATED_KEY,
    batch_metadata,
    chain_link,
    chain_tail,
    segment_day,
    segment_name,
)
from oms.config import AuditConfig
from oms.events import Event, EventKind

log = logging.getLogger(__name__)

_TIME_NS = operator.itemgetter(1)
# A commit (one fsync) takes at most this many batches of `batch_events`: enough to catch
# up after a burst in one fsync, few enough that the first of them is not kept waiting.
_BATCHES_PER_COMMIT = 16


class DurableLog:
    """What both audit log writers share (this module's thread, and the writer process of
    compliance/audit/process.py): the durable sequence number, waiting for it, and
    refusing every call once the log failed or closed. A subclass sets `_durable_seq`,
    `_durable_changed` and `_error`, and defines `close`."""

    _durable_seq: int
    _durable_changed: threading.Condition
    _error: BaseException | None

    @property
    def durable_seq(self) -> int:
        """The highest seq on disk: every event up to it has been written and fsynced."""
        return self._durable_seq

    @property
    def failed(self) -> bool:
        return self._error is not None

    def wait_durable(self, seq: int, timeout: float | None = None) -> bool:
        """Wait until `seq` is durable; False on timeout. Raises if the writer failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._durable_changed:
            while self._durable_seq < seq and self._error is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._durable_changed.wait(remaining)
        if self._error is not None:
            self._refuse()
        return True

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _refuse(self) -> None:
        if self._error is not None:
            raise AuditLogError(f"the audit log failed: {self._error!r}") from self._error
        raise AuditLogError("the audit log is closed")


class AuditLog(DurableLog):
    """An append-only, hash-chained, crash-safe log of every event.

    Open it after `compliance.audit.reader.recover` has repaired any torn tail; it refuses a
    log that still has one. It always starts a new segment, continuing the hash chain and
    the sequence numbers from the log's last batch. `append` must see events in increasing
    `seq` order (the engine's single thread guarantees it).
    """

    def __init__(
        self,
        config: AuditConfig,
        *,
        on_durable: Callable[[int], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        clock: Callable[[], int] = time.time_ns,
        compression: str | None = None,
        threaded: bool = True,
    ) -> None:
        """`compression` ("lz4" or "zstd") compresses the buffers of each batch: about a
        quarter of the bytes with lz4, for some CPU on the writer and on every read.
        `on_failure` is called once, on the writer thread, if the writer fails. With
        `threaded` false there is no writer thread: the owner calls `commit` instead of
        `append` (the writer process does, compliance/audit/process.py)."""
        if config.batch_events < 1 or config.segment_bytes < 1:
            raise ValueError("audit batch_events and segment_bytes must be positive")
        self._config = config
        self._directory = Path(config.directory)
        self._on_durable = on_durable
        self._on_failure = on_failure
        self._clock = clock
        self._options = pa.ipc.IpcWriteOptions(compression=compression)
        self._compression = compression
        self._window = max(config.batch_window_ms, 0.0) / 1000.0
        self._batch_events = config.batch_events
        self._off = config.mode == "off"

        self._pending: deque[Event] = deque()
        self._wake = threading.Event()
        self._idle = False
        self._stopping = False
        self._flush_wanted = False
        # The writer takes events under this lock so `flush` can tell what it has taken.
        self._take_lock = threading.Lock()
        self._durable_changed = threading.Condition()
        self._error: BaseException | None = None
        # Set once closed or failed: the one flag `append` reads before its work.
        self._refusing = False

        self._segment: _OpenSegment | None = None
        self._durable_seq = 0
        self._taken_seq = 0
        self._written_seq = 0
        self._last_hash = b""
        self._thread: threading.Thread | None = None
        if self._off:
            self.append = self._append_off  # type: ignore[method-assign]
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        tail = chain_tail(self._directory)
        self._durable_seq = self._taken_seq = self._written_seq = tail.last_seq
        self._last_hash = tail.last_hash
        log.info(
            "audit log open: directory=%s mode=%s segments=%d last_seq=%d",
            self._directory, config.mode, tail.segments, tail.last_seq,
        )  # fmt: skip
        # The first conversion in a process sets pyarrow up (kernels, type registries) and
        # takes some ten milliseconds; better here than in the first order's report.
        batch_from_events([sample_event(EventKind.TRADE), sample_event(EventKind.STATUS, 2)])
        if threaded:
            self._thread = threading.Thread(
                target=self._run, name="audit-writer", daemon=True
            )
            self._thread.start()

    # The engine's side.

    def append(self, event: Event) -> None:
        """Queue one event for the log; cheap, and never blocks on the disk."""
        if self._refusing:
            self._refuse()
        self._pending.append(event)
        if self._idle:
            self._wake.set()

    def extend(self, events: list[Event]) -> None:
        """`append` for several events at once."""
        if self._off:
            for event in events:
                self._append_off(event)
            return
        if self._refusing:
            self._refuse()
        self._pending.extend(events)
        if self._idle:
            self._wake.set()

    def commit(self, events: list[Event]) -> None:
        """Write `events` and fsync them on the calling thread (a log opened with
        `threaded` false); `on_durable` is called before this returns."""
        if self._thread is not None:
            raise AuditLogError("commit() is for a log without a writer thread")
        if self._refusing:
            self._refuse()
        try:
            self._commit(events)
        except BaseException as error:
            self._fail(error)
            self._refuse()

    def ship(self) -> None:
        """The engine finished one input. The writer thread takes events as they come."""

    def _append_off(self, event: Event) -> None:
        """`append` in mode off: nothing is written, every event counts as durable."""
        if self._refusing:
            self._refuse()
        self._durable_seq = event.seq
        if self._on_durable is not None:
            self._on_durable(event.seq)

    def flush(self) -> None:
        """Block until every event appended so far is durable."""
        if self._error is not None:
            self._refuse()
        if self._off:
            return
        if threading.current_thread() is self._thread:
            raise AuditLogError("flush() called from the audit writer thread would never end")
        with self._take_lock:
            target = self._pending[-1].seq if self._pending else self._taken_seq
        self._flush_wanted = True
        self._wake.set()
        self.wait_durable(target)

    def close(self) -> None:
        """Write everything appended, close the segment cleanly and stop the writer."""
        self._refusing = True
        if self._thread is None and self._segment is not None and self._error is None:
            segment, self._segment = self._segment, None
            segment.close()
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._stopping = True
            self._wake.set()
            self._thread.join()
            self._thread = None
            if self._pending and self._error is None:
                # Appended by another thread while the writer was finishing: say so.
                self._error = AuditLogError(
                    f"{len(self._pending)} events appended during close were not written"
                )
                self._refusing = True
                log.error("audit log closed with unwritten events: %s", self._error)
        if self._error is not None:
            self._refuse()

    # The writer thread.

    def _run(self) -> None:
        try:
            while True:
                events = self._take()
                if events is None:
                    break
                self._commit(events)
            if self._segment is not None:
                self._segment.close()
                self._segment = None
        except BaseException as error:
            self._fail(error)

    def _take(self) -> list[Event] | None:
        """The next batch of events, or None once closing and nothing is left."""
        pending = self._pending
        if not pending:
            # Idle: appenders wake us only while this flag is up, which keeps append cheap.
            self._wake.clear()
            self._idle = True
            while not pending:
                if self._stopping:
                    self._idle = False
                    return None
                self._wake.wait()
                self._wake.clear()
            self._idle = False
        self._gather()
        with self._take_lock:
            self._flush_wanted = False
            count = min(len(pending), self._batch_events * _BATCHES_PER_COMMIT)
            events = list(map(operator.call, repeat(pending.popleft, count)))
            self._taken_seq = events[-1].seq
        return events

    def _gather(self) -> None:
        """Let more events join the first, for at most the batch window.

        The wait also ends once a spell of an eighth of the window passes without a new
        event: when the few threads that append have all done so, the rest of the window
        would only add latency. `flush` and `close` cut it short as well.
        """
        pending = self._pending
        deadline = time.monotonic() + self._window
        seen = len(pending)
        while seen < self._batch_events and not (self._flush_wanted or self._stopping):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wake.clear()
            self._wake.wait(min(self._window / 8, remaining))
            if len(pending) == seen:
                return
            seen = len(pending)

    def _commit(self, events: list[Event]) -> None:
        """Write `events` as record batches of at most `batch_events`, then fsync once."""
        limit = self._batch_events
        for run in self._runs_by_day(events):
            # Even batches: 1025 events make two of 513 and 512, not 1024 and a lone one.
            batches = -(-len(run) // limit)
            size = -(-len(run) // batches)
            for start in range(0, len(run), size):
                self._write(run[start : start + size])
        segment = self._segment
        assert segment is not None
        segment.sync()
        durable = events[-1].seq
        with self._durable_changed:
            self._durable_seq = durable
            self._durable_changed.notify_all()
        if self._on_durable is not None:
            self._on_durable(durable)

    def _runs_by_day(self, events: list[Event]) -> list[list[Event]]:
        """Split where an event's UTC date passes the current segment's (rare)."""
        day = self._segment.day if self._segment is not None else None
        if day is not None and segment_day(max(map(_TIME_NS, events))) <= day:
            return [events]
        runs: list[list[Event]] = []
        for event in events:
            event_day = segment_day(event.time_ns)
            if day is None or event_day > day:
                day = event_day
                runs.append([])
            elif not runs:
                runs.append([])
            runs[-1].append(event)
        return runs

    def _write(self, events: list[Event]) -> None:
        day = segment_day(events[0].time_ns)
        segment = self._segment
        if segment is None or day > segment.day or segment.size >= self._config.segment_bytes:
            if segment is not None:
                segment.close()
            segment = self._segment = self._open_segment(day, events[0].seq)
        batch = batch_from_events(events)
        seqs = batch.column(0).to_numpy()
        if seqs[0] <= self._written_seq or (len(seqs) > 1 and not (np.diff(seqs) > 0).all()):
            raise AuditLogError(
                f"events out of order: seq {int(seqs[0])}..{int(seqs[-1])} after "
                f"{self._written_seq}"
            )
        message = batch.serialize()
        first_in_segment = segment.batches == 0
        digest = chain_link(
            self._last_hash, message, segment.schema_message if first_in_segment else None
        )
        metadata = batch_metadata(self._last_hash, digest, int(seqs[0]), int(seqs[-1]))
        segment.write(batch, metadata)
        self._last_hash = digest
        self._written_seq = int(seqs[-1])

    def _open_segment(self, day: int, first_seq: int) -> _OpenSegment:
        path = self._directory / segment_name(day, first_seq)
        metadata = {
            CHAIN_START_KEY: self._last_hash.hex().encode(),
            CREATED_KEY: str(self._clock()).encode(),
        }
        if self._compression is not None:
            metadata[COMPRESSION_KEY] = self._compression.encode()
        segment = _OpenSegment(path, day, audit_schema(metadata), self._options)
        log.info("audit segment opened: %s", path.name)
        return segment

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self._refusing = True
        log.error("audit log writer failed; no further events will be recorded", exc_info=error)
        with self._durable_changed:
            self._durable_changed.notify_all()
        segment, self._segment = self._segment, None
        if segment is not None:
            segment.abandon()
        if self._on_failure is not None:
            self._on_failure(error)


class _OpenSegment:
    """The segment being written: an Arrow stream over a buffered file, fsynced per commit."""

    def __init__(
        self, path: Path, day: int, schema: pa.Schema, options: pa.ipc.IpcWriteOptions
    ) -> None:
        self.path = path
        self.day = day
        self.batches = 0
        # Exclusive creation: a segment is never overwritten, whatever the directory holds.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self._file = pa.OSFile(str(path), mode="w")
        self._stream = pa.BufferedOutputStream(self._file, buffer_size=1 << 20)
        self._writer = pa.ipc.new_stream(self._stream, schema, options=options)
        self.schema_message = schema.serialize().to_pybytes()
        _sync_directory(path.parent)

    @property
    def size(self) -> int:
        return int(self._stream.tell())

    def write(self, batch: pa.RecordBatch, metadata: dict[bytes, bytes]) -> None:
        self._writer.write_batch(batch, custom_metadata=metadata)
        self.batches += 1

    def sync(self) -> None:
        self._stream.flush()
        os.fsync(self._fd)

    def close(self) -> None:
        """Write the end-of-stream marker, fsync and close."""
        self._writer.close()
        self.sync()
        self._stream.close()
        os.close(self._fd)
        log.info("audit segment closed: %s (%d batches)", self.path.name, self.batches)

    def abandon(self) -> None:
        """After a failure: release the file without the end-of-stream marker.

        The failure itself is already recorded. Whatever part of a batch reaches the disk
        here is a torn tail that recovery sets aside, so errors while letting go add nothing.
        """
        for release in (self._stream.close, self._file.close, lambda: os.close(self._fd)):
            try:
                release()
            except (OSError, pa.ArrowException) as error:
                log.debug("releasing %s after a failure: %r", self.path.name, error)


def _sync_directory(directory: Path) -> None:
    """Make a new segment's directory entry durable, not just its contents."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
