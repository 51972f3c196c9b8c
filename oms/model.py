"""The order domain: identifiers, FIX enumerations and exact prices.

Every kind of identifier is its own type, so that a client order id can never be passed
where an order id is expected. They are `NewType`s over `str`: mypy keeps them apart and
they cost nothing at run time, which matters on the order path.

Prices are scaled integers (`PRICE_SCALE` units per currency unit); quantities are whole
units. Decimal appears only at the edges (FIX fields, reports, the audit log), never a
binary float.
"""

from __future__ import annotations

from decimal import MAX_PREC, ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation
from enum import Enum
from typing import NewType

ClOrdID = NewType("ClOrdID", str)
OrderID = NewType("OrderID", str)
ExecID = NewType("ExecID", str)
VenueOrderID = NewType("VenueOrderID", str)
Account = NewType("Account", str)
Symbol = NewType("Symbol", str)
SessionID = NewType("SessionID", str)
VenueName = NewType("VenueName", str)

# One currency unit is this many price units: eight decimal places are exact.
PRICE_SCALE = 100_000_000
PRICE_DECIMALS = 8
_SCALE = Decimal(PRICE_SCALE)
# Scaling a price is exact or refused. The default context keeps 28 digits and rounds
# beyond them: 190.000000000000000000000000001 would have become 190.00 without a word.
_EXACT = Context(prec=MAX_PREC, traps=[InvalidOperation, Inexact])


class Side(str, Enum):
    """Side(54)."""

    BUY = "1"
    SELL = "2"
    SELL_SHORT = "5"
    SELL_SHORT_EXEMPT = "6"

    @property
    def is_buy(self) -> bool:
        return self is Side.BUY


class OrdType(str, Enum):
    """OrdType(40)."""

    MARKET = "1"
    LIMIT = "2"
    STOP = "3"
    STOP_LIMIT = "4"


class TimeInForce(str, Enum):
    """TimeInForce(59)."""

    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"
    GTD = "6"


class OrdStatus(str, Enum):
    """OrdStatus(39), FIX 4.4 codes."""

    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"

    @property
    def label(self) -> str:
        return _LABELS[self]


class ExecType(str, Enum):
    """ExecType(150), FIX 4.4 codes (4.2's Partial fill and Fill are mapped at the wire)."""

    NEW = "0"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    RESTATED = "D"
    PENDING_REPLACE = "E"
    TRADE = "F"
    ORDER_STATUS = "I"

    @property
    def label(self) -> str:
        return _LABELS[self]


class OrdRejReason(int, Enum):
    """OrdRejReason(103)."""

    BROKER_OPTION = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    ORDER_EXCEEDS_LIMIT = 3
    TOO_LATE_TO_ENTER = 4
    UNKNOWN_ORDER = 5
    DUPLICATE_ORDER = 6
    STALE_ORDER = 8
    UNSUPPORTED_ORDER_CHARACTERISTIC = 11
    INCORRECT_QUANTITY = 13
    UNKNOWN_ACCOUNT = 15
    OTHER = 99


class CxlRejReason(int, Enum):
    """CxlRejReason(102)."""

    TOO_LATE_TO_CANCEL = 0
    UNKNOWN_ORDER = 1
    BROKER_OPTION = 2
    ALREADY_PENDING = 3
    DUPLICATE_CLORDID = 6
    OTHER = 99


class CxlRejResponseTo(str, Enum):
    """CxlRejResponseTo(434)."""

    CANCEL = "1"
    REPLACE = "2"


_LABELS = {
    OrdStatus.NEW: "New",
    OrdStatus.PARTIALLY_FILLED: "Partially Filled",
    OrdStatus.FILLED: "Filled",
    OrdStatus.DONE_FOR_DAY: "Done for Day",
    OrdStatus.CANCELED: "Canceled",
    OrdStatus.PENDING_CANCEL: "Pending Cancel",
    OrdStatus.REJECTED: "Rejected",
    OrdStatus.PENDING_NEW: "Pending New",
    OrdStatus.EXPIRED: "Expired",
    OrdStatus.PENDING_REPLACE: "Pending Replace",
    ExecType.NEW: "New",
    ExecType.DONE_FOR_DAY: "Done for Day",
    ExecType.CANCELED: "Canceled",
    ExecType.REPLACED: "Replaced",
    ExecType.PENDING_CANCEL: "Pending Cancel",
    ExecType.REJECTED: "Rejected",
    ExecType.PENDING_NEW: "Pending New",
    ExecType.EXPIRED: "Expired",
    ExecType.RESTATED: "Restated",
    ExecType.PENDING_REPLACE: "Pending Replace",
    ExecType.TRADE: "Trade",
    ExecType.ORDER_STATUS: "Order Status",
}


def price_from_decimal(value: Decimal | str | int) -> int:
    """A price in scaled units; raises ValueError if it has more than eight decimals."""
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise ValueError(f"not a decimal number: {value!r}") from error
    try:
        scaled: Decimal | None = _EXACT.multiply(number, _SCALE)
    except ArithmeticError:
        scaled = None
    if scaled is None or not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise ValueError(f"not a price with at most {PRICE_DECIMALS} decimals: {value!r}")
    return int(scaled)


def price_to_decimal(units: int) -> Decimal:
    """The exact decimal of a scaled price, without trailing zeros beyond two places."""
    value = Decimal(units) / _SCALE
    return value.quantize(Decimal("0.01")) if value == value.quantize(Decimal("0.01")) else (
        value.normalize()
    )


def average_price(notional: int, quantity: int, decimals: int) -> Decimal:
    """AvgPx(6): notional over quantity, rounded half-even to `decimals` places."""
    if quantity <= 0:
        return Decimal(0)
    exact = Decimal(notional) / (Decimal(quantity) * _SCALE)
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
