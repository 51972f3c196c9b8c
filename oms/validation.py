"""Validation of new and replace requests: what the OMS takes, before any risk check.

Each check names the field (with its FIX tag), the value and why, in a `Denial` that the
order engine turns into the answer at once; nothing here changes state. Also here: the
limits of what the audit log can hold (`out_of_range`) and the terms a request asked for,
as recorded with the request before any check.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import Enum

from compliance.risk import RiskChecks
from oms.commands import CancelOrder, Command, NewOrder, ReplaceOrder, StatusRequest
from oms.model import (
    Account,
    OrdRejReason,
    OrdType,
    SessionID,
    Symbol,
    TimeInForce,
    price_to_decimal,
)
from oms.order import Order, OrderTerms
from oms.refdata import Instrument

PRICED_TYPES = frozenset({OrdType.LIMIT, OrdType.STOP_LIMIT})
STOP_TYPES = frozenset({OrdType.STOP, OrdType.STOP_LIMIT})

# The largest values the OMS takes: a quantity and a notional (quantity x price units) that
# the audit log's decimal128 columns hold, and a time that fits nanoseconds in 64 bits.
MAX_QUANTITY = 10**12
MAX_PRICE = 10**17  # price units: one billion currency units
MAX_TIME_NS = 2**63 - 1


class SessionAccounts:
    """The accounts one client session may trade, and the one its orders default to."""

    __slots__ = ("accounts", "default")

    def __init__(self, accounts: Iterable[str], default: str | None = None) -> None:
        self.accounts = frozenset(Account(a) for a in accounts)
        self.default = Account(default) if default else None


class Denial(Exception):
    """Raised inside validation only, caught at once: the field, the value and the code."""

    def __init__(self, reason: int, text: str) -> None:
        super().__init__(text)
        self.reason = reason
        self.text = text


def validate_new(
    command: NewOrder,
    sessions: dict[SessionID, SessionAccounts],
    risk: RiskChecks,
    instruments: dict[Symbol, Instrument],
    clock: Callable[[], int],
) -> tuple[OrderTerms, Instrument]:
    """The order's terms, or a Denial naming the field and the value."""
    session = sessions.get(command.session)
    account = command.account
    if account is None:
        account = session.default if session is not None else None
        if account is None:
            raise Denial(
                OrdRejReason.UNKNOWN_ACCOUNT,
                f"Account(1) is missing and session {command.session} has no default",
            )
    if session is not None and account not in session.accounts:
        raise Denial(
            OrdRejReason.UNKNOWN_ACCOUNT,
            f"Account(1) {account} is not an account of session {command.session}",
        )
    if not risk.knows(account):
        raise Denial(OrdRejReason.UNKNOWN_ACCOUNT, f"Account(1) {account} is not known")
    instrument = instruments.get(command.symbol)
    if instrument is None:
        raise Denial(
            OrdRejReason.UNKNOWN_SYMBOL, f"Symbol(55) {command.symbol} is not known"
        )
    if not instrument.tradable:
        raise Denial(
            OrdRejReason.EXCHANGE_CLOSED,
            f"Symbol(55) {command.symbol} is not tradable (halted)",
        )
    ord_type = command.ord_type
    price, stop_price = _prices(ord_type, command.price, command.stop_price, instrument)
    if command.time_in_force is TimeInForce.GTD:
        _check_expiry(command.expire_time_ns, clock)
    terms = OrderTerms(
        command.cl_ord_id,
        account,
        instrument.symbol,
        command.side,
        ord_type,
        command.time_in_force,
        _quantity(command.quantity, instrument),
        price,
        stop_price,
        command.expire_time_ns,
    )
    return terms, instrument


def validate_replace(
    order: Order, command: ReplaceOrder, clock: Callable[[], int]
) -> OrderTerms:
    """The terms a replace asks for, or a Denial naming the field and both values.

    A replace restates the order (FIX 4.4 Vol. 2, OrderCancelReplaceRequest): Account(1),
    Side(54) and Symbol(55) must be the order's, and Price(44) is required where the
    OrdType has a limit price. OrdType(40), TimeInForce(59) and a GTD order's
    ExpireTime(126) cannot change, since no venue we route to can change them on a working
    order (it would keep the old ones while the client was told the new). Other fields
    left out keep their values, StopPx(99) and ExpireTime(126) included.
    """
    instrument = order.instrument
    assert instrument is not None
    old = order.terms
    if command.account is not None and command.account != old.account:
        raise _changed("Account(1)", old.account, command.account)
    if command.side is not None and command.side is not old.side:
        raise _changed("Side(54)", _name(old.side), _name(command.side))
    if command.symbol is not None and command.symbol != old.symbol:
        raise _changed("Symbol(55)", old.symbol, command.symbol)

    # The matching engines (embedded, and behind `oms venue`) replace quantity and prices
    # only, so a new OrdType is refused here, before Pending Replace, rather than by the
    # venue afterwards with a reason about the old OrdType.
    ord_type = command.ord_type or old.ord_type
    if ord_type is not old.ord_type:
        raise _changed("OrdType(40)", _name(old.ord_type), _name(ord_type))
    # TimeInForce(59) cannot change either: a resting order replaced to IOC or FOK would
    # go on resting (the venue keeps its TimeInForce), and Day to GTC would still end at
    # the close. We refuse the replace (CxlRejReason 99) rather than emulate the change.
    # TODO: carry TimeInForce and ExpireTime to the venues on a replace, so that a replace
    # to IOC or FOK can trade what it can and cancel the rest as FIX allows.
    time_in_force = command.time_in_force or old.time_in_force
    if time_in_force is not old.time_in_force:
        raise _changed(
            "TimeInForce(59)", _name(old.time_in_force), _name(time_in_force)
        )
    # ExpireTime(126) belongs to GTD orders: a replace of any other leaves it out.
    expire = None
    if time_in_force is TimeInForce.GTD:
        expire = old.expire_time_ns
        asked = command.expire_time_ns
        if asked is not None and asked != expire:
            raise _changed("ExpireTime(126)", _time_name(expire), format_ns(asked))
        _check_expiry(expire, clock)

    # Price(44) is required as on a new order; StopPx(99) left out keeps its value.
    # TODO: require StopPx(99) too (FIX requires it with a stop OrdType) once `oms order
    # replace` copies it from the order's status, as it copies Price(44).
    stop = command.stop_price
    if stop is None and ord_type in STOP_TYPES:
        stop = old.stop_price
    price, stop = _prices(ord_type, command.price, stop, instrument)
    return old.replaced(
        command.cl_ord_id, _quantity(command.quantity, instrument), price, stop,
        ord_type, time_in_force, expire,
    )


def _quantity(quantity: int | Decimal, instrument: Instrument) -> int:
    if type(quantity) is not int or quantity <= 0:
        raise Denial(
            OrdRejReason.INCORRECT_QUANTITY,
            f"OrderQty(38) {quantity} is not a positive whole number",
        )
    if quantity % instrument.lot:
        raise Denial(
            OrdRejReason.INCORRECT_QUANTITY,
            f"OrderQty(38) {quantity} is not a multiple of the lot size "
            f"{instrument.lot} of {instrument.symbol}",
        )
    return quantity


def _prices(
    ord_type: OrdType,
    price: int | Decimal | None,
    stop_price: int | Decimal | None,
    instrument: Instrument,
) -> tuple[int | None, int | None]:
    """Price(44) and StopPx(99), checked against the order type and the tick grid."""
    if ord_type in PRICED_TYPES:
        if price is None:
            raise Denial(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                f"Price(44) is required for OrdType(40) {ord_type.name.lower()}",
            )
        price = _tick_price("Price(44)", price, instrument)
    elif price is not None:
        raise Denial(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
            f"Price(44) {price_text(price)} is not allowed on OrdType(40) "
            f"{ord_type.name.lower()}",
        )
    if ord_type in STOP_TYPES:
        if stop_price is None:
            raise Denial(
                OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
                f"StopPx(99) is required for OrdType(40) {ord_type.name.lower()}",
            )
        stop_price = _tick_price("StopPx(99)", stop_price, instrument)
    elif stop_price is not None:
        raise Denial(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
            f"StopPx(99) {price_text(stop_price)} is not allowed on OrdType(40) "
            f"{ord_type.name.lower()}",
        )
    return price, stop_price  # type: ignore[return-value]


def _check_expiry(expire_time_ns: int | None, clock: Callable[[], int]) -> None:
    """ExpireTime(126) of a GTD order: given, and not in the past."""
    if expire_time_ns is None:
        raise Denial(
            OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC,
            "ExpireTime(126) is required for TimeInForce(59) GTD",
        )
    if expire_time_ns <= clock():
        raise Denial(
            OrdRejReason.TOO_LATE_TO_ENTER,
            f"ExpireTime(126) {format_ns(expire_time_ns)} is in the past",
        )


def _tick_price(field: str, price: int | Decimal, instrument: Instrument) -> int:
    if type(price) is not int:
        raise Denial(
            OrdRejReason.OTHER,
            f"{field} {price} is not on the tick grid of {instrument.symbol} "
            f"(tick {instrument.tick_size})",
        )
    if price <= 0:
        raise Denial(OrdRejReason.OTHER, f"{field} {price_text(price)} must be positive")
    if price % instrument.tick:
        raise Denial(
            OrdRejReason.OTHER,
            f"{field} {price_text(price)} is not on the tick grid of {instrument.symbol} "
            f"(tick {instrument.tick_size})",
        )
    return price


def out_of_range(command: Command) -> str | None:
    """Why a command carries a number too large to keep, or None; such a value is cleared
    from the command (so that no event carries it) before the command is denied."""
    problem = None
    quantity = getattr(command, "quantity", 0)
    if type(quantity) is int and quantity > MAX_QUANTITY:
        problem = f"OrderQty(38) {quantity} exceeds the largest quantity taken, {MAX_QUANTITY}"
        command.quantity = 0  # type: ignore[union-attr]
    for field, tag in (("price", "Price(44)"), ("stop_price", "StopPx(99)")):
        price = getattr(command, field, None)
        if price is not None and abs(price) > MAX_PRICE:
            shown = Decimal(price).scaleb(-8) if type(price) is int else price
            problem = problem or f"{tag} {shown} exceeds the largest price taken"
            setattr(command, field, None)
    for field, tag in (("expire_time_ns", "ExpireTime(126)"),
                       ("transact_time_ns", "TransactTime(60)")):
        value = getattr(command, field, None)
        if value is not None and not 0 <= value <= MAX_TIME_NS:
            problem = problem or f"{tag} is out of range (after the year 2262)"
            setattr(command, field, None)
    return problem


def requested_terms(command: NewOrder | CancelOrder | ReplaceOrder | StatusRequest) -> (
    OrderTerms
):
    """A new order's terms as requested, before any check (for the record of a request)."""
    assert isinstance(command, NewOrder)
    return OrderTerms(
        command.cl_ord_id,
        command.account or Account(""),
        command.symbol,
        command.side,
        command.ord_type,
        command.time_in_force,
        command.quantity if type(command.quantity) is int else 0,
        command.price if type(command.price) is int else None,
        command.stop_price if type(command.stop_price) is int else None,
        command.expire_time_ns,
    )


def replace_terms(order: Order, command: ReplaceOrder) -> OrderTerms:
    """A replace's terms as requested, before any check (for the record of a request)."""
    old = order.terms
    return old.replaced(
        command.cl_ord_id,
        command.quantity if type(command.quantity) is int else 0,
        command.price if type(command.price) is int else None,
        command.stop_price if type(command.stop_price) is int else None,
        command.ord_type or old.ord_type,
        command.time_in_force or old.time_in_force,
        command.expire_time_ns,
    )


def _name(member: Enum) -> str:
    return member.name.lower()


def _changed(field: str, old: str, new: str) -> Denial:
    """The denial of a replace that changes what a working order cannot change."""
    return Denial(OrdRejReason.OTHER, f"{field} cannot change on a replace ({old} to {new})")


def _time_name(ns: int | None) -> str:
    return format_ns(ns) if ns is not None else "none"


def price_text(price: int | Decimal) -> str:
    return str(price_to_decimal(price)) if type(price) is int else str(price)


def format_ns(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{nanos:09d}Z"

