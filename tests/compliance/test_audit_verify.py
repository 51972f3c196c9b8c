"""Tamper evidence: the hash chain names the first batch or segment that was altered."""

from __future__ import annotations

from pathlib import Path

from audit_logs import SmallLog, layout

from compliance.audit.reader import verify
from compliance.audit.samples import order_flow
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig


def flip(path: Path, offset: int) -> bytes:
    """Invert one byte of a file in place; returns the original contents."""
    data = path.read_bytes()
    path.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :])
    return data


def test_an_untouched_log_verifies(small_log: SmallLog) -> None:
    result = verify(small_log.directory)

    assert result.ok
    assert (result.segments, result.batches, result.events, result.last_seq) == (3, 9, 27, 27)


def test_one_flipped_byte_anywhere_in_a_batch_names_that_batch(small_log: SmallLog) -> None:
    middle = small_log.segments[1]
    shape = layout(middle)
    start, end = shape.batch_ends[0], shape.batch_ends[1]

    for offset in range(start, end):
        original = flip(middle, offset)

        broken = verify(small_log.directory).first_break

        assert broken is not None, offset
        assert (broken.segment, broken.batch_index) == (middle, 1), (offset, str(broken))
        middle.write_bytes(original)
    assert verify(small_log.directory).ok


def test_a_flipped_byte_in_each_batch_names_that_batch(small_log: SmallLog) -> None:
    for segment in small_log.segments:
        shape = layout(segment)
        starts = [shape.schema_end, *shape.batch_ends[:-1]]
        for index, (start, end) in enumerate(zip(starts, shape.batch_ends, strict=True)):
            original = flip(segment, (start + end) // 2)

            broken = verify(small_log.directory).first_break

            assert broken is not None
            assert (broken.segment, broken.batch_index) == (segment, index)
            segment.write_bytes(original)


def test_a_flipped_byte_in_a_schema_message_names_that_segment(small_log: SmallLog) -> None:
    last = small_log.segments[-1]

    for offset in range(0, layout(last).schema_end, 97):
        original = flip(last, offset)

        broken = verify(small_log.directory).first_break

        assert broken is not None and broken.segment == last, offset
        assert broken.batch_index in (None, 0)
        last.write_bytes(original)


def test_a_deleted_middle_segment_breaks_the_chain_at_the_next_one(small_log: SmallLog) -> None:
    first, middle, last = small_log.segments
    middle.unlink()

    broken = verify(small_log.directory).first_break

    assert broken is not None
    assert (broken.segment, broken.batch_index) == (last, None)
    assert "missing" in broken.reason


def test_a_deleted_first_segment_is_reported_unless_the_start_is_open(
    small_log: SmallLog,
) -> None:
    first, middle, _ = small_log.segments
    first.unlink()

    broken = verify(small_log.directory).first_break

    assert broken is not None and broken.segment == middle and broken.batch_index is None
    assert "earlier segments are missing" in broken.reason
    assert verify(small_log.directory, start_hash=None).ok


def test_a_torn_tail_is_reported_at_the_batch_it_tore(small_log: SmallLog) -> None:
    last = small_log.segments[-1]
    last.write_bytes(last.read_bytes()[: layout(last).batch_ends[1] + 10])

    broken = verify(small_log.directory).first_break

    assert broken is not None and (broken.segment, broken.batch_index) == (last, 2)
    assert "torn" in broken.reason


def test_a_log_written_across_rotations_verifies(tmp_path: Path) -> None:
    config = AuditConfig(directory=tmp_path, segment_bytes=100_000, batch_events=50)
    with AuditLog(config) as log:
        for number, event in enumerate(order_flow(3000), 1):
            log.append(event)
            if number % 100 == 0:
                log.flush()

    result = verify(tmp_path, progress=True)

    assert result.ok and result.segments > 5 and result.events == 3000
