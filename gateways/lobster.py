"""LOBSTER message files: a day of one instrument's exchange order flow, one event a line.

LOBSTER (lobsterdata.com) rebuilds the Nasdaq order book from TotalView-ITCH. Its message
file has no header and six columns:

    time        seconds after midnight, with up to nine decimals
    event type  1 submit, 2 partial cancel, 3 delete, 4 visible execution,
                5 hidden execution, 6 cross trade, 7 trading halt
    order id    the exchange's order reference (0 for hidden executions)
    size        shares
    price       dollars times 10,000
    direction   1 buy, -1 sell; for an execution, the side of the resting order

This module only reads the file: what the events become is `gateways.demo.flow`'s job.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from pathlib import Path
from typing import NewType

from oms.model import PRICE_SCALE, Side

LobsterOrderID = NewType("LobsterOrderID", int)

# LOBSTER states prices in units of 1/10,000 of a dollar.
LOBSTER_PRICE_SCALE = 10_000
_COLUMNS = ("time", "event type", "order id", "size", "price", "direction")


class EventType(int, Enum):
    """LOBSTER's event type (second column)."""

    SUBMIT = 1
    PARTIAL_CANCEL = 2
    DELETE = 3
    VISIBLE_EXECUTION = 4
    HIDDEN_EXECUTION = 5
    CROSS_TRADE = 6
    HALT = 7

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").lower()


class LobsterFormatError(ValueError):
    """A line that is not a LOBSTER message; the text names the file, line and column."""


@dataclass(frozen=True, slots=True)
class LobsterEvent:
    line: int
    time_ns: int  # after midnight
    event_type: EventType
    order_id: LobsterOrderID
    size: int
    price: int  # dollars x 10,000, as in the file
    direction: int  # 1 buy, -1 sell

    @property
    def side(self) -> Side:
        return Side.BUY if self.direction == 1 else Side.SELL

    @property
    def price_units(self) -> int:
        """The price in the OMS's units (`oms.model.PRICE_SCALE` per dollar)."""
        return self.price * (PRICE_SCALE // LOBSTER_PRICE_SCALE)

    @property
    def price_text(self) -> str:
        """The price as FIX writes it: plain decimal digits, four places."""
        return format(Decimal(self.price).scaleb(-4), "f")


def read_messages(path: Path, limit: int = 0) -> Iterator[LobsterEvent]:
    """The events of a LOBSTER message file in file order (the first `limit` when > 0)."""
    with path.open(newline="", encoding="ascii") as file:
        for number, row in enumerate(csv.reader(file), start=1):
            if limit and number > limit:
                return
            if not row:
                continue
            yield _event(row, f"{path}:{number}", number)


def symbol_from_file_name(path: Path) -> str | None:
    """The ticker a LOBSTER file name starts with (AMZN_2012-06-21_..._message_1.csv)."""
    ticker, underscore, _ = path.name.partition("_")
    return ticker if underscore and ticker else None


def _event(row: list[str], where: str, line: int) -> LobsterEvent:
    if len(row) != len(_COLUMNS):
        raise LobsterFormatError(f"{where}: {len(row)} columns, a message line has 6")
    try:
        seconds = Decimal(row[0])
    except InvalidOperation:
        raise LobsterFormatError(f"{where}: time is not a number: {row[0]!r}") from None
    if not seconds.is_finite() or seconds < 0:
        raise LobsterFormatError(f"{where}: time is not a time of day: {row[0]!r}")
    code, order_id, size, price, direction = (
        _integer(row[column], _COLUMNS[column], where) for column in range(1, 6)
    )
    try:
        event_type = EventType(code)
    except ValueError:
        raise LobsterFormatError(f"{where}: event type {code} is not 1 to 7") from None
    if direction not in (1, -1):
        raise LobsterFormatError(f"{where}: direction {direction} is neither 1 nor -1")
    if size < 0 or order_id < 0:
        raise LobsterFormatError(f"{where}: size and order id cannot be negative")
    return LobsterEvent(
        line,
        int(seconds * 1_000_000_000),
        event_type,
        LobsterOrderID(order_id),
        size,
        price,
        direction,
    )


def _integer(text: str, column: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise LobsterFormatError(f"{where}: {column} is not a whole number: {text!r}") from None
