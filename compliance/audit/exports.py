"""The audit log written out for other tools: Parquet by trading day, or one CSV file.

Parquet: a directory in Hive layout, `trading_day=YYYY-MM-DD/part-N.parquet`, that DuckDB
(`read_parquet(..., hive_partitioning=true)`), Spark and Trino read as one table with a
DATE column `trading_day`. The trading day is the UTC date of `event_time`, the date that
also starts a new segment. The columns are the log's, and decimals stay DECIMAL(38,8) and
(38,12). Times are written as TIMESTAMP(MICROS, UTC), since Spark refuses nanoseconds and
Trino truncates them by default; each keeps its exact value beside it in `<column>_ns`
(BIGINT nanoseconds since 1970-01-01 UTC).

CSV: one file with a header and every column of the log: decimals as exact decimal text,
times in UTC to the nanosecond, nothing for null.

Both are written under a temporary name next to `output` and renamed into place when
complete, so no reader ever sees half an export.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Generator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
from tqdm import tqdm

from compliance.audit.errors import AuditLogError
from compliance.audit.schema import SCHEMA
from compliance.audit.snapshot import Snapshot

log = logging.getLogger(__name__)

TRADING_DAY = "trading_day"
_NS_TIME = pa.timestamp("ns", tz="UTC")
_US_TIME = pa.timestamp("us", tz="UTC")
# Row groups of this many rows at least (the log's batches are a thousand or so rows; a
# reader pays per row group) and at most.
_MIN_GROUP_ROWS = 1 << 16
_MAX_GROUP_ROWS = 1 << 20


@dataclass(frozen=True, slots=True)
class ExportResult:
    output: Path
    format: str
    events: int
    trading_days: tuple[date, ...]
    files: int

    def __str__(self) -> str:
        days = len(self.trading_days)
        return (
            f"exported {self.events} events of {days} trading day{'s' if days != 1 else ''} "
            f"to {self.output} ({self.format}, {self.files} file{'s' if self.files != 1 else ''})"
        )


def _parquet_schema() -> pa.Schema:
    fields: list[pa.Field] = []
    for field in SCHEMA:
        if field.type == _NS_TIME:
            fields.append(field.with_type(_US_TIME))
            fields.append(pa.field(f"{field.name}_ns", pa.int64(), field.nullable))
        else:
            fields.append(field)
    fields.append(pa.field(TRADING_DAY, pa.date32(), False))
    return pa.schema(fields, metadata=SCHEMA.metadata)


PARQUET_SCHEMA = _parquet_schema()


def write_parquet(snapshot: Snapshot, output: Path, *, progress: bool = False) -> ExportResult:
    """Every event of `snapshot` as Parquet files by trading day under `output`."""
    _refuse_existing(output, empty_directory_ok=True)
    days: set[date] = set()

    def batches() -> Generator[pa.RecordBatch, None, None]:
        with _bar(snapshot, progress) as bar:
            for batch in snapshot.table.to_batches():
                converted = _parquet_batch(batch)
                days.update(_distinct_days(converted.column(TRADING_DAY)))
                bar.update(batch.num_rows)
                yield converted

    staging = _staging_name(output)
    _make_staging_directory(staging, output)
    source = batches()
    try:
        ds.write_dataset(
            pa.RecordBatchReader.from_batches(PARQUET_SCHEMA, source),
            staging,
            format="parquet",
            partitioning=ds.partitioning(pa.schema([PARQUET_SCHEMA.field(TRADING_DAY)]),
                                         flavor="hive"),
            basename_template="part-{i}.parquet",
            min_rows_per_group=_MIN_GROUP_ROWS,
            max_rows_per_group=_MAX_GROUP_ROWS,
            existing_data_behavior="overwrite_or_ignore",
        )  # fmt: skip
        files = sum(1 for _ in staging.rglob("*.parquet"))
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        # Closed here, on this thread: a generator left suspended (after a failed write)
        # is otherwise finalized by one of Arrow's threads at exit, which aborts Python.
        source.close()
    result = ExportResult(output, "parquet", snapshot.events, tuple(sorted(days)), files)
    log.info("audit %s", result)
    return result


def write_csv(snapshot: Snapshot, output: Path, *, progress: bool = False) -> ExportResult:
    """Every event of `snapshot` as one CSV file at `output`."""
    _refuse_existing(output, empty_directory_ok=False)
    days: set[date] = set()
    staging = _staging_name(output)
    _probe(output.parent, output)
    try:
        with (
            pacsv.CSVWriter(staging, SCHEMA.remove_metadata()) as writer,
            _bar(snapshot, progress) as bar,
        ):
            for batch in snapshot.table.to_batches():
                days.update(_distinct_days(_trading_day(batch)))
                writer.write_batch(batch)
                bar.update(batch.num_rows)
        os.replace(staging, output)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    result = ExportResult(output, "csv", snapshot.events, tuple(sorted(days)), 1)
    log.info("audit %s", result)
    return result


def _parquet_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of the log in the export's columns: times to microseconds beside their
    exact nanoseconds, and the trading day."""
    columns: list[pa.Array] = []
    for field in SCHEMA:
        column = batch.column(field.name)
        if field.type == _NS_TIME:
            # Truncated to the microsecond, never rounded up past the event.
            columns.append(pc.cast(column, _US_TIME, safe=False))
            columns.append(column.view(pa.int64()))
        else:
            columns.append(column)
    columns.append(_trading_day(batch))
    return pa.RecordBatch.from_arrays(columns, schema=PARQUET_SCHEMA)


def _trading_day(batch: pa.RecordBatch) -> pa.Array:
    """The UTC date of each event's time."""
    return pc.cast(batch.column("event_time"), pa.date32())


def _distinct_days(days: pa.Array) -> list[date]:
    return pc.unique(days).to_pylist()  # type: ignore[no-any-return]


def _refuse_existing(output: Path, *, empty_directory_ok: bool) -> None:
    if output.is_dir() and empty_directory_ok and not any(output.iterdir()):
        return
    if output.exists() or output.is_symlink():
        raise AuditLogError(f"{output} already exists; the export writes only to a new name")
    if not output.parent.is_dir():
        raise AuditLogError(f"{output.parent} is not a directory")


def _make_staging_directory(staging: Path, output: Path) -> None:
    """Create the directory a Parquet export is written into, and prove a file can be
    written there; AuditLogError naming `output` otherwise, before any work is done."""
    try:
        staging.mkdir()
    except OSError as error:
        raise AuditLogError(
            f"cannot write the export to {output}: cannot create a directory in "
            f"{output.parent}: {error.strerror or error}"
        ) from error
    try:
        _probe(staging, output)
    except AuditLogError:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _probe(directory: Path, output: Path) -> None:
    """AuditLogError naming `output` unless a file can be created in `directory`."""
    probe = directory / f".{output.name}.probe-{os.getpid()}"
    try:
        probe.open("xb").close()
        probe.unlink()
    except OSError as error:
        raise AuditLogError(
            f"cannot write the export to {output}: cannot create a file in {directory}: "
            f"{error.strerror or error}"
        ) from error


def _staging_name(output: Path) -> Path:
    return output.with_name(f".{output.name}.partial-{os.getpid()}")


def _bar(snapshot: Snapshot, progress: bool) -> tqdm:
    return tqdm(
        total=snapshot.events, desc="exporting", unit=" events", unit_scale=True,
        leave=False, file=sys.stderr, disable=not progress,
    )  # fmt: skip
