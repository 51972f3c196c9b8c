"""Reading the audit log back: replay, crash recovery, and the hash chain's verification.

`recover` runs once at start, before a new `AuditLog` opens: it mends torn tails so that
the writer can continue in a new segment. `read_events` replays every event in sequence
order. `verify` checks the hash chain and names the first batch that breaks it.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from compliance.audit.errors import AuditLogError, SchemaError
from compliance.audit.schema import check_schema, events_from_batch
from compliance.audit.segments import (
    COMPRESSION_KEY,
    DAMAGED,
    GENESIS_HASH,
    Frame,
    Segment,
    chain_link,
    list_segments,
    segment_first_seq,
)
from oms.events import Event

log = logging.getLogger(__name__)

# Small batches (a quiet market, durable mode) are joined up to this many rows before
# decoding: converting a column costs a few microseconds however short it is.
_DECODE_ROWS = 1024


# ----------------------------------------------------------------------------- replay


def read_events(directory: Path | str, *, progress: bool = False) -> Iterator[Event]:
    """Every event of the log in sequence order.

    A torn tail on the last segment (a writer that is still writing, or a crash before
    `recover`) ends the replay with a warning; damage anywhere else raises AuditLogError,
    since replaying past a gap would rebuild the wrong state.
    """
    segments = list_segments(Path(directory))
    with _bar(segments, progress, "audit replay") as bar:
        for number, path in enumerate(segments, 1):
            with Segment(path) as segment:
                _check_readable(segment)
                joined: list[pa.RecordBatch] = []
                rows = 0
                position = 0
                for frame in segment.frames():
                    joined.append(frame.batch)
                    rows += frame.batch.num_rows
                    if rows >= _DECODE_ROWS:
                        yield from _decode(path, joined)
                        joined, rows = [], 0
                        bar.update(frame.end - position)
                        position = frame.end
                yield from _decode(path, joined)
                bar.update(segment.size - position)
                if segment.torn_at is not None:
                    where = f"{path}: torn at byte {segment.torn_at} ({segment.problem})"
                    if number < len(segments):
                        raise AuditLogError(f"{where}; later segments follow, cannot replay")
                    log.warning("audit replay stops at a torn tail: %s", where)


def _check_readable(segment: Segment) -> None:
    if segment.schema is not None:
        check_schema(segment.schema)


def _decode(path: Path, batches: list[pa.RecordBatch]) -> list[Event]:
    if not batches:
        return []
    batch = batches[0]
    if len(batches) > 1:
        batch = pa.Table.from_batches(batches).combine_chunks().to_batches()[0]
    try:
        with _collector_paused():
            return events_from_batch(batch)
    except Exception as error:
        # Only altered bytes get here: name the place, keep the cause.
        raise AuditLogError(f"{path}: a batch cannot be decoded: {error!r}") from error


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while one batch is decoded.

    Decoding allocates thousands of tuples and slotted objects, none in a cycle, so the
    collections those allocations trigger free nothing; in a process holding a large heap
    they made a replay a third slower. Collection resumes as soon as the batch is done.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# ----------------------------------------------------------------------------- recovery


@dataclass(frozen=True, slots=True)
class SetAside:
    """Damaged bytes moved out of a segment: `length` bytes from `offset`, now in `kept_as`."""

    segment: Path
    offset: int
    length: int
    kept_as: Path
    problem: str


@dataclass(frozen=True, slots=True)
class RecoveryResult:
    segments: int
    batches: int
    events: int
    last_seq: int
    last_hash: str
    set_aside: tuple[SetAside, ...]

    @property
    def moved(self) -> tuple[Path, ...]:
        """The files recovery wrote the damaged bytes to."""
        return tuple(item.kept_as for item in self.set_aside)

    def __str__(self) -> str:
        return (
            f"segments={self.segments} batches={self.batches} events={self.events} "
            f"last_seq={self.last_seq} set_aside={[str(p.name) for p in self.moved]}"
        )


def recover(directory: Path | str, *, progress: bool = False) -> RecoveryResult:
    """Mend torn tails so that the writer can continue: never deletes a byte.

    Every segment is read. Where one ends in an incomplete or unreadable message (a crash
    mid-write), its complete batches stay and everything from the first damaged byte is
    moved into `<segment>.torn-<offset>`, then the segment is truncated there. A segment
    without a single complete batch is renamed to `<segment>.torn-0` as a whole. The hash
    chain is not checked here (that is `verify`); a new writer continues from the stored
    hash of the last complete batch.
    """
    directory = Path(directory)
    segments = list_segments(directory)
    set_aside: list[SetAside] = []
    kept = batches = events = last_seq = 0
    last_hash = GENESIS_HASH
    with _bar(segments, progress, "audit recovery") as bar:
        for path in segments:
            with Segment(path) as segment:
                _check_readable(segment)
                frames = [(f.batch.num_rows, f.last_seq, f.digest) for f in segment.frames()]
                torn_at, problem, size = segment.torn_at, segment.problem, segment.size
            bar.update(size)
            if not frames:
                set_aside.append(_set_aside_whole(path, size, problem or "no complete batch"))
                continue
            if torn_at is not None:
                set_aside.append(_set_aside_tail(path, torn_at, size, problem or ""))
            kept += 1
            batches += len(frames)
            events += sum(rows for rows, _, _ in frames)
            _, last_seq, last_hash = frames[-1]
    for item in set_aside:
        log.warning(
            "audit recovery set %d damaged bytes of %s aside in %s: %s",
            item.length, item.segment.name, item.kept_as.name, item.problem,
        )  # fmt: skip
    return RecoveryResult(kept, batches, events, last_seq, last_hash.hex(), tuple(set_aside))


def _set_aside_tail(path: Path, offset: int, size: int, problem: str) -> SetAside:
    kept_as = _free_name(path.with_name(f"{path.name}.torn-{offset}"))
    with open(path, "rb") as source:
        source.seek(offset)
        tail = source.read()
    # The copy is durable before the segment loses those bytes, so a crash in between
    # leaves two copies, never none.
    descriptor = os.open(kept_as, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(descriptor, tail)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    descriptor = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(descriptor, offset)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    _sync_directory(path.parent)
    return SetAside(path, offset, size - offset, kept_as, problem)


def _set_aside_whole(path: Path, size: int, problem: str) -> SetAside:
    kept_as = _free_name(path.with_name(f"{path.name}.torn-0"))
    os.rename(path, kept_as)
    _sync_directory(path.parent)
    return SetAside(path, 0, size, kept_as, problem)


def _free_name(path: Path) -> Path:
    """`path`, or `path.1`, `path.2`... if a previous recovery already used the name."""
    candidate, number = path, 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{number}")
    return candidate


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where the chain first breaks; `batch_index` is None when the segment as a whole is."""

    segment: Path
    batch_index: int | None
    reason: str
    # The segment ends in part of a batch: a crash's torn tail, or a batch being written.
    torn: bool = False

    def __str__(self) -> str:
        where = "" if self.batch_index is None else f" batch {self.batch_index}"
        return f"{self.segment.name}{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    segments: int
    batches: int
    events: int
    last_seq: int
    last_hash: str
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(
    directory: Path | str, *, progress: bool = False, start_hash: bytes | None = GENESIS_HASH
) -> VerifyResult:
    """Check every batch against the hash chain, in order; stop at the first break.

    A batch breaks the chain if its bytes on disk are not exactly what its decoded content
    encodes to, if its hash is not sha256 of the previous hash and its message, or if its
    sequence numbers do not follow. A segment breaks it if it does not continue from the
    hash the previous segment ended with (a segment deleted or replaced), and the first
    segment if it does not start from `start_hash` (None accepts any start, for a log
    whose oldest segments were archived).
    """
    checker = _ChainChecker(start_hash)
    segments = list_segments(Path(directory))
    with _bar(segments, progress, "audit verify") as bar:
        for path in segments:
            broken = checker.segment(path)
            bar.update(path.stat().st_size if path.exists() else 0)
            if broken is not None:
                return checker.result(broken)
    return checker.result(None)


class _ChainChecker:
    def __init__(self, start_hash: bytes | None) -> None:
        self.running = start_hash
        self.segments = self.batches = self.events = self.last_seq = 0

    def result(self, broken: ChainBreak | None) -> VerifyResult:
        last = (self.running or GENESIS_HASH).hex()
        return VerifyResult(self.segments, self.batches, self.events, self.last_seq, last, broken)

    def segment(self, path: Path) -> ChainBreak | None:
        with Segment(path) as segment:
            if segment.schema is None:
                return ChainBreak(path, None, f"unreadable schema: {segment.problem}")
            try:
                check_schema(segment.schema)
            except SchemaError as error:
                return ChainBreak(path, None, str(error))
            if segment.chain_start is None:
                return ChainBreak(path, None, "the schema names no chain start")
            if self.running is not None and segment.chain_start != self.running:
                return ChainBreak(path, None, self._gap_reason(segment.chain_start))
            self.running = segment.chain_start
            self.segments += 1
            index = 0
            for frame in segment.frames():
                try:
                    broken = self._batch(segment, frame)
                except DAMAGED as error:
                    broken = f"unreadable content: {error!r}"
                if broken is not None:
                    return ChainBreak(path, frame.index, broken)
                index = frame.index + 1
            if segment.torn_at is not None:
                return ChainBreak(
                    path, index, f"torn at byte {segment.torn_at}: {segment.problem}", torn=True
                )
            if index == 0:
                return ChainBreak(path, None, "the segment holds no batch")
        return None

    def _gap_reason(self, chain_start: bytes) -> str:
        if self.segments == 0:
            return (
                f"the log starts from hash {chain_start.hex()[:16]}..., not the beginning of "
                "the chain: earlier segments are missing"
            )
        return (
            f"continues the chain from {chain_start.hex()[:16]}... but the previous segment "
            f"ends at {(self.running or b'').hex()[:16]}...: a segment between is missing "
            "or was replaced"
        )

    def _batch(self, segment: Segment, frame: Frame) -> str | None:
        batch = frame.batch
        # Padding and other bytes that decode to nothing are caught by encoding the batch
        # again. Compressed bytes are left to the hash alone: another version of the codec
        # may compress the same buffers differently.
        schema = segment.schema
        assert schema is not None
        if COMPRESSION_KEY not in (schema.metadata or {}):
            if _encoded(schema, batch, frame.metadata) != segment.raw(frame):
                return "its bytes differ from what its content encodes to: altered"
        message = batch.serialize()
        schema_message = segment.schema_message if frame.index == 0 else None
        expected = chain_link(self.running or GENESIS_HASH, message, schema_message)
        if frame.previous != self.running or frame.digest != expected:
            return "its hash does not follow from the previous batch: altered"
        seqs = batch.column(0).to_numpy()
        rows = len(seqs)
        if rows == 0 or seqs[0] != frame.first_seq or seqs[-1] != frame.last_seq:
            return "its sequence numbers differ from the ones its metadata states"
        if seqs[0] <= self.last_seq or (rows > 1 and not (seqs[1:] > seqs[:-1]).all()):
            return f"sequence numbers go back: {int(seqs[0])} after {self.last_seq}"
        if frame.index == 0 and segment_first_seq(segment.path) != frame.first_seq:
            return f"the segment's name does not match its first seq {frame.first_seq}"
        self.running = expected
        self.batches += 1
        self.events += rows
        self.last_seq = frame.last_seq
        return None


def _encoded(schema: pa.Schema, batch: pa.RecordBatch, metadata: dict[bytes, bytes]) -> bytes:
    """The batch message a stream writer makes of `batch` with `metadata`."""
    sink = pa.BufferOutputStream()
    writer = pa.ipc.new_stream(sink, schema)
    writer.write_batch(batch, custom_metadata=metadata)
    data = sink.getvalue()
    return data[len(schema.serialize()) :].to_pybytes()


def _bar(items: Sequence[Path], progress: bool, what: str) -> tqdm:
    """A progress bar over the segments' bytes, on stderr, when asked for."""
    total = sum(p.stat().st_size for p in items if p.exists()) if progress else None
    return tqdm(
        total=total, desc=what, unit="B", unit_scale=True, file=sys.stderr, disable=not progress
    )
