"""Engine throughput per operation, each beside the floor over the same messages.

    .venv/bin/python -m pytest bench/test_bench_engine.py --benchmark-only -s

Every round builds its batch of commands before the clock starts, and rests what the batch
needs (the contra orders a fill takes, the orders a cancel or a replace names) through the
engine, untimed; then `bench.support.settle` collects and freezes the heap. The timed part
hands the batch to `Engine.handle`, one command at a time, with the garbage collector on.

The floor rounds prepare exactly the same way (so the messages are the same) and time
`bench.support.floor` over the batch instead. At the end of the session `conftest.py`
prints orders per second for both and their ratio. Nothing here asserts on timing: only on
the state the engine is left in, so that a fast wrong engine cannot pass for a fast one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.support import EngineBench, FloorRecord, ThroughputTable, build, floor, settle
from oms.commands import Command
from oms.model import ClOrdID

# Orders resting before the first round, so that no figure is taken on an empty book.
BACKGROUND = 10_000
BATCH = 10_000
ROUNDS = 10


class Operation(NamedTuple):
    name: str
    # Rests what the batch needs (untimed) and returns the batch.
    prepare: Callable[[EngineBench, int], list[Command]]


def _new_orders(bench: EngineBench, count: int) -> list[Command]:
    return bench.flow.new_resting(count)


def _fills(bench: EngineBench, count: int) -> list[Command]:
    bench.run(bench.flow.new_resting(count))
    return bench.flow.new_marketable(count)


def _cancels(bench: EngineBench, count: int) -> list[Command]:
    bench.run(bench.flow.new_resting(count))
    return bench.flow.cancels(count)


def _replaces(bench: EngineBench, count: int) -> list[Command]:
    bench.run(bench.flow.new_resting(count))
    return bench.flow.replaces(count)


def _mixed(bench: EngineBench, count: int) -> list[Command]:
    return bench.flow.mixed(count).commands


OPERATIONS = [
    Operation("new order, acknowledged", _new_orders),
    Operation("new order, filled", _fills),
    Operation("cancel", _cancels),
    Operation("replace", _replaces),
    Operation("mixed 60/30/10", _mixed),
]
_IDS = ["new", "fill", "cancel", "replace", "mixed"]


@pytest.fixture
def bench() -> EngineBench:
    bench = build()
    bench.run(bench.flow.new_resting(BACKGROUND))
    return bench


def _record(
    table: ThroughputTable, operation: Operation, timed: str, benchmark: BenchmarkFixture
) -> None:
    """Keep the rates of the rounds; none to keep when timing is off (--benchmark-disable)."""
    if benchmark.stats is not None:
        stats = benchmark.stats.stats
        table.record(operation.name, timed, stats.min, stats.median, BATCH)


def _prepared(bench: EngineBench, operation: Operation) -> Callable[[], tuple[tuple, dict]]:
    def setup() -> tuple[tuple, dict]:
        commands = operation.prepare(bench, BATCH)
        settle()
        return (commands,), {}

    return setup


@pytest.mark.parametrize("operation", OPERATIONS, ids=_IDS)
def test_engine(
    benchmark: BenchmarkFixture,
    throughput: ThroughputTable,
    bench: EngineBench,
    operation: Operation,
) -> None:
    benchmark.group = operation.name
    benchmark.pedantic(bench.run, setup=_prepared(bench, operation), rounds=ROUNDS)
    _record(throughput, operation, "engine", benchmark)

    # Every command did what the flow expected: what rests is what should rest.
    assert bench.resting() == len(bench.flow)


@pytest.mark.parametrize("operation", OPERATIONS, ids=_IDS)
def test_floor(
    benchmark: BenchmarkFixture,
    throughput: ThroughputTable,
    bench: EngineBench,
    operation: Operation,
) -> None:
    benchmark.group = operation.name
    setup = _prepared(bench, operation)

    def floor_setup() -> tuple[tuple, dict]:
        args, _ = setup()
        table: dict[ClOrdID | None, FloorRecord] = {}
        return (args[0], table), {}

    benchmark.pedantic(floor, setup=floor_setup, rounds=ROUNDS)
    _record(throughput, operation, "floor", benchmark)
