"""Input checks of the embedded venue's matching engine.

Each check returns None when the input is good, or the reason it is not: a sentence naming
the FIX field (by name and tag) and the value, for the listener's reject. Nothing here
raises, whatever it is given. The common case of each check is written inline so that a
good order costs a few identity and type tests.
"""

from __future__ import annotations

from collections.abc import Callable

from oms.model import OrdType, Side, TimeInForce

_DAY = TimeInForce.DAY
_GTC = TimeInForce.GTC
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_GTD = TimeInForce.GTD
_MARKET = OrdType.MARKET
_LIMIT = OrdType.LIMIT
_STOP = OrdType.STOP
_STOP_LIMIT = OrdType.STOP_LIMIT


def check_new(
    ref: object,
    side: object,
    ord_type: object,
    tif: object,
    quantity: object,
    price: object,
    stop_price: object,
    tick: int,
) -> str | None:
    """Why a new order cannot be accepted, or None."""
    if type(ref) is not str or not ref:
        return f"order reference {ref!r} is not a non-empty string"
    if type(side) is not Side:
        return f"Side(54) {side!r} is not supported"

    # Identity tests: a member added to an enum later is refused until it is handled.
    if (
        ord_type is not _LIMIT
        and ord_type is not _MARKET
        and ord_type is not _STOP
        and ord_type is not _STOP_LIMIT
    ):
        return f"OrdType(40) {ord_type!r} is not supported"
    if tif is not _DAY and tif is not _GTC and tif is not _IOC and tif is not _FOK:
        if tif is not _GTD:
            return f"TimeInForce(59) {tif!r} is not supported"
    if type(quantity) is not int or quantity <= 0:
        return f"OrderQty(38) {quantity!r} is not a positive whole number"

    # Price(44) goes with limit and stop-limit orders only, StopPx(99) with stop and
    # stop-limit orders only.
    if ord_type is _LIMIT or ord_type is _STOP_LIMIT:
        if type(price) is not int or price <= 0 or price % tick:
            return price_problem("Price(44)", price, tick, ord_type)
    elif price is not None:
        return f"Price(44) {price!r} is not allowed with OrdType(40) {ord_type.name}"
    if ord_type is _STOP or ord_type is _STOP_LIMIT:
        if type(stop_price) is not int or stop_price <= 0 or stop_price % tick:
            return price_problem("StopPx(99)", stop_price, tick, ord_type)
    elif stop_price is not None:
        return f"StopPx(99) {stop_price!r} is not allowed with OrdType(40) {ord_type.name}"
    return None


def check_expire_time(
    tif: TimeInForce, expire_time_ns: object, clock: Callable[[], int]
) -> str | None:
    """Why ExpireTime(126) cannot go with this order, or None; reads the clock for GTD only."""
    if tif is not _GTD:
        return f"ExpireTime(126) {expire_time_ns!r} is only allowed with TimeInForce(59) GTD"
    if expire_time_ns is None:
        return "ExpireTime(126) is required with TimeInForce(59) GTD"
    if type(expire_time_ns) is not int:
        return f"ExpireTime(126) {expire_time_ns!r} is not a time in nanoseconds"
    now = clock()
    if expire_time_ns <= now:
        return f"ExpireTime(126) {expire_time_ns} has already passed (now {now})"
    return None


def check_replace(
    ord_type: OrdType, quantity: object, price: object, stop_price: object, tick: int
) -> str | None:
    """Why a replace of an order of `ord_type` cannot be applied, or None.

    The order type cannot change. A quantity of zero is allowed: like any quantity at or
    below what has been filled, it finishes the order.
    """
    if type(quantity) is not int or quantity < 0:
        return f"OrderQty(38) {quantity!r} is not a whole number of zero or more"
    if ord_type is _STOP:
        if price is not None:
            return f"Price(44) {price!r} is not allowed with OrdType(40) STOP"
    elif type(price) is not int or price <= 0 or price % tick:
        return price_problem("Price(44)", price, tick, ord_type)
    if ord_type is _LIMIT:
        if stop_price is not None:
            return f"StopPx(99) {stop_price!r} is not allowed with OrdType(40) LIMIT"
        return None
    if type(stop_price) is not int or stop_price <= 0 or stop_price % tick:
        return price_problem("StopPx(99)", stop_price, tick, ord_type)
    return None


def price_problem(field: str, price: object, tick: int, ord_type: OrdType) -> str | None:
    """Why `price` is no price for `field` on a grid of `tick`, or None."""
    if price is None:
        return f"{field} is required with OrdType(40) {ord_type.name}"
    if type(price) is not int or price <= 0:
        return f"{field} {price!r} is not a positive price in scaled units"
    if price % tick:
        return f"{field} {price} is not on the tick grid (tick {tick})"
    return None
