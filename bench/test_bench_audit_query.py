"""Benchmarks of the compliance queries over an audit log of 200,000 events.

The log is written once per session by the real writer from `compliance.audit.samples`
(about 35,000 orders of one trading day: requested, acknowledged, filled in parts, every
fifth replaced, every third canceled, every seventeenth denied), about 100 MB in segments
of 16 MB. Each query is timed twice: as `oms audit` runs it, reading the log first (the
segments are memory-mapped, so the page cache is warm after the first round), and on an
open `AuditDatabase`, the query alone.

Nothing is asserted about time. Run:

    pytest bench/test_bench_audit_query.py --benchmark-only
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from compliance.audit.query import AuditDatabase, orders, trail
from compliance.audit.samples import order_flow
from compliance.audit.snapshot import take_snapshot
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig
from oms.model import Account, ClOrdID, OrderID, Symbol

EVENTS = 200_000
# Order 15,005 of the sample flow, mid-log, is replaced (a multiple of 5), then filled (not
# a multiple of 3, which are canceled, nor of 17, which are denied): eight events.
REPLACED_ORDER = 15_005
FIRST_CL_ORD_ID = ClOrdID(f"C-{REPLACED_ORDER:08d}")
REPLACED_CL_ORD_ID = ClOrdID(f"R-{REPLACED_ORDER:08d}")
ORDER_ID = OrderID(f"O-{REPLACED_ORDER:08d}")


@pytest.fixture(scope="module")
def log_directory() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="bench-audit-query-"))
    config = AuditConfig(directory=directory, mode="async", segment_bytes=16 << 20)
    with AuditLog(config) as log:
        for event in order_flow(EVENTS):
            log.append(event)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def database(log_directory: Path) -> Iterator[AuditDatabase]:
    with AuditDatabase.open(log_directory) as opened:
        yield opened


def run(benchmark: Any, query: Callable[[], pa.Table], rounds: int = 10) -> pa.Table:
    result: pa.Table = benchmark.pedantic(query, rounds=rounds, warmup_rounds=1)
    benchmark.extra_info.update(events=EVENTS, rows=result.num_rows)
    return result


def test_read_the_log(benchmark: Any, log_directory: Path) -> None:
    snapshot = benchmark.pedantic(take_snapshot, args=(log_directory,), rounds=10)

    benchmark.extra_info.update(events=snapshot.events, segments=snapshot.segments)


@pytest.mark.parametrize("name", [FIRST_CL_ORD_ID, REPLACED_CL_ORD_ID, ORDER_ID])
def test_trail_reading_the_log(benchmark: Any, log_directory: Path, name: str) -> None:
    result = run(benchmark, lambda: trail(log_directory, ClOrdID(name)))

    assert result.num_rows == 8


@pytest.mark.parametrize("name", [FIRST_CL_ORD_ID, REPLACED_CL_ORD_ID, ORDER_ID])
def test_trail_on_an_open_database(benchmark: Any, database: AuditDatabase, name: str) -> None:
    result = run(benchmark, lambda: database.trail(ClOrdID(name)), rounds=20)

    assert result.num_rows == 8


def test_orders_reading_the_log(benchmark: Any, log_directory: Path) -> None:
    result = run(benchmark, lambda: orders(log_directory))

    assert result.num_rows > 30_000


def test_orders_on_an_open_database(benchmark: Any, database: AuditDatabase) -> None:
    result = run(benchmark, database.orders, rounds=20)

    assert result.num_rows > 30_000


def test_orders_filtered_on_an_open_database(benchmark: Any, database: AuditDatabase) -> None:
    def filtered() -> pa.Table:
        return database.orders(
            account=Account("ACC1"), symbol=Symbol("AAPL"), status="Filled",
            since="2026-03-02T14:30:00.1Z", until="2026-03-02T14:30:00.4Z",
        )  # fmt: skip

    result = run(benchmark, filtered, rounds=20)

    assert 0 < result.num_rows < 30_000
