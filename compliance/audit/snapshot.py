"""The audit log as one Arrow table for queries: every complete batch, memory-mapped.

The engine may be appending while a query runs. Each segment is taken as it stands when it
is opened: its complete batches are kept, and whatever follows the last of them (a batch
the writer has not finished, or a crash's leftovers that `recover` has not yet set aside)
is left out and noted. Files are only ever read; nothing here writes, moves or truncates.

Batches stay memory-mapped after their segment file is closed, since Arrow keeps a mapping
alive for as long as a buffer refers to it (ARROW-494). A log larger than memory can
therefore be queried without holding a file open per segment, and the operating system
reads only the pages that a query touches.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from compliance.audit.errors import AuditLogError
from compliance.audit.schema import SCHEMA, check_schema
from compliance.audit.segments import Segment, list_segments

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Bytes at the end of a segment that a snapshot does not include.

    On the last segment (`live`) that is normal while the writer is appending; on an
    earlier one it is damage that `oms audit verify` reports and `recover` sets aside.
    """

    segment: Path
    offset: int
    length: int
    problem: str
    live: bool

    def __str__(self) -> str:
        return f"{self.segment.name}: {self.length} bytes from byte {self.offset} ({self.problem})"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The log's complete batches in sequence order, as one table of the audit schema."""

    directory: Path
    table: pa.Table
    segments: int
    left_out: tuple[LeftOut, ...]

    @property
    def events(self) -> int:
        return int(self.table.num_rows)


def take_snapshot(directory: Path | str, *, progress: bool = False) -> Snapshot:
    """Read every complete batch of the log in `directory`.

    Raises AuditLogError if there is no such directory, and SchemaError for a segment of
    a schema this version cannot read.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise AuditLogError(f"no audit log at {directory}: not a directory")
    paths = list_segments(directory)
    batches: list[pa.RecordBatch] = []
    left_out: list[LeftOut] = []
    with _bar(paths, progress) as bar:
        for number, path in enumerate(paths, 1):
            if not _read_segment(path, number == len(paths), batches, left_out):
                log.warning("audit segment %s was moved away while being read", path.name)
            bar.update(_size(path))
    for item in left_out:
        if not item.live:
            log.warning("audit query leaves out a damaged tail: %s", item)
    table = pa.Table.from_batches(batches, schema=SCHEMA)
    log.debug("audit snapshot: %d events from %d segments", table.num_rows, len(paths))
    return Snapshot(directory, table, len(paths), tuple(left_out))


def _read_segment(
    path: Path, live: bool, batches: list[pa.RecordBatch], left_out: list[LeftOut]
) -> bool:
    """Append the segment's complete batches; False if the file is gone (set aside by
    `recover` since the directory was listed)."""
    try:
        with Segment(path) as segment:
            if segment.schema is not None:
                check_schema(segment.schema)
            batches.extend(frame.batch for frame in segment.frames())
            if segment.torn_at is not None:
                left_out.append(LeftOut(
                    path, segment.torn_at, segment.size - segment.torn_at,
                    segment.problem or "incomplete", live,
                ))  # fmt: skip
            return True
    except FileNotFoundError:
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _bar(paths: Sequence[Path], progress: bool) -> tqdm:
    """A progress bar over the segments' bytes, on stderr, gone once the reading is done."""
    total = sum(map(_size, paths)) if progress else None
    return tqdm(
        total=total, desc="reading audit log", unit="B", unit_scale=True, leave=False,
        file=sys.stderr, disable=not progress,
    )  # fmt: skip
