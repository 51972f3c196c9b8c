"""Compliance queries over a log the real engine wrote: trails, orders, SQL.

The flow is described in `tests/audit_flow.py`; the expected sequence numbers below are
read off that description (the engine numbers its events from 1, and the flow is fixed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from audit_flow import DAY_TWO, RecordedFlow, audit_config, harness, record_flow
from engine_harness import CLIENT1

from compliance.audit.errors import AuditLogError
from compliance.audit.query import AuditDatabase, AuditQueryError, orders, sql, trail
from compliance.audit.schema import SCHEMA
from compliance.audit.writer import AuditLog
from oms.model import (
    Account,
    ClOrdID,
    CxlRejReason,
    OrderID,
    OrdRejReason,
    OrdStatus,
    Symbol,
)

# The order first named A1, replaced to A2 and A3: its events, the requests and denials
# that named it in CLIENT1, and its last fill on day two.
A_TRAIL = [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 18, 19, 20, 21, 22, 23, 38]


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> RecordedFlow:
    return record_flow(tmp_path_factory.mktemp("flow") / "audit")


@pytest.fixture(scope="module")
def database(flow: RecordedFlow) -> AuditDatabase:
    return AuditDatabase.open(flow.directory)


def seqs(table: pa.Table) -> list[int]:
    return table.column("seq").to_pylist()  # type: ignore[no-any-return]


def order_ids(table: pa.Table) -> list[str]:
    return table.column("order_id").to_pylist()  # type: ignore[no-any-return]


def utc(time_ns: int) -> datetime:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC)


# Trails.


def test_trail_by_first_cl_ord_id_follows_the_whole_replace_chain(flow: RecordedFlow) -> None:
    table = trail(flow.directory, ClOrdID("A1"))

    assert seqs(table) == A_TRAIL
    kinds = table.column("kind").to_pylist()
    assert kinds[:9] == [
        "new_requested", "pending_new", "accepted",
        "replace_requested", "pending_replace", "replaced",
        "replace_requested", "pending_replace", "replaced",
    ]  # fmt: skip
    assert table.column("ord_status_label").to_pylist()[-1] == "Filled"


def test_trail_by_a_replaced_cl_ord_id_or_the_order_id_is_the_same_trail(
    flow: RecordedFlow, database: AuditDatabase
) -> None:
    order_id = flow.order_id("A1")

    for name in ("A2", "A3", order_id):
        assert seqs(database.trail(ClOrdID(name))) == A_TRAIL, name


def test_trail_rows_are_the_logged_events_with_every_column(
    flow: RecordedFlow, database: AuditDatabase
) -> None:
    table = database.trail(OrderID(flow.order_id("A1")))

    assert table.schema.names == [*SCHEMA.names, "ord_status_label", "exec_type_label"]
    assert table.select(SCHEMA.names).schema.equals(SCHEMA, check_metadata=False)
    by_seq = {e.seq: e for e in flow.events}
    times = [f.name for f in SCHEMA if pa.types.is_timestamp(f.type)]
    for row in table.drop_columns(times).to_pylist():
        event = by_seq[row["seq"]]
        assert (row["kind"], row["cl_ord_id"], row["orig_cl_ord_id"]) == (
            event.kind.value, event.cl_ord_id, event.orig_cl_ord_id,
        )  # fmt: skip
        assert row["cum_quantity"] == event.cum_quantity
        assert row["avg_price"] == event.avg_price


def test_trail_includes_denials_with_order_id_none_that_named_the_order(
    database: AuditDatabase,
) -> None:
    table = database.trail(ClOrdID("A3"))

    rows = table.select(["seq", "kind", "order_id", "cl_ord_id"]).to_pylist()
    assert {"seq": 19, "kind": "new_denied", "order_id": "NONE", "cl_ord_id": "A2"} in rows
    # A cancel sent under a ClOrdID another order has: the request names A3 by
    # OrigClOrdID, its denial carries A's OrderID.
    assert [r["seq"] for r in rows if r["cl_ord_id"] == "B1"] == [20, 21]


def test_trail_leaves_out_another_sessions_request_naming_the_same_cl_ord_id(
    database: AuditDatabase,
) -> None:
    # CLIENT2's cancel of "A1" (seq 24, 25) is about no order of CLIENT2's.
    assert not {24, 25} & set(seqs(database.trail(ClOrdID("A1"))))


def test_trail_of_an_order_whose_cl_ord_id_was_reused_by_a_denied_cancel_stays_its_own(
    database: AuditDatabase,
) -> None:
    assert seqs(database.trail(ClOrdID("B1"))) == [15, 16, 17]


def test_trail_by_a_cancels_cl_ord_id_finds_the_canceled_order(database: AuditDatabase) -> None:
    table = database.trail(ClOrdID("C2"))

    assert seqs(table) == [26, 27, 28, 29, 30, 31]
    assert table.column("ord_status_label").to_pylist()[-1] == "Canceled"


def test_trail_of_a_request_for_an_unknown_order_shows_the_request_and_its_denial(
    database: AuditDatabase,
) -> None:
    table = database.trail(ClOrdID("Z9"))

    assert seqs(table) == [24, 25]
    assert table.column("order_id").to_pylist() == [None, "NONE"]


def test_trail_of_an_order_denied_by_a_risk_check_holds_the_reason(
    database: AuditDatabase,
) -> None:
    table = database.trail(ClOrdID("D1"))

    assert seqs(table) == [32, 33]
    assert table.column("risk_check").to_pylist() == [None, "max_order_quantity"]


def test_trail_holds_the_requests_the_gateway_refused(tmp_path: Path) -> None:
    # A1 is worked; its replace R1 and a new order P1 are refused by the FIX gateway.
    h = harness()
    with AuditLog(audit_config(tmp_path)) as log:
        h.engine.subscribe(log.append)
        h.new("A1", 100, "190.00")
        h.engine.record_refusal(CLIENT1, "G", ClOrdID("R1"), ClOrdID("A1"),
                                CxlRejReason.OTHER, "OrdType(40) P is not supported", None, 0)
        h.engine.record_refusal(CLIENT1, "D", ClOrdID("P1"), None,
                                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                                "OrdType(40) P is not supported", None, 0)
    refused_replace, refused_new = (e.seq for e in h.events[-2:])

    a_trail = trail(tmp_path, ClOrdID("A1"))
    p_trail = trail(tmp_path, ClOrdID("P1"))

    assert seqs(a_trail)[-1] == refused_replace
    assert a_trail.column("kind").to_pylist()[-1] == "request_refused"
    assert seqs(p_trail) == [refused_new]
    assert p_trail.column("text").to_pylist() == ["OrdType(40) P is not supported"]


def test_trail_of_an_id_nothing_names_is_empty(database: AuditDatabase) -> None:
    table = database.trail(ClOrdID("NO-SUCH-ID"))

    assert table.num_rows == 0
    assert "ord_status_label" in table.column_names


# Orders.


def test_orders_lists_each_order_once_with_its_latest_state(flow: RecordedFlow) -> None:
    table = orders(flow.directory)

    rows = {r["cl_ord_id"]: r for r in table.drop_columns(["first_time", "last_time"]).to_pylist()}
    assert list(rows) == ["A3", "S1", "B1", "C1", "D1", "S2", "E1"]
    a = rows["A3"]
    assert a["order_id"] == flow.order_id("A1")
    assert (a["status"], a["cum_quantity"], a["leaves_quantity"]) == ("Filled", 500, 0)
    assert (a["order_quantity"], a["price"]) == (500, Decimal("190.10"))
    assert a["avg_price"] == Decimal("190.10")
    assert (a["events"], a["first_seq"], a["last_seq"], a["last_kind"]) == (10, 2, 38, "trade")
    assert {r["status"] for r in rows.values()} == {"Filled", "New", "Canceled", "Rejected"}
    assert table.schema.field("price").type == pa.decimal128(38, 8)
    assert table.schema.field("avg_price").type == pa.decimal128(38, 12)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"account": Account("ACC1")}, ["A3", "B1", "D1", "E1"]),
        ({"account": Account("ACC2")}, ["S1", "C1", "S2"]),
        ({"symbol": Symbol("MSFT")}, ["B1", "C1"]),
        ({"account": Account("ACC2"), "symbol": Symbol("AAPL")}, ["S1", "S2"]),
        ({"status": "Filled"}, ["A3", "S1", "S2"]),
        ({"status": "partially filled"}, []),
        ({"status": OrdStatus.NEW}, ["B1", "E1"]),
        ({"status": "Canceled"}, ["C1"]),
        ({"status": "rejected"}, ["D1"]),
    ],
)
def test_orders_filters_by_account_symbol_and_status(
    database: AuditDatabase, filters: dict[str, object], expected: list[str]
) -> None:
    table = database.orders(**filters)  # type: ignore[arg-type]

    assert table.column("cl_ord_id").to_pylist() == expected


def test_orders_until_a_time_shows_each_order_as_it_stood_then(database: AuditDatabase) -> None:
    table = database.orders(until=utc(DAY_TWO))

    states = dict(zip(table.column("cl_ord_id").to_pylist(), table.column("status").to_pylist(),
                      strict=True))  # fmt: skip
    assert states == {
        "A3": "Partially Filled", "S1": "Filled", "B1": "New", "C1": "Canceled",
        "D1": "Rejected",
    }  # fmt: skip
    partially = database.orders(status="Partially Filled", until=utc(DAY_TWO))
    assert partially.column("cum_quantity").to_pylist() == [200]


def test_orders_since_a_time_keeps_the_orders_with_an_event_since(
    database: AuditDatabase,
) -> None:
    for since in (utc(DAY_TWO), "2024-06-04", "2024-06-04T09:30:00-04:00"):
        assert database.orders(since=since).column("cl_ord_id").to_pylist() == [
            "A3", "S2", "E1",
        ], since  # fmt: skip
    both = database.orders(account=Account("ACC1"), since="2024-06-04T00:00:00Z")
    assert both.column("cl_ord_id").to_pylist() == ["A3", "E1"]


def test_orders_between_two_times_is_the_span_of_one_day(database: AuditDatabase) -> None:
    table = database.orders(since="2024-06-03", until="2024-06-04")

    assert table.column("cl_ord_id").to_pylist() == ["A3", "S1", "B1", "C1", "D1"]


def test_orders_refuses_an_unknown_status_or_an_unreadable_time(
    database: AuditDatabase,
) -> None:
    with pytest.raises(AuditQueryError, match="unknown order status 'Working'"):
        database.orders(status="Working")
    with pytest.raises(AuditQueryError, match="not an ISO time"):
        database.orders(since="yesterday")


# SQL.


def test_sql_counts_the_events_as_written(flow: RecordedFlow) -> None:
    table = sql(flow.directory, "SELECT kind, count(*) AS n FROM events GROUP BY kind")

    counts = dict(zip(table.column("kind").to_pylist(), table.column("n").to_pylist(),
                      strict=True))  # fmt: skip
    written: dict[str, int] = {}
    for event in flow.events:
        written[event.kind.value] = written.get(event.kind.value, 0) + 1
    assert counts == written


def test_sql_keeps_prices_decimal_and_times_to_the_nanosecond(
    flow: RecordedFlow, database: AuditDatabase
) -> None:
    table = database.sql(
        "SELECT seq, last_price * last_quantity AS value, epoch_ns(event_time) AS ns "
        "FROM events WHERE kind = 'trade' ORDER BY seq"
    )

    assert pa.types.is_decimal(table.schema.field("value").type)
    assert table.column("value").to_pylist() == [
        Decimal("38020.00"), Decimal("38020.00"), Decimal("57030.00"), Decimal("57030.00"),
    ]  # fmt: skip
    trades = [e for e in flow.events if e.kind.value == "trade"]
    assert table.column("ns").to_pylist() == [e.time_ns for e in trades]


def test_sql_labels_join_readable_status_names(database: AuditDatabase) -> None:
    table = database.sql(
        "SELECT s.label FROM events e JOIN ord_statuses s USING (ord_status) WHERE e.seq = 14"
    )

    assert table.column("label").to_pylist() == ["Partially Filled"]


def test_sql_errors_are_one_line_query_errors(database: AuditDatabase) -> None:
    with pytest.raises(AuditQueryError, match="nope"):
        database.sql("SELECT nope FROM events")
    with pytest.raises(AuditQueryError, match="syntax error"):
        database.sql("SELEC 1")


def test_sql_cannot_read_or_write_files(database: AuditDatabase, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"

    with pytest.raises(AuditQueryError):
        database.sql(f"COPY (SELECT * FROM events) TO '{target}'")
    with pytest.raises(AuditQueryError):
        database.sql("SELECT * FROM read_csv('/etc/hostname')")
    with pytest.raises(AuditQueryError):
        database.sql("SET enable_external_access = true")
    assert not target.exists()


def test_a_missing_directory_is_an_audit_log_error(tmp_path: Path) -> None:
    with pytest.raises(AuditLogError, match="no audit log"):
        trail(tmp_path / "absent", ClOrdID("A1"))
