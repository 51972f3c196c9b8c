"""Exporting the log: Parquet by trading day in Hive layout, read back by DuckDB, and CSV."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from audit_flow import DAY_TWO, RecordedFlow, record_flow

from compliance.audit.errors import AuditLogError
from compliance.audit.query import AuditQueryError, export
from compliance.audit.schema import SCHEMA

FIRST_DAY, SECOND_DAY = date(2024, 6, 3), date(2024, 6, 4)


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> RecordedFlow:
    return record_flow(tmp_path_factory.mktemp("flow") / "audit")


def read_back(output: Path, query: str) -> list[tuple[object, ...]]:
    source = f"read_parquet('{output}/**/*.parquet', hive_partitioning = true)"
    relation = duckdb.sql(query.format(source=source))
    assert relation is not None
    return relation.fetchall()


def test_parquet_export_is_one_directory_per_trading_day(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    output = tmp_path / "export"

    result = export(flow.directory, output, "parquet")

    assert sorted(p.name for p in output.iterdir()) == [
        "trading_day=2024-06-03", "trading_day=2024-06-04",
    ]  # fmt: skip
    for day in output.iterdir():
        assert [p.name for p in day.iterdir()] == ["part-0.parquet"]
    assert (result.events, result.trading_days, result.files) == (
        len(flow.events), (FIRST_DAY, SECOND_DAY), 2,
    )  # fmt: skip


def test_parquet_export_reads_back_with_every_event_and_its_trading_day(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    output = tmp_path / "export"
    export(flow.directory, output, "parquet")

    per_day = read_back(
        output, "SELECT trading_day, count(*), min(seq), max(seq) FROM {source} GROUP BY ALL "
        "ORDER BY trading_day",
    )  # fmt: skip

    second = next(e.seq for e in flow.events if e.time_ns >= DAY_TWO)
    last = len(flow.events)
    assert per_day == [
        (FIRST_DAY, second - 1, 1, second - 1),
        (SECOND_DAY, last - second + 1, second, last),
    ]


def test_parquet_export_keeps_decimals_and_exact_times(flow: RecordedFlow, tmp_path: Path) -> None:
    output = tmp_path / "export"
    export(flow.directory, output, "parquet")

    described = read_back(
        output, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {source})"
    )
    types = {str(name): str(kind) for name, kind in described}
    assert types["price"] == "DECIMAL(38,8)"
    assert types["last_price"] == "DECIMAL(38,8)"
    assert types["avg_price"] == "DECIMAL(38,12)"
    assert types["event_time"] == "TIMESTAMP WITH TIME ZONE"
    assert types["event_time_ns"] == "BIGINT"
    assert types["trading_day"] == "DATE"
    trades = read_back(
        output, "SELECT seq, last_price, avg_price, event_time_ns, epoch_us(event_time) "
        "FROM {source} WHERE kind = 'trade' ORDER BY seq",
    )  # fmt: skip
    expected = [e for e in flow.events if e.kind.value == "trade"]
    assert [row[0] for row in trades] == [e.seq for e in expected]
    assert {row[1] for row in trades} == {Decimal("190.10")}
    assert [row[2] for row in trades] == [e.avg_price for e in expected]
    assert [row[3] for row in trades] == [e.time_ns for e in expected]
    assert [row[4] for row in trades] == [e.time_ns // 1000 for e in expected]


def test_parquet_files_carry_the_log_columns_without_the_partition_column(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    output = tmp_path / "export"
    export(flow.directory, output, "parquet")

    schema = pq.read_schema(next(output.glob("*/part-0.parquet")))

    times = {f.name for f in SCHEMA if f.name.endswith("_time")}
    assert "trading_day" not in schema.names
    assert [n for n in schema.names if not n.endswith("_ns")] == SCHEMA.names
    assert {n[: -len("_ns")] for n in schema.names if n.endswith("_ns")} == times


def test_csv_export_has_a_header_and_a_row_per_event_with_decimal_text(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    output = tmp_path / "events.csv"

    result = export(flow.directory, output, "csv")

    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert result.events == len(rows) == len(flow.events)
    assert list(rows[0]) == SCHEMA.names
    trade = next(r for r in rows if r["seq"] == "14")
    assert (trade["kind"], trade["last_quantity"], trade["last_price"]) == (
        "trade", "200", "190.10000000",
    )  # fmt: skip
    assert trade["event_time"].startswith("2024-06-03 13:30:00.000014")
    assert Decimal(trade["avg_price"]) == Decimal("190.10")


def test_export_refuses_to_overwrite_and_leaves_nothing_behind(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    existing = tmp_path / "events.csv"
    existing.write_text("keep me")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "other.parquet").write_text("keep me too")

    with pytest.raises(AuditLogError, match="already exists"):
        export(flow.directory, existing, "csv")
    with pytest.raises(AuditLogError, match="already exists"):
        export(flow.directory, occupied, "parquet")
    with pytest.raises(AuditQueryError, match="parquet or csv"):
        export(flow.directory, tmp_path / "x", "json")

    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv", "occupied"]


def test_parquet_export_into_an_empty_directory_is_allowed(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    output = tmp_path / "empty"
    output.mkdir()

    export(flow.directory, output, "parquet")

    assert read_back(output, "SELECT count(*) FROM {source}") == [(len(flow.events),)]
