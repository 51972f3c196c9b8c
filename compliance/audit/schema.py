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
the engine thread. Events are transposed with zip(*events); the columns of one Arrow type
are then built by one pyarrow call together and sliced apart. Decoding goes column by
column through to_pylist, numpy and look-up tables, and builds each Event with
tuple.__new__.

A kill switch row (kind `kill_switch`, no order) keeps its account in `account` (null for
every account), its state in `risk_value` (`engaged` or `released`) and the operator's
reason in `text`; the `account` column is otherwise the terms' account.

Times are UTC nanosecond timestamps. Other schema metadata of a segment (its place in the
hash chain) is described in `compliance.audit.segments`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from enum import Enum
from functools import partial
from itertools import chain, repeat
from operator import attrgetter, is_not
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from compliance.audit.decimals import AVG_PRICE, avg_price_array, decimal_array, decimal_units
from compliance.audit.errors import SchemaError
from oms.commands import FixContext
from oms.events import Event, EventKind, RiskVerdict
from oms.model import (
    PRICE_DECIMALS,
    CxlRejResponseTo,
    ExecType,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from oms.order import OrderTerms

log = logging.getLogger(__name__)

# Bump when a column is added, removed or changes meaning; readers refuse what they do not
# know rather than misread it.
SCHEMA_VERSION = 1
SCHEMA_VERSION_KEY = b"audit.schema_version"

_TIME = pa.timestamp("ns", tz="UTC")
_PRICE = pa.decimal128(38, PRICE_DECIMALS)
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
    # The order's terms after the event (null when the event concerns no known order; a
    # kill switch's account is kept in `account` all the same).
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
    _field("avg_price", AVG_PRICE, False),
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
_DECODED_ENUMS: tuple[type[Enum], ...] = (*_ENUMS, EventKind)
_MEMBER_BY_NAME = {
    enum: {None: None, **dict(zip(_readable_names(enum), enum, strict=True))}
    for enum in _DECODED_ENUMS
}


def _lookup_table(enum: type[Enum]) -> tuple[pc.SetLookupOptions, np.ndarray]:
    """Finds a readable name's position (a null finds the last) and the members in order."""
    names: list[str | None] = [*_readable_names(enum), None]
    members = np.empty(len(names), dtype=object)
    members[:-1] = list(enum)
    return pc.SetLookupOptions(pa.array(names, _S), skip_nulls=False), members


_ENUM_LOOKUP = {enum: _lookup_table(enum) for enum in _DECODED_ENUMS}
# From this many rows on, a lookup in Arrow beats one in Python despite its set-up.
_LOOKUP_IN_ARROW_FROM = 256


def _blank(kind: type[Any]) -> Any:
    """An instance of a __slots__ class with every attribute None: stands in for None, so
    that each attribute is read with one C-level map over the column."""
    blank = object.__new__(kind)
    for name in kind.__slots__:
        setattr(blank, name, None)
    return blank


_BLANK = {kind: _blank(kind) for kind in (OrderTerms, FixContext, RiskVerdict)}
_GETTERS = {kind: [attrgetter(name) for name in kind.__slots__] for kind in _BLANK}
# Columns restating OrderTerms, FixContext and RiskVerdict, in the order of their slots.
_TERMS_COLUMNS = COLUMNS[_INDEX["terms_cl_ord_id"] :][:10]
_REQUESTED_COLUMNS = COLUMNS[_INDEX["requested_cl_ord_id"] :][:10]
_RISK_COLUMNS = COLUMNS[_INDEX["risk_check"] :][:3]
_FIX_COLUMNS = COLUMNS[_INDEX["fix_begin_string"] :][:5]
# Columns of readable enum names (the FIX-code columns take the members as they are).
_NAMED_ENUM_COLUMNS = (
    ("exec_type", ExecType),
    ("ord_status", OrdStatus),
    ("side", Side),
    ("ord_type", OrdType),
    ("time_in_force", TimeInForce),
    ("cxl_rej_response_to", CxlRejResponseTo),
    ("requested_side", Side),
    ("requested_ord_type", OrdType),
    ("requested_time_in_force", TimeInForce),
)
_TIME_COLUMNS = tuple(f.name for f in FIELDS if f.type == _TIME)
_WIDE_NAMES = [str(i) for i in range(10)]
_TYPES = {f.name: f.type for f in FIELDS}
_MAKE_EVENT = partial(tuple.__new__, Event)


# ----------------------------------------------------------------------------- encoding


def batch_from_events(events: Sequence[Event]) -> pa.RecordBatch:
    """One record batch holding `events` in order (at least one).

    A string that is not valid Unicode (a lone surrogate: bytes a peer sent that were not
    UTF-8, which the gateways should have refused) must not stop the log, since the OMS
    halts when its log fails: the batch is then written with each such string's bad code
    points as backslash escapes ("AAPL\\udce9"), and a warning is logged.
    """
    try:
        return _batch_from_events(events)
    except UnicodeEncodeError as error:
        log.warning("audit events hold text that is not valid Unicode, written escaped: %s",
                    error)
        return _batch_from_events([_MAKE_EVENT(map(_escaped, event)) for event in events])


def _escaped(value: Any) -> Any:
    """`value` with every string in it made encodable, code points past repair escaped."""
    if isinstance(value, str) and not isinstance(value, Enum):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    kind = type(value)
    if kind in _BLANK:
        copy = object.__new__(kind)
        for name in kind.__slots__:
            setattr(copy, name, _escaped(getattr(value, name)))
        return copy
    return value


def _batch_from_events(events: Sequence[Event]) -> pa.RecordBatch:
    """`batch_from_events` for events whose strings all encode as UTF-8.

    Columns that share an Arrow type are converted together, by one pa.array call over
    all of them, and then sliced apart without copying: each call costs a few microseconds
    before its first value, which in a small batch (durable mode in a quiet market) would
    otherwise be most of the work, and of the commit's latency.
    """
    (
        seq, time_ns, kind, session, order_id, cl_ord_id, orig_cl_ord_id, terms,
        requested, exec_type, ord_status, cum_quantity, leaves_quantity, notional,
        last_quantity, last_price, exec_id, venue, venue_order_id, venue_exec_id,
        ord_rej_reason, cxl_rej_reason, cxl_rej_response_to, text, risk,
        transact_time_ns, received_ns, fix, avg_px_decimals, account,
    ) = zip(*events, strict=True)  # fmt: skip

    values: dict[str, Sequence[Any]] = {
        "seq": seq,
        "event_time": time_ns,
        "received_time": received_ns,
        "transact_time": transact_time_ns,
        # EventKind values are already its readable names; str enums give their FIX codes.
        "kind": kind,
        "exec_type": exec_type,
        "exec_type_code": exec_type,
        "ord_status": ord_status,
        "ord_status_code": ord_status,
        "session_id": session,
        "order_id": order_id,
        "cl_ord_id": cl_ord_id,
        "orig_cl_ord_id": orig_cl_ord_id,
        "exec_id": exec_id,
        "venue": venue,
        "venue_order_id": venue_order_id,
        "venue_exec_id": venue_exec_id,
        "cum_quantity": cum_quantity,
        "leaves_quantity": leaves_quantity,
        "last_quantity": last_quantity,
        "last_price": last_price,
        "notional": notional,
        "avg_px_decimals": avg_px_decimals,
        "ord_rej_reason": ord_rej_reason,
        "cxl_rej_reason": cxl_rej_reason,
        "cxl_rej_response_to": cxl_rej_response_to,
        "text": text,
    }
    arrays: dict[str, pa.Array] = {}
    nested: tuple[tuple[Sequence[Any], type[Any], tuple[str, ...]], ...] = (
        (terms, OrderTerms, _TERMS_COLUMNS),
        (requested, OrderTerms, _REQUESTED_COLUMNS),
        (risk, RiskVerdict, _RISK_COLUMNS),
        (fix, FixContext, _FIX_COLUMNS),
    )
    for objects, holder, names in nested:
        _add_objects(objects, holder, names, values, arrays)
    if any(map(is_not, account, repeat(None))):
        # Events without terms (a kill switch) keep their own account in the column.
        arrays.pop("account", None)
        values["account"] = [
            own if own is not None else (t.account if t is not None else None)
            for own, t in zip(account, terms, strict=True)
        ]
    arrays.update(_convert(values))
    arrays["avg_price"] = avg_price_array(notional, cum_quantity, avg_px_decimals)
    return pa.RecordBatch.from_arrays([arrays[name] for name in COLUMNS], schema=SCHEMA)


def _add_objects(
    objects: Sequence[Any],
    kind: type[Any],
    names: tuple[str, ...],
    values: dict[str, Sequence[Any]],
    arrays: dict[str, pa.Array],
) -> None:
    """The columns restating one attribute apiece of `objects`, as values or as arrays."""
    count = len(objects)
    if not any(map(is_not, objects, repeat(None))):
        arrays.update((name, pa.nulls(count, _TYPES[name])) for name in names)
        return
    if kind is OrderTerms and count >= _DEDUPE_FROM:
        # Every event of an order carries the order's one OrderTerms object until a replace
        # changes it, so each distinct object is converted once and its row repeated. The
        # objects are all alive in the batch while this runs, so their ids are distinct.
        ids = list(map(id, objects))
        last_row = dict(zip(ids, range(count), strict=True))
        if len(last_row) * 2 <= count:
            slots = dict(zip(last_row, range(len(last_row)), strict=True))
            rows = pa.array(list(map(slots.__getitem__, ids)), pa.int32())
            distinct = [objects[row] for row in last_row.values()]
            once = _convert(dict(zip(names, _attributes(distinct, kind), strict=True)))
            struct = pa.StructArray.from_arrays([once[name] for name in names], names)
            arrays.update(zip(names, struct.take(rows).flatten(), strict=True))
            return
    values.update(zip(names, _attributes(objects, kind), strict=True))


def _convert(values: dict[str, Sequence[Any]]) -> dict[str, pa.Array]:
    """Arrays of equally long columns of Python values, one pa.array call per stack."""
    for name, enum in _NAMED_ENUM_COLUMNS:
        if name in values:
            values[name] = list(map(_NAME_BY_ID[enum].get, map(id, values[name])))
    count = len(next(iter(values.values())))
    arrays: dict[str, pa.Array] = {}
    for names, convert in _STACKS:
        present = [name for name in names if name in values]
        if not present:
            continue
        stacked = convert(list(chain.from_iterable(values[name] for name in present)))
        for index, name in enumerate(present):
            arrays[name] = stacked.slice(index * count, count)
    for name in _TIME_COLUMNS:
        if name in arrays:
            arrays[name] = arrays[name].view(_TIME)
    return arrays


# Below this many rows, finding the distinct OrderTerms costs more than converting them all.
_DEDUPE_FROM = 64


def _stacks() -> list[tuple[tuple[str, ...], Callable[[list[Any]], pa.Array]]]:
    """Columns grouped by how their values convert, in schema order within each group."""
    groups: dict[str, tuple[list[str], Callable[[list[Any]], pa.Array]]] = {}
    convert: Callable[[list[Any]], pa.Array]
    for field in FIELDS:
        kind = field.type
        if field.name == "avg_price":
            continue
        if pa.types.is_decimal(kind):
            key, convert = "price", partial(decimal_array, kind=kind)
        elif kind in (_I64, _TIME):
            key, convert = ("int64", partial(pa.array, type=_I64))
            if not field.nullable:
                key, convert = "int64 not null", _non_null_int64
        else:
            key, convert = str(kind), partial(pa.array, type=kind)
        groups.setdefault(key, ([], convert))[0].append(field.name)
    return [(tuple(names), convert) for names, convert in groups.values()]


def _non_null_int64(values: list[int]) -> pa.Array:
    return pa.array(np.fromiter(values, np.int64, len(values)))


def _attributes(objects: Sequence[Any], kind: type[Any]) -> list[list[Any]]:
    """Each attribute of `kind` over a column of objects or None, as one list apiece."""
    if not all(map(is_not, objects, repeat(None))):
        blank = _BLANK[kind]
        objects = [blank if o is None else o for o in objects]
    return [list(map(getter, objects)) for getter in _GETTERS[kind]]


_STACKS = _stacks()


# ----------------------------------------------------------------------------- decoding


def events_from_batch(batch: pa.RecordBatch) -> list[Event]:
    """The events of a record batch written by `batch_from_events`, exactly as they were."""
    count = batch.num_rows
    if count == 0:
        return []
    column = batch.column
    terms = _terms(batch, _INDEX["terms_cl_ord_id"])
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
                terms,
                _terms(batch, _INDEX["requested_cl_ord_id"]),
                _enums(column(_INDEX["exec_type"]), ExecType),
                _enums(column(_INDEX["ord_status"]), OrdStatus),
                _ints(column(_INDEX["cum_quantity"])),
                _ints(column(_INDEX["leaves_quantity"])),
                decimal_units(column(_INDEX["notional"])),
                _ints(column(_INDEX["last_quantity"])),
                decimal_units(column(_INDEX["last_price"])),
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
                _own_accounts(batch, terms),
                strict=True,
            ),
        )
    )


def _own_accounts(batch: pa.RecordBatch, terms: list[OrderTerms | None]) -> list[Any]:
    """The account of each row without terms (a kill switch's), else None."""
    accounts = batch.column(_INDEX["account"])
    without_terms = pc.and_(pc.is_null(batch.column(_INDEX["side"])), pc.is_valid(accounts))
    if not pc.any(without_terms).as_py():
        return [None] * batch.num_rows
    return [a if t is None else None for a, t in zip(_strings(accounts), terms, strict=True)]


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
    """Enum members (None for null) of a column of readable names."""
    count = len(array)
    if array.null_count == count:
        return [None] * count
    if count < _LOOKUP_IN_ARROW_FROM:
        return list(map(_MEMBER_BY_NAME[enum].__getitem__, array.to_pylist()))
    options, members = _ENUM_LOOKUP[enum]
    indices = pc.call_function("index_in", [array], options)
    return members[indices.to_numpy()].tolist()  # type: ignore[no-any-return]


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
        decimal_units(columns[7]),
        decimal_units(columns[8]),
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
    taken = pa.RecordBatch.from_arrays(columns, names=_WIDE_NAMES[:width]).take(positions)
    objects = np.full(count, None, dtype=object)
    objects[positions] = build(taken.columns)
    return objects.tolist()  # type: ignore[no-any-return]
