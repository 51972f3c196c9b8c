"""Invariants that hold after every step of any sequence of client requests and venue reports.

Hypothesis draws sequences of new orders, cancels, replaces and status requests from two
client sessions, mixed with scripted venue reports about any routed order: acks, fills of
any size (beyond LeavesQty too), cancels, replaces, cancel rejects, restatements, done for
day, expiry, rejects and duplicates. After every step the engine must be consistent with
itself, with its own event stream, and with a replay of that stream.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from engine_harness import CLIENT1, CLIENT2, ScriptedHarness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.events import Event, EventKind
from oms.model import (
    PRICE_SCALE,
    OrderID,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
    price_to_decimal,
)
from oms.order import TERMINAL, Order

K = EventKind
REQUESTS = frozenset({
    K.NEW_REQUESTED, K.CANCEL_REQUESTED, K.REPLACE_REQUESTED, K.STATUS_REQUESTED,
})
SESSIONS = (CLIENT1, CLIENT2)
REFERENCE = {Symbol("AAPL"): 190 * PRICE_SCALE, Symbol("MSFT"): 420 * PRICE_SCALE}
TICK = PRICE_SCALE // 100
VENUE_REPORTS = (
    "ack", "fill", "fill", "fill", "canceled", "replaced", "replaced", "cancel_reject",
    "restated", "restated", "done_for_day", "expired", "rejected", "pending_cancel",
)

session_index = st.integers(0, 1)
pick = st.integers(0, 63)
lots = st.integers(0, 20)
ticks = st.integers(-100, 100)
new_orders = st.tuples(
    st.just("new"), session_index, st.sampled_from([Side.BUY, Side.SELL]),
    st.sampled_from(sorted(REFERENCE)), lots, ticks,
    st.sampled_from([TimeInForce.DAY, TimeInForce.GTC]),
    # Whether the venue acknowledges the order at once (mostly it does).
    st.sampled_from([True, True, True, False]),
)
cancels = st.tuples(st.just("cancel"), session_index, pick, st.booleans())
replaces = st.tuples(st.just("replace"), session_index, pick, lots, st.none() | ticks)
statuses = st.tuples(st.just("status"), session_index, pick)
venue_reports = st.tuples(
    st.just("venue"), st.sampled_from(VENUE_REPORTS), pick, st.integers(1, 2500), ticks
)
duplicates = st.just(("dup",))
steps = st.lists(
    st.one_of(
        new_orders, new_orders, cancels, cancels, replaces, replaces, statuses,
        venue_reports, venue_reports, venue_reports, venue_reports, venue_reports, duplicates,
    ),
    min_size=5,
    max_size=50,
)


class Run:
    """Drives one sequence; checks each event as it is published, and all state per step."""

    def __init__(self) -> None:
        self.h = ScriptedHarness()
        self.cl_ord_ids: dict[SessionID, list[str]] = {s: [] for s in SESSIONS}
        # The ClOrdIDs of new orders and replaces: what cancels and replaces may name.
        self.named: dict[SessionID, list[str]] = {s: [] for s in SESSIONS}
        self.counter = 0
        self.exec_ids: set[str] = set()
        self.cum: dict[OrderID, int] = defaultdict(int)
        self.trade_notional: dict[OrderID, int] = defaultdict(int)
        self.pending: dict[OrderID, bool] = defaultdict(bool)
        self.h.engine.subscribe(self.on_event)

    # Steps.

    def step(self, action: tuple[Any, ...]) -> None:
        h = self.h
        kind = action[0]
        if kind == "new":
            _, s, side, symbol, quantity, offset, tif, ack = action
            price = price_to_decimal(REFERENCE[symbol] + offset * TICK)
            routed = len(h.venue.routed)
            cl = self.fresh(SESSIONS[s])
            self.named[SESSIONS[s]].append(cl)
            h.new(cl, quantity * 100, str(price), side=side, symbol=symbol,
                  session=SESSIONS[s], tif=tif)
            if ack and len(h.venue.routed) > routed:
                h.venue.ack()
        elif kind == "cancel":
            _, s, target, reuse = action
            session = self.requester(s)
            cl = self.reused(session, target) if reuse else self.fresh(session)
            h.cancel(cl, self.target(session, target), session=session)
        elif kind == "replace":
            _, s, target, quantity, offset = action
            session = self.requester(s)
            orig = self.target(session, target)
            order = h.engine.book.find(session, orig)  # type: ignore[arg-type]
            price = None
            if offset is not None and order is not None:
                price = str(price_to_decimal(REFERENCE[order.terms.symbol] + offset * TICK))
            cl = self.fresh(session)
            h.replace(cl, orig, quantity * 100, price, session=session)
            if h.engine.book.find(session, cl) is not None:  # type: ignore[arg-type]
                self.named[session].append(cl)
        elif kind == "status":
            _, s, target = action
            session = self.requester(s)
            h.status(self.target(session, target), session=session)
        elif kind == "venue":
            self.venue(*action[1:])
        elif h.venue.sent:
            h.venue.dup()

    def venue(self, report: str, target: int, quantity: int, offset: int) -> None:
        routed = self.h.venue.routed
        if not routed:
            return
        # Mostly one of the last few orders, which are the likeliest to be working.
        order_id = routed[-1 - target % min(len(routed), 4)] if target % 3 else (
            routed[target % len(routed)]
        )
        order = self.h.engine.book.get(order_id)
        assert order is not None
        venue = self.h.venue
        if report == "fill":
            price = price_to_decimal(REFERENCE[order.terms.symbol] + offset * TICK)
            # Any size a third of the time (beyond LeavesQty too), else a part of LeavesQty.
            if quantity % 3:
                quantity = max(order.leaves_quantity * (quantity % 4) // 4, 1)
            venue.fill(quantity, price, order=order_id)
        elif report == "cancel_reject":
            venue.cancel_reject(0, order=order_id)
        elif report == "restated":
            # Around CumQty, where a restatement may fill the order or leave it working.
            restated = max(order.cum_quantity + (quantity % 5 - 2) * 100, 100)
            venue.restated(restated, 5, order=order_id)
        else:
            getattr(venue, report)(order=order_id)

    def fresh(self, session: SessionID) -> str:
        self.counter += 1
        cl = f"{session[-1]}-{self.counter}"
        self.cl_ord_ids[session].append(cl)
        return cl

    def reused(self, session: SessionID, index: int) -> str:
        used = self.cl_ord_ids[session]
        return used[index % len(used)] if used else self.fresh(session)

    def requester(self, index: int) -> SessionID:
        """The session drawn, unless it has no orders yet and the other one has."""
        session, other = SESSIONS[index], SESSIONS[1 - index]
        return other if not self.named[session] and self.named[other] else session

    def target(self, session: SessionID, index: int) -> str:
        """Mostly a ClOrdID of the session's orders, sometimes the other's, or unknown."""
        own = self.named[session]
        other = self.named[CLIENT2 if session == CLIENT1 else CLIENT1]
        if index % 8 == 7 or not own:
            return "UNKNOWN"
        if index % 8 == 6 and other:
            return other[index % len(other)]
        if index % 8 == 5:
            return own[index % len(own)]
        return own[-1 - index % min(len(own), 3)]

    # Checks of each event, as it is published (after it was applied).

    def on_event(self, event: Event) -> None:
        if event.exec_type is not None:
            assert event.exec_id is not None and event.exec_id not in self.exec_ids
            self.exec_ids.add(event.exec_id)
        if event.kind in REQUESTS or event.order_id is None:
            return
        order = self.h.engine.book.get(event.order_id)
        if order is None:
            return
        self.check_event_restates_order(event, order)
        order_id = order.order_id
        if event.kind in (K.PENDING_CANCEL, K.PENDING_REPLACE):
            assert not self.pending[order_id], f"second request pending: {event.describe()}"
        self.pending[order_id] = order.pending is not None
        assert order.cum_quantity >= self.cum[order_id], f"CumQty fell: {event.describe()}"
        self.cum[order_id] = order.cum_quantity
        if event.kind is K.TRADE:
            self.trade_notional[order_id] += event.last_quantity * event.last_price
        # AvgPx is the notional of the order's trades over CumQty, recomputed here.
        notional = self.trade_notional[order_id]
        assert event.notional == notional, event.describe()
        if event.cum_quantity:
            exact = Decimal(notional) / PRICE_SCALE / event.cum_quantity
            places = Decimal(1).scaleb(-event.avg_px_decimals)
            assert event.avg_price == exact.quantize(places, ROUND_HALF_EVEN)
        else:
            assert event.avg_price == 0

    @staticmethod
    def check_event_restates_order(event: Event, order: Order) -> None:
        """Every event states the order as it stands after the event (oms.events)."""
        said = (event.ord_status, event.cum_quantity, event.leaves_quantity, event.notional)
        state = (order.ord_status, order.cum_quantity, order.leaves_quantity, order.notional)
        assert said == state, f"{event.describe()} but the order is {order!r}"
        assert event.terms == order.terms, event.describe()

    # Checks of the whole state, after every step.

    def check(self) -> None:
        h = self.h
        engine = h.engine
        events = h.events
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        orders = list(engine.book.by_id.values())

        for order in orders:
            expected = max(order.terms.quantity - order.cum_quantity, 0)
            assert order.leaves_quantity == (0 if order.status in TERMINAL else expected)
            assert order.is_live == (order.status not in TERMINAL)
            assert order.notional == self.trade_notional[order.order_id]
            if order.pending is not None:
                assert order.is_live or order.status.name == "FILLED", repr(order)

        self.check_book(orders)
        self.check_risk_usage(orders)

        fresh = h.fresh_engine()
        fresh.replay(events)
        assert fresh.digest() == engine.digest()

    def check_book(self, orders: list[Order]) -> None:
        book = self.h.engine.book
        live = [o for o in orders if o.is_live]
        for account in self.h.limits:
            indexed = {o.order_id for o in book.open_orders(account)}
            assert indexed == {o.order_id for o in live if o.terms.account == account}
        for symbol in REFERENCE:
            indexed = {o.order_id for o in book.open_orders(symbol=symbol)}
            assert indexed == {o.order_id for o in live if o.terms.symbol == symbol}
            bids, asks = book.depth(symbol, 1000)
            for side, rows in ((True, bids), (False, asks)):
                expected: dict[int, list[int]] = defaultdict(lambda: [0, 0])
                for o in live:
                    if o.terms.symbol == symbol and (o.terms.side is Side.BUY) == side:
                        expected[o.terms.price][0] += o.leaves_quantity  # type: ignore[index]
                        expected[o.terms.price][1] += 1  # type: ignore[index]
                assert {p: [q, n] for p, q, n in rows} == dict(expected)

    def check_risk_usage(self, orders: list[Order]) -> None:
        for account, usage in self.h.engine.risk.usage.items():
            mine = [o for o in orders if o.terms.account == account]
            assert usage.open_orders == sum(o.is_live for o in mine)
            assert usage.traded_notional == sum(o.notional for o in mine)
            for symbol in REFERENCE:
                exposure = usage.symbols.get(symbol)
                held = [o for o in mine if o.terms.symbol == symbol]
                buys = [o for o in held if o.terms.side is Side.BUY]
                sells = [o for o in held if o.terms.side is not Side.BUY]
                position = sum(o.cum_quantity for o in buys) - sum(o.cum_quantity for o in sells)
                working_buy = sum(o.leaves_quantity for o in buys)
                working_sell = sum(o.leaves_quantity for o in sells)
                actual = (
                    (exposure.position, exposure.working_buy, exposure.working_sell)
                    if exposure is not None else (0, 0, 0)
                )
                assert actual == (position, working_buy, working_sell), (
                    f"{account} {symbol}"
                )


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps)
def test_any_sequence_of_requests_and_venue_reports_keeps_the_engine_consistent(
    actions: list[tuple[Any, ...]],
) -> None:
    run = Run()
    for action in actions:
        run.step(action)
        run.check()

