"""Set-up shared by the engine benchmarks: an engine wired as the OMS wires it, order flow
built before the clock starts, and the floor every figure is set beside.

The engine is built from the shipped `config/oms.toml` and its instruments, with the
embedded venue and the client sessions CLIENT1 and CLIENT2, the way `oms.runtime` wires it
but without the audit log, metrics or any event listener: the figures are the engine's own
(validation, risk checks, book, events, embedded venue).

Risk limits: the per-order checks (OrderQty, order notional, price band) keep their
configured values, so their cost is part of every figure. The limits that grow with the
number of orders (open orders, position, daily notional) are raised out of reach: a
benchmark rests up to 1,000,000 orders, and the shipped ACC1 allows 50,000 open orders.

Order flow: CLIENT1 only buys and CLIENT2 only sells, so no order ever meets one of its own
account and self-match prevention never fires. Resting orders sit 1 to `LEVELS` ticks away
from each instrument's reference price, buys below and sells above, so they never cross. A
marketable order is priced at the best opposite level and sized to fill exactly its oldest
order. `OrderFlow` keeps a shadow of what should rest, so that cancels and replaces name
live orders and the engine's book can be checked against it after a run.

The floor is the least any engine could do with a message: create one `__slots__` object
and put it in a dict. Each figure is quoted as a ratio to the floor over the same messages,
measured in the same run, which takes most of the machine's speed out of the comparison.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import random
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from compliance.risk import RiskChecks
from gateways.embedded import EmbeddedVenue
from oms.commands import CancelOrder, Command, NewOrder, ReplaceOrder
from oms.config import AccountLimits, OmsConfig, load_config
from oms.engine import Engine, SessionAccounts
from oms.model import (
    Account,
    ClOrdID,
    OrdType,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
    VenueName,
)
from oms.refdata import Instrument, load_instruments

# Price levels per side of each instrument that resting orders spread over.
LEVELS = 50
QUANTITY = 100
BUYER = SessionID("CLIENT1")
SELLER = SessionID("CLIENT2")
BENCH_SESSIONS = (BUYER, SELLER)

# The goals for a new order acknowledged through validation, book and venue.
GOAL_NEW_ORDERS_PER_SECOND = 150_000
GOAL_FLOOR_RATIO = 0.08

# Far beyond anything a benchmark reaches (in orders, shares and currency units).
_OUT_OF_REACH = 10**12

# Labels of the commands in a mixed stream.
NEW = "new, resting"
MARKETABLE = "new, filled"
CANCEL = "cancel"
REPLACE = "replace"


def benchmark_limits(config: OmsConfig) -> dict[Account, AccountLimits]:
    """The configured limits, with the ones that grow with the order count out of reach."""
    return {
        Account(name): dataclasses.replace(
            limits,
            max_open_orders=_OUT_OF_REACH,
            max_position=_OUT_OF_REACH,
            max_daily_notional=Decimal(_OUT_OF_REACH),
        )
        for name, limits in config.accounts.items()
    }


def settle() -> None:
    """Collect, then freeze every live object: later collections scan only newer ones."""
    gc.collect()
    gc.freeze()


class Stream(NamedTuple):
    """Commands built ahead of time, and what each one is (`NEW`, `CANCEL`, ...)."""

    commands: list[Command]
    kinds: list[str]


class _Resting:
    """What the flow expects of one resting order."""

    __slots__ = ("session", "cl_ord_id", "symbol", "side", "price", "quantity", "slot")

    def __init__(
        self, session: SessionID, cl_ord_id: ClOrdID, symbol: Symbol, side: Side, price: int
    ) -> None:
        self.session = session
        self.cl_ord_id = cl_ord_id
        self.symbol = symbol
        self.side = side
        self.price = price
        self.quantity = QUANTITY
        # Position in OrderFlow._resting, for removal in O(1).
        self.slot = 0


class OrderFlow:
    """Builds commands against a shadow of the book, so every command names a live order."""

    def __init__(
        self, instruments: Sequence[Instrument], *, seed: int = 1, prefix: str = "C"
    ) -> None:
        self._instruments = [i for i in instruments if i.tradable]
        if not self._instruments:
            raise ValueError("no tradable instrument to build orders for")
        self._random = random.Random(seed)
        self._prefix = prefix
        self._ids = itertools.count(1)
        self._cursor = 0
        self._resting: list[_Resting] = []
        # (symbol, side) -> price -> resting orders in time priority.
        self._levels: dict[tuple[Symbol, Side], dict[int, dict[_Resting, None]]] = {}

    def __len__(self) -> int:
        """How many orders should be resting."""
        return len(self._resting)

    # Batches.

    def new_resting(self, count: int) -> list[Command]:
        return [self._new_resting() for _ in range(count)]

    def new_marketable(self, count: int) -> list[Command]:
        return [self._new_marketable() for _ in range(count)]

    def cancels(self, count: int) -> list[Command]:
        return [self._cancel() for _ in range(count)]

    def replaces(self, count: int) -> list[Command]:
        return [self._replace() for _ in range(count)]

    def mixed(
        self,
        count: int,
        *,
        new: float = 0.6,
        cancel: float = 0.3,
        marketable: float = 0.25,
    ) -> Stream:
        """New orders, cancels and the rest replaces; `marketable` of the new orders fill.

        With 60% new, 30% cancel and a quarter of the new orders filling one resting order
        each, as many orders stop resting as start, so the book keeps its size.
        """
        stream = Stream([], [])
        draw = self._random.random
        command: Command
        for _ in range(count):
            roll = draw()
            if roll < new or not self._resting:
                if self._resting and draw() < marketable:
                    kind, command = MARKETABLE, self._new_marketable()
                else:
                    kind, command = NEW, self._new_resting()
            elif roll < new + cancel:
                kind, command = CANCEL, self._cancel()
            else:
                kind, command = REPLACE, self._replace()
            stream.commands.append(command)
            stream.kinds.append(kind)
        return stream

    def unshadowed(self, count: int) -> Iterator[NewOrder]:
        """New resting orders one at a time, none of them kept here (for memory figures)."""
        for _ in range(count):
            instrument, side = self._place()
            yield self._order(instrument, side, self._depth_price(instrument, side))

    # One command each.

    def _new_resting(self) -> NewOrder:
        instrument, side = self._place()
        price = self._depth_price(instrument, side)
        command = self._order(instrument, side, price)
        self._rest(_Resting(command.session, command.cl_ord_id, instrument.symbol, side, price))
        return command

    def _new_marketable(self) -> NewOrder:
        """An order that fills the oldest order of the best opposite level, exactly."""
        for _ in range(2 * len(self._instruments)):
            instrument, side = self._place()
            contra = Side.SELL if side is Side.BUY else Side.BUY
            levels = self._levels.get((instrument.symbol, contra))
            if levels:
                break
        else:
            raise ValueError("nothing rests for a marketable order to fill")
        price = min(levels) if contra is Side.SELL else max(levels)
        resting = next(iter(levels[price]))
        self._unrest(resting)
        return self._order(instrument, side, price, resting.quantity)

    def _cancel(self) -> CancelOrder:
        resting = self._resting[self._random.randrange(len(self._resting))]
        self._unrest(resting)
        return CancelOrder(resting.session, self._next_id(), resting.cl_ord_id)

    def _replace(self) -> ReplaceOrder:
        """A new price (to the back of its new level) and a new quantity."""
        resting = self._resting[self._random.randrange(len(self._resting))]
        self._leave_level(resting)
        instrument = self._instrument(resting.symbol)
        price = resting.price
        while price == resting.price:
            price = self._depth_price(instrument, resting.side)
        quantity = 2 * QUANTITY if resting.quantity == QUANTITY else QUANTITY
        command = ReplaceOrder(
            resting.session, self._next_id(), resting.cl_ord_id, quantity, price
        )
        resting.cl_ord_id, resting.price, resting.quantity = command.cl_ord_id, price, quantity
        self._join_level(resting)
        return command

    # The shadow book.

    def _rest(self, resting: _Resting) -> None:
        resting.slot = len(self._resting)
        self._resting.append(resting)
        self._join_level(resting)

    def _unrest(self, resting: _Resting) -> None:
        self._leave_level(resting)
        last = self._resting.pop()
        if last is not resting:
            self._resting[resting.slot] = last
            last.slot = resting.slot

    def _join_level(self, resting: _Resting) -> None:
        levels = self._levels.setdefault((resting.symbol, resting.side), {})
        levels.setdefault(resting.price, {})[resting] = None

    def _leave_level(self, resting: _Resting) -> None:
        levels = self._levels[(resting.symbol, resting.side)]
        level = levels[resting.price]
        del level[resting]
        if not level:
            del levels[resting.price]

    # Helpers.

    def _next_id(self) -> ClOrdID:
        return ClOrdID(f"{self._prefix}{next(self._ids)}")

    def _place(self) -> tuple[Instrument, Side]:
        """Instruments in turn, buy then sell on each."""
        cursor = self._cursor
        self._cursor = cursor + 1
        instrument = self._instruments[(cursor >> 1) % len(self._instruments)]
        return instrument, Side.BUY if cursor & 1 == 0 else Side.SELL

    def _instrument(self, symbol: Symbol) -> Instrument:
        return next(i for i in self._instruments if i.symbol == symbol)

    def _depth_price(self, instrument: Instrument, side: Side) -> int:
        """A price 1 to LEVELS ticks from the reference, on the side's own half of the book."""
        ticks = 1 + self._random.randrange(LEVELS)
        offset = ticks * instrument.tick
        reference = instrument.reference_price
        return reference - offset if side is Side.BUY else reference + offset

    def _order(
        self, instrument: Instrument, side: Side, price: int, quantity: int = QUANTITY
    ) -> NewOrder:
        return NewOrder(
            BUYER if side is Side.BUY else SELLER,
            self._next_id(),
            None,
            instrument.symbol,
            side,
            OrdType.LIMIT,
            TimeInForce.DAY,
            quantity,
            price,
        )


class EngineBench:
    """An engine on the embedded venue, and the flow of orders built for it."""

    __slots__ = ("config", "engine", "flow")

    def __init__(self, config: OmsConfig, engine: Engine, flow: OrderFlow) -> None:
        self.config = config
        self.engine = engine
        self.flow = flow

    def run(self, commands: Sequence[Command]) -> None:
        """Hand every command to the engine, in order (the loop that benchmarks time)."""
        handle = self.engine.handle
        for command in commands:
            handle(command)

    def resting(self) -> int:
        """How many orders rest in the engine's book."""
        return len(self.engine.book.open_orders())


def build(config_path: Path | None = None, *, seed: int = 1) -> EngineBench:
    """An engine from `config_path` (the shipped config/oms.toml when None)."""
    config = load_config(config_path)
    instruments = load_instruments(config.instruments)
    sessions = {
        SessionID(s.sender_comp_id): SessionAccounts(s.accounts, s.default_account or None)
        for s in config.fix.sessions
        if s.sender_comp_id in BENCH_SESSIONS
    }
    missing = set(BENCH_SESSIONS) - set(sessions)
    if missing:
        raise ValueError(f"{config.path}: no fix.sessions for {', '.join(sorted(missing))}")
    engine = Engine(instruments, RiskChecks(benchmark_limits(config)), sessions=sessions)
    for name, venue in config.venues.items():
        if venue.kind == "embedded":
            engine.add_venue(EmbeddedVenue(VenueName(name), instruments, engine.on_venue_report))
    if not engine.venues:
        raise ValueError(f"{config.path}: no embedded venue to benchmark against")
    return EngineBench(config, engine, OrderFlow(list(instruments.values()), seed=seed))


class ThroughputTable:
    """Orders per second of each operation, for the engine and for the floor.

    The best round is the one least disturbed by whatever else the machine ran; the ratio
    sets best against best. The median shows how far the rounds spread.
    """

    def __init__(self) -> None:
        # operation -> "engine" or "floor" -> (best, median) orders per second
        self._rates: dict[str, dict[str, tuple[float, float]]] = {}

    def record(
        self, operation: str, timed: str, best_seconds: float, median_seconds: float, batch: int
    ) -> None:
        rates = (batch / best_seconds, batch / median_seconds)
        self._rates.setdefault(operation, {})[timed] = rates

    def __bool__(self) -> bool:
        return bool(self._rates)

    def lines(self) -> list[str]:
        """Engine and floor orders per second, best round and median, and the ratio."""
        rows = [
            f"{'operation':<26}{'engine best':>13}{'median':>10}"
            f"{'floor best':>13}{'median':>12}{'ratio':>8}"
        ]
        for operation, rates in self._rates.items():
            engine, floor_rates = rates.get("engine"), rates.get("floor")
            ratio = f"{engine[0] / floor_rates[0]:8.3f}" if engine and floor_rates else f"{'-':>8}"
            rows.append(
                f"{operation:<26}{_rate(engine, 0):>13}{_rate(engine, 1):>10}"
                f"{_rate(floor_rates, 0):>13}{_rate(floor_rates, 1):>12}{ratio}"
            )
        rows.append(
            f"goal for new orders: at least {GOAL_NEW_ORDERS_PER_SECOND:,} per second and "
            f"{GOAL_FLOOR_RATIO} of the floor, on one core"
        )
        return rows


def _rate(rates: tuple[float, float] | None, which: int) -> str:
    return f"{rates[which]:,.0f}" if rates is not None else "-"


class FloorRecord:
    """The least an engine could keep per message."""

    __slots__ = ("key", "message")

    def __init__(self, key: ClOrdID | None, message: Command) -> None:
        self.key = key
        self.message = message


def floor(commands: Sequence[Command], table: dict[ClOrdID | None, FloorRecord]) -> None:
    """The floor: one `__slots__` object created and put in a dict per message."""
    for command in commands:
        key = command.cl_ord_id
        table[key] = FloorRecord(key, command)
