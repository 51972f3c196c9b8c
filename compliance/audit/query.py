"""Compliance queries over the audit log, with DuckDB.

A snapshot of the log (`compliance.audit.snapshot`: every complete batch, memory-mapped)
is registered in an in-memory DuckDB database as the view `events`: one row per event, the
columns of `compliance.audit.schema` unchanged, prices DECIMAL(38,8), AvgPx DECIMAL(38,12),
times TIMESTAMPTZ_NS in UTC. Two small tables give readable labels: `ord_statuses`
(ord_status, ord_status_code, label) and `exec_types` (exec_type, exec_type_code, label).

    trail(directory, id)     an order's whole lifecycle, by ClOrdID or OrderID
    orders(directory, ...)   one row per order with its latest state
    sql(directory, query)    read-only SQL over `events` (statements that write are refused)
    export(directory, ...)   Parquet by trading day (Hive layout), or CSV

Each function reads the log once; `AuditDatabase` keeps one snapshot for several queries.
The database cannot reach files: after the log is registered, DuckDB's file system access
is switched off and the setting locked, so `sql` can neither read nor write anything else.

AuditLogError
 └── AuditQueryError   a query that cannot run: bad SQL, an unknown status, a bad time
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from compliance.audit.errors import AuditLogError
from compliance.audit.exports import ExportResult, write_csv, write_parquet
from compliance.audit.snapshot import Snapshot, take_snapshot
from oms.engine import NO_ORDER_ID
from oms.events import EventKind
from oms.model import Account, ClOrdID, ExecType, OrderID, OrdStatus, Symbol

log = logging.getLogger(__name__)

K = EventKind


class AuditQueryError(AuditLogError):
    """A query that cannot run; the message says why in one line."""


# Kinds whose ClOrdID(11) the engine took on as a name of the order: the order's own
# events after a request was accepted. Requests and denials are left out, since their
# ClOrdID may be one the engine refused (a duplicate naming another order).
_NAMING_KINDS = tuple(
    kind.value
    for kind in (
        K.PENDING_NEW, K.ACCEPTED, K.REJECTED, K.TRADE, K.PENDING_CANCEL, K.CANCELED,
        K.PENDING_REPLACE, K.REPLACED, K.CANCEL_REJECTED, K.DONE_FOR_DAY, K.EXPIRED,
        K.RESTATED,
    )
)  # fmt: skip
# Requests and denials whose ClOrdID(11) is the request's own new identifier: they name
# the order they concern by OrigClOrdID(41). A request the gateway refused does so too
# when it is a cancel or a replace; a refused new order names no order.
_BY_ORIG_KINDS = tuple(
    kind.value
    for kind in (
        K.CANCEL_REQUESTED, K.REPLACE_REQUESTED, K.CANCEL_DENIED, K.REPLACE_DENIED,
        K.REQUEST_REFUSED,
    )
)  # fmt: skip


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


# The orders `$id` names (as OrderID, or as a ClOrdID the order took on), and every
# ClOrdID those orders went by in their sessions. The trail is then, in one pass: the
# orders' events; the requests and denials without an OrderID (or with NONE) that named one
# of those ClOrdIDs; and, when no order is named, whatever mentions `$id` at all (a request
# about an unknown order). Only positions are selected here: the rows themselves are sliced
# out of the Arrow table, which is far cheaper than DuckDB converting every wide row.
_TRAIL = f"""
WITH named AS MATERIALIZED (
    SELECT DISTINCT order_id FROM audit_batches
    WHERE order_id <> $none
      AND (order_id = $id OR terms_cl_ord_id = $id
           OR (cl_ord_id = $id AND kind IN ({_in_list(_NAMING_KINDS)})))
),
names AS MATERIALIZED (
    SELECT DISTINCT session_id, name AS cl_ord_id FROM (
        SELECT session_id, unnest([
            terms_cl_ord_id,
            CASE WHEN kind IN ({_in_list(_NAMING_KINDS)}) THEN cl_ord_id END
        ]) AS name
        FROM audit_batches WHERE order_id IN (SELECT order_id FROM named)
    )
    WHERE name IS NOT NULL
)
SELECT e._row FROM audit_batches e
LEFT JOIN names n
    ON n.session_id = e.session_id
   AND n.cl_ord_id = CASE WHEN e.kind IN ({_in_list(_BY_ORIG_KINDS)})
                          THEN e.orig_cl_ord_id ELSE e.cl_ord_id END
WHERE e.order_id IN (SELECT order_id FROM named)
   OR ((e.order_id IS NULL OR e.order_id = $none) AND n.cl_ord_id IS NOT NULL)
   OR (NOT EXISTS (SELECT 1 FROM named) AND $id IN (e.cl_ord_id, e.orig_cl_ord_id, e.order_id))
ORDER BY e.seq
"""

# Each event of an order that carries an OrdStatus and the order's terms restates the
# order; the latest such event (before `until`) is its state. The filters on the state are
# added to HAVING as needed, on the values of that latest event.
_ORDERS = """
SELECT order_id, min(seq) AS first_seq, max(seq) AS last_seq, count(*) AS events,
       min(event_time) AS first_time, max(event_time) AS last_time,
       arg_max(_row, seq) AS last_row
FROM audit_batches
WHERE order_id <> $none AND ord_status IS NOT NULL AND terms_cl_ord_id IS NOT NULL {where}
GROUP BY order_id
{having}
ORDER BY first_seq
"""
_ORDER_FILTERS = {
    "until": ("where", "event_time < $until"),
    "since": ("having", "max(event_time) >= $since"),
    "account": ("having", "arg_max(account, seq) = $account"),
    "symbol": ("having", "arg_max(symbol, seq) = $symbol"),
    "status": ("having", "arg_max(ord_status, seq) = $status"),
}
# The columns of `orders` taken from the latest event, renamed where the log's name would
# mislead; the `_SPAN_COLUMNS` after them come from all of the order's events.
_ORDER_COLUMNS = (
    ("order_id", "order_id"), ("session_id", "session_id"), ("account", "account"),
    ("cl_ord_id", "terms_cl_ord_id"), ("symbol", "symbol"), ("side", "side"),
    ("ord_type", "ord_type"), ("time_in_force", "time_in_force"),
    ("order_quantity", "order_quantity"), ("price", "price"), ("stop_price", "stop_price"),
    ("status", "ord_status"), ("cum_quantity", "cum_quantity"),
    ("leaves_quantity", "leaves_quantity"), ("avg_price", "avg_price"),
    ("last_kind", "kind"),
)  # fmt: skip
_SPAN_COLUMNS = ("first_time", "last_time", "events", "first_seq", "last_seq")


class AuditDatabase:
    """An in-memory DuckDB database over one snapshot of the log (see the module's doc)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        table = snapshot.table
        # Each row's position in the snapshot, for slicing whole rows out of it.
        positions = pa.array(np.arange(table.num_rows, dtype=np.int64))
        self._connection = duckdb.connect(":memory:")
        connection = self._connection
        connection.execute("SET TimeZone = 'UTC'")
        # Our own bar covers the reading; DuckDB's would print between the result lines.
        connection.execute("SET enable_progress_bar = false")
        connection.register("audit_batches", table.append_column("_row", positions))
        connection.execute("CREATE VIEW events AS SELECT * EXCLUDE (_row) FROM audit_batches")
        for name, enum, column in (
            ("ord_statuses", OrdStatus, "ord_status"),
            ("exec_types", ExecType, "exec_type"),
        ):
            connection.register(f"{name}_source", _labels(enum, column))
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_source")
            connection.unregister(f"{name}_source")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")

    @classmethod
    def open(cls, directory: Path | str, *, progress: bool = False) -> AuditDatabase:
        return cls(take_snapshot(directory, progress=progress))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> AuditDatabase:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def trail(self, id: ClOrdID | OrderID) -> pa.Table:
        """Every event of the order `id` names, across its replace chain, in seq order.

        `id` is an OrderID, or any ClOrdID the order went by (the first, one it was
        replaced to, a cancel's). Included: the order's events, the requests that named it
        by ClOrdID or OrigClOrdID, and denials with OrderID NONE that named one of its
        ClOrdIDs in its session (a duplicate ClOrdID, a cancel of a replaced ClOrdID). The
        columns are those of `events`, then `ord_status_label` and `exec_type_label`
        ("Partially Filled", "Trade").
        """
        found = self._run(_TRAIL, {"id": id, "none": NO_ORDER_ID})
        rows = _rows_at(self.snapshot.table, found.column("_row").to_numpy())
        return rows.append_column(
            "ord_status_label", _label_of(rows.column("ord_status"), OrdStatus)
        ).append_column("exec_type_label", _label_of(rows.column("exec_type"), ExecType))

    def orders(
        self,
        *,
        account: Account | None = None,
        symbol: Symbol | None = None,
        status: OrdStatus | str | None = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
    ) -> pa.Table:
        """One row per order with its latest state, in the order the orders were created.

        `status` is an OrdStatus or its name ("Partially Filled", "partially_filled").
        `until` shows each order as it stood then (its latest event before `until`);
        `since` keeps the orders with an event at or after `since`. Times without a zone
        are UTC; a date is its midnight UTC. Columns: order_id, session_id, account,
        cl_ord_id (the current one), symbol, side, ord_type, time_in_force,
        order_quantity, price, stop_price, status (the label: "Partially Filled"),
        cum_quantity, leaves_quantity, avg_price, last_kind, first_time, last_time,
        events, first_seq, last_seq.
        """
        wanted = {
            "account": account,
            "symbol": symbol,
            "status": _status_name(status),
            "since": _utc_time(since, "since"),
            "until": _utc_time(until, "until"),
        }
        parameters: dict[str, Any] = {"none": NO_ORDER_ID}
        clauses: dict[str, list[str]] = {"where": [], "having": []}
        for name, value in wanted.items():
            if value is not None:
                place, condition = _ORDER_FILTERS[name]
                clauses[place].append(condition)
                parameters[name] = value
        query = _ORDERS.format(
            where="".join(f" AND {c}" for c in clauses["where"]),
            having="HAVING " + " AND ".join(clauses["having"]) if clauses["having"] else "",
        )
        spans = self._run(query, parameters)
        latest = spans.column("last_row").to_numpy()
        table = self.snapshot.table
        columns: dict[str, pa.ChunkedArray | pa.Array] = {}
        for name, source in _ORDER_COLUMNS:
            columns[name] = table.column(source).take(latest)
        columns["status"] = _label_of(columns["status"], OrdStatus)
        for name in _SPAN_COLUMNS:
            columns[name] = spans.column(name)
        return pa.table(columns)

    def sql(self, query: str) -> pa.Table:
        """The result of a read-only SQL query over `events` (DuckDB's dialect), as an
        Arrow table. Statements that read are taken: SELECT, WITH, FROM, DESCRIBE, SHOW,
        SUMMARIZE, EXPLAIN of one of those, and the PRAGMAs that only tell something
        (table_info, ...); anything else (DROP, CREATE, INSERT, COPY, SET, ...) is refused
        before it runs, as is an empty query."""
        check_read_only(query)
        return self._run(query, None)

    def _run(self, query: str, parameters: dict[str, Any] | None) -> pa.Table:
        try:
            relation = self._connection.sql(query, params=parameters)
            if relation is None:
                return pa.table({})
            return _arrow(relation)
        except duckdb.Error as error:
            raise AuditQueryError(_one_line(error)) from error


# ----------------------------------------------------------------------------- read-only

READ_ONLY_STATEMENTS = "SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN or PRAGMA"
# EXPLAIN ANALYZE runs the statement it explains, so that statement is checked too.
_EXPLAIN = re.compile(r"\s*explain\s+(?:analy[sz]e\s+)?", re.IGNORECASE)
_PRAGMA = re.compile(r"\s*pragma\s+(\w+)", re.IGNORECASE)
# DuckDB's PRAGMAs that only tell something.
_READING_PRAGMAS = frozenset({
    "table_info", "show", "show_tables", "show_tables_expanded", "show_databases",
    "database_list", "database_size", "storage_info", "metadata_info", "version", "platform",
    "functions", "collations", "user_agent",
})  # fmt: skip


def check_read_only(query: str) -> None:
    """AuditQueryError unless `query` holds at least one statement and each one reads.

    The database is a snapshot in memory, so a statement that writes would change nothing
    of the log; it is refused all the same, so that no one reads "Success" as a change."""
    if not query.strip():
        raise AuditQueryError(f"the query is empty: give a {READ_ONLY_STATEMENTS} statement")
    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as error:
        raise AuditQueryError(_one_line(error)) from error
    if not statements:
        raise AuditQueryError(f"the query holds no statement: give a {READ_ONLY_STATEMENTS} "
                              "statement")
    try:
        for statement in statements:
            _check_reads(statement)
    except duckdb.Error as error:
        raise AuditQueryError(_one_line(error)) from error


def _check_reads(statement: Any) -> None:
    kind = statement.type
    text = statement.query
    # DESCRIBE, SHOW, SUMMARIZE, WITH and FROM parse as SELECT.
    if kind == duckdb.StatementType.SELECT:
        return
    if kind == duckdb.StatementType.EXPLAIN:
        explained = _EXPLAIN.match(text)
        inner = duckdb.extract_statements(text[explained.end():]) if explained else []
        if len(inner) == 1:
            _check_reads(inner[0])
            return
    if kind == duckdb.StatementType.PRAGMA:
        pragma = _PRAGMA.match(text)
        if pragma is not None and pragma.group(1).lower() in _READING_PRAGMAS:
            return
    raise AuditQueryError(
        f"the audit log is read-only: {' '.join(text.split())[:60]!r} is refused "
        f"(statements taken: {READ_ONLY_STATEMENTS})"
    )


# ----------------------------------------------------------------------------- one-shot


def trail(directory: Path | str, id: ClOrdID | OrderID, *, progress: bool = False) -> pa.Table:
    """`AuditDatabase.trail` over the log as it stands now."""
    with AuditDatabase.open(directory, progress=progress) as database:
        return database.trail(id)


def orders(
    directory: Path | str,
    account: Account | None = None,
    symbol: Symbol | None = None,
    status: OrdStatus | str | None = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    *,
    progress: bool = False,
) -> pa.Table:
    """`AuditDatabase.orders` over the log as it stands now."""
    with AuditDatabase.open(directory, progress=progress) as database:
        return database.orders(
            account=account, symbol=symbol, status=status, since=since, until=until
        )


def sql(directory: Path | str, query: str, *, progress: bool = False) -> pa.Table:
    """`AuditDatabase.sql` over the log as it stands now."""
    with AuditDatabase.open(directory, progress=progress) as database:
        return database.sql(query)


def export(
    directory: Path | str, output: Path | str, format: str = "parquet", *, progress: bool = False
) -> ExportResult:
    """Every event of the log written to `output` (see `compliance.audit.exports`).

    "parquet": a directory of `trading_day=YYYY-MM-DD/part-N.parquet` files; "csv": one
    file. `output` must not exist yet (an empty directory is accepted for Parquet).
    """
    if format not in ("parquet", "csv"):
        raise AuditQueryError(f"export format must be parquet or csv, not {format!r}")
    snapshot = take_snapshot(directory, progress=progress)
    if format == "parquet":
        return write_parquet(snapshot, Path(output), progress=progress)
    return write_csv(snapshot, Path(output), progress=progress)


# ----------------------------------------------------------------------------- helpers


def _labels(enum: type[Enum], column: str) -> pa.Table:
    """A member's readable name as the log stores it, its FIX code and its label."""
    members = list(enum)
    return pa.table({
        column: [member.name.lower() for member in members],
        f"{column}_code": [member.value for member in members],
        "label": [member.label for member in members],  # type: ignore[attr-defined]
    })  # fmt: skip


def _status_name(status: OrdStatus | str | None) -> str | None:
    """The log's name of an OrdStatus given as a member, a label or a name."""
    if status is None:
        return None
    if isinstance(status, OrdStatus):
        return status.name.lower()
    wanted = status.strip().lower().replace(" ", "_").replace("-", "_")
    for member in OrdStatus:
        if member.name.lower() == wanted:
            return wanted
    known = ", ".join(member.label for member in OrdStatus)
    raise AuditQueryError(f"unknown order status {status!r}; one of: {known}")


def _utc_time(value: datetime | date | str | None, name: str) -> datetime | None:
    """A time as an aware UTC datetime; naive times and dates are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise AuditQueryError(
                f"--{name} {value!r} is not an ISO time such as 2026-03-02T14:30:00Z"
            ) from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _rows_at(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """The rows at `positions`, in that order.

    One zero-copy slice per row, then one copy of just those rows: `take` on a table of
    many chunks would first join every chunk of every column.
    """
    if len(positions) == 0:
        return table.slice(0, 0)
    pieces = [table.slice(position, 1) for position in positions.tolist()]
    return pa.concat_tables(pieces).combine_chunks()


def _label_of(names: pa.ChunkedArray | pa.Array, enum: type[Enum]) -> pa.Array:
    """Readable labels ("Partially Filled") for a column of the log's names."""
    members = list(enum)
    known = pa.array([member.name.lower() for member in members], pa.string())
    texts = [member.label for member in members]  # type: ignore[attr-defined]
    labels = pa.array(texts, pa.string())
    if isinstance(names, pa.ChunkedArray):
        names = names.combine_chunks()
    return labels.take(pc.index_in(names, value_set=known))


def _arrow(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """The result as an Arrow table (`to_arrow_table` since DuckDB 1.4, before it
    `fetch_arrow_table`)."""
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    table = fetch()
    assert isinstance(table, pa.Table)
    return table


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
