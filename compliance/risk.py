"""Pre-trade risk checks and the usage they are measured against.

Each check returns None (pass) or a `RiskVerdict` naming the check by a bounded code (used
as a metric label), the value that failed and the limit; the engine turns it into the
denial, the log line and the metric, in one place. Checks never raise.

Usage (open orders, positions, working quantity, traded notional) is kept up to date by
the engine as it applies events, so that a replay of the audit log rebuilds it exactly.
"""

from __future__ import annotations

from decimal import Decimal

from oms.config import AccountLimits
from oms.events import RiskVerdict
from oms.model import PRICE_SCALE, Account, Side, Symbol, price_to_decimal
from oms.order import OrderTerms
from oms.refdata import Instrument

# Bounded codes of the checks, for metric labels.
KILL_SWITCH = "kill_switch"
MAX_ORDER_QUANTITY = "max_order_quantity"
MAX_ORDER_NOTIONAL = "max_order_notional"
PRICE_BAND = "price_band"
MAX_OPEN_ORDERS = "max_open_orders"
MAX_POSITION = "max_position"
MAX_DAILY_NOTIONAL = "max_daily_notional"
CHECKS = (
    KILL_SWITCH,
    MAX_ORDER_QUANTITY,
    MAX_ORDER_NOTIONAL,
    PRICE_BAND,
    MAX_OPEN_ORDERS,
    MAX_POSITION,
    MAX_DAILY_NOTIONAL,
)
# The kill switch's states, as a KILL_SWITCH event's verdict carries them.
ENGAGED = "engaged"
RELEASED = "released"


class UnknownAccount(ValueError):
    """An operator named an account that has no limits configured."""

    def __init__(self, account: str, known: list[Account]) -> None:
        super().__init__(
            f"account {account} is not known (configured: {', '.join(known) or 'none'})"
        )
        self.account = account


class SymbolExposure:
    """An account's position in one instrument and its working quantity on each side."""

    __slots__ = ("position", "working_buy", "working_sell")

    def __init__(self) -> None:
        self.position = 0
        self.working_buy = 0
        self.working_sell = 0


class AccountUsage:
    __slots__ = ("open_orders", "traded_notional", "symbols")

    def __init__(self) -> None:
        self.open_orders = 0
        # Sum of LastQty x LastPx over the trading day, in price units.
        self.traded_notional = 0
        self.symbols: dict[Symbol, SymbolExposure] = {}

    def exposure(self, symbol: Symbol) -> SymbolExposure:
        exposure = self.symbols.get(symbol)
        if exposure is None:
            exposure = self.symbols[symbol] = SymbolExposure()
        return exposure


class _Limits:
    """An account's limits in the engine's units (price units, whole quantities)."""

    __slots__ = (
        "max_order_quantity",
        "max_order_notional",
        "band_percent",
        "band_ratio",
        "max_open_orders",
        "max_position",
        "max_daily_notional",
    )

    def __init__(self, limits: AccountLimits) -> None:
        self.max_order_quantity = limits.max_order_quantity
        self.max_order_notional = int(limits.max_order_notional * PRICE_SCALE)
        self.band_percent = limits.price_band_percent
        # The band as an integer fraction, so the check on the order path stays in ints.
        self.band_ratio = (limits.price_band_percent / 100).as_integer_ratio()
        self.max_open_orders = limits.max_open_orders
        self.max_position = limits.max_position
        self.max_daily_notional = int(limits.max_daily_notional * PRICE_SCALE)


class RiskChecks:
    """The pre-trade checks of every account, with their usage and the kill switches."""

    def __init__(self, limits: dict[Account, AccountLimits]) -> None:
        self._limits = {account: _Limits(value) for account, value in limits.items()}
        self.usage: dict[Account, AccountUsage] = {a: AccountUsage() for a in limits}
        self.halted_all = False
        self.halted_accounts: set[Account] = set()

    def knows(self, account: Account) -> bool:
        return account in self._limits

    @property
    def accounts(self) -> list[Account]:
        """The configured accounts, sorted."""
        return sorted(self._limits)

    def set_kill_switch(self, account: Account | None, engaged: bool) -> None:
        """Engage or release the kill switch of one account, or of all (account None).

        Called by the engine as it applies a KILL_SWITCH event. Engaging it for all
        accounts leaves each account's own switch as it is; releasing it for all releases
        every account's own switch too, so that afterwards nothing is halted. Releasing
        one account while the switch for all is engaged leaves that account halted.
        """
        if account is None:
            self.halted_all = engaged
            if not engaged:
                self.halted_accounts.clear()
        elif engaged:
            self.halted_accounts.add(account)
        else:
            self.halted_accounts.discard(account)

    def check_new(self, terms: OrderTerms, instrument: Instrument) -> RiskVerdict | None:
        """Every check of a new order, in a fixed order; the first failure decides."""
        account = terms.account
        if self.halted_all or account in self.halted_accounts:
            return self._kill_switch_verdict(account)
        limits = self._limits[account]
        usage = self.usage[account]
        verdict = self._check_terms(terms, instrument, limits, terms.quantity)
        if verdict is not None:
            return verdict
        if limits.max_open_orders and usage.open_orders + 1 > limits.max_open_orders:
            return RiskVerdict(
                MAX_OPEN_ORDERS, str(usage.open_orders + 1), str(limits.max_open_orders)
            )
        return self._check_exposure(terms, instrument, limits, usage, terms.quantity)

    def check_replace(
        self, old: OrderTerms, new: OrderTerms, cum_quantity: int, instrument: Instrument
    ) -> RiskVerdict | None:
        """A replace is checked on its new terms; added quantity counts against exposure."""
        account = new.account
        added = max(new.quantity - old.quantity, 0)
        if (self.halted_all or account in self.halted_accounts) and added:
            return self._kill_switch_verdict(account)
        limits = self._limits[account]
        verdict = self._check_terms(new, instrument, limits, new.quantity - cum_quantity)
        if verdict is not None or not added:
            return verdict
        return self._check_exposure(new, instrument, limits, self.usage[account], added)

    def _kill_switch_verdict(self, account: Account) -> RiskVerdict:
        scope = None if self.halted_all else account
        return RiskVerdict(KILL_SWITCH, ENGAGED, kill_switch_text(scope, engaged=True))

    def _check_terms(
        self, terms: OrderTerms, instrument: Instrument, limits: _Limits, open_quantity: int
    ) -> RiskVerdict | None:
        if limits.max_order_quantity and terms.quantity > limits.max_order_quantity:
            return RiskVerdict(
                MAX_ORDER_QUANTITY, str(terms.quantity), str(limits.max_order_quantity)
            )
        price = terms.price if terms.price is not None else instrument.reference_price
        if limits.max_order_notional:
            notional = open_quantity * price
            if notional > limits.max_order_notional:
                return RiskVerdict(
                    MAX_ORDER_NOTIONAL,
                    str(price_to_decimal(notional)),
                    str(price_to_decimal(limits.max_order_notional)),
                )
        if limits.band_percent:
            # The band holds for StopPx(99) as for Price(44): a stop far from the market
            # triggers at once (or never) and then trades like the order it becomes.
            reference = instrument.reference_price
            numerator, denominator = limits.band_ratio
            limit_price = terms.price
            if limit_price is not None and (
                abs(limit_price - reference) * denominator > numerator * reference
            ):
                return _band_verdict("", limit_price, reference, limits)
            stop = terms.stop_price
            if stop is not None and (
                abs(stop - reference) * denominator > numerator * reference
            ):
                return _band_verdict("StopPx(99) ", stop, reference, limits)
        return None

    def _check_exposure(
        self,
        terms: OrderTerms,
        instrument: Instrument,
        limits: _Limits,
        usage: AccountUsage,
        added: int,
    ) -> RiskVerdict | None:
        if limits.max_position:
            exposure = usage.symbols.get(terms.symbol)
            position = working = 0
            if exposure is not None:
                position = exposure.position
                buy = terms.side is Side.BUY
                working = exposure.working_buy if buy else exposure.working_sell
            signed = (
                position + working + added
                if terms.side is Side.BUY
                else (position - working - added)
            )
            if abs(signed) > limits.max_position:
                return RiskVerdict(MAX_POSITION, str(signed), str(limits.max_position))
        if limits.max_daily_notional:
            price = terms.price if terms.price is not None else instrument.reference_price
            total = usage.traded_notional + added * price
            if total > limits.max_daily_notional:
                return RiskVerdict(
                    MAX_DAILY_NOTIONAL,
                    str(price_to_decimal(total)),
                    str(price_to_decimal(limits.max_daily_notional)),
                )
        return None

    def record(
        self,
        account: Account,
        symbol: Symbol,
        side: Side,
        working_change: int,
        filled: int,
        fill_notional: int,
        open_change: int,
    ) -> None:
        """Move an account's usage by one applied event's changes."""
        usage = self.usage.get(account)
        if usage is None:
            return
        usage.open_orders += open_change
        if working_change or filled:
            exposure = usage.exposure(symbol)
            if side is Side.BUY:
                exposure.working_buy += working_change
                exposure.position += filled
            else:
                exposure.working_sell += working_change
                exposure.position -= filled
        usage.traded_notional += fill_notional

    def reset_day(self) -> None:
        """A new trading day: traded notional starts again; positions carry over."""
        for usage in self.usage.values():
            usage.traded_notional = 0

    def describe(self, verdict: RiskVerdict) -> str:
        """The denial text a client sees."""
        if verdict.check == KILL_SWITCH:
            return verdict.limit
        return f"{verdict.check}: {verdict.value} exceeds limit {verdict.limit}"


def _band_verdict(field: str, price: int, reference: int, limits: _Limits) -> RiskVerdict:
    """The price band's verdict: "250.00 (31.58% from reference 190.00)" for a limit
    price, "StopPx(99) 250.00 (...)" for a stop price, against the band, "10%"."""
    distance = Decimal(abs(price - reference) * 100) / reference
    return RiskVerdict(
        PRICE_BAND,
        f"{field}{price_to_decimal(price)} ({distance:.2f}% from reference "
        f"{price_to_decimal(reference)})",
        f"{limits.band_percent}%",
    )


def kill_switch_text(account: Account | None, *, engaged: bool) -> str:
    """"kill switch engaged for account ACC1", "... released for all accounts"."""
    scope = "all accounts" if account is None else f"account {account}"
    return f"kill switch {ENGAGED if engaged else RELEASED} for {scope}"
