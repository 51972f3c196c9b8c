"""Arrow tables as aligned text: what `oms audit` prints.

Each column is turned into text by Arrow in one call where it can (times, decimals,
numbers), so a long result costs little more than printing it. Numbers line up on the
right, everything else on the left. Prices and other decimals keep every digit that is
not a trailing zero, and at least two decimals ("190.00", "190.125"); times are UTC to
the digit the log keeps. FIX messages show their field separator (SOH) as "|".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

_GAP = "  "
# SOH separates FIX fields; other control characters would break the line or the columns.
_CONTROL = {0x01: "|", **{code: " " for code in range(0x20) if code != 0x01}, 0x7F: " "}


def table_lines(
    table: pa.Table, headers: Mapping[str, str] | None = None, columns: Sequence[str] = ()
) -> list[str]:
    """The table as a header, a rule and one line per row.

    `columns` picks and orders the columns (all of them when empty); `headers` renames
    them for the header line.
    """
    names = list(columns) or list(table.column_names)
    headers = headers or {}
    cells: list[list[str]] = []
    right: list[bool] = []
    for name in names:
        column = table.column(name)
        cells.append(column_texts(column))
        right.append(_is_number(column.type))
    titles = [headers.get(name, name) for name in names]
    widths = [
        max([len(title), *map(len, texts)]) for title, texts in zip(titles, cells, strict=True)
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            value.rjust(width) if is_right else value.ljust(width)
            for value, width, is_right in zip(values, widths, right, strict=True)
        ]
        return _GAP.join(parts).rstrip()

    lines = [line(titles), line(["-" * width for width in widths])]
    lines.extend(line(row) for row in zip(*cells, strict=True))
    return lines


def column_texts(column: pa.ChunkedArray | pa.Array) -> list[str]:
    """Each value of a column as display text; an empty string for null."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        texts = pc.strftime(column, format="%Y-%m-%d %H:%M:%S").to_pylist()
    elif pa.types.is_decimal(kind):
        texts = [_decimal_text(t) for t in pc.cast(column, pa.string()).to_pylist()]
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        texts = [None if t is None else t.translate(_CONTROL) for t in column.to_pylist()]
    elif _is_number(kind) or pa.types.is_boolean(kind) or pa.types.is_date(kind):
        texts = pc.cast(column, pa.string()).to_pylist()
    else:
        try:
            texts = pc.cast(column, pa.string()).to_pylist()
        except pa.ArrowNotImplementedError:
            texts = [None if v is None else str(v) for v in column.to_pylist()]
    return ["" if text is None else text for text in texts]


def _decimal_text(text: str | None) -> str | None:
    """Trailing zeros dropped, down to two decimals: "190.10000000" is "190.10"."""
    if text is not None and "E" in text:
        # Arrow writes a zero of a large scale in exponent form ("0E-12").
        text = format(Decimal(text), "f")
    if text is None or "." not in text:
        return text
    whole, fraction = text.split(".")
    kept = fraction.rstrip("0")
    if len(kept) < 2:
        kept = fraction[:2]
    return f"{whole}.{kept}"


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )
