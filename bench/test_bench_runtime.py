"""The engine inside the runtime, with the audit log durable, async and off, in one run.

The issue's goal: the engine's throughput with the durable log at least 0.8 of its
throughput with the log off. Each round submits the same new orders (resting, from
`bench.support.OrderFlow`) to a fresh runtime's queue and stops the clock when the client
sink has heard the last acknowledgement, so in durable mode every one of them waited for
its fsync (group-committed). Figures are printed with `-s`; nothing is asserted on time.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bench.support import OrderFlow, benchmark_limits
from oms.commands import Command
from oms.config import load_config
from oms.events import Event
from oms.refdata import load_instruments
from oms.runtime import Runtime

ORDERS = 5_000
MODES = ("off", "async", "durable")
_rates: dict[str, float] = {}


def run_once(directory: Path, mode: str, commands: list[Command]) -> float:
    """Seconds from the first submit to the last acknowledgement heard by the client."""
    config = load_config()
    config = dataclasses.replace(
        config,
        accounts=benchmark_limits(config),
        audit=dataclasses.replace(config.audit, directory=directory, mode=mode),
    )
    runtime = Runtime(config)
    heard = 0
    done = threading.Event()

    def sink(event: Event) -> None:
        nonlocal heard
        heard += 1
        if heard == len(commands):
            done.set()

    runtime.add_client_sink(sink)
    runtime.start()
    try:
        started = time.perf_counter()
        for command in commands:
            runtime.submit(command)
        if not done.wait(120):
            raise AssertionError(f"only {heard} of {len(commands)} acknowledgements heard")
        return time.perf_counter() - started
    finally:
        runtime.stop()


@pytest.mark.parametrize("mode", MODES)
def test_runtime_new_orders_by_audit_mode(benchmark: Any, tmp_path: Path, mode: str) -> None:
    instruments = list(load_instruments(load_config().instruments).values())
    rounds = iter(range(1_000))

    def setup() -> tuple[tuple[Path, str, list[Command]], dict[str, Any]]:
        flow = OrderFlow(instruments, seed=next(rounds))
        directory = tmp_path / f"audit-{next(rounds)}"
        return (directory, mode, flow.new_resting(ORDERS)), {}

    benchmark.pedantic(run_once, setup=setup, rounds=3, iterations=1)
    if benchmark.stats is not None:
        _rates[mode] = ORDERS / benchmark.stats.stats.min
        if len(_rates) == len(MODES):
            off = _rates["off"]
            print(f"\nruntime, {ORDERS:,} new orders to acknowledgement (best round):")
            for name in MODES:
                print(f"  audit {name:8s} {_rates[name]:>10,.0f} orders/s   "
                      f"ratio to off {_rates[name] / off:.2f}")
            print("  goal: durable at least 0.80 of off")
