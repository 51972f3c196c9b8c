"""`oms audit` run as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from audit_flow import RecordedFlow, record_flow
from audit_logs import layout

from compliance.audit.lock import DirectoryLock

ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).parent / "oms"
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "oms.cli"]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> RecordedFlow:
    return record_flow(tmp_path_factory.mktemp("flow") / "audit")


def oms_audit(*arguments: str | Path, progress: bool = False) -> subprocess.CompletedProcess[str]:
    options = [] if progress else ["--no-progress"]
    return subprocess.run(
        [*COMMAND, "audit", *options, *map(str, arguments)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def table(stdout: str) -> list[list[str]]:
    """The rows of a printed table (after its header and rule), split on runs of spaces."""
    lines = stdout.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    return [line.split() for line in lines[rule + 1 :] if line and not line.startswith("(")]


def column_end(header: str, title: str) -> int:
    return header.index(title) + len(title)


def test_trail_prints_the_order_across_its_replaces_in_aligned_columns(
    flow: RecordedFlow,
) -> None:
    done = oms_audit("--directory", flow.directory, "trail", "A2")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    order_id = flow.order_id("A1")
    assert (
        lines[0] == f"17 events for A2; OrderID {order_id}; ClOrdID A1 > A2 > A3; session CLIENT1"
    )
    header = lines[2]
    assert header.split() == [
        "Seq", "Time", "(UTC)", "Event", "OrderID", "ClOrdID", "OrigClOrdID", "ExecType",
        "OrdStatus", "Side", "Symbol", "OrderQty", "Price", "LastQty", "LastPx", "CumQty",
        "LeavesQty", "AvgPx", "Text",
    ]  # fmt: skip
    rows = lines[4:]
    assert [int(row.split()[0]) for row in rows] == [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 18, 19, 20, 21, 22, 23, 38,
    ]  # fmt: skip
    fill = next(row for row in rows if row.lstrip().startswith("14 "))
    assert "2024-06-03 13:30:00.000014000" in fill
    assert "Partially Filled" in fill
    # Numbers are right-aligned under their headers.
    for title, value in (("Price", "190.10"), ("LastPx", "190.10"), ("CumQty", "200")):
        end = column_end(header, title)
        assert fill[end - len(value) : end] == value, title
    last = rows[-1]
    assert "Filled" in last and last.rstrip().endswith("190.10")


def test_trail_of_an_unknown_id_says_so_and_exits_1(flow: RecordedFlow) -> None:
    done = oms_audit("--directory", flow.directory, "trail", "NOPE")

    assert (done.returncode, done.stdout.strip()) == (
        1, f"no event in {flow.directory} names NOPE",
    )  # fmt: skip


def test_orders_prints_one_line_per_order_with_readable_status(flow: RecordedFlow) -> None:
    done = oms_audit("--directory", flow.directory, "orders", "--account", "ACC1")

    assert done.returncode == 0, done.stderr
    rows = table(done.stdout)
    assert [row[2] for row in rows] == ["A3", "B1", "D1", "E1"]
    assert rows[0][:13] == [
        flow.order_id("A1"), "ACC1", "A3", "AAPL", "buy", "limit", "gtc", "500", "190.10",
        "Filled", "500", "0", "190.10",
    ]  # fmt: skip
    assert done.stdout.splitlines()[-1] == "(4 orders)"


def test_orders_filters_by_status_symbol_and_time(flow: RecordedFlow) -> None:
    partially = oms_audit(
        "--directory", flow.directory, "orders", "--status", "Partially Filled",
        "--until", "2024-06-04T00:00:00Z",
    )  # fmt: skip
    msft = oms_audit("--directory", flow.directory, "orders", "--symbol", "MSFT")
    since = oms_audit("--directory", flow.directory, "orders", "--since", "2024-06-04")

    assert [row[2] for row in table(partially.stdout)] == ["A3"]
    assert "Partially Filled" in partially.stdout
    assert [row[2] for row in table(msft.stdout)] == ["B1", "C1"]
    assert [row[2] for row in table(since.stdout)] == ["A3", "S2", "E1"]


def test_sql_prints_the_result_as_a_table(flow: RecordedFlow) -> None:
    done = oms_audit(
        "--directory", flow.directory, "sql",
        "SELECT seq, kind, last_price FROM events WHERE kind = 'trade' ORDER BY seq",
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "seq  kind   last_price",
        "---  -----  ----------",
        " 13  trade      190.10",
        " 14  trade      190.10",
        " 37  trade      190.10",
        " 38  trade      190.10",
        "(4 rows)",
    ]


def test_export_writes_parquet_by_day_and_csv(flow: RecordedFlow, tmp_path: Path) -> None:
    parquet = oms_audit(
        "--directory", flow.directory, "export", "--format", "parquet",
        "--output", tmp_path / "parquet",
    )  # fmt: skip
    csv = oms_audit(
        "--directory", flow.directory, "export", "--format", "csv",
        "--output", tmp_path / "events.csv",
    )  # fmt: skip

    events = len(flow.events)
    assert parquet.stdout.strip() == (
        f"exported {events} events of 2 trading days to {tmp_path / 'parquet'} (parquet, 2 files)"
    )
    assert csv.stdout.strip() == (
        f"exported {events} events of 2 trading days to {tmp_path / 'events.csv'} (csv, 1 file)"
    )
    assert len((tmp_path / "events.csv").read_text().splitlines()) == events + 1
    assert len(list((tmp_path / "parquet").glob("trading_day=*/part-*.parquet"))) == 2


def test_verify_of_an_intact_log_prints_ok_with_counts(flow: RecordedFlow) -> None:
    done = oms_audit("--directory", flow.directory, "verify")

    assert done.returncode == 0, done.stderr
    events = len(flow.events)
    assert re.fullmatch(
        f"OK: [0-9]+ batches of 2 segments, {events} events, last seq {events}, "
        "last hash [0-9a-f]{64}\n",
        done.stdout,
    )


def test_verify_names_the_first_broken_batch_and_exits_1(tmp_path: Path) -> None:
    copy = tmp_path / "audit"
    flow = record_flow(tmp_path / "original")
    shutil.copytree(flow.directory, copy)
    first = sorted(copy.iterdir())[0]
    shape = layout(first)
    data = bytearray(first.read_bytes())
    data[(shape.schema_end + shape.batch_ends[0]) // 2] ^= 0xFF
    first.write_bytes(bytes(data))

    done = oms_audit("--directory", copy, "verify")

    assert done.returncode == 1
    [broken, before] = done.stdout.splitlines()
    assert broken.startswith(f"BROKEN at {first.name}, batch 0: ")
    assert before == "verified before it: 0 batches of 1 segment, 0 events, last seq 0"


def test_verify_takes_a_torn_last_batch_for_one_being_written_while_a_writer_runs(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "audit"
    flow = record_flow(tmp_path / "original")
    shutil.copytree(flow.directory, copy)
    last = sorted(copy.glob("*.arrows"))[-1]
    shape = layout(last)
    # The last batch half written, as a reader sees it while the writer is at work.
    starts = [shape.schema_end, *shape.batch_ends]
    cut = (starts[-2] + starts[-1]) // 2
    last.write_bytes(last.read_bytes()[:cut])

    assert oms_audit("--directory", copy, "verify").returncode == 1
    with DirectoryLock(copy):
        done = oms_audit("--directory", copy, "verify")

    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("OK: ")
    assert f"{last.name} batch {len(shape.batch_ends) - 1} is being written" in done.stdout


def test_errors_are_one_line_on_stderr_with_exit_2(flow: RecordedFlow, tmp_path: Path) -> None:
    cases = [
        (("--directory", tmp_path / "absent", "orders"), "no audit log at"),
        (("--directory", tmp_path / "absent", "verify"), "no audit log at"),
        (("--directory", flow.directory, "sql", "SELEC 1"), "Parser Error"),
        (("--directory", flow.directory, "sql", "SELECT nope FROM events"), "nope"),
        (("--directory", flow.directory, "orders", "--status", "Working"), "unknown order"),
        (("--directory", flow.directory, "orders", "--since", "noon"), "not an ISO time"),
        (("--config", tmp_path / "absent.toml", "orders"), "cannot read"),
        (("--directory", flow.directory, "export", "--output", flow.directory), "exists"),
        (("--directory", flow.directory, "export", "--output", "/proc/oms-export"),
         "cannot write the export to /proc/oms-export: cannot create a directory in /proc"),
        (("--directory", flow.directory, "export", "--format", "csv", "--output",
          "/proc/oms-export.csv"),
         "cannot write the export to /proc/oms-export.csv: cannot create a file in /proc"),
        (("--directory", flow.directory, "sql", ""), "the query is empty"),
        (("--directory", flow.directory, "sql", "  "), "the query is empty"),
        (("--directory", flow.directory, "sql", "drop view events"),
         "the audit log is read-only: 'drop view events' is refused"),
        (("--directory", flow.directory, "sql", "select 1; delete from ord_statuses"),
         "read-only: 'delete from ord_statuses' is refused"),
        (("--directory", flow.directory, "sql", "explain analyze drop view events"),
         "read-only: 'drop view events' is refused"),
        (("--directory", flow.directory, "sql", "copy events to 'x.csv'"), "read-only"),
    ]
    for arguments, message in cases:
        done = oms_audit(*arguments)

        assert done.returncode == 2, arguments
        assert done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith("oms audit: ") and message in line, (arguments, line)


def test_sql_takes_statements_that_only_read(flow: RecordedFlow) -> None:
    for statement in ("describe events", "summarize select seq from events",
                      "with t as (select 1 as one) select * from t", "show tables",
                      "explain select count(*) from events", "pragma table_info('events')"):
        done = oms_audit("--directory", flow.directory, "sql", statement)
        assert done.returncode == 0, (statement, done.stderr)


def test_an_export_failing_midway_exits_with_one_line_and_no_abort(
    flow: RecordedFlow, tmp_path: Path
) -> None:
    # A disk that fills up while the Parquet files are written.
    script = (
        "import sys\n"
        "from compliance.audit import exports\n"
        "from oms.cli import main\n"
        "def full(batch):\n"
        "    raise OSError(28, 'No space left on device')\n"
        "exports._parquet_batch = full\n"
        f"sys.exit(main(['audit', '--no-progress', '--directory', {str(flow.directory)!r}, "
        f"'export', '--output', {str(tmp_path / 'out')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)

    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"oms audit: export to {tmp_path / 'out'} failed: No space left on device"
    ]
    assert list(tmp_path.iterdir()) == []


def test_the_default_directory_is_the_configurations(flow: RecordedFlow, tmp_path: Path) -> None:
    shutil.copy(ROOT / "config" / "instruments.csv", tmp_path / "instruments.csv")
    text = (ROOT / "config" / "oms.toml").read_text()
    assert 'directory = "../var/audit"' in text
    config = tmp_path / "oms.toml"
    config.write_text(text.replace('"../var/audit"', f'"{flow.directory}"'))

    done = oms_audit("--config", config, "orders")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "(7 orders)"


def test_progress_goes_to_stderr_unless_turned_off(flow: RecordedFlow) -> None:
    shown = oms_audit("--directory", flow.directory, "orders", progress=True)
    quiet = oms_audit("--directory", flow.directory, "orders")

    assert "reading audit log" in shown.stderr
    assert quiet.stderr == ""
    assert shown.stdout == quiet.stdout
