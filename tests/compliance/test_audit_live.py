"""Queries while the engine is still writing: flushed events are seen, queries never fail,
unfinished or damaged tails are left out, and no file is ever changed by a query."""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from pathlib import Path

import pytest
from audit_flow import (
    audit_config,
    day_one_first_part,
    day_one_rest,
    day_two,
    harness,
    record_flow,
)
from audit_logs import layout, write_small_log

from compliance.audit.query import AuditDatabase, export, orders, sql, trail
from compliance.audit.samples import order_flow
from compliance.audit.snapshot import take_snapshot
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig
from oms.model import ClOrdID

A_TRAIL_DAY_ONE = [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 18, 19, 20, 21, 22, 23]


def seqs(directory: Path, cl_ord_id: str) -> list[int]:
    seqs: list[int] = trail(directory, ClOrdID(cl_ord_id)).column("seq").to_pylist()
    return seqs


def fingerprint(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())
    }


def test_queries_between_flushes_see_every_flushed_event(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    h = harness()
    with AuditLog(audit_config(directory)) as log:
        h.engine.subscribe(log.append)

        day_one_first_part(h)
        log.flush()
        assert seqs(directory, "A1") == list(range(1, 10))
        table = orders(directory)
        assert table.column("cl_ord_id").to_pylist() == ["A3"]
        assert table.column("status").to_pylist() == ["New"]

        day_one_rest(h)
        unflushed = seqs(directory, "A3")
        assert unflushed == A_TRAIL_DAY_ONE[: len(unflushed)]
        log.flush()
        assert seqs(directory, "A3") == A_TRAIL_DAY_ONE
        assert orders(directory, status="Partially Filled").column("cum_quantity").to_pylist() == [
            200
        ]

        day_two(h)
        log.flush()
        assert seqs(directory, "A2") == [*A_TRAIL_DAY_ONE, 38]
        assert sql(directory, "SELECT count(*) AS n FROM events").column("n").to_pylist() == [
            len(h.events)
        ]


def test_queries_while_a_writer_appends_and_rotates_never_fail(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    events = order_flow(30_000)
    # Small segments, so that segments are opened (empty, then only a schema) while read.
    config = AuditConfig(directory=directory, batch_events=128, segment_bytes=200_000)
    queries = 0
    with AuditLog(config) as log:

        def append_all() -> None:
            for start in range(0, len(events), 250):
                for event in events[start : start + 250]:
                    log.append(event)
                time.sleep(0.005)

        appender = threading.Thread(target=append_all)
        appender.start()
        while appender.is_alive() or queries < 3:
            durable = log.durable_seq
            with AuditDatabase.open(directory) as database:
                [seen] = database.sql(
                    "SELECT count(*) AS n, min(seq) AS first, max(seq) AS last FROM events"
                ).to_pylist()
                database.orders(status="Filled")
            assert seen["n"] >= durable
            assert seen["n"] == 0 or (seen["first"], seen["last"]) == (1, seen["n"])
            queries += 1
        appender.join()
        log.flush()
        assert take_snapshot(directory).events == len(events)
    assert queries >= 3
    assert len(list(directory.iterdir())) > 3


def test_a_batch_cut_short_at_the_end_is_left_out_and_noted(tmp_path: Path) -> None:
    small = write_small_log(tmp_path / "small")
    last = small.segments[-1]
    shape = layout(last)
    cut = (shape.batch_ends[-2] + shape.batch_ends[-1]) // 2
    with last.open("r+b") as file:
        file.truncate(cut)

    snapshot = take_snapshot(small.directory)

    assert snapshot.events == 24
    [left_out] = snapshot.left_out
    assert (left_out.segment, left_out.offset, left_out.live) == (
        last,
        shape.batch_ends[-2],
        True,
    )
    assert seqs(small.directory, small.events[0].cl_ord_id or "") == [1, 2, 3, 4, 5]


def test_a_damaged_tail_of_an_earlier_segment_is_left_out_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    small = write_small_log(tmp_path / "small")
    first = small.segments[0]
    shape = layout(first)
    with first.open("r+b") as file:
        file.truncate(shape.batch_ends[-1] - 10)

    snapshot = take_snapshot(small.directory)

    assert snapshot.events == 24
    assert [(item.segment, item.live) for item in snapshot.left_out] == [(first, False)]
    assert f"leaves out a damaged tail: {first.name}" in caplog.text


def test_queries_and_exports_leave_every_file_of_an_open_log_unchanged(tmp_path: Path) -> None:
    directory = tmp_path / "audit"
    flow = record_flow(directory)
    with AuditLog(audit_config(directory)) as log:
        log.append(flow.events[-1]._replace(seq=len(flow.events) + 1))
        log.flush()
        before = fingerprint(directory)

        trail(directory, ClOrdID("A1"))
        orders(directory, status="Filled")
        sql(directory, "SELECT * FROM events")
        export(directory, tmp_path / "parquet", "parquet")
        export(directory, tmp_path / "events.csv", "csv")

        assert fingerprint(directory) == before


def test_an_empty_directory_is_a_log_without_events(tmp_path: Path) -> None:
    assert trail(tmp_path, ClOrdID("A1")).num_rows == 0
    assert orders(tmp_path).num_rows == 0
    assert sql(tmp_path, "SELECT count(*) AS n FROM events").column("n").to_pylist() == [0]


def test_a_log_copied_without_its_newest_segment_still_answers(tmp_path: Path) -> None:
    flow = record_flow(tmp_path / "audit")
    copy = tmp_path / "copy"
    copy.mkdir()
    segments = sorted(flow.directory.iterdir())
    shutil.copy(segments[0], copy / segments[0].name)

    assert seqs(copy, "A1") == A_TRAIL_DAY_ONE
