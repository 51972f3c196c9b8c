"""Micro-benchmarks of the embedded venue's matching engine, on its own.

Each round hands `ORDERS` orders, built before the clock starts, to a fresh engine whose
listener does nothing, so the figures are the engine's own work. The orders per second of
a benchmark are `ORDERS` over its fastest round (`extra_info["orders_per_second"]`); on a
shared machine the fastest round is the one least disturbed. No figure is asserted.

- resting: limit orders that never cross, bids below and asks above the middle, spread
  over `LEVELS` prices a side.
- marketable: limit orders priced through the opposite side, each filling exactly the
  oldest resting order (`ORDERS` of them, rested in the set-up, untimed).
- cancel: cancels of `ORDERS` resting orders in random order.
- memory: 100,000 resting orders under tracemalloc; the bytes the engine allocated for them
  (references and owners are made beforehand) in `extra_info["bytes_per_resting_order"]`.
"""

from __future__ import annotations

import gc
import random
import tracemalloc
from itertools import count
from typing import Any

from gateways.simvenue.matching import MatchingEngine
from oms.model import PRICE_SCALE, OrdType, Side, TimeInForce

ORDERS = 10_000
LEVELS = 50
QUANTITY = 100
TICK = PRICE_SCALE // 100
MIDDLE = 100 * PRICE_SCALE
ROUNDS = 30

# (ref, owner, side, limit price) of one order.
Orders = list[tuple[str, str, Side, int]]

BUY, SELL = Side.BUY, Side.SELL
LIMIT = OrdType.LIMIT
DAY = TimeInForce.DAY


class NullListener:
    """Hears everything, does nothing."""

    def on_accepted(self, ref: str) -> None:
        pass

    def on_rejected(self, ref: str, reason: str) -> None:
        pass

    def on_fill(
        self, ref: str, quantity: int, price: int, trade_id: str, leaves: int, contra_ref: str
    ) -> None:
        pass

    def on_canceled(self, ref: str, leaves: int, reason: str) -> None:
        pass

    def on_replaced(self, ref: str, quantity: int, price: int | None, leaves: int) -> None:
        pass

    def on_cancel_rejected(self, ref: str, reason: str) -> None:
        pass

    def on_triggered(self, ref: str) -> None:
        pass

    def on_done_for_day(self, ref: str, leaves: int) -> None:
        pass

    def on_expired(self, ref: str, leaves: int) -> None:
        pass


def fresh_engine() -> MatchingEngine:
    trade_numbers = count(1)
    return MatchingEngine(
        "BENCH",
        TICK,
        NullListener(),
        trade_ids=lambda: f"T{next(trade_numbers)}",
        clock=lambda: 0,
    )


def resting_orders(prefix: str, number: int, seed: int = 1) -> Orders:
    """(ref, owner, side, price) of orders that never cross, alternately buy and sell."""
    draw = random.Random(seed).randrange
    prices = {
        BUY: [MIDDLE - (1 + n) * TICK for n in range(LEVELS)],
        SELL: [MIDDLE + (1 + n) * TICK for n in range(LEVELS)],
    }
    owners = [f"ACC{n}" for n in range(20)]
    orders = []
    for n in range(number):
        side = BUY if n % 2 == 0 else SELL
        orders.append((f"{prefix}{n}", owners[n % 20], side, prices[side][draw(LEVELS)]))
    return orders


def rest(engine: MatchingEngine, orders: Orders) -> None:
    submit = engine.submit
    for ref, owner, side, price in orders:
        submit(ref, owner, side, LIMIT, DAY, QUANTITY, price, None)


def record(benchmark: Any) -> None:
    # With --benchmark-disable (the test run) each case runs once and keeps no statistics.
    if benchmark.stats is not None:
        benchmark.extra_info["orders_per_second"] = round(ORDERS / benchmark.stats.stats.min)


def test_submit_resting_limit_orders(benchmark: Any) -> None:
    orders = resting_orders("R", ORDERS)

    def setup() -> tuple[tuple[MatchingEngine, Orders], dict[str, Any]]:
        gc.collect()
        return (fresh_engine(), orders), {}

    benchmark.pedantic(rest, setup=setup, rounds=ROUNDS)
    record(benchmark)


def test_submit_marketable_limit_orders_each_filling_one_resting_order(benchmark: Any) -> None:
    resting = [(ref, "MAKER", SELL, price) for ref, _, _, price in resting_orders("R", ORDERS)]
    far = MIDDLE + 2 * LEVELS * TICK
    takers = [(f"T{n}", "TAKER", BUY, far) for n in range(ORDERS)]

    def setup() -> tuple[tuple[MatchingEngine, Orders], dict[str, Any]]:
        engine = fresh_engine()
        rest(engine, resting)
        gc.collect()
        return (engine, takers), {}

    benchmark.pedantic(rest, setup=setup, rounds=ROUNDS)
    record(benchmark)


def test_cancel_resting_orders(benchmark: Any) -> None:
    orders = resting_orders("R", ORDERS)
    refs = [ref for ref, _, _, _ in orders]
    random.Random(2).shuffle(refs)

    def setup() -> tuple[tuple[MatchingEngine], dict[str, Any]]:
        engine = fresh_engine()
        rest(engine, orders)
        gc.collect()
        return (engine,), {}

    def cancel_all(engine: MatchingEngine) -> None:
        cancel = engine.cancel
        for ref in refs:
            cancel(ref)

    benchmark.pedantic(cancel_all, setup=setup, rounds=ROUNDS)
    record(benchmark)


def test_memory_of_100000_resting_orders(benchmark: Any) -> None:
    number = 100_000
    orders = resting_orders("M", number)

    def measure() -> None:
        engine = fresh_engine()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        rest(engine, orders)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(engine) == number
        benchmark.extra_info["bytes_per_resting_order"] = round((after - before) / number, 1)

    benchmark.pedantic(measure, rounds=1)
