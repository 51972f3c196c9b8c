"""The order engine on the shipped configuration, driven in-process with a fake clock.

A harness builds the engine as the runtime does (`config/oms.toml`,
`config/instruments.csv`, the client sessions and their accounts), routes every order to
one venue (a `ScriptedVenue`, or the real embedded venue), keeps every event the engine
publishes, and has one short method per client request. Prices are given as the decimal
text a client sends and decoded as a gateway decodes them.

What the client hears is the engine's client-visible events: ExecutionReports
(`exec_type` set) and OrderCancelRejects (`is_cancel_reject`).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from scripted_venue import ScriptedVenue

from compliance.risk import RiskChecks
from gateways.embedded import EmbeddedVenue
from oms.commands import CancelOrder, NewOrder, ReplaceOrder, StatusRequest
from oms.config import AccountLimits, OmsConfig, load_config
from oms.engine import Engine, SessionAccounts
from oms.events import Event
from oms.model import (
    Account,
    ClOrdID,
    OrderID,
    OrdType,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
    VenueName,
    price_from_decimal,
)
from oms.order import Order
from oms.refdata import Instrument, load_instruments

# 2024-06-03T13:30:00Z, a Monday's market open in New York.
T0 = 1_717_421_400_000_000_000
SECOND = 1_000_000_000

CLIENT1 = SessionID("CLIENT1")
CLIENT2 = SessionID("CLIENT2")
ACC1 = Account("ACC1")
ACC2 = Account("ACC2")
AAPL = Symbol("AAPL")


class FakeClock:
    """Nanoseconds that move only when read (by `step`) or when the test advances them."""

    def __init__(self, start: int = T0, step: int = 1_000) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> int:
        self.now += self.step
        return self.now

    def advance(self, nanoseconds: int) -> int:
        self.now += nanoseconds
        return self.now


def decode_price(value: str | Decimal | None) -> int | Decimal | None:
    """A price as a gateway hands it on: scaled units, or the Decimal if it does not fit."""
    if value is None:
        return None
    try:
        return price_from_decimal(value)
    except ValueError:
        return Decimal(value)


def is_client_visible(event: Event) -> bool:
    """An ExecutionReport (35=8) or an OrderCancelReject (35=9) the client receives."""
    return event.exec_type is not None or event.is_cancel_reject


def config_sessions(config: OmsConfig) -> dict[SessionID, SessionAccounts]:
    return {
        SessionID(s.sender_comp_id): SessionAccounts(s.accounts, s.default_account or None)
        for s in config.fix.sessions
    }


class EngineHarness:
    """An engine with its events recorded and the client's requests at hand."""

    def __init__(
        self,
        *,
        limits: dict[Account, AccountLimits] | None = None,
        instruments: Iterable[Instrument] = (),
        sessions: dict[SessionID, SessionAccounts] | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        config = load_config()
        self.instruments = load_instruments(config.instruments)
        for instrument in instruments:
            self.instruments[instrument.symbol] = instrument
        self.limits = dict(limits) if limits is not None else {
            Account(name): value for name, value in config.accounts.items()
        }
        self.sessions = sessions if sessions is not None else config_sessions(config)
        self.clock = clock if clock is not None else FakeClock()
        self.engine = self.fresh_engine()
        self.events: list[Event] = []
        self.engine.subscribe(self.events.append)
        self._taken = 0

    def fresh_engine(self) -> Engine:
        """A new engine on the same configuration, with no state (for replay)."""
        return Engine(
            self.instruments, RiskChecks(self.limits), sessions=self.sessions, clock=self.clock
        )

    # The client's requests.

    def new(
        self,
        cl: str,
        quantity: int | Decimal = 1000,
        price: str | Decimal | None = "190.00",
        *,
        side: Side = Side.BUY,
        symbol: str = AAPL,
        session: SessionID = CLIENT1,
        account: str | None = None,
        ord_type: OrdType = OrdType.LIMIT,
        tif: TimeInForce = TimeInForce.DAY,
        stop_price: str | Decimal | None = None,
        expire_time_ns: int | None = None,
        poss_resend: bool = False,
    ) -> None:
        self.engine.handle(NewOrder(
            session, ClOrdID(cl), Account(account) if account is not None else None,
            Symbol(symbol), side, ord_type, tif, quantity, decode_price(price),
            decode_price(stop_price), expire_time_ns, poss_resend,
        ))

    def cancel(
        self, cl: str, orig: str | None, *, session: SessionID = CLIENT1,
        order_id: OrderID | None = None, **restated: Any,
    ) -> None:
        """OrderCancelRequest; `restated` may give the order's `symbol` and `side`."""
        self.engine.handle(CancelOrder(
            session, ClOrdID(cl), ClOrdID(orig) if orig is not None else None, order_id,
            **restated,
        ))

    def replace(
        self, cl: str, orig: str | None, quantity: int | Decimal,
        price: str | Decimal | None = None, *, session: SessionID = CLIENT1,
        order_id: OrderID | None = None, **terms: Any,
    ) -> None:
        self.engine.handle(ReplaceOrder(
            session, ClOrdID(cl), ClOrdID(orig) if orig is not None else None, quantity,
            decode_price(price), order_id=order_id, **terms,
        ))

    def status(
        self, cl: str | None, *, session: SessionID = CLIENT1, order_id: OrderID | None = None
    ) -> None:
        self.engine.handle(StatusRequest(
            session, ClOrdID(cl) if cl is not None else None, order_id
        ))

    # What the client heard, and what the engine holds.

    def messages(self, session: SessionID | None = None) -> list[Event]:
        """Every client-visible event so far, of one session or of all."""
        return [
            e for e in self.events
            if is_client_visible(e) and (session is None or e.session == session)
        ]

    def take(self) -> list[Event]:
        """The client-visible events since the previous `take`."""
        fresh = self.events[self._taken:]
        self._taken = len(self.events)
        return [e for e in fresh if is_client_visible(e)]

    def order(self, cl: str, session: SessionID = CLIENT1) -> Order:
        order = self.engine.book.find(session, ClOrdID(cl))
        if order is None:
            raise LookupError(f"session {session} has no order under ClOrdID {cl}")
        return order

    def state(self, without: Iterable[OrderID] = ()) -> dict[str, Any]:
        """Everything a request could change, comparable with ==, leaving out some orders."""
        skip = set(without)
        engine = self.engine
        book = engine.book
        orders = {
            order_id: (
                order.terms, order.status, order.cum_quantity, order.leaves_quantity,
                order.notional, order.venue_order_id,
                (order.pending.cl_ord_id, order.pending.terms) if order.pending else None,
            )
            for order_id, order in book.by_id.items() if order_id not in skip
        }
        accounts = {a: sorted(o.order_id for o in book.open_orders(a)) for a in self.limits}
        symbols = {o.terms.symbol for i, o in book.by_id.items() if i not in skip}
        usage = {
            account: (u.open_orders, u.traded_notional, sorted(
                (s, e.position, e.working_buy, e.working_sell) for s, e in u.symbols.items()
            ))
            for account, u in engine.risk.usage.items()
        }
        return {
            "orders": orders,
            "open orders": accounts,
            "depth": {s: book.depth(s, 100) for s in symbols},
            "usage": usage,
        }


class ScriptedHarness(EngineHarness):
    """The engine routing to a `ScriptedVenue`: the test writes every venue report."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.venue = ScriptedVenue(self.engine.on_venue_report)
        self.engine.add_venue(self.venue)

    def working(
        self, cl: str, quantity: int = 1000, price: str | None = "190.00", **options: Any
    ) -> Order:
        """A new order the venue has acknowledged; what the client heard is taken."""
        self.new(cl, quantity, price, **options)
        self.venue.ack()
        self.take()
        return self.order(cl, options.get("session", CLIENT1))


class EmbeddedHarness(EngineHarness):
    """The engine routing to the real embedded venue (matching engines in-process)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.venue = EmbeddedVenue(
            VenueName("embedded"), self.instruments, self.engine.on_venue_report,
            clock=self.clock,
        )
        self.engine.add_venue(self.venue)
