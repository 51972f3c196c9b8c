"""Order instructions the OMS does not carry out, refused rather than ignored.

A NewOrderSingle (35=D) or an OrderCancelReplaceRequest (35=G) may carry tags that change
how the order is to be worked: a minimum fill (MinQty(110)), a shown quantity (MaxFloor(111)),
execution instructions (ExecInst(18)), a peg, a discretion, an algorithm, a start time, a
venue. The engine and its venues work every order as a plain limit, market or stop order
routed by the configured rules, so an order worked without such a tag would not be the order
the client sent. `problem` names the first such tag a request carries, for the codec to turn
into a reject: ExecutionReport Rejected for a new order, OrderCancelReject for a replace.

Three tags are checked by value, because their common values are what we do anyway:
HandlInst(21) 1 and 2 (automated execution), QtyType(854) 0 (units), PriceType(423) 2 (per
unit). Two are checked against the configuration (`Listings`): Currency(15) must be the
instrument's currency, and ExDestination(100) the venue the routing rules pick for it.

Left alone on purpose: tags that identify the instrument (SecurityID(48), SecurityExchange
(207), MaturityMonthYear(200), ...), which real client logs send on every equity order,
and post-trade tags (SettlType(63), Commission(12), LocateReqd(114), ...), which do not
change how the order trades.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from oms.config import OmsConfig
from oms.refdata import Instrument

# Tags refused whatever their value: tag -> FIX 4.4 name.
UNSUPPORTED_TAGS: Mapping[int, str] = {
    18: "ExecInst",
    110: "MinQty",
    111: "MaxFloor",
    210: "MaxShow",
    152: "CashOrderQty",
    516: "OrderPercent",
    168: "EffectiveTime",
    432: "ExpireDate",
    386: "NoTradingSessions",
    192: "OrderQty2",
    640: "Price2",
    211: "PegOffsetValue",
    835: "PegMoveType",
    836: "PegOffsetType",
    837: "PegLimitType",
    838: "PegRoundDirection",
    840: "PegScope",
    388: "DiscretionInst",
    389: "DiscretionOffsetValue",
    841: "DiscretionMoveType",
    842: "DiscretionOffsetType",
    843: "DiscretionLimitType",
    844: "DiscretionRoundDirection",
    846: "DiscretionScope",
    847: "TargetStrategy",
    848: "TargetStrategyParameters",
    849: "ParticipationRate",
}
# FIX 4.2 names the same tags differently in two places.
_FIX42_NAMES = {211: "PegDifference", 389: "DiscretionOffset"}
# What the OMS does instead, where a client has another way to ask for it.
_INSTEAD = {
    152: "OrderQty(38) only",
    516: "OrderQty(38) only",
    432: "use ExpireTime(126) with TimeInForce(59) 6",
}

# Tags checked by value: tag -> (name, values we carry out, what they mean).
_VALUES: Mapping[int, tuple[str, frozenset[str], str]] = {
    # HandlInst(21), required in FIX 4.2: 1 and 2 are automated execution, which is what
    # we do. 3 (manual order, best execution) asks for a broker to work the order by hand;
    # the OMS has no trading desk and would send it straight to the venue, so it is refused.
    21: ("HandlInst", frozenset({"1", "2"}), "1 or 2, automated execution"),
    # QtyType(854) 1 counts contracts, not shares.
    854: ("QtyType", frozenset({"0"}), "0, units"),
    # PriceType(423) other than 2 makes Price(44) a percentage, a yield, a spread, ...
    423: ("PriceType", frozenset({"2"}), "2, per unit"),
}

CURRENCY = 15
EX_DESTINATION = 100


@dataclass(frozen=True)
class Listing:
    """What a client's order for one instrument is checked against."""

    currency: str
    venue: str


@dataclass(frozen=True)
class Listings:
    """Each instrument's currency and venue, and the configured venues."""

    by_symbol: Mapping[str, Listing]
    venues: frozenset[str]

    @classmethod
    def from_config(cls, config: OmsConfig, instruments: Iterable[Instrument]) -> Listings:
        # The routing rule of `oms.runtime.Runtime._route`: symbol, then exchange, then
        # the default. TODO: the runtime should expose its router so that this copy of the
        # rule cannot drift from the one orders are routed by.
        routing = config.routing
        by_symbol: dict[str, Listing] = {
            instrument.symbol: Listing(
                instrument.currency,
                routing.symbols.get(instrument.symbol)
                or routing.exchanges.get(instrument.exchange)
                or routing.default,
            )
            for instrument in instruments
        }
        return cls(by_symbol, frozenset(config.venues))


def problem(
    fields: Mapping[int, str], symbol: str | None, listings: Listings | None
) -> str | None:
    """Why a new order or a replace cannot be carried out as sent, or None.

    `symbol` is the request's Symbol(55) (a replace may leave it out). Without `listings`
    there is nothing to check Currency(15) and ExDestination(100) against, so either one
    is refused."""
    fix42 = fields.get(8) == "FIX.4.2"
    for tag, name in UNSUPPORTED_TAGS.items():
        if tag in fields:
            if fix42:
                name = _FIX42_NAMES.get(tag, name)
            instead = _INSTEAD.get(tag)
            text = f"{name}({tag}) is not supported"
            return f"{text} ({instead})" if instead else text
    for tag, (name, allowed, meaning) in _VALUES.items():
        value = fields.get(tag)
        if value is not None and value not in allowed:
            return f"{name}({tag}) {value} is not supported (supported: {meaning})"
    listing = listings.by_symbol.get(symbol) if listings and symbol is not None else None
    currency = fields.get(CURRENCY)
    if currency is not None:
        mismatch = _currency(currency, symbol, listings, listing)
        if mismatch is not None:
            return mismatch
    destination = fields.get(EX_DESTINATION)
    if destination is not None:
        return _destination(destination, symbol, listings, listing)
    return None


def _currency(currency: str, symbol: str | None, listings: Listings | None,
              listing: Listing | None) -> str | None:
    if listings is None:
        return f"Currency(15) {currency} cannot be checked: no reference data"
    if symbol is None:
        return f"Currency(15) {currency} cannot be checked without Symbol(55)"
    if listing is None:
        # An unknown instrument: the engine rejects it as such (OrdRejReason 1).
        return None
    if currency != listing.currency:
        return (f"Currency(15) {currency} is not the currency of {symbol} "
                f"({listing.currency})")
    return None


def _destination(destination: str, symbol: str | None, listings: Listings | None,
                 listing: Listing | None) -> str | None:
    if listings is None:
        return f"ExDestination(100) {destination} cannot be checked: no venues configured"
    if symbol is None:
        return f"ExDestination(100) {destination} cannot be checked without Symbol(55)"
    if destination not in listings.venues:
        venues = ", ".join(sorted(listings.venues))
        return f"ExDestination(100) {destination} names no configured venue ({venues})"
    if listing is not None and destination != listing.venue:
        # Directed routing: we would route by the rules, not where the client asked.
        return (f"ExDestination(100) {destination} is not supported for {symbol}: its "
                f"orders go to venue {listing.venue}")
    return None


__all__ = ["UNSUPPORTED_TAGS", "Listing", "Listings", "problem"]
