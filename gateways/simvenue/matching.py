"""The embedded venue's continuous matching engine: one instrument, price-time priority.

An arriving order trades against the opposite side best price first and, within a price,
first come first served, always at the resting order's price. What is left of it then rests
(Day, GTC, GTD) or is canceled (IOC, FOK, market orders). Stop and stop-limit orders wait
outside the book until a trade reaches their stop price.

The engine is synchronous and deterministic: every call reports what happened to a
`MatchListener` before it returns, in a fixed order. Within one submit that order is: the
acceptance, then each fill in match order (the aggressor first, then the resting order of
the same trade), then the cancel of any remainder, then the stops the trades triggered. A
listener must not call back into the engine from a callback.

Bad input never raises: a new order is rejected and a cancel or replace is refused, each
with a reason that names the FIX field and the value.

Prices are ints scaled by `oms.model.PRICE_SCALE`; quantities are ints.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from itertools import islice

from gateways.simvenue.checks import check_expire_time, check_new, check_replace
from gateways.simvenue.interface import (
    CANCELED_ON_REQUEST,
    IMMEDIATE_OR_CANCEL,
    NO_LIQUIDITY,
    DepthRow,
    MatchListener,
    OrderRef,
    OrderView,
    Owner,
    SelfMatchPolicy,
    TradeID,
)
from oms.levels import PriceLevels
from oms.model import OrdType, Side, TimeInForce

__all__ = [
    "CANCELED_ON_REQUEST",
    "IMMEDIATE_OR_CANCEL",
    "NO_LIQUIDITY",
    "DepthRow",
    "MatchListener",
    "MatchingEngine",
    "OrderRef",
    "OrderView",
    "Owner",
    "SelfMatchPolicy",
    "TradeID",
]

_BUY = Side.BUY
_DAY = TimeInForce.DAY
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_GTD = TimeInForce.GTD
_LIMIT = OrdType.LIMIT
_STOP = OrdType.STOP
_STOP_LIMIT = OrdType.STOP_LIMIT
_CANCEL_INCOMING = SelfMatchPolicy.CANCEL_INCOMING
_CANCEL_RESTING = SelfMatchPolicy.CANCEL_RESTING


class _Order:
    """A working order; `quantity` is OrderQty(38), so CumQty(14) is quantity - leaves.

    Kept small on purpose: one of these exists per resting order. The order type is not
    stored; it follows from which of `price` and `stop_price` are set. `in_book` is False
    while a stop waits for its trigger, True once the order is (or is about to be) in the
    price book.
    """

    __slots__ = (
        "ref",
        "owner",
        "side",
        "price",
        "stop_price",
        "quantity",
        "leaves",
        "tif",
        "expire_ns",
        "in_book",
    )

    def __init__(
        self,
        ref: OrderRef,
        owner: Owner,
        side: Side,
        price: int | None,
        stop_price: int | None,
        quantity: int,
        tif: TimeInForce,
        expire_ns: int | None,
    ) -> None:
        self.ref = ref
        self.owner = owner
        self.side = side
        self.price = price
        self.stop_price = stop_price
        self.quantity = quantity
        self.leaves = quantity
        self.tif = tif
        self.expire_ns = expire_ns
        self.in_book = stop_price is None


class MatchingEngine:
    """Continuous price-time matching for one instrument."""

    __slots__ = (
        "symbol",
        "tick",
        "self_match",
        "_trade_ids",
        "_clock",
        "_bids",
        "_asks",
        "_buy_stops",
        "_sell_stops",
        "_waiting_stops",
        "_orders",
        "_expiries",
        "_sequence",
        "_last_price",
        "_low",
        "_high",
        "_on_accepted",
        "_on_rejected",
        "_on_fill",
        "_on_canceled",
        "_on_replaced",
        "_on_cancel_rejected",
        "_on_triggered",
        "_on_done_for_day",
        "_on_expired",
    )

    def __init__(
        self,
        symbol: str,
        tick: int,
        listener: MatchListener,
        *,
        trade_ids: Callable[[], TradeID],
        clock: Callable[[], int],
        self_match: SelfMatchPolicy = SelfMatchPolicy.CANCEL_INCOMING,
    ) -> None:
        if type(tick) is not int or tick <= 0:
            raise ValueError(f"tick {tick!r} is not a positive whole number of price units")
        self.symbol = symbol
        self.tick = tick
        self.self_match = SelfMatchPolicy(self_match)
        self._trade_ids = trade_ids
        self._clock = clock
        self._bids: PriceLevels[OrderRef, _Order] = PriceLevels(descending=True)
        self._asks: PriceLevels[OrderRef, _Order] = PriceLevels(descending=False)

        # Stops wait here keyed by stop price, the first to trigger first: a buy stop
        # triggers when a trade is at or above its stop, a sell stop at or below.
        self._buy_stops: PriceLevels[OrderRef, _Order] = PriceLevels(descending=False)
        self._sell_stops: PriceLevels[OrderRef, _Order] = PriceLevels(descending=True)
        self._waiting_stops = 0

        # Every working order by reference, in the book or waiting for its stop.
        self._orders: dict[OrderRef, _Order] = {}

        # GTD orders by expire time; entries of orders gone already are skipped when popped.
        self._expiries: list[tuple[int, int, _Order]] = []
        self._sequence = 0
        self._last_price: int | None = None

        # The lowest and highest price traded since stops were last checked (None: no trade).
        self._low: int | None = None
        self._high: int | None = None

        # Bound once: the hot path calls these without an attribute lookup on the listener.
        self._on_accepted = listener.on_accepted
        self._on_rejected = listener.on_rejected
        self._on_fill = listener.on_fill
        self._on_canceled = listener.on_canceled
        self._on_replaced = listener.on_replaced
        self._on_cancel_rejected = listener.on_cancel_rejected
        self._on_triggered = listener.on_triggered
        self._on_done_for_day = listener.on_done_for_day
        self._on_expired = listener.on_expired

    # -- commands ---------------------------------------------------------------------------

    def submit(
        self,
        ref: OrderRef,
        owner: Owner,
        side: Side,
        ord_type: OrdType,
        tif: TimeInForce,
        quantity: int,
        price: int | None,
        stop_price: int | None,
        *,
        expire_time_ns: int | None = None,
    ) -> None:
        """A new order: accepted and matched, or rejected with a reason naming the field."""
        reason = check_new(ref, side, ord_type, tif, quantity, price, stop_price, self.tick)
        if reason is None:
            if ref in self._orders:
                reason = f"duplicate order reference {ref!r}: an order with it is working"
            elif expire_time_ns is not None or tif is _GTD:
                reason = check_expire_time(tif, expire_time_ns, self._clock)
        if reason is not None:
            self._on_rejected(ref, reason)
            return

        order = _Order(ref, owner, side, price, stop_price, quantity, tif, expire_time_ns)
        self._on_accepted(ref)
        if expire_time_ns is not None:
            self._sequence += 1
            heapq.heappush(self._expiries, (expire_time_ns, self._sequence, order))
        if stop_price is not None:
            if not self._stop_reached(side is _BUY, stop_price):
                self._park(order)
                return
            order.in_book = True
            self._on_triggered(ref)
        self._enter(order)
        if self._high is not None:
            self._trigger_stops()

    def cancel(self, ref: OrderRef) -> bool:
        """Cancel a working order; False (and a cancel reject) if it is not working."""
        order = self._orders.get(ref) if type(ref) is str else None
        if order is None:
            self._on_cancel_rejected(ref, _unknown(ref))
            return False
        self._unlink(order)
        self._on_canceled(ref, order.leaves, CANCELED_ON_REQUEST)
        return True

    def replace(
        self, ref: OrderRef, quantity: int, price: int | None, stop_price: int | None
    ) -> bool:
        """Change a working order's quantity and prices (FIX OrderCancelReplaceRequest).

        `quantity` is the new OrderQty(38), which counts what has already been filled. A
        replace that only lowers the quantity keeps the order's time priority; a new price,
        a new stop price or a higher quantity sends it to the back of its new price. Once a
        stop has been triggered its stop price is history and `stop_price` is not looked at.
        Returns False, after a cancel reject naming the reason, if nothing was changed.
        """
        order = self._orders.get(ref) if type(ref) is str else None
        if order is None:
            self._on_cancel_rejected(ref, _unknown(ref))
            return False
        if order.in_book and order.stop_price is not None:
            stop_price = order.stop_price
        reason = check_replace(_ord_type(order), quantity, price, stop_price, self.tick)
        if reason is not None:
            self._on_cancel_rejected(ref, reason)
            return False

        # OrderQty(38) on a replace is the new total, fills included, so LeavesQty(151) is
        # OrderQty - CumQty (FIX 4.4 Volume 4, Appendix D, matrices C.1 and C.3). At or below
        # CumQty(14) it leaves nothing to work: the order is done.
        filled = order.quantity - order.leaves
        if quantity <= filled:
            self._unlink(order)
            order.quantity, order.leaves, order.price = quantity, 0, price
            self._on_replaced(ref, quantity, price, 0)
            return True

        # Price-time venues keep an order's place when only its quantity goes down; a new
        # price, a new stop price or more quantity is a new order for priority.
        keeps_priority = (
            price == order.price and stop_price == order.stop_price and quantity <= order.quantity
        )
        if keeps_priority:
            order.quantity, order.leaves = quantity, quantity - filled
            self._on_replaced(ref, quantity, price, order.leaves)
            return True

        self._unlink(order)
        order.quantity, order.leaves = quantity, quantity - filled
        order.price, order.stop_price = price, stop_price
        self._on_replaced(ref, quantity, price, order.leaves)
        if not order.in_book:
            if not self._stop_reached(order.side is _BUY, stop_price):  # type: ignore[arg-type]
                self._park(order)
                return True
            order.in_book = True
            self._on_triggered(ref)
        self._enter(order)
        if self._high is not None:
            self._trigger_stops()
        return True

    def end_of_day(self) -> None:
        """End every Day order, resting or waiting for its stop; GTC and GTD orders stay.

        A stop whose TimeInForce is IOC or FOK has not used its time in force yet, but it
        does not outlive the session either: it ends here too.
        """
        ending = [
            order
            for order in self._orders.values()
            if order.tif is _DAY or (not order.in_book and order.tif in (_IOC, _FOK))
        ]
        for order in ending:
            self._unlink(order)
            self._on_done_for_day(order.ref, order.leaves)

    def expire(self, now_ns: int) -> int:
        """Expire the GTD orders whose ExpireTime(126) is at or before `now_ns`; the count."""
        expiries = self._expiries
        orders = self._orders
        count = 0
        while expiries and expiries[0][0] <= now_ns:
            order = heapq.heappop(expiries)[2]
            if orders.get(order.ref) is order:
                self._unlink(order)
                self._on_expired(order.ref, order.leaves)
                count += 1
        return count

    # -- queries ----------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        return self._bids.best_price()

    def best_ask(self) -> int | None:
        return self._asks.best_price()

    @property
    def last_trade_price(self) -> int | None:
        return self._last_price

    def depth(self, levels: int) -> tuple[list[DepthRow], list[DepthRow]]:
        """(price, total quantity, order count) of the best `levels` bids and asks."""
        count = max(levels, 0) if type(levels) is int else 0
        return _depth(self._bids, count), _depth(self._asks, count)

    def order(self, ref: OrderRef) -> OrderView | None:
        """The state of a working order; None once it is done or if it was never accepted."""
        order = self._orders.get(ref) if type(ref) is str else None
        if order is None:
            return None
        return OrderView(
            order.ref,
            order.owner,
            order.side,
            _ord_type(order),
            order.tif,
            order.quantity,
            order.quantity - order.leaves,
            order.leaves,
            order.price,
            order.stop_price,
            order.expire_ns,
            order.in_book,
        )

    def __len__(self) -> int:
        """Working orders: those resting in the book and the stops waiting for a trigger."""
        return len(self._orders)

    # -- matching ---------------------------------------------------------------------------

    def _enter(self, order: _Order) -> None:
        """Match an order as the aggressor, then rest what is left or cancel it."""
        buy = order.side is _BUY
        contra = self._asks if buy else self._bids
        price = order.price
        tif = order.tif
        if tif is _FOK:
            available = self._available(order, contra)
            if available < order.leaves:
                reason = (
                    f"fill or kill: only {available} of {order.leaves} available without "
                    "trading against own orders"
                )
                self._on_canceled(order.ref, order.leaves, reason)
                return

        best = contra.best()
        blocked = None
        if best is not None and (price is None or (best[0] <= price if buy else best[0] >= price)):
            blocked = self._match(order, buy, contra, best)
            if not order.leaves:
                return

        if blocked is not None:
            self._on_canceled(order.ref, order.leaves, blocked)
        elif price is None:
            self._on_canceled(order.ref, order.leaves, NO_LIQUIDITY)
        elif tif is _IOC or tif is _FOK:
            self._on_canceled(order.ref, order.leaves, IMMEDIATE_OR_CANCEL)
        else:
            (self._bids if buy else self._asks).add(price, order.ref, order)
            self._orders[order.ref] = order

    def _match(
        self,
        order: _Order,
        buy: bool,
        contra: PriceLevels[OrderRef, _Order],
        best: tuple[int, dict[OrderRef, _Order]],
    ) -> str | None:
        """Trade `order` against `contra`, starting at its `best` level, while marketable.

        Returns the self-match reason if self-match prevention stopped the order, else None.
        """
        ref = order.ref
        owner = order.owner
        limit = order.price
        leaves = order.leaves
        orders = self._orders
        on_fill = self._on_fill
        next_trade_id = self._trade_ids
        policy = self.self_match
        blocked = None
        first_price = last_price = None
        price, level = best
        while True:
            finished: list[_Order] = []
            traded = False
            for resting in level.values():
                if resting.owner == owner:
                    if policy is not _CANCEL_INCOMING:
                        finished.append(resting)
                        self._on_canceled(
                            resting.ref,
                            resting.leaves,
                            f"self-match prevented: incoming order {ref} of the same owner",
                        )
                    if policy is not _CANCEL_RESTING:
                        blocked = (
                            "self-match prevented: would trade against own resting order "
                            f"{resting.ref}"
                        )
                        break
                    continue
                resting_leaves = resting.leaves
                traded = True
                trade_id = next_trade_id()
                if resting_leaves > leaves:
                    resting_leaves -= leaves
                    resting.leaves = resting_leaves
                    on_fill(ref, leaves, price, trade_id, 0, resting.ref)
                    on_fill(resting.ref, leaves, price, trade_id, resting_leaves, ref)
                    leaves = 0
                    break
                leaves -= resting_leaves
                resting.leaves = 0
                on_fill(ref, resting_leaves, price, trade_id, leaves, resting.ref)
                on_fill(resting.ref, resting_leaves, price, trade_id, 0, ref)
                finished.append(resting)
                if not leaves:
                    break
            for resting in finished:
                contra.remove(price, resting.ref)
                del orders[resting.ref]
            if traded:
                if first_price is None:
                    first_price = price
                last_price = price
            if blocked is not None or not leaves:
                break
            next_best = contra.best()
            if next_best is None:
                break
            price, level = next_best
            if limit is not None and (price > limit if buy else price < limit):
                break
        order.leaves = leaves
        if last_price is not None:
            self._last_price = last_price
            if self._waiting_stops:
                self._traded(first_price, last_price)  # type: ignore[arg-type]
        return blocked

    def _traded(self, first_price: int, last_price: int) -> None:
        """Widen the range of prices traded since the stops were last checked."""
        low, high = (
            (first_price, last_price) if first_price <= last_price else (last_price, first_price)
        )
        if self._high is None:
            self._low, self._high = low, high
        else:
            self._low = min(self._low, low)  # type: ignore[type-var]
            self._high = max(self._high, high)

    def _available(self, order: _Order, contra: PriceLevels[OrderRef, _Order]) -> int:
        """Quantity `order` could trade now, up to its leaves, without trading with its owner.

        Under CANCEL_INCOMING and CANCEL_BOTH matching stops at the first own order, so
        only what lies in front of it counts; under CANCEL_RESTING own orders are skipped.
        """
        buy = order.side is _BUY
        limit = order.price
        need = order.leaves
        owner = order.owner
        stop_at_own = self.self_match is not _CANCEL_RESTING
        total = 0
        for price, level in contra.levels():
            if limit is not None and (price > limit if buy else price < limit):
                break
            for resting in level.values():
                if resting.owner == owner:
                    if stop_at_own:
                        return total
                    continue
                total += resting.leaves
                if total >= need:
                    return total
        return total

    # -- stops ------------------------------------------------------------------------------

    def _stop_reached(self, buy: bool, stop_price: int) -> bool:
        last = self._last_price
        if last is None:
            return False
        return last >= stop_price if buy else last <= stop_price

    def _park(self, order: _Order) -> None:
        """Keep an untriggered stop until a trade reaches its stop price."""
        stops = self._buy_stops if order.side is _BUY else self._sell_stops
        stops.add(order.stop_price, order.ref, order)  # type: ignore[arg-type]
        self._waiting_stops += 1
        self._orders[order.ref] = order

    def _trigger_stops(self) -> None:
        """Trigger the stops that the latest trades reached and enter them one by one.

        A stop triggers if any trade since the last check reached it, so a sweep through
        several prices triggers stops at the prices in between too. Stops triggered by the
        same trades enter buy stops first, then sell stops, each by stop price then arrival;
        their own trades can trigger more stops, which queue behind them (a cascade).
        """
        pending: deque[_Order] = deque()
        while True:
            low, high = self._low, self._high
            if low is not None and high is not None:
                self._low = self._high = None
                if self._buy_stops:
                    self._fire(self._buy_stops, True, high, pending)
                if self._sell_stops:
                    self._fire(self._sell_stops, False, low, pending)
            if not pending:
                return
            self._enter(pending.popleft())

    def _fire(
        self, stops: PriceLevels[OrderRef, _Order], buy: bool, traded: int, pending: deque[_Order]
    ) -> None:
        """Trigger, best stop first, every stop that a trade at `traded` reaches."""
        while True:
            best = stops.best()
            if best is None:
                return
            stop_price, level = best
            if stop_price > traded if buy else stop_price < traded:
                return
            for order in list(level.values()):
                stops.remove(stop_price, order.ref)
                self._waiting_stops -= 1
                del self._orders[order.ref]
                order.in_book = True
                self._on_triggered(order.ref)
                pending.append(order)

    # -- bookkeeping ------------------------------------------------------------------------

    def _unlink(self, order: _Order) -> None:
        """Take a working order out of the book (or the stops) and out of the registry."""
        buy = order.side is _BUY
        if order.in_book:
            book = self._bids if buy else self._asks
            book.remove(order.price, order.ref)  # type: ignore[arg-type]
        else:
            stops = self._buy_stops if buy else self._sell_stops
            stops.remove(order.stop_price, order.ref)  # type: ignore[arg-type]
            self._waiting_stops -= 1
        del self._orders[order.ref]


def _unknown(ref: object) -> str:
    return f"unknown order reference {ref!r}: no working order has it"


def _depth(book: PriceLevels[OrderRef, _Order], count: int) -> list[DepthRow]:
    rows: list[DepthRow] = []
    for price, level in islice(book.levels(), count):
        total = 0
        for order in level.values():
            total += order.leaves
        rows.append((price, total, len(level)))
    return rows


def _ord_type(order: _Order) -> OrdType:
    """OrdType(40) of a working order (market orders never rest)."""
    if order.stop_price is None:
        return _LIMIT
    return _STOP if order.price is None else _STOP_LIMIT
