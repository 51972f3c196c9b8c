"""`oms audit`: compliance queries over the audit log, printed as tables.

    oms audit trail ID                    an order's lifecycle, by ClOrdID or OrderID
    oms audit orders [--account A] [--symbol S] [--status S] [--since T] [--until T]
    oms audit sql QUERY                   read-only SQL over the view `events`
    oms audit export --format parquet|csv --output PATH
    oms audit verify                      the hash chain of every segment

The arguments are declared in `oms.cli`. The log read is the one in --directory, else the
one of --config's `[audit] directory`. Exit status: 0 answered; 1 no event names the ID
(trail) or the chain is broken (verify); 2 the question cannot be answered (no log there,
bad SQL, a bad argument), said in one line on stderr. Progress bars go to stderr, unless
--no-progress.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from compliance.audit import query
from compliance.audit.errors import AuditLogError
from compliance.audit.lock import writer_active
from compliance.audit.reader import verify
from compliance.audit.render import table_lines
from compliance.audit.segments import list_segments
from oms.config import ConfigError, load_config
from oms.model import Account, ClOrdID, Symbol

log = logging.getLogger(__name__)

OK = 0
# The answer is no: no event names the ID (trail), or the chain is broken (verify).
NEGATIVE = 1
FAILED = 2

# Columns printed by `trail` and `orders`, with their FIX names where FIX has one.
_TRAIL_COLUMNS = {
    "seq": "Seq",
    "event_time": "Time (UTC)",
    "kind": "Event",
    "order_id": "OrderID",
    "cl_ord_id": "ClOrdID",
    "orig_cl_ord_id": "OrigClOrdID",
    "exec_type_label": "ExecType",
    "ord_status_label": "OrdStatus",
    "side": "Side",
    "symbol": "Symbol",
    "order_quantity": "OrderQty",
    "price": "Price",
    "last_quantity": "LastQty",
    "last_price": "LastPx",
    "cum_quantity": "CumQty",
    "leaves_quantity": "LeavesQty",
    "avg_price": "AvgPx",
    "text": "Text",
}
_ORDERS_COLUMNS = {
    "order_id": "OrderID",
    "account": "Account",
    "cl_ord_id": "ClOrdID",
    "symbol": "Symbol",
    "side": "Side",
    "ord_type": "OrdType",
    "time_in_force": "TimeInForce",
    "order_quantity": "OrderQty",
    "price": "Price",
    "status": "OrdStatus",
    "cum_quantity": "CumQty",
    "leaves_quantity": "LeavesQty",
    "avg_price": "AvgPx",
    "last_time": "Updated (UTC)",
}


def main(args: argparse.Namespace) -> int:
    """Run one `oms audit` command; returns the exit status."""
    # `oms.cli` once declared sql's QUERY under the sub-command's own name (`query`), which
    # then held the SQL text instead of "sql"; `statement` is its name now.
    command = args.query if args.query in _COMMANDS else "sql"
    try:
        return _COMMANDS[command](args, _directory(args), not args.no_progress)
    except (AuditLogError, ConfigError) as error:
        return _fail(str(error))
    except BrokenPipeError:
        # The reader of our output went away (`| head`); nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except OSError as error:
        return _fail(f"{error.filename or 'audit log'}: {error.strerror or error}")
    except Exception as error:
        log.debug("oms audit failed", exc_info=error)
        return _fail(f"unexpected {type(error).__name__}: {error}")


def _directory(args: argparse.Namespace) -> Path:
    if args.directory:
        return Path(args.directory)
    return load_config(args.config).audit.directory


def _trail(args: argparse.Namespace, directory: Path, progress: bool) -> int:
    table = query.trail(directory, ClOrdID(args.id), progress=progress)
    if table.num_rows == 0:
        _print([f"no event in {directory} names {args.id}"])
        return NEGATIVE
    _print([_trail_summary(args.id, table), ""])
    _print(table_lines(_trail_view(table), _TRAIL_COLUMNS, list(_TRAIL_COLUMNS)))
    return OK


def _trail_summary(id: str, table: pa.Table) -> str:
    """One line: which order and session, and the ClOrdIDs it went by, in order."""
    order_ids = _distinct(table.column("order_id").to_pylist(), skip=("NONE",))
    sessions = _distinct(table.column("session_id").to_pylist())
    names = _distinct(table.column("terms_cl_ord_id").to_pylist())
    parts = [f"{_count(table.num_rows, 'event')} for {id}"]
    if order_ids:
        parts.append(f"OrderID {', '.join(order_ids)}")
    if names:
        parts.append(f"ClOrdID {' > '.join(names)}")
    if sessions:
        parts.append(f"session {', '.join(sessions)}")
    return "; ".join(parts)


def _trail_view(table: pa.Table) -> pa.Table:
    """The trail as printed. A replace request shows the terms it asks for; LastQty and
    LastPx show only on fills; CumQty, LeavesQty and AvgPx only on events that state the
    order's status (not on requests)."""
    for name, requested in (
        ("side", "requested_side"), ("symbol", "requested_symbol"),
        ("order_quantity", "requested_quantity"), ("price", "requested_price"),
    ):  # fmt: skip
        table = _replaced(table, name, pc.coalesce(table.column(name), table.column(requested)))
    fills = pc.greater(table.column("last_quantity"), 0)
    stated = pc.is_valid(table.column("ord_status"))
    for name, keep in (
        ("last_quantity", fills), ("last_price", fills), ("cum_quantity", stated),
        ("leaves_quantity", stated), ("avg_price", stated),
    ):  # fmt: skip
        column = table.column(name)
        table = _replaced(table, name, pc.if_else(keep, column, pa.scalar(None, column.type)))
    return table


def _replaced(table: pa.Table, name: str, column: pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def _orders(args: argparse.Namespace, directory: Path, progress: bool) -> int:
    table = query.orders(
        directory,
        account=Account(args.account) if args.account else None,
        symbol=Symbol(args.symbol) if args.symbol else None,
        status=args.status,
        since=args.since,
        until=args.until,
        progress=progress,
    )
    if table.num_rows:
        _print(table_lines(table, _ORDERS_COLUMNS, list(_ORDERS_COLUMNS)))
    _print([f"({_count(table.num_rows, 'order')})"])
    return OK


def _sql(args: argparse.Namespace, directory: Path, progress: bool) -> int:
    statement = getattr(args, "statement", None)
    if statement is None:
        statement = args.query
    # Refused before the log is read: an empty query, or one that is not read-only.
    query.check_read_only(statement)
    table = query.sql(directory, statement, progress=progress)
    if table.num_columns:
        _print(table_lines(table))
    _print([f"({_count(table.num_rows, 'row')})"])
    return OK


def _export(args: argparse.Namespace, directory: Path, progress: bool) -> int:
    try:
        result = query.export(directory, Path(args.output), args.format, progress=progress)
    except OSError as error:
        # Raised while writing (the output was checked writable first): a full disk, say.
        raise AuditLogError(
            f"export to {args.output} failed: {error.strerror or error}"
        ) from error
    _print([str(result)])
    return OK


def _verify(args: argparse.Namespace, directory: Path, progress: bool) -> int:
    if not directory.is_dir():
        raise AuditLogError(f"no audit log at {directory}: not a directory")
    result = verify(directory, progress=progress)
    counts = (
        f"{_count(result.batches, 'batch')} of {_count(result.segments, 'segment')}, "
        f"{_count(result.events, 'event')}, last seq {result.last_seq}"
    )
    broken = result.first_break
    if broken is None:
        _print([f"OK: {counts}, last hash {result.last_hash}"])
        return OK
    segments = list_segments(directory)
    if broken.torn and broken.segment == segments[-1] and writer_active(directory):
        # A running OMS is writing this batch now: what is complete is verified.
        _print([f"OK: {counts}, last hash {result.last_hash}; {broken.segment.name} batch "
                f"{broken.batch_index} is being written by the running OMS"])
        return OK
    where = broken.segment.name
    if broken.batch_index is not None:
        where += f", batch {broken.batch_index}"
    _print([f"BROKEN at {where}: {broken.reason}", f"verified before it: {counts}"])
    return NEGATIVE


_COMMANDS: dict[str, Callable[[argparse.Namespace, Path, bool], int]] = {
    "trail": _trail,
    "orders": _orders,
    "sql": _sql,
    "export": _export,
    "verify": _verify,
}


def _distinct(values: Sequence[str | None], skip: Sequence[str] = ()) -> list[str]:
    """The values in order of first appearance, without nulls and `skip`."""
    return [v for v in dict.fromkeys(values) if v is not None and v not in skip]


def _count(number: int, noun: str) -> str:
    plural = "es" if noun.endswith("ch") else "s"
    return f"{number} {noun}{'' if number == 1 else plural}"


def _print(lines: Sequence[str]) -> None:
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def _fail(message: str) -> int:
    sys.stderr.write(f"oms audit: {message}\n")
    return FAILED
