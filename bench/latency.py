"""Latency of a mixed stream, memory per resting order, and a profile of the new order path.

    .venv/bin/python -m bench.latency                      # latency percentiles and pauses
    .venv/bin/python -m bench.latency --memory             # bytes per resting order, 1,000,000
    .venv/bin/python -m bench.latency --memory --orders 100000
    .venv/bin/python -m bench.latency --profile            # cProfile of 100,000 new orders

Latency: 10,000 orders rest first; then a stream of 60% new orders (a quarter of them
marketable, each filling one resting order, which keeps the book at its size), 30% cancels
and 10% replaces, built before the clock starts. The heap is collected and frozen after
set-up (the garbage collector stays on: only objects made afterwards are ever scanned).
Each `Engine.handle` call is timed alone with `time.perf_counter_ns`; the first
`--warmup` commands are not counted. A pause is a command that took over 0.5 ms.

Memory: tracemalloc traces everything from before the engine is built. One order per
instrument and side is rested first, so that per-instrument structures exist; then the
traced size grows by what `--orders` more resting orders keep: the engine's orders, book
and risk usage, the embedded venue's matching engine, and the ClOrdID and Price each
command brought (kept by the order, as a FIX decoder's strings and ints would be). Events
are not retained: no listener holds them. Each allocation is charged to a part by the file
of the line that made it; the price levels (`oms/levels.py`) serve both the OMS book and
the venue, so their share is shown apart.

Profile: cProfile's own cost per call inflates small functions, so the shares point at
where the time goes rather than weigh it exactly; `bench/test_bench_engine.py` times
without a profiler.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time
import tracemalloc
from array import array
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from bench.support import EngineBench, build, settle
from oms.commands import Command

# The goals: latency once warm, and memory with 1,000,000 resting orders.
PAUSE_NS = 500_000
GOAL_P99_OVER_P50 = 3.0
GOAL_BYTES_PER_ORDER = 1024
AIM_BYTES_PER_ORDER = 600
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


# The clocks a command can be timed with: the wall clock (what a client waits) and the
# thread's CPU time (what the engine itself spends; another process running in between
# does not count, but reading this clock costs about 0.6 µs more per call).
CLOCKS: dict[str, Callable[[], int]] = {
    "wall": time.perf_counter_ns,
    "cpu": time.thread_time_ns,
}


class CollectionWatch:
    """Times every garbage collection (a `gc.callbacks` entry)."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.collections: list[tuple[int, int, int]] = []  # (generation, start, duration)
        self._clock = clock
        self._start = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now = self._clock()
        if phase == "start":
            self._start = now
        else:
            self.collections.append((info["generation"], self._start, now - self._start))


def time_each(
    bench: EngineBench,
    commands: Sequence[Command],
    clock: Callable[[], int],
    freeze_every: int = 0,
) -> tuple[array[int], array[int]]:
    """When each `Engine.handle` call started and how long it took, in nanoseconds.

    With `freeze_every`, the heap is frozen after every that many commands, between two
    timed calls, the way a runtime could freeze it whenever its input queue runs dry.
    """
    starts = array("q", bytes(8 * len(commands)))
    took = array("q", bytes(8 * len(commands)))
    handle = bench.engine.handle
    freeze = gc.freeze
    every = freeze_every or len(commands) + 1
    for index, command in enumerate(commands):
        start = clock()
        handle(command)
        took[index] = clock() - start
        starts[index] = start
        if (index + 1) % every == 0:
            freeze()
    return starts, took


def machine_pauses(steps: int, step_ns: float, clock: Callable[[], int]) -> int:
    """Pauses over `PAUSE_NS` that a loop of fixed work, as long as the stream, sees.

    The loop has no allocation and no collection in it, so what it sees is the machine:
    other processes and the hypervisor taking the CPU away.
    """
    work = range(1000)
    start = clock()
    for _ in range(100):
        sum(work)
    rounds = max(1, round(1000 * step_ns * 100 / max(clock() - start, 1) / 1000))
    pauses = 0
    for _ in range(steps):
        start = clock()
        for _ in range(rounds):
            sum(work)
        if clock() - start > PAUSE_NS:
            pauses += 1
    return pauses


def latency(
    resting: int, commands: int, warmup: int, seed: int, freeze_every: int, clock_name: str
) -> None:
    clock = CLOCKS[clock_name]
    bench = build(seed=seed)
    bench.run(bench.flow.new_resting(resting))
    stream = bench.flow.mixed(warmup + commands)
    # Split before the freeze: a list made after it would be scanned by every collection.
    warm, measured_commands = stream.commands[:warmup], stream.commands[warmup:]
    settle()

    watch = CollectionWatch(clock)
    gc.callbacks.append(watch)
    try:
        time_each(bench, warm, clock, freeze_every)
        measured_from = clock()
        timed = time_each(bench, measured_commands, clock, freeze_every)
        starts, took = (np.frombuffer(a, dtype=np.int64) for a in timed)
    finally:
        gc.callbacks.remove(watch)
    assert bench.resting() == len(bench.flow), "the engine's book differs from the flow's"

    kinds = np.array(stream.kinds[warmup:])
    mix = Counter(stream.kinds[warmup:])
    print(
        f"mixed stream: {commands:,} commands after {warmup:,} of warm-up, "
        f"{resting:,} resting at the start and {bench.resting():,} at the end"
    )
    print("mix: " + ", ".join(f"{kind} {count / commands:.1%}" for kind, count in mix.items()))
    print(
        f"\n{'command':<14}{'count':>9}"
        + "".join(f"{f'p{p:g}':>9}" for p in PERCENTILES)
        + f"{'max':>9}{'p99/p50':>9}   (microseconds, {clock_name} clock)"
    )
    _row("all", took)
    for kind in mix:
        _row(kind, took[kinds == kind])

    measured = [c for c in watch.collections if c[1] >= measured_from]
    pauses = np.flatnonzero(took > PAUSE_NS)
    collection_starts = np.array(sorted(c[1] for c in measured), dtype=np.int64)
    # A pause is charged to the collector if a collection started during the call.
    first = np.searchsorted(collection_starts, starts[pauses])
    last = np.searchsorted(collection_starts, starts[pauses] + took[pauses])
    in_gc = int((last > first).sum())
    by_kind = Counter(str(k) for k in kinds[pauses])
    print(
        f"\npauses over {PAUSE_NS / 1000:g} µs: {len(pauses)} of {commands:,} commands, "
        f"{in_gc} of them during a garbage collection"
        + (f"; by command: {dict(by_kind)}" if len(pauses) else "")
    )
    for generation in (0, 1, 2):
        durations = [c[2] for c in measured if c[0] == generation]
        if durations:
            print(
                f"gc generation {generation}: {len(durations):,} collections, "
                f"longest {max(durations) / 1000:.0f} µs, "
                f"{sum(d > PAUSE_NS for d in durations)} over {PAUSE_NS / 1000:g} µs"
            )
    noise = machine_pauses(commands, float(np.median(took)), clock)
    print(
        f"the machine itself: {noise} pauses over {PAUSE_NS / 1000:g} µs in a loop of fixed "
        f"work as long as the stream ({commands:,} steps of about the median command)"
    )
    print(
        f"throughput: {commands / (took.sum() / 1e9):,.0f} commands per second "
        "(sum of the timed calls)"
    )
    p50, p99 = np.percentile(took, [50, 99])
    print(
        f"goals: p99 at most {GOAL_P99_OVER_P50:g} times p50 (here {p99 / p50:.2f}); "
        f"no pause over {PAUSE_NS / 1000:g} µs once warm (here {len(pauses)})"
    )


def _row(label: str, took: np.ndarray) -> None:
    if not len(took):
        return
    values = np.percentile(took, PERCENTILES) / 1000
    print(
        f"{label:<14}{len(took):>9,}"
        + "".join(f"{v:>9.1f}" for v in values)
        + f"{took.max() / 1000:>9.1f}{values[2] / values[0]:>9.2f}"
    )


def memory(orders: int, top: int) -> None:
    tracemalloc.start(1)
    bench = build()
    flow = bench.flow
    # One order per instrument and side first: per-instrument structures are not per order.
    bench.run(list(flow.unshadowed(2 * len(bench.engine.instruments))))
    gc.collect()
    before_bytes = tracemalloc.get_traced_memory()[0]
    before = tracemalloc.take_snapshot()

    handle = bench.engine.handle
    for command in flow.unshadowed(orders):
        handle(command)
    gc.collect()
    after_bytes = tracemalloc.get_traced_memory()[0]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()

    resting = bench.resting()
    if resting < orders:
        raise SystemExit(f"only {resting:,} of {orders:,} orders rest: the figures would lie")
    per_order = (after_bytes - before_bytes) / orders
    print(
        f"{orders:,} resting orders: {per_order:,.0f} bytes per resting order "
        f"({(after_bytes - before_bytes) / 2**20:,.1f} MiB traced); goal at most "
        f"{GOAL_BYTES_PER_ORDER:,}, aiming for {AIM_BYTES_PER_ORDER}"
    )

    shares: Counter[str] = Counter()
    for stat in after.compare_to(before, "filename"):
        shares[_owner(stat.traceback[0].filename)] += stat.size_diff
    for owner, size in shares.most_common():
        if abs(size) < orders / 2:
            continue
        print(f"  {size / orders:>8,.0f}  {owner}")

    print("\nlargest allocation sites (bytes and blocks per order):")
    for stat in after.compare_to(before, "lineno")[:top]:
        frame = stat.traceback[0]
        print(
            f"  {stat.size_diff / orders:>8,.1f}  {stat.count_diff / orders:>5.2f}"
            f"  {_short(frame.filename)}:{frame.lineno}"
        )


# Who keeps what was allocated, by the file of the line that allocated it.
_OWNERS = (
    ("/oms/levels.py", "price levels (oms/levels.py), the OMS book's and the venue's"),
    ("/gateways/", "embedded venue (gateways/)"),
    ("/oms/", "engine: orders, terms, book, ids (oms/)"),
    ("/compliance/", "risk usage (compliance/)"),
    ("/bench/", "ClOrdID and Price of each command, kept by the order"),
)


def _owner(filename: str) -> str:
    for part, owner in _OWNERS:
        if part in filename:
            return owner
    return f"other ({_short(filename)})"


def _short(filename: str) -> str:
    for root in ("/oms/", "/gateways/", "/compliance/", "/bench/", "/site-packages/"):
        if root in filename:
            return root.strip("/") + "/" + filename.split(root, 1)[1]
    return filename


def profile(orders: int, resting: int, top: int) -> None:
    bench = build()
    bench.run(bench.flow.new_resting(resting))
    commands = bench.flow.new_resting(orders)
    settle()
    profiler = cProfile.Profile()
    profiler.runcall(bench.run, commands)
    stats = pstats.Stats(profiler)
    # pstats keeps these undeclared: the total own time, and (file, line, name) -> timings.
    total = stats.total_tt  # type: ignore[attr-defined]
    timings = stats.stats  # type: ignore[attr-defined]
    rows = sorted(timings.items(), key=lambda item: item[1][2], reverse=True)
    print(
        f"cProfile of {orders:,} new orders acknowledged ({resting:,} resting before), "
        f"{total / orders * 1e6:.1f} µs per order under the profiler"
    )
    print(f"{'share':>7}{'own µs/order':>14}{'calls/order':>13}  function")
    for (filename, line, name), (_, calls, own, _, _) in rows[:top]:
        where = f"{_short(filename)}:{line}" if line else filename
        print(
            f"{own / total:>7.1%}{own / orders * 1e6:>14.2f}{calls / orders:>13.1f}  "
            f"{name} ({where})"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--memory", action="store_true", help="bytes per resting order")
    mode.add_argument("--profile", action="store_true", help="profile the new order path")
    parser.add_argument(
        "--orders",
        type=int,
        default=None,
        help="orders for --memory (1,000,000) or --profile (100,000)",
    )
    parser.add_argument(
        "--resting",
        type=int,
        default=10_000,
        help="orders resting before the stream or the profile",
    )
    parser.add_argument("--commands", type=int, default=200_000, help="timed commands")
    parser.add_argument("--warmup", type=int, default=20_000, help="untimed first commands")
    parser.add_argument("--top", type=int, default=10, help="rows of --memory and --profile")
    parser.add_argument(
        "--freeze-every",
        type=int,
        default=0,
        help="also freeze the heap after every N commands (0: only after start-up)",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="time each command by the wall clock or by the thread's CPU time",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.memory:
        memory(args.orders or 1_000_000, args.top)
    elif args.profile:
        profile(args.orders or 100_000, args.resting, args.top)
    else:
        latency(args.resting, args.commands, args.warmup, args.seed, args.freeze_every, args.clock)


if __name__ == "__main__":
    main()
