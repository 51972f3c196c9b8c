"""Events to Arrow record batches and back: exact round trips and readable columns."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.audit.errors import SchemaError
from compliance.audit.samples import MARKET_OPEN_NS, event, order_flow, price, terms
from compliance.audit.schema import (
    SCHEMA,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    batch_from_events,
    check_schema,
    events_from_batch,
)
from oms.commands import FixContext
from oms.events import Event, EventKind, RiskVerdict
from oms.model import Account, ClOrdID, OrdStatus

WIDE = Context(prec=80, rounding=ROUND_HALF_EVEN)


def round_trip(events: list[Event]) -> list[Event]:
    return events_from_batch(batch_from_events(events))


@pytest.mark.parametrize("kind", list(EventKind))
@pytest.mark.parametrize("full", [True, False], ids=["all_fields_set", "no_optional_field"])
def test_each_event_kind_round_trips_exactly(kind: EventKind, full: bool) -> None:
    events = [event(kind, 7, full=full)]

    assert round_trip(events) == events


def test_a_batch_mixing_set_and_unset_fields_round_trips_exactly() -> None:
    # Mostly unset nested objects take the decoder's sparse path; mostly set, its dense one.
    kinds = list(EventKind)
    sparse = [event(k, i, full=i % 4 == 0) for i, k in enumerate(kinds * 4)]
    dense = [event(k, i, full=i % 4 != 0) for i, k in enumerate(kinds * 4)]

    assert round_trip(sparse) == sparse
    assert round_trip(dense) == dense


def test_a_realistic_order_flow_round_trips_exactly() -> None:
    events = order_flow(3000)

    assert round_trip(events) == events


def test_prices_beyond_64_bits_round_trip_exactly() -> None:
    # 36 digits: more than a default 28-digit Decimal context carries.
    huge = 10**35 + 7
    events = [event(EventKind.TRADE, 1)._replace(notional=huge, last_price=-(2**65))]

    assert round_trip(events) == events


def test_prices_are_decimal_columns_in_currency_units() -> None:
    e = event(EventKind.TRADE, 1)._replace(last_price=price(190, 1))
    batch = batch_from_events([e])

    assert pa.types.is_decimal(batch.schema.field("price").type)
    assert batch.column("last_price")[0].as_py() == Decimal("190.01")
    assert batch.column("price")[0].as_py() == Decimal("190")


def test_avg_price_column_states_event_avg_price() -> None:
    e = event(EventKind.TRADE, 1)
    batch = batch_from_events([e])

    assert pa.types.is_decimal(batch.schema.field("avg_price").type)
    assert batch.column("avg_price")[0].as_py() == e.avg_price


@given(
    notional=st.integers(min_value=-(10**20), max_value=10**20),
    quantity=st.integers(min_value=1, max_value=10**9),
    decimals=st.integers(min_value=0, max_value=16),
)
def test_avg_price_column_agrees_with_average_price_everywhere(
    notional: int, quantity: int, decimals: int
) -> None:
    e = event(EventKind.TRADE, 1)._replace(
        notional=notional, cum_quantity=quantity, avg_px_decimals=decimals
    )
    stated = batch_from_events([e]).column("avg_price")[0].as_py()

    # Beyond 28 digits average_price cannot answer; the column then states AvgPx exactly.
    try:
        expected = e.avg_price
    except InvalidOperation:
        expected = Decimal(notional) / (quantity * 10**8)
        expected = expected.quantize(Decimal(1).scaleb(-min(decimals, 12)), context=WIDE)
    # A finer AvgPx than the column's 12 places is rounded there; the event keeps it exact.
    assert stated == expected.quantize(Decimal(1).scaleb(-12), context=WIDE)


def test_avg_price_near_a_tie_follows_the_decimal_rounding() -> None:
    # Exactly 123456789012.50000000000000001: the 28-digit Decimal division rounds it onto
    # the tie and half-even then rounds down, where exact rounding would go up. The column
    # must state what the event (and so the client) says.
    notional, quantity = 12_345_678_901_250_000_000_000_000_001, 10**9
    e = event(EventKind.TRADE, 1)._replace(
        notional=notional, cum_quantity=quantity, avg_px_decimals=0
    )

    assert e.avg_price == Decimal(123_456_789_012)
    assert batch_from_events([e]).column("avg_price")[0].as_py() == e.avg_price


def test_enumerations_are_readable_and_fix_codes_are_kept() -> None:
    batch = batch_from_events(order_flow(200))
    partially = pc.equal(batch.column("ord_status"), "partially_filled")

    codes = set(batch.column("ord_status_code").filter(partially).to_pylist())
    assert codes == {OrdStatus.PARTIALLY_FILLED.value}
    assert set(batch.column("side").drop_null().to_pylist()) == {"buy"}
    assert "trade" in batch.column("exec_type").to_pylist()
    assert "trade" in batch.column("kind").to_pylist()


def test_each_row_restates_the_order_terms() -> None:
    current = terms("C-9", "MSFT", price(420, 15), 300)
    e = event(EventKind.ACCEPTED, 3)._replace(terms=current, cl_ord_id=ClOrdID("C-9"))
    batch = batch_from_events([e])

    assert batch.column("symbol")[0].as_py() == "MSFT"
    assert batch.column("order_quantity")[0].as_py() == 300
    assert batch.column("price")[0].as_py() == Decimal("420.15")
    assert batch.column("terms_cl_ord_id")[0].as_py() == "C-9"


def test_times_are_utc_nanosecond_timestamps() -> None:
    batch = batch_from_events([event(EventKind.TRADE, 1)])

    assert batch.schema.field("event_time").type == pa.timestamp("ns", tz="UTC")
    assert batch.column("event_time").cast(pa.int64())[0].as_py() == MARKET_OPEN_NS


def test_schema_carries_its_version() -> None:
    assert SCHEMA.metadata[SCHEMA_VERSION_KEY] == str(SCHEMA_VERSION).encode()
    check_schema(SCHEMA)


def test_a_schema_of_another_version_is_refused() -> None:
    other = SCHEMA.with_metadata({SCHEMA_VERSION_KEY: b"999"})

    with pytest.raises(SchemaError, match="999"):
        check_schema(other)


def test_column_names_are_snake_case() -> None:
    assert all(name == name.lower() and " " not in name for name in SCHEMA.names)


def kill_switch(seq: int, account: str | None, engaged: bool, reason: str | None) -> Event:
    """A KILL_SWITCH event as the engine makes one."""
    scope = f"account {account}" if account else "all accounts"
    state = "engaged" if engaged else "released"
    return event(EventKind.KILL_SWITCH, seq, full=False)._replace(
        text=reason,
        risk=RiskVerdict("kill_switch", state, f"kill switch {state} for {scope}"),
        account=Account(account) if account else None,
    )


@pytest.mark.parametrize("orders", [0, 3, 200], ids=["alone", "few_orders", "many_orders"])
def test_kill_switch_events_round_trip_among_order_events(orders: int) -> None:
    # 200 order rows take the encoder's path that converts each distinct OrderTerms once.
    flow = order_flow(orders, first_seq=3)
    events = [kill_switch(1, "ACC1", True, "runaway algo"), kill_switch(2, None, True, None),
              *flow, kill_switch(orders + 3, None, False, "all clear")]

    assert round_trip(events) == events


def test_a_kill_switch_row_reads_as_account_state_and_reason() -> None:
    batch = batch_from_events([kill_switch(1, "ACC1", True, "runaway algo"),
                               kill_switch(2, None, False, None)])

    rows = batch.select(["kind", "account", "risk_value", "text"]).to_pylist()
    assert rows == [
        {"kind": "kill_switch", "account": "ACC1", "risk_value": "engaged",
         "text": "runaway algo"},
        {"kind": "kill_switch", "account": None, "risk_value": "released", "text": None},
    ]


def test_text_that_is_not_valid_unicode_is_written_escaped_not_refused() -> None:
    # Bytes a peer sent that were not UTF-8 arrive as lone surrogates.
    bad = event(EventKind.NEW_REQUESTED, 1)
    assert bad.terms is not None and bad.fix is not None
    bad = bad._replace(
        cl_ord_id=ClOrdID("X\udce9"),
        terms=terms("X\udce9", symbol="AAPL\udce9"),
        fix=FixContext("FIX.4.4", "CLIENT1", "OMS", 2, "8=FIX.4.4\x0155=AAPL\udce9\x01"),
    )
    good = event(EventKind.ACCEPTED, 2)

    back = round_trip([bad, good])

    assert back[1] == good
    assert back[0].cl_ord_id == "X\\udce9"
    assert back[0].terms is not None and back[0].terms.symbol == "AAPL\\udce9"
    assert back[0].fix is not None and back[0].fix.raw == "8=FIX.4.4\x0155=AAPL\\udce9\x01"
    assert back[0].kind is EventKind.NEW_REQUESTED and back[0].seq == 1
