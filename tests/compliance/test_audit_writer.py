"""The audit log writer: group commit, durability order, segment rotation, failures."""

from __future__ import annotations

import logging
import resource
import signal
import threading
from pathlib import Path

import pytest

from compliance.audit.errors import AuditLogError
from compliance.audit.reader import read_events, verify
from compliance.audit.samples import DAY_NS, MARKET_OPEN_NS, order_flow
from compliance.audit.segments import Segment, list_segments, segment_first_seq
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig
from oms.model import OrdType


def config(directory: Path, **settings: object) -> AuditConfig:
    values: dict[str, object] = {"batch_window_ms": 0.2, **settings}
    return AuditConfig(directory=directory, **values)  # type: ignore[arg-type]


def batch_sizes(directory: Path) -> list[int]:
    sizes = []
    for path in list_segments(directory):
        with Segment(path) as segment:
            sizes += [frame.batch.num_rows for frame in segment.frames()]
    return sizes


def test_appended_events_read_back_in_order_after_close(tmp_path: Path) -> None:
    events = order_flow(5000)
    with AuditLog(config(tmp_path)) as log:
        for e in events:
            log.append(e)

    assert list(read_events(tmp_path)) == events
    assert verify(tmp_path).ok


def test_flush_makes_every_appended_event_durable(tmp_path: Path) -> None:
    events = order_flow(300)
    log = AuditLog(config(tmp_path, batch_window_ms=50.0))
    for e in events:
        log.append(e)

    log.flush()

    assert log.durable_seq == events[-1].seq
    assert list(read_events(tmp_path)) == events
    log.close()


def test_durable_seq_only_increases_and_reaches_the_last_seq(tmp_path: Path) -> None:
    reported: list[int] = []
    events = order_flow(20_000)
    log = AuditLog(config(tmp_path, batch_events=256), on_durable=reported.append)
    for e in events:
        log.append(e)
    log.flush()

    assert reported == sorted(set(reported))
    assert reported[-1] == events[-1].seq
    assert log.durable_seq == events[-1].seq
    log.close()


def test_durable_callback_runs_after_the_events_are_on_disk(tmp_path: Path) -> None:
    readable: list[bool] = []

    def on_durable(seq: int) -> None:
        readable.append(max(e.seq for e in read_events(tmp_path)) >= seq)

    log = AuditLog(config(tmp_path), on_durable=on_durable)
    for e in order_flow(50):
        log.append(e)
    log.close()

    assert readable and all(readable)


def test_events_waiting_together_are_written_as_one_batch(tmp_path: Path) -> None:
    log = AuditLog(config(tmp_path, batch_window_ms=200.0))
    for e in order_flow(40):
        log.append(e)
    log.close()

    assert batch_sizes(tmp_path) == [40]


def test_batches_hold_at_most_batch_events_and_are_never_lone_rows(tmp_path: Path) -> None:
    log = AuditLog(config(tmp_path, batch_events=100, batch_window_ms=200.0))
    for e in order_flow(1001):
        log.append(e)
    log.close()

    sizes = batch_sizes(tmp_path)
    assert sum(sizes) == 1001
    assert max(sizes) <= 100
    assert min(sizes) > 1


def test_concurrent_appenders_each_wait_for_their_own_event(tmp_path: Path) -> None:
    events = order_flow(8 * 50)
    lock = threading.Lock()
    position = iter(events)
    log = AuditLog(config(tmp_path))

    def appender() -> None:
        for _ in range(50):
            # The engine appends in seq order from one thread; a lock stands in for it.
            with lock:
                e = next(position)
                log.append(e)
            assert log.wait_durable(e.seq, timeout=10)

    threads = [threading.Thread(target=appender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()

    assert list(read_events(tmp_path)) == events


def test_segments_rotate_by_size_and_are_named_by_their_first_seq(tmp_path: Path) -> None:
    log = AuditLog(config(tmp_path, segment_bytes=60_000, batch_events=64))
    events = order_flow(2000)
    for e in events:
        log.append(e)
        if e.seq % 64 == 0:
            log.flush()
    log.close()

    segments = list_segments(tmp_path)
    assert len(segments) > 3
    for path in segments:
        with Segment(path) as segment:
            frames = list(segment.frames())
            first_seq = frames[0].first_seq
            before_last = frames[-1].offset
        assert segment_first_seq(path) == first_seq
        assert path.name.startswith("20260302-")
        # Rotation is checked before each batch: the limit is passed by one batch at most.
        assert before_last < 60_000
    assert list(read_events(tmp_path)) == events
    assert verify(tmp_path).ok


def test_segments_rotate_at_midnight_utc_even_inside_one_batch(tmp_path: Path) -> None:
    midnight = (MARKET_OPEN_NS // DAY_NS + 1) * DAY_NS
    events = order_flow(200, start_ns=midnight - 100_000)
    log = AuditLog(config(tmp_path, batch_window_ms=200.0))
    for e in events:
        log.append(e)
    log.close()

    names = [p.name for p in list_segments(tmp_path)]
    first_next_day = next(e for e in events if e.time_ns >= midnight)
    assert names == [
        "20260302-00000000000000000001.arrows",
        f"20260303-{first_next_day.seq:020d}.arrows",
    ]
    assert list(read_events(tmp_path)) == events
    assert verify(tmp_path).ok


def test_a_reopened_log_continues_seq_and_chain_in_a_new_segment(tmp_path: Path) -> None:
    first, second = order_flow(500), order_flow(500, first_seq=501)
    with AuditLog(config(tmp_path)) as log:
        for e in first:
            log.append(e)
    with AuditLog(config(tmp_path)) as log:
        for e in second:
            log.append(e)

    assert [p.name[9:] for p in list_segments(tmp_path)] == [
        "00000000000000000001.arrows",
        "00000000000000000501.arrows",
    ]
    assert list(read_events(tmp_path)) == first + second
    assert verify(tmp_path).ok


def test_mode_off_writes_nothing_and_reports_each_event_durable(tmp_path: Path) -> None:
    reported: list[int] = []
    log = AuditLog(config(tmp_path / "audit", mode="off"), on_durable=reported.append)
    for e in order_flow(3):
        log.append(e)
    log.flush()
    log.close()

    assert reported == [1, 2, 3]
    assert not (tmp_path / "audit").exists()


def test_append_after_close_raises(tmp_path: Path) -> None:
    log = AuditLog(config(tmp_path))
    log.close()

    with pytest.raises(AuditLogError, match="closed"):
        log.append(order_flow(1)[0])


def test_a_bad_event_fails_the_writer_and_later_calls_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = order_flow(3)
    bad = good[2]._replace(seq=4, terms=good[2].terms.replaced(  # type: ignore[union-attr]
        good[2].cl_ord_id, 100, "not a price", None, OrdType.LIMIT,  # type: ignore[arg-type]
        good[2].terms.time_in_force, None,  # type: ignore[union-attr]
    ))  # fmt: skip
    log = AuditLog(config(tmp_path))
    for e in good:
        log.append(e)
    log.flush()

    with caplog.at_level(logging.ERROR, logger="compliance.audit.writer"):
        log.append(bad)
        with pytest.raises(AuditLogError):
            log.flush()

    assert any(r.levelno == logging.ERROR for r in caplog.records)
    with pytest.raises(AuditLogError):
        log.append(good[0]._replace(seq=5))
    with pytest.raises(AuditLogError):
        log.close()
    assert log.durable_seq == 3


def test_events_out_of_seq_order_fail_the_writer(tmp_path: Path) -> None:
    events = order_flow(4)
    log = AuditLog(config(tmp_path))
    for e in (events[0], events[2], events[1]):
        log.append(e)

    with pytest.raises(AuditLogError):
        log.flush()
    with pytest.raises(AuditLogError):
        log.close()


def test_an_on_durable_that_raises_fails_the_writer(tmp_path: Path) -> None:
    def on_durable(seq: int) -> None:
        raise RuntimeError("release failed")

    log = AuditLog(config(tmp_path), on_durable=on_durable)
    log.append(order_flow(1)[0])

    with pytest.raises(AuditLogError, match="release failed"):
        log.flush()
    with pytest.raises(AuditLogError):
        log.close()


@pytest.fixture
def file_size_limit() -> object:
    """Lower the largest file this process may write, as a full disk would stop it.

    Writes beyond the limit fail with EFBIG once SIGXFSZ is ignored; both are restored.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def lower(limit: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    yield lower
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


def test_a_write_error_surfaces_as_audit_log_error(
    tmp_path: Path, file_size_limit: object, caplog: pytest.LogCaptureFixture
) -> None:
    log = AuditLog(config(tmp_path))
    with caplog.at_level(logging.ERROR, logger="compliance.audit.writer"):
        file_size_limit(200_000)  # type: ignore[operator]
        for e in order_flow(2000):
            log.append(e)
        with pytest.raises(AuditLogError, match="File too large|EFBIG|27"):
            log.flush()

    assert "audit log writer failed" in caplog.text
    with pytest.raises(AuditLogError):
        log.append(order_flow(1, first_seq=9999)[0])
    with pytest.raises(AuditLogError):
        log.close()


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_a_compressed_log_reads_back_and_verifies(tmp_path: Path, compression: str) -> None:
    events = order_flow(3000)
    with AuditLog(config(tmp_path), compression=compression) as log:
        for e in events:
            log.append(e)

    assert list(read_events(tmp_path)) == events
    assert verify(tmp_path).ok
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 300 * len(events)
