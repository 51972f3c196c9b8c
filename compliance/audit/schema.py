"""The audit log's Arrow schema, and events to record batches and back.

One row per event. Each row restates the order's full terms, so a row read on its own, in
a query or by a regulator, is complete. Column names are snake_case words; enumerations are
stored by readable name (the enum member's name in lower case: "partially_filled", "buy",
"stop_limit", "gtc"), and ExecType(150) and OrdStatus(39) also keep the FIX code the client
saw on the wire in `exec_type_code` and `ord_status_code`.

Prices, the notional and AvgPx are decimal128 in currency units. A price column holds the
engine's integer price units unchanged as the decimal's unscaled value (scale 8, see
`oms.model.PRICE_SCALE`), so reading it back is exact without a separate integer column.
`avg_price` is derived (notional / CumQty rounded half-even to `avg_px_decimals` places, as
`Event.avg_price` reports it) and is not read back.

Speed matters here: conversion runs on the audit writer thread but holds the GIL against
the engine thread. Events are transposed with zip(*events) and each column is built by one
pyarrow call; decoding goes column by column through numpy and dictionary indices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from functools import partial
from itertools import repeat
from operator import attrgetter, is_not
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from compliance.audit.errors import SchemaError
from oms.commands import FixContext
from oms.events import Event, EventKind, RiskVerdict
from oms.model import (
    PRICE_DECIMALS,
    PRICE_SCALE,
    CxlRejResponseTo,
    ExecType,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
    average_price,
)
from oms.order import OrderTerms

# Bump when a column is added, removed or changes meaning; readers refuse what they do not
# know rather than misread it.
SCHEMA_VERSION = 1
SCHEMA_VERSION_KEY = b"audit.schema_version"

# AvgPx is stated to the tick's decimals plus four (oms.refdata), at most 12 for a tick of
# 1e-8; a finer AvgPx is rounded to 12 places in this column only.
AVG_PRICE_SCALE = 12

_TIME = pa.timestamp("ns", tz="UTC")
_PRICE = pa.decimal128(38, PRICE_DECIMALS)
_AVG_PRICE = pa.decimal128(38, AVG_PRICE_SCALE)
_S = pa.string()
_I64 = pa.int64()


def _field(name: str, kind: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field(name, kind, nullable=nullable)


FIELDS: tuple[pa.Field, ...] = (
    _field("seq", _I64, False),
    _field("event_time", _TIME, False),
    _field("received_time", _TIME, False),
    _field("transact_time", _TIME, False),
    _field("kind", _S, False),
    _field("exec_type", _S),
    _field("exec_type_code", _S),
    _field("ord_status", _S),
    _field("ord_status_code", _S),
    _field("session_id", _S, False),
    _field("order_id", _S),
    _field("cl_ord_id", _S),
    _field("orig_cl_ord_id", _S),
    _field("exec_id", _S),
    _field("venue", _S),
    _field("venue_order_id", _S),
    _field("venue_exec_id", _S),
    # The order's terms after the event (null when the event concerns no known order).
    _field("terms_cl_ord_id", _S),
    _field("account", _S),
    _field("symbol", _S),
    _field("side", _S),
    _field("ord_type", _S),
    _field("time_in_force", _S),
    _field("order_quantity", _I64),
    _field("price", _PRICE),
    _field("stop_price", _PRICE),
    _field("expire_time", _TIME),
    _field("cum_quantity", _I64, False),
    _field("leaves_quantity", _I64, False),
    _field("last_quantity", _I64, False),
    _field("last_price", _PRICE, False),
    _field("notional", _PRICE, False),
    _field("avg_price", _AVG_PRICE, False),
    _field("avg_px_decimals", pa.int8(), False),
    _field("ord_rej_reason", pa.int32()),
    _field("cxl_rej_reason", pa.int32()),
    _field("cxl_rej_response_to", _S),
    _field("text", _S),
    _field("risk_check", _S),
    _field("risk_value", _S),
    _field("risk_limit", _S),
    # The terms a replace request asks for (replace requests and Pending Replace only).
    _field("requested_cl_ord_id", _S),
    _field("requested_account", _S),
    _field("requested_symbol", _S),
    _field("requested_side", _S),
    _field("requested_ord_type", _S),
    _field("requested_time_in_force", _S),
    _field("requested_quantity", _I64),
    _field("requested_price", _PRICE),
    _field("requested_stop_price", _PRICE),
    _field("requested_expire_time", _TIME),
    # Where the request or report came from on the wire.
    _field("fix_begin_string", _S),
    _field("fix_sender_comp_id", _S),
    _field("fix_target_comp_id", _S),
    _field("fix_msg_seq_num", _I64),
    _field("fix_message", _S),
)

SCHEMA = pa.schema(FIELDS, metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()})
COLUMNS = tuple(f.name for f in FIELDS)
_INDEX = {name: i for i, name in enumerate(COLUMNS)}


def audit_schema(extra_metadata: dict[bytes, bytes] | None = None) -> pa.Schema:
    """The schema, with `extra_metadata` (a segment's chain start) beside the version."""
    if not extra_metadata:
        return SCHEMA
    return SCHEMA.with_metadata({**SCHEMA.metadata, **extra_metadata})


def check_schema(schema: pa.Schema) -> None:
    """Refuse a schema of another version or with other columns."""
    version = (schema.metadata or {}).get(SCHEMA_VERSION_KEY)
    if version != str(SCHEMA_VERSION).encode():
        raise SchemaError(f"audit schema version {version!r}, this reader knows {SCHEMA_VERSION}")
    if not schema.remove_metadata().equals(SCHEMA.remove_metadata()):
        raise SchemaError("audit schema columns differ from this version's")


def _readable_names(enum: type[Enum]) -> list[str]:
    if enum is EventKind:
        return [kind.value for kind in EventKind]
    return [member.name.lower() for member in enum]


_ENUMS: tuple[type[Enum], ...] = (
    ExecType,
    OrdStatus,
    Side,
    OrdType,
    TimeInForce,
    CxlRejResponseTo,
)
_NAME_BY_ID = {
    enum: {id(m): name for m, name in zip(enum, _readable_names(enum), strict=True)}
    for enum in _ENUMS
}


# Per enumeration: how to find a readable name's position (a null finds the last), and
# the members in that order.
def _lookup_table(enum: type[Enum]) -> tuple[pc.SetLookupOptions, np.ndarray]:
    names: list[str | None] = [*_readable_names(enum), None]
    members = np.empty(len(names), dtype=object)
    members[:-1] = list(enum)
    return pc.SetLookupOptions(pa.array(names, _S), skip_nulls=False), members


_ENUM_LOOKUP = {enum: _lookup_table(enum) for enum in (*_ENUMS, EventKind)}  # type: ignore[arg-type]


def _blank(kind: type[Any]) -> Any:
    """An instance of a __slots__ class with every attribute None: stands in for None, so
    that each attribute is read with one C-level map over the column."""
    blank = object.__new__(kind)
    for name in kind.__slots__:
        setattr(blank, name, None)
    return blank


_BLANK = {kind: _blank(kind) for kind in (OrderTerms, FixContext, RiskVerdict)}
_GETTERS = {kind: [attrgetter(name) for name in kind.__slots__] for kind in _BLANK}
_TERMS_TYPES = tuple(f.type for f in FIELDS[_INDEX["terms_cl_ord_id"] :][:10])
_TERMS_NAMES = [f.name for f in FIELDS[_INDEX["terms_cl_ord_id"] :][:10]]
_MAKE_EVENT = partial(tuple.__new__, Event)


# ----------------------------------------------------------------------------- encoding


def batch_from_events(events: Sequence[Event]) -> pa.RecordBatch:
    """One record batch holding `events` in order (at least one)."""
    count = len(events)
    (
        seq, time_ns, kind, session, order_id, cl_ord_id, orig_cl_ord_id, terms,
        requested, exec_type, ord_status, cum_quantity, leaves_quantity, notional,
        last_quantity, last_price, exec_id, venue, venue_order_id, venue_exec_id,
        ord_rej_reason, cxl_rej_reason, cxl_rej_response_to, text, risk,
        transact_time_ns, received_ns, fix, avg_px_decimals,
    ) = zip(*events, strict=True)  # fmt: skip

    columns: list[pa.Array] = [
        _int64(seq),
        _int64(time_ns).view(_TIME),
        _int64(received_ns).view(_TIME),
        _int64(transact_time_ns).view(_TIME),
        # EventKind values are already its readable names.
        pa.array(kind, _S),
        _enum_names(exec_type, ExecType),
        pa.array(exec_type, _S),
        _enum_names(ord_status, OrdStatus),
        pa.array(ord_status, _S),
        pa.array(session, _S),
        pa.array(order_id, _S),
        pa.array(cl_ord_id, _S),
        pa.array(orig_cl_ord_id, _S),
        pa.array(exec_id, _S),
        pa.array(venue, _S),
        pa.array(venue_order_id, _S),
        pa.array(venue_exec_id, _S),
    ]
    columns += _terms_columns(terms, count)
    columns += [
        _int64(cum_quantity),
        _int64(leaves_quantity),
        _int64(last_quantity),
        _decimal(last_price, _PRICE),
        _decimal(notional, _PRICE),
        _avg_prices(notional, cum_quantity, avg_px_decimals),
        pa.array(avg_px_decimals, pa.int8()),
        pa.array(ord_rej_reason, pa.int32()),
        pa.array(cxl_rej_reason, pa.int32()),
        _enum_names(cxl_rej_response_to, CxlRejResponseTo),
        pa.array(text, _S),
    ]
    columns += _object_columns(risk, RiskVerdict, (_S, _S, _S), count)
    columns += _terms_columns(requested, count)
    columns += _object_columns(fix, FixContext, (_S, _S, _S, _I64, _S), count)
    return pa.RecordBatch.from_arrays(columns, schema=SCHEMA)


def _int64(values: Sequence[int]) -> pa.Array:
    return pa.array(np.fromiter(values, np.int64, len(values)))


def _timestamps(values: Sequence[int | None]) -> pa.Array:
    return pa.array(values, _I64).view(_TIME)


def _enum_names(values: Sequence[Any], enum: type[Enum]) -> pa.Array:
    """Readable names of a column of enum members or None.

    Keyed by id(): Enum's __hash__ is Python code, an int's is not; members live forever.
    """
    return pa.array(list(map(_NAME_BY_ID[enum].get, map(id, values))), _S)


def _decimal(values: Sequence[int | None], kind: pa.Decimal128Type) -> pa.Array:
    """Integer units as the unscaled values of a decimal128 column, without Decimal objects."""
    try:
        ints = pa.array(values, _I64)
    except (OverflowError, pa.ArrowInvalid):
        return _wide_decimal(values, kind)
    count = len(ints)
    validity, data = ints.buffers()
    low = np.frombuffer(data, np.int64, count)
    # decimal128 is two little-endian 64-bit words; the high word sign-extends the low.
    words = np.empty((count, 2), np.int64)
    words[:, 0] = low
    words[:, 1] = low >> 63
    return pa.Array.from_buffers(
        kind, count, [validity, pa.py_buffer(words)], null_count=ints.null_count
    )


def _wide_decimal(values: Sequence[int | None], kind: pa.Decimal128Type) -> pa.Array:
    """The slow path for values beyond 64 bits: Decimal objects, exact."""
    scale = kind.scale
    return pa.array([None if v is None else Decimal(v).scaleb(-scale) for v in values], kind)


_POW10 = [10**i for i in range(AVG_PRICE_SCALE + 1)]
_AVG_QUANTUM = Decimal(1).scaleb(-AVG_PRICE_SCALE)


def _avg_prices(
    notional: Sequence[int], cum_quantity: Sequence[int], decimals: Sequence[int]
) -> pa.Array:
    units = [
        _avg_price_units(n, q, d) if q > 0 else 0
        for n, q, d in zip(notional, cum_quantity, decimals, strict=True)
    ]
    return _decimal(units, _AVG_PRICE)


def _avg_price_units(notional: int, quantity: int, decimals: int) -> int:
    """AvgPx in units of 1e-12, equal to oms.model.average_price but in integers.

    average_price divides in a 28-digit Decimal context and then rounds; exact integer
    rounding gives the same answer except within a hair of a half-way tie, where the first
    rounding can land on the tie. Those few cases are handed to the Decimal code itself.
    """
    if decimals <= AVG_PRICE_SCALE:
        denominator = quantity * PRICE_SCALE
        whole, remainder = divmod(notional * _POW10[decimals], denominator)
        # Twice the distance to the tie, against the denominator. The 28-digit quotient is
        # off by less than 0.5e-4 of a last place while AvgPx is below 1e11.
        off_tie = 2 * remainder - denominator
        if abs(off_tie) * 10_000 >= denominator:
            return (whole + 1 if off_tie > 0 else whole) * _POW10[AVG_PRICE_SCALE - decimals]
    exact = average_price(notional, quantity, decimals)
    return int(exact.quantize(_AVG_QUANTUM, rounding=ROUND_HALF_EVEN).scaleb(AVG_PRICE_SCALE))


def _terms_columns(terms: Sequence[OrderTerms | None], count: int) -> list[pa.Array]:
    if not any(map(is_not, terms, repeat(None))):
        return [pa.nulls(count, kind) for kind in _TERMS_TYPES]
    # The engine gives every event of an order that order's one OrderTerms object until a
    # replace changes it, so each distinct object is converted once and its row repeated.
    # Every object is alive in the batch while this runs, so their ids are distinct.
    ids = list(map(id, terms))
    last_row = dict(zip(ids, range(count), strict=True))
    if len(last_row) * 4 > count * 3:
        return _terms_arrays(terms)
    slots = dict(zip(last_row, range(len(last_row)), strict=True))
    rows = pa.array(list(map(slots.__getitem__, ids)), pa.int32())
    distinct = list(map(terms.__getitem__, last_row.values()))
    struct = pa.StructArray.from_arrays(_terms_arrays(distinct), _TERMS_NAMES)
    return struct.take(rows).flatten()  # type: ignore[no-any-return]


def _terms_arrays(terms: Sequence[OrderTerms | None]) -> list[pa.Array]:
    (
        cl_ord_id, account, symbol, side, ord_type, time_in_force, quantity, price,
        stop_price, expire_time_ns,
    ) = _attributes(terms, OrderTerms)  # fmt: skip
    return [
        pa.array(cl_ord_id, _S),
        pa.array(account, _S),
        pa.array(symbol, _S),
        _enum_names(side, Side),
        _enum_names(ord_type, OrdType),
        _enum_names(time_in_force, TimeInForce),
        pa.array(quantity, _I64),
        _decimal(price, _PRICE),
        _decimal(stop_price, _PRICE),
        _timestamps(expire_time_ns),
    ]


def _object_columns(
    objects: Sequence[Any], kind: type[Any], types: tuple[pa.DataType, ...], count: int
) -> list[pa.Array]:
    if not any(map(is_not, objects, repeat(None))):
        return [pa.nulls(count, t) for t in types]
    values = _attributes(objects, kind)
    return [pa.array(column, t) for column, t in zip(values, types, strict=True)]


def _attributes(objects: Sequence[Any], kind: type[Any]) -> list[list[Any]]:
    """Each attribute of `kind` over a column of objects or None, as one list apiece."""
    if not all(map(is_not, objects, repeat(None))):
        blank = _BLANK[kind]
        objects = [blank if o is None else o for o in objects]
    return [list(map(getter, objects)) for getter in _GETTERS[kind]]


# ----------------------------------------------------------------------------- decoding


def events_from_batch(batch: pa.RecordBatch) -> list[Event]:
    """The events of a record batch written by `batch_from_events`, exactly as they were."""
    count = batch.num_rows
    if count == 0:
        return []
    column = batch.column
    return list(
        map(
            _MAKE_EVENT,
            zip(
                _ints(column(_INDEX["seq"])),
                _ints(column(_INDEX["event_time"])),
                _enums(column(_INDEX["kind"]), EventKind),
                _strings(column(_INDEX["session_id"])),
                _strings(column(_INDEX["order_id"])),
                _strings(column(_INDEX["cl_ord_id"])),
                _strings(column(_INDEX["orig_cl_ord_id"])),
                _terms(batch, _INDEX["terms_cl_ord_id"]),
                _terms(batch, _INDEX["requested_cl_ord_id"]),
                _enums(column(_INDEX["exec_type"]), ExecType),
                _enums(column(_INDEX["ord_status"]), OrdStatus),
                _ints(column(_INDEX["cum_quantity"])),
                _ints(column(_INDEX["leaves_quantity"])),
                _decimal_units(column(_INDEX["notional"])),
                _ints(column(_INDEX["last_quantity"])),
                _decimal_units(column(_INDEX["last_price"])),
                _strings(column(_INDEX["exec_id"])),
                _strings(column(_INDEX["venue"])),
                _strings(column(_INDEX["venue_order_id"])),
                _strings(column(_INDEX["venue_exec_id"])),
                _ints(column(_INDEX["ord_rej_reason"])),
                _ints(column(_INDEX["cxl_rej_reason"])),
                _enums(column(_INDEX["cxl_rej_response_to"]), CxlRejResponseTo),
                _strings(column(_INDEX["text"])),
                _objects(batch, "risk_check", RiskVerdict, 3),
                _ints(column(_INDEX["transact_time"])),
                _ints(column(_INDEX["received_time"])),
                _objects(batch, "fix_begin_string", FixContext, 5),
                _ints(column(_INDEX["avg_px_decimals"])),
                strict=True,
            ),
        )
    )


def _ints(array: pa.Array) -> list[Any]:
    """Python ints (None for nulls) of an integer or timestamp column."""
    if pa.types.is_timestamp(array.type):
        array = array.view(_I64)
    if array.null_count == 0:
        return array.to_numpy().tolist()  # type: ignore[no-any-return]
    if array.null_count == len(array):
        return [None] * len(array)
    return array.to_pylist()


def _strings(array: pa.Array) -> list[Any]:
    if array.null_count == len(array):
        return [None] * len(array)
    return array.to_pylist()


def _enums(array: pa.Array, enum: type[Enum]) -> list[Any]:
    """Enum members (None for null) of a column of readable names, looked up in Arrow."""
    if array.null_count == len(array):
        return [None] * len(array)
    options, members = _ENUM_LOOKUP[enum]
    indices = pc.call_function("index_in", [array], options)
    return members[indices.to_numpy()].tolist()  # type: ignore[no-any-return]


def _decimal_units(array: pa.Array) -> list[Any]:
    """The unscaled integers of a decimal128 column, read from its two 64-bit words."""
    count = len(array)
    if array.null_count == count:
        return [None] * count
    words = np.frombuffer(array.buffers()[1], np.int64, 2 * count, 16 * array.offset)
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, low >> 63):
        # Beyond 64 bits: let Decimal carry the value.
        return [None if v is None else int(v.scaleb(array.type.scale)) for v in array.to_pylist()]
    units = low.tolist()
    if array.null_count:
        for index in np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False)).tolist():
            units[index] = None
    return units  # type: ignore[no-any-return]


def _terms(batch: pa.RecordBatch, first: int) -> list[OrderTerms | None]:
    """OrderTerms per row from the ten columns from `first`; a null side means None."""
    return _sparse(batch, first, first + 3, 10, _build_terms)


def _build_terms(columns: list[pa.Array]) -> list[OrderTerms | None]:
    rows = zip(
        _strings(columns[0]),
        _strings(columns[1]),
        _strings(columns[2]),
        _enums(columns[3], Side),
        _enums(columns[4], OrdType),
        _enums(columns[5], TimeInForce),
        _ints(columns[6]),
        _decimal_units(columns[7]),
        _decimal_units(columns[8]),
        _ints(columns[9]),
        strict=True,
    )
    return [None if row[3] is None else OrderTerms(*row) for row in rows]


def _objects(batch: pa.RecordBatch, first_name: str, kind: type, width: int) -> list[Any]:
    """RiskVerdict or FixContext per row from `width` columns; the first is null for None."""
    first = _INDEX[first_name]

    def build(columns: list[pa.Array]) -> list[Any]:
        rows = zip(*[_strings(column) for column in columns], strict=True)
        return [None if row[0] is None else kind(*row) for row in rows]

    return _sparse(batch, first, first, width, build)


def _sparse(
    batch: pa.RecordBatch,
    first: int,
    key: int,
    width: int,
    build: Callable[[list[pa.Array]], list[Any]],
) -> list[Any]:
    """Objects built by `build` from `width` columns; None where column `key` is null.

    When most rows are None (replace requests, risk denials), only the others are taken
    out and built: the columns' work is per row, a `take` is one call.
    """
    count = batch.num_rows
    present = batch.column(key)
    nulls = present.null_count
    if nulls == count:
        return [None] * count
    columns = [batch.column(first + i) for i in range(width)]
    if nulls * 2 <= count:
        return build(columns)
    positions = np.flatnonzero(present.is_valid().to_numpy(zero_copy_only=False))
    taken = pa.StructArray.from_arrays(columns, [str(i) for i in range(width)]).take(positions)
    objects = np.full(count, None, dtype=object)
    objects[positions] = build(taken.flatten())
    return objects.tolist()  # type: ignore[no-any-return]
