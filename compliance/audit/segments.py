"""Segment files of the audit log: their names, the hash chain, and reading one segment.

A log is a directory of segments named `YYYYMMDD-<first seq, 20 digits>.arrows`, so that
names sort by day and then by sequence number. The day is the UTC date of the first
event's time. Each segment is one Arrow IPC stream: a schema message, record batch
messages, and the end-of-stream marker once the writer closed it cleanly.

The hash chain runs through every batch of every segment, in order:

    hash(batch) = sha256(previous hash + batch message)
    hash(first batch of a segment) = sha256(previous hash + schema message + batch message)

"Batch message" is the batch serialized on its own and uncompressed
(`RecordBatch.serialize()`, without the custom metadata below), which a reader rebuilds
from what it decoded; "schema message" is the segment's schema message exactly as on disk.
The previous hash of the very first batch is 32 zero bytes (`GENESIS_HASH`); the first
batch of any later segment continues from the last batch of the segment before it. Each
batch carries its hash and the previous one in its custom metadata, and each segment's
schema metadata names the hash it continues from, so one altered byte names its batch, and
a deleted segment breaks the link across the gap.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from compliance.audit.errors import AuditLogError

GENESIS_HASH = bytes(32)
SEGMENT_SUFFIX = ".arrows"
DAY_NS = 86_400 * 1_000_000_000

# Schema metadata of a segment.
CHAIN_START_KEY = b"audit.chain_start"
CREATED_KEY = b"audit.created_ns"
# Present when buffers are compressed: the codec's name ("lz4", "zstd").
COMPRESSION_KEY = b"audit.compression"
# Custom metadata of a batch.
HASH_KEY = b"audit.hash"
PREVIOUS_KEY = b"audit.previous"
FIRST_SEQ_KEY = b"audit.first_seq"
LAST_SEQ_KEY = b"audit.last_seq"

# What Arrow writes when a stream is closed: continuation marker and a zero length.
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"

# What pyarrow raises on damaged bytes: invalid or unsupported metadata, short reads, and
# undecodable names.
DAMAGED = (pa.ArrowException, OSError, ValueError)

_NAME = re.compile(r"^(\d{8})-(\d{20})\.arrows$")


def segment_day(time_ns: int) -> int:
    """The UTC day number (days since 1970-01-01) of a time in nanoseconds."""
    return time_ns // DAY_NS


def segment_name(day: int, first_seq: int) -> str:
    date = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y%m%d")
    return f"{date}-{first_seq:020d}{SEGMENT_SUFFIX}"


def segment_first_seq(path: Path) -> int | None:
    """The first sequence number a segment's name promises, or None if not a segment."""
    match = _NAME.match(path.name)
    return int(match.group(2)) if match else None


def list_segments(directory: Path) -> list[Path]:
    """The directory's segments in sequence order (files set aside by recovery excluded)."""
    if not directory.is_dir():
        return []
    found = [(segment_first_seq(p), p.name, p) for p in directory.iterdir()]
    return [path for seq, _, path in sorted(f for f in found if f[0] is not None)]


def chain_link(previous: bytes, message: bytes | pa.Buffer, schema_message: bytes | None) -> bytes:
    digest = hashlib.sha256(previous)
    if schema_message is not None:
        digest.update(schema_message)
    digest.update(message)
    return digest.digest()


def batch_metadata(
    previous: bytes, digest: bytes, first_seq: int, last_seq: int
) -> dict[bytes, bytes]:
    return {
        HASH_KEY: digest.hex().encode(),
        PREVIOUS_KEY: previous.hex().encode(),
        FIRST_SEQ_KEY: str(first_seq).encode(),
        LAST_SEQ_KEY: str(last_seq).encode(),
    }


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete batch of a segment. `batch` reads the file through its memory map,
    which Arrow keeps mapped for as long as the batch is referenced."""

    index: int
    offset: int
    end: int
    batch: pa.RecordBatch
    first_seq: int
    last_seq: int
    digest: bytes
    previous: bytes
    # The custom metadata as stored, for checking the bytes on disk.
    metadata: dict[bytes, bytes]


class Segment:
    """One segment file, memory-mapped and read batch by batch.

    A torn tail is any byte after the last complete batch that is not exactly the
    end-of-stream marker: a crash mid-write leaves part of a message, and some file systems
    leave zeros where the data never landed. After `frames()` is exhausted, `complete_end`
    is where the complete part ends and `torn_at` where the damaged part starts, if any.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self.schema: pa.Schema | None = None
        self.schema_message = b""
        self.chain_start: bytes | None = None
        self.complete_end = 0
        self.torn_at: int | None = None
        self.problem: str | None = None
        self._map: pa.MemoryMappedFile | None = None
        self._data: pa.Buffer | None = None
        self._source: pa.BufferReader | None = None
        self._stream: pa.ipc.RecordBatchStreamReader | None = None

    def __enter__(self) -> Segment:
        self._map = pa.memory_map(str(self.path))
        self.size = self._map.size()
        data = self._map.read_buffer()
        self._data = data
        self._source = pa.BufferReader(data)
        try:
            self._stream = pa.ipc.open_stream(self._source)
        except DAMAGED as error:
            self._torn(0, f"no complete schema message: {error}")
            return self
        self.schema = self._stream.schema
        self.complete_end = self._source.tell()
        self.schema_message = data[: self.complete_end].to_pybytes()
        start = (self.schema.metadata or {}).get(CHAIN_START_KEY)
        self.chain_start = _unhex(start)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stream = None
        self._source = None
        self._data = None
        if self._map is not None:
            self._map.close()
            self._map = None

    def frames(self) -> Iterator[Frame]:
        stream, source = self._stream, self._source
        if stream is None or source is None:
            return
        index = 0
        while True:
            offset = source.tell()
            try:
                batch, metadata = stream.read_next_batch_with_custom_metadata()
            except StopIteration:
                break
            except DAMAGED as error:
                self._torn(offset, f"incomplete or unreadable message: {error}")
                return
            end = source.tell()
            self.complete_end = end
            yield _frame(index, offset, end, batch, metadata)
            index += 1
        tail = self._data[self.complete_end :].to_pybytes() if self._data is not None else b""
        if tail not in (b"", END_OF_STREAM):
            self._torn(self.complete_end, f"{len(tail)} bytes after the last complete batch")

    def raw(self, frame: Frame) -> bytes:
        """A batch's message exactly as on disk."""
        assert self._data is not None
        return self._data[frame.offset : frame.end].to_pybytes()

    def _torn(self, offset: int, problem: str) -> None:
        self.torn_at = offset
        self.problem = problem


def _frame(
    index: int, offset: int, end: int, batch: pa.RecordBatch, metadata: pa.KeyValueMetadata | None
) -> Frame:
    values = dict(metadata or {})
    return Frame(
        metadata=values,
        index=index,
        offset=offset,
        end=end,
        batch=batch,
        first_seq=_int(values.get(FIRST_SEQ_KEY)),
        last_seq=_int(values.get(LAST_SEQ_KEY)),
        digest=_unhex(values.get(HASH_KEY)) or b"",
        previous=_unhex(values.get(PREVIOUS_KEY)) or b"",
    )


def _int(value: bytes | None) -> int:
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1


def _unhex(value: bytes | None) -> bytes | None:
    try:
        return bytes.fromhex(value.decode()) if value is not None else None
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class ChainTail:
    """Where a log ends: the writer continues from here in a new segment."""

    last_seq: int
    last_hash: bytes
    segments: int


def chain_tail(directory: Path) -> ChainTail:
    """The last sequence number and hash of a log; refuses a log that needs recovery."""
    segments = list_segments(directory)
    if not segments:
        return ChainTail(0, GENESIS_HASH, 0)
    last = segments[-1]
    with Segment(last) as segment:
        final: Frame | None = None
        for frame in segment.frames():
            final = frame
        if segment.torn_at is not None:
            raise AuditLogError(f"{last}: torn at byte {segment.torn_at}; run recover() first")
    if final is None:
        raise AuditLogError(f"{last}: holds no complete batch; run recover() first")
    return ChainTail(final.last_seq, final.digest, len(segments))
