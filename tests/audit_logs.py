"""Small audit logs written by the real writer on real files, for the audit log tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from compliance.audit.samples import order_flow
from compliance.audit.segments import Segment, list_segments
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig
from oms.events import Event


@dataclass(frozen=True)
class Layout:
    """Where a segment's schema message ends, and where each of its batches ends."""

    schema_end: int
    batch_ends: list[int]
    last_seqs: list[int]


@dataclass
class SmallLog:
    """Three segments of three batches of three events each, as the writer left them."""

    directory: Path
    events: list[Event]

    @property
    def segments(self) -> list[Path]:
        return list_segments(self.directory)


def layout(path: Path) -> Layout:
    with Segment(path) as segment:
        frames = list(segment.frames())
        return Layout(frames[0].offset, [f.end for f in frames], [f.last_seq for f in frames])


def write_small_log(directory: Path) -> SmallLog:
    events = order_flow(27)
    # Each opening of the log starts a new segment. The long window keeps the writer
    # waiting until flush, so that each flush writes exactly the three events before it.
    config = AuditConfig(directory=directory, batch_events=3, batch_window_ms=10_000.0)
    for session in range(3):
        with AuditLog(config) as log:
            for start in range(session * 9, session * 9 + 9, 3):
                for event in events[start : start + 3]:
                    log.append(event)
                log.flush()
    return SmallLog(directory, events)
