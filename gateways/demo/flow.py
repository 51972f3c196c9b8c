"""From LOBSTER events to the FIX requests that replay them through the OMS.

The mapping, event by event:

- submit: a Day limit order (NewOrderSingle, 35=D), ClOrdID(11) `L<LOBSTER order id>`,
  from the client session its price in cents picks (so orders queued at one price reach
  the venue through one session, in their time order).
- delete: an OrderCancelRequest (35=F) for that order, ClOrdID `L<id>-C`.
- partial cancel: an OrderCancelReplaceRequest (35=G) down to the smaller OrderQty(38),
  ClOrdID `L<id>-R<n>`; one that cancels all that is left becomes a cancel.
- visible execution: the order traded against someone who is not in the file. A contra
  session sends what that someone sent, a marketable immediate-or-cancel limit order of
  the executed size at the execution price on the other side, ClOrdID `L<id>-X<n>`, so
  the embedded venue trades it against the resting order as the exchange did.
- hidden execution, cross trade and trading halt: counted, not replayed (hidden orders
  are not in the file and a halt does not name an order).

A partial cancel, delete or execution of an order the file never submitted cannot be
replayed: it is counted as skipped. In a level-1 file (`..._message_1.csv`) these are
common: LOBSTER keeps only the events at the best price, so an order submitted behind it,
or before the file starts, shows up only when it reaches the front.

The same cut leaves orders behind: an order submitted at the best price, pushed back by
a better one and deleted there, has its submit in the file but not its delete. The book
itself says when such an order is gone: a new order priced through it, or an execution
at a worse price or behind it in time, could not have happened while it was there. The
planner then cancels it first, from its own session (ClOrdID `L<id>-S`), so that the
venue's book stays the exchange's and trades only where the exchange did.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sortedcontainers import SortedDict

from gateways.lobster import EventType, LobsterEvent, LobsterOrderID
from oms.model import ClOrdID, Side, TimeInForce

# Kinds of request.
NEW = "new"
CANCEL = "cancel"
REPLACE = "replace"
EXECUTION = "execution"  # a contra IOC order replaying a visible execution
STALE_CANCEL = "stale cancel"  # a cancel of an order the file stopped showing
# A cent in LOBSTER units: orders are spread over the sessions by price in cents.
_CENT = 100
_MSG_TYPES = {NEW: "D", CANCEL: "F", REPLACE: "G", EXECUTION: "D", STALE_CANCEL: "F"}

# Why an event was not replayed: bounded reasons, printed in the summary.
SKIP_HIDDEN = "hidden executions (the order is not in the file)"
SKIP_CROSS = "cross trades"
SKIP_HALT = "trading halts"
SKIP_NOT_SUBMITTED = (
    "name an order the file does not submit (before it starts or, in a "
    "level-1 file, behind the best price)"
)
SKIP_REUSED_ID = "submits of an order id that is still live"
SKIP_STALE = "name an order the demo had already canceled as no longer shown"


@dataclass(frozen=True, slots=True)
class DemoRequest:
    """One FIX request to send; `session` is the index of the client session sending it."""

    index: int
    kind: str
    session: int
    cl_ord_id: ClOrdID
    orig_cl_ord_id: ClOrdID | None
    side: Side  # the side of the request itself
    resting_side: Side  # the side of the resting liquidity it adds, removes or takes
    quantity: int  # OrderQty(38)
    price: int  # LOBSTER units (dollars x 10,000)
    price_text: str
    line: int  # of the LOBSTER file

    @property
    def msg_type(self) -> str:
        return _MSG_TYPES[self.kind]

    @property
    def execution(self) -> bool:
        return self.kind == EXECUTION

    def fields(self, symbol: str, transact_time: str) -> list[tuple[int, str]]:
        """The request's body fields, in the order FIX lists them."""
        if self.msg_type == "F":
            return [
                (41, str(self.orig_cl_ord_id)),
                (11, self.cl_ord_id),
                (55, symbol),
                (54, self.side.value),
                (60, transact_time),
                (38, str(self.quantity)),
            ]
        tif = TimeInForce.IOC if self.execution else TimeInForce.DAY
        fields = [
            (11, self.cl_ord_id),
            (21, "1"),
            (55, symbol),
            (54, self.side.value),
            (60, transact_time),
            (38, str(self.quantity)),
            (40, "2"),
            (44, self.price_text),
            (59, tif.value),
        ]
        if self.msg_type == "G":
            fields.insert(0, (41, str(self.orig_cl_ord_id)))
        return fields


def interacts(first: DemoRequest, second: DemoRequest) -> bool:
    """Whether the venue's outcome may depend on which of two requests it takes first.

    Requests of one session reach the engine in the order they were sent; these are the
    pairs from two sessions that must not overtake each other:
    - an execution, and a request about an order it could reach (at its price or better);
    - an execution, and a new order on its own side that could take the same liquidity;
    - two requests on opposite sides that cross, one of them a new order;
    - two new orders at one price on one side (time priority).
    """
    if first.execution and second.execution:
        return False
    if first.execution or second.execution:
        taker, other = (first, second) if first.execution else (second, first)
        buys = taker.resting_side is Side.BUY
        if other.resting_side is taker.resting_side:
            return other.price >= taker.price if buys else other.price <= taker.price
        if other.kind != NEW:
            return False
        return other.price <= taker.price if buys else other.price >= taker.price
    if first.resting_side is second.resting_side:
        return first.kind == second.kind == NEW and first.price == second.price
    if first.kind != NEW and second.kind != NEW:
        return False
    buy, sell = (first, second) if first.resting_side is Side.BUY else (second, first)
    return buy.price >= sell.price


@dataclass
class _Live:
    """An order of the file that is working, as the file tells it."""

    lobster_id: LobsterOrderID
    session: int
    cl_ord_id: ClOrdID
    side: Side
    price: int
    price_text: str
    quantity: int  # OrderQty(38) as last sent
    leaves: int  # what the file says is left
    replaces: int = 0
    executions: int = 0


@dataclass
class FlowPlan:
    """The requests to send, and what the file held."""

    requests: list[DemoRequest] = field(default_factory=list)
    events: Counter[EventType] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    first_price: int | None = None  # LOBSTER units
    first_time_ns: int | None = None
    last_time_ns: int | None = None
    max_quantity: int = 0
    max_price: int = 0
    volume: int = 0  # shares of every order sent
    notional: int = 0  # LOBSTER units x shares of every order sent
    execution_quantity: int = 0  # of the visible executions replayed

    @property
    def event_count(self) -> int:
        return sum(self.events.values())

    def count(self, kind: str) -> int:
        return sum(1 for request in self.requests if request.kind == kind)


class _Book:
    """The file's live orders by side and price, each price's orders in time order."""

    def __init__(self) -> None:
        self.orders: dict[LobsterOrderID, _Live] = {}
        self._levels: dict[Side, SortedDict] = {Side.BUY: SortedDict(), Side.SELL: SortedDict()}

    def add(self, order: _Live) -> None:
        self.orders[order.lobster_id] = order
        self._levels[order.side].setdefault(order.price, {})[order.lobster_id] = order

    def remove(self, order: _Live) -> None:
        del self.orders[order.lobster_id]
        levels = self._levels[order.side]
        level = levels[order.price]
        del level[order.lobster_id]
        if not level:
            del levels[order.price]

    def crossed_by(self, side: Side, price: int) -> list[_Live]:
        """Orders on the other side that an order of `side` at `price` would trade with."""
        if side is Side.BUY:
            prices = self._levels[Side.SELL].irange(maximum=price)
            return self._at(Side.SELL, prices)
        return self._at(Side.BUY, self._levels[Side.BUY].irange(minimum=price))

    def ahead_of(self, order: _Live, price: int) -> list[_Live]:
        """Orders of `order`'s side that an execution at `price` would have reached first."""
        levels = self._levels[order.side]
        if order.side is Side.BUY:
            better = levels.irange(minimum=price, inclusive=(False, True))
        else:
            better = levels.irange(maximum=price, inclusive=(True, False))
        ahead = self._at(order.side, better)
        if order.price == price:
            for other in levels[price].values():
                if other is order:
                    break
                ahead.append(other)
        return ahead

    def _at(self, side: Side, prices: Iterator[int]) -> list[_Live]:
        levels = self._levels[side]
        return [order for price in list(prices) for order in levels[price].values()]


class _Planner:
    def __init__(self, sessions: int) -> None:
        self.sessions = sessions
        self.contra = sessions  # the contra session's index follows the client sessions
        self.plan = FlowPlan()
        self.book = _Book()
        self.stale: set[LobsterOrderID] = set()

    def take(self, event: LobsterEvent) -> None:
        plan = self.plan
        kind = event.event_type
        plan.events[kind] += 1
        if plan.first_time_ns is None:
            plan.first_time_ns = event.time_ns
        plan.last_time_ns = event.time_ns
        if plan.first_price is None and event.price > 0 and kind is not EventType.HALT:
            plan.first_price = event.price
        if kind is EventType.SUBMIT:
            self._submit(event)
        elif kind in (EventType.PARTIAL_CANCEL, EventType.DELETE, EventType.VISIBLE_EXECUTION):
            order = self.book.orders.get(event.order_id)
            if order is None:
                stale = event.order_id in self.stale
                plan.skipped[SKIP_STALE if stale else SKIP_NOT_SUBMITTED] += 1
            elif kind is EventType.VISIBLE_EXECUTION:
                self._execution(event, order)
            elif kind is EventType.DELETE or event.size >= order.leaves:
                self._cancel(event, order, CANCEL, "C")
            else:
                self._replace(event, order)
        elif kind is EventType.HIDDEN_EXECUTION:
            plan.skipped[SKIP_HIDDEN] += 1
        elif kind is EventType.CROSS_TRADE:
            plan.skipped[SKIP_CROSS] += 1
        else:
            plan.skipped[SKIP_HALT] += 1

    def _submit(self, event: LobsterEvent) -> None:
        if event.order_id in self.book.orders:
            self.plan.skipped[SKIP_REUSED_ID] += 1
            return
        for stale in self.book.crossed_by(event.side, event.price):
            self._cancel_stale(event, stale)
        session = (event.price // _CENT) % self.sessions
        order = _Live(
            event.order_id,
            session,
            ClOrdID(f"L{event.order_id}"),
            event.side,
            event.price,
            event.price_text,
            event.size,
            event.size,
        )
        self.book.add(order)
        self._send(event, NEW, order, order.cl_ord_id, None)
        self._count_order(event)

    def _cancel(self, event: LobsterEvent, order: _Live, kind: str, suffix: str) -> None:
        self.book.remove(order)
        self._send(event, kind, order, ClOrdID(f"L{order.lobster_id}-{suffix}"), order.cl_ord_id)

    def _cancel_stale(self, event: LobsterEvent, order: _Live) -> None:
        self.stale.add(order.lobster_id)
        self._cancel(event, order, STALE_CANCEL, "S")

    def _replace(self, event: LobsterEvent, order: _Live) -> None:
        order.replaces += 1
        order.quantity -= event.size
        order.leaves -= event.size
        orig = order.cl_ord_id
        order.cl_ord_id = ClOrdID(f"L{event.order_id}-R{order.replaces}")
        self._send(event, REPLACE, order, order.cl_ord_id, orig)

    def _send(
        self,
        event: LobsterEvent,
        kind: str,
        order: _Live,
        cl_ord_id: ClOrdID,
        orig: ClOrdID | None,
    ) -> None:
        """A request of the order's own session about the order."""
        self.plan.requests.append(
            DemoRequest(
                len(self.plan.requests),
                kind,
                order.session,
                cl_ord_id,
                orig,
                order.side,
                order.side,
                order.quantity,
                order.price,
                order.price_text,
                event.line,
            )
        )

    def _execution(self, event: LobsterEvent, order: _Live) -> None:
        for stale in self.book.ahead_of(order, event.price):
            self._cancel_stale(event, stale)
        order.executions += 1
        order.leaves -= event.size
        if order.leaves <= 0:
            self.book.remove(order)
        contra_side = Side.SELL if order.side is Side.BUY else Side.BUY
        self.plan.requests.append(
            DemoRequest(
                len(self.plan.requests),
                EXECUTION,
                self.contra,
                ClOrdID(f"L{event.order_id}-X{order.executions}"),
                None,
                contra_side,
                order.side,
                event.size,
                event.price,
                event.price_text,
                event.line,
            )
        )
        self.plan.execution_quantity += event.size
        self._count_order(event)

    def _count_order(self, event: LobsterEvent) -> None:
        plan = self.plan
        plan.max_quantity = max(plan.max_quantity, event.size)
        plan.max_price = max(plan.max_price, event.price)
        plan.volume += event.size
        plan.notional += event.size * event.price


def plan_flow(events: Iterable[LobsterEvent], sessions: int) -> FlowPlan:
    """The requests that replay `events` from `sessions` client sessions and a contra one."""
    if sessions < 1:
        raise ValueError(f"at least one client session is needed, not {sessions}")
    planner = _Planner(sessions)
    for event in events:
        planner.take(event)
    return planner.plan
