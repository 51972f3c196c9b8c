"""Decimal128 columns from the engine's integer units and back, and AvgPx.

A price (or notional) in units of 1e-8 is stored unchanged as the unscaled value of a
decimal128 of scale 8, so both directions are integer work on the column's two 64-bit
words, without a Decimal object per row; only values beyond 64 bits take a slower, exact
path through Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa

from oms.model import PRICE_SCALE, average_price

# AvgPx is stated to the tick's decimals plus four (oms.refdata), at most 12 for a tick of
# 1e-8; a finer AvgPx is rounded to 12 places in the column only.
AVG_PRICE_SCALE = 12
AVG_PRICE = pa.decimal128(38, AVG_PRICE_SCALE)

# Wide enough for any decimal128, so that moving the decimal point never rounds.
_EXACT = Context(prec=40)
_POW10 = [10**i for i in range(AVG_PRICE_SCALE + 1)]
_AVG_QUANTUM = Decimal(1).scaleb(-AVG_PRICE_SCALE)


def decimal_array(values: Sequence[int | None], kind: pa.Decimal128Type) -> pa.Array:
    """Integer units (or None) as the unscaled values of a decimal128 column."""
    try:
        ints = pa.array(values, pa.int64())
    except (OverflowError, pa.ArrowInvalid):
        scale = kind.scale
        exact = [None if v is None else Decimal(v).scaleb(-scale, _EXACT) for v in values]
        return pa.array(exact, kind)
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


def decimal_units(array: pa.Array) -> list[Any]:
    """The unscaled integers (or None) of a decimal128 column."""
    count = len(array)
    if array.null_count == count:
        return [None] * count
    words = np.frombuffer(array.buffers()[1], np.int64, 2 * count, 16 * array.offset)
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, low >> 63):
        scale = array.type.scale
        return [None if v is None else int(v.scaleb(scale, _EXACT)) for v in array.to_pylist()]
    units = low.tolist()
    if array.null_count:
        for index in np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False)).tolist():
            units[index] = None
    return units  # type: ignore[no-any-return]


def avg_price_array(
    notional: Sequence[int], cum_quantity: Sequence[int], decimals: Sequence[int]
) -> pa.Array:
    """AvgPx per row as `AVG_PRICE`; 0 where nothing is filled, as average_price says."""
    units = [
        avg_price_units(n, q, d) if q > 0 else 0
        for n, q, d in zip(notional, cum_quantity, decimals, strict=True)
    ]
    return decimal_array(units, AVG_PRICE)


def avg_price_units(notional: int, quantity: int, decimals: int) -> int:
    """AvgPx in units of 1e-12, equal to oms.model.average_price but in integers.

    average_price divides in a 28-digit Decimal context and then rounds; exact integer
    rounding gives the same answer except within a hair of a half-way tie, where the first
    rounding can land on the tie. Those few cases are handed to the Decimal code itself.
    """
    places = min(decimals, AVG_PRICE_SCALE)
    denominator = quantity * PRICE_SCALE
    whole, remainder = divmod(notional * _POW10[places], denominator)
    # Twice the distance to the tie, against the denominator. The 28-digit quotient is off
    # by less than 0.5e-4 of a last place while AvgPx is below 1e11.
    off_tie = 2 * remainder - denominator
    if decimals <= AVG_PRICE_SCALE and abs(off_tie) * 10_000 >= denominator:
        return (whole + 1 if off_tie > 0 else whole) * _POW10[AVG_PRICE_SCALE - places]
    try:
        exact = average_price(notional, quantity, decimals)
        return int(exact.quantize(_AVG_QUANTUM, rounding=ROUND_HALF_EVEN).scaleb(AVG_PRICE_SCALE))
    except InvalidOperation:
        # More digits than a 28-digit Decimal holds, so no client was told this AvgPx:
        # state it exactly.
        if off_tie > 0 or (off_tie == 0 and whole % 2):
            whole += 1
        return whole * _POW10[AVG_PRICE_SCALE - places]
