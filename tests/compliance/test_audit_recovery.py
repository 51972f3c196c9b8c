"""Crash recovery: torn tails are set aside byte for byte and the writer carries on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from audit_logs import SmallLog, layout

from compliance.audit.errors import AuditLogError
from compliance.audit.reader import read_events, recover, verify
from compliance.audit.samples import order_flow
from compliance.audit.segments import END_OF_STREAM
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig


def test_the_small_log_has_three_segments_of_three_batches(small_log: SmallLog) -> None:
    segments = small_log.segments

    assert len(segments) == 3
    assert all(len(layout(path).batch_ends) == 3 for path in segments)
    assert segments[-1].read_bytes().endswith(END_OF_STREAM)


def test_recovery_of_a_clean_log_changes_nothing(small_log: SmallLog) -> None:
    before = {p.name: p.read_bytes() for p in small_log.directory.iterdir()}

    result = recover(small_log.directory)

    assert result.set_aside == ()
    assert (result.segments, result.batches, result.events) == (3, 9, 27)
    assert result.last_seq == 27
    assert result.last_hash == verify(small_log.directory).last_hash
    assert {p.name: p.read_bytes() for p in small_log.directory.iterdir()} == before


def test_recovery_at_every_truncation_of_the_last_segment(
    small_log: SmallLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash can stop the last segment at any byte: recovery keeps exactly the complete
    batches, sets the rest aside unchanged, and never fails."""
    # Some 20,000 recoveries: their fsyncs would take most of the time and prove nothing.
    monkeypatch.setattr(os, "fsync", lambda descriptor: None)
    directory = small_log.directory
    last = small_log.segments[-1]
    original = last.read_bytes()
    shape = layout(last)
    clean_ends = {*shape.batch_ends, len(original)}

    for offset in range(len(original) + 1):
        last.write_bytes(original[:offset])

        result = recover(directory)

        complete = [end for end in shape.batch_ends if end <= offset]
        aside = {p.name: p.read_bytes() for p in directory.glob("*.torn-*")}
        if not complete:
            # Not one batch: the whole file goes aside and the log ends with segment two.
            assert aside == {f"{last.name}.torn-0": original[:offset]}, offset
            assert not last.exists()
            assert result.last_seq == 18 and result.batches == 6
        elif offset in clean_ends:
            assert aside == {}, offset
            assert last.read_bytes() == original[:offset]
            assert result.last_seq == shape.last_seqs[len(complete) - 1]
        else:
            boundary = complete[-1]
            assert aside == {f"{last.name}.torn-{boundary}": original[boundary:offset]}, offset
            assert last.read_bytes() == original[:boundary]
            assert result.last_seq == shape.last_seqs[len(complete) - 1]
            assert result.batches == 6 + len(complete)
        assert result.moved == tuple(directory / name for name in aside)
        for name in aside:
            (directory / name).unlink()


def test_after_recovery_replay_and_verify_see_the_complete_batches(small_log: SmallLog) -> None:
    last = small_log.segments[-1]
    shape = layout(last)
    torn_at = shape.batch_ends[1] + 100
    last.write_bytes(last.read_bytes()[:torn_at])

    result = recover(small_log.directory)

    assert [p.name for p in result.moved] == [f"{last.name}.torn-{shape.batch_ends[1]}"]
    assert list(read_events(small_log.directory)) == small_log.events[:24]
    assert verify(small_log.directory).ok


def test_the_writer_continues_in_a_new_segment_after_recovery(small_log: SmallLog) -> None:
    directory = small_log.directory
    last = small_log.segments[-1]
    last.write_bytes(last.read_bytes()[: layout(last).batch_ends[0] + 7])
    recovered = recover(directory)
    more = order_flow(10, first_seq=recovered.last_seq + 1)

    with AuditLog(AuditConfig(directory=directory)) as log:
        for event in more:
            log.append(event)

    assert len(small_log.segments) == 4
    assert small_log.segments[-1].name.endswith(f"{recovered.last_seq + 1:020d}.arrows")
    assert list(read_events(directory)) == small_log.events[:21] + more
    assert verify(directory).ok


def test_the_writer_refuses_a_log_with_a_torn_tail(small_log: SmallLog) -> None:
    last = small_log.segments[-1]
    last.write_bytes(last.read_bytes()[:-3])

    with pytest.raises(AuditLogError, match="recover"):
        AuditLog(AuditConfig(directory=small_log.directory))


def test_replay_stops_at_a_torn_tail_of_the_last_segment(
    small_log: SmallLog, caplog: pytest.LogCaptureFixture
) -> None:
    last = small_log.segments[-1]
    last.write_bytes(last.read_bytes()[: layout(last).batch_ends[2] - 1])

    assert list(read_events(small_log.directory)) == small_log.events[:24]
    assert "torn tail" in caplog.text


def test_replay_refuses_to_skip_a_damaged_segment_in_the_middle(small_log: SmallLog) -> None:
    middle = small_log.segments[1]
    middle.write_bytes(middle.read_bytes()[: layout(middle).batch_ends[1] + 50])

    with pytest.raises(AuditLogError, match="later segments follow"):
        list(read_events(small_log.directory))


def test_a_second_recovery_never_overwrites_bytes_set_aside(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    with AuditLog(AuditConfig(directory=directory)) as log:
        for event in order_flow(5):
            log.append(event)
    (segment,) = directory.iterdir()
    original = segment.read_bytes()
    segment.write_bytes(original[:-20])
    first = recover(directory)
    segment.write_bytes(original[:-20])

    second = recover(directory)

    assert first.moved[0] != second.moved[0]
    assert first.moved[0].read_bytes() == second.moved[0].read_bytes()
