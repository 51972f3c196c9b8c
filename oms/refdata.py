"""Reference data: the instruments the OMS trades, read from a CSV file in `config/`."""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from oms.model import PRICE_SCALE, Symbol, price_from_decimal

INSTRUMENT_COLUMNS = (
    "symbol",
    "exchange",
    "currency",
    "tick_size",
    "lot_size",
    "reference_price",
    "tradable",
)


class ReferenceDataError(ValueError):
    """A reference data file that cannot be used; the message names file, line and column."""


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: Symbol
    exchange: str
    currency: str
    tick: int  # in price units
    lot: int
    reference_price: int  # in price units
    tradable: bool
    # AvgPx(6) is stated to four more places than the tick has.
    avg_px_decimals: int

    @property
    def tick_size(self) -> Decimal:
        return Decimal(self.tick) / PRICE_SCALE

    def with_reference_price(self, price: int) -> Instrument:
        return dataclasses.replace(self, reference_price=price)


def make_instrument(
    symbol: str,
    tick_size: str = "0.01",
    lot: int = 1,
    reference_price: str = "100.00",
    *,
    exchange: str = "XNAS",
    currency: str = "USD",
    tradable: bool = True,
) -> Instrument:
    """An instrument from decimal strings (tests, the demo and the venue use this)."""
    tick = price_from_decimal(tick_size)
    exponent = Decimal(tick_size).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return Instrument(
        symbol=Symbol(symbol),
        exchange=exchange,
        currency=currency,
        tick=tick,
        lot=lot,
        reference_price=price_from_decimal(reference_price),
        tradable=tradable,
        avg_px_decimals=max(0, -exponent) + 4,
    )


def load_instruments(path: Path) -> dict[Symbol, Instrument]:
    """Read an instruments CSV file (header: `INSTRUMENT_COLUMNS`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ReferenceDataError(f"{path}: cannot read: {error.strerror}") from error
    # Comment lines are left out; `numbers` keeps each line's number in the file.
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
                if not line.startswith("#")]
    numbers = [n for n, _ in numbered]
    rows = csv.DictReader(line for _, line in numbered)
    missing = set(INSTRUMENT_COLUMNS) - set(rows.fieldnames or ())
    if missing:
        raise ReferenceDataError(f"{path}: missing columns: {', '.join(sorted(missing))}")
    instruments: dict[Symbol, Instrument] = {}
    for row in rows:
        number = numbers[rows.line_num - 1]
        instrument = _instrument(row, f"{path}:{number}")
        if instrument.symbol in instruments:
            raise ReferenceDataError(f"{path}:{number}: symbol {instrument.symbol} listed twice")
        instruments[instrument.symbol] = instrument
    return instruments


def _instrument(row: dict[str | None, Any], where: str) -> Instrument:
    # csv.DictReader fills the columns a short line lacks with None and keeps a long line's
    # extra fields under the key None.
    fields = sum(1 for column in INSTRUMENT_COLUMNS if row.get(column) is not None)
    fields += len(row.get(None) or ())
    if fields != len(INSTRUMENT_COLUMNS):
        raise ReferenceDataError(
            f"{where}: {fields} fields, the header has {len(INSTRUMENT_COLUMNS)} "
            f"({','.join(INSTRUMENT_COLUMNS)})"
        )

    def price(column: str) -> int:
        try:
            value = price_from_decimal(row[column].strip())
        except ValueError as error:
            raise ReferenceDataError(f"{where}: {column}: {error}") from error
        if value <= 0:
            raise ReferenceDataError(f"{where}: {column} must be positive: {row[column]!r}")
        return value

    symbol = row["symbol"].strip()
    if not symbol:
        raise ReferenceDataError(f"{where}: symbol is empty")
    # Orders are checked against it: Currency(15) must match (gateways.fix.instructions).
    if not row["currency"].strip():
        raise ReferenceDataError(f"{where}: currency is empty")
    try:
        lot = int(row["lot_size"])
    except ValueError as error:
        raise ReferenceDataError(
            f"{where}: lot_size is not a whole number: {row['lot_size']!r}"
        ) from error
    if lot <= 0:
        raise ReferenceDataError(f"{where}: lot_size must be positive: {lot}")
    tradable = row["tradable"].strip().lower()
    if tradable not in ("true", "false"):
        raise ReferenceDataError(f"{where}: tradable must be true or false: {tradable!r}")
    tick = price("tick_size")
    reference = price("reference_price")
    if reference % tick:
        raise ReferenceDataError(f"{where}: reference_price is not on the tick grid")
    return make_instrument(
        symbol,
        row["tick_size"].strip(),
        lot,
        row["reference_price"].strip(),
        exchange=row["exchange"].strip(),
        currency=row["currency"].strip(),
        tradable=tradable == "true",
    )
