"""Benchmarks of the audit log, each figure beside a reference measured in the same run.

- append: events appended per second, end to end (append N events, then flush until all
  are durable), beside the same events pickled in batches of `batch_events`, written raw
  and fsynced once per commit's worth of batches. Goal: at least half the raw rate. Also
  what one `append` call costs the engine thread.
- bytes per event on disk, uncompressed and with lz4 buffer compression.
- durable commit latency: 8 threads each append an event and wait until it is durable;
  p50 and p99 of that wait, beside a bare write+fsync of one event's bytes.
  Goal: p99 at most twice the bare p99 plus the batch window.
- replay: events per second read back into Event objects. Goal: at least 300,000/s.

Nothing is asserted about time. Run `make bench` (or pytest bench/test_bench_audit.py
--benchmark-only -s) to see the table printed after the module's benchmarks.
"""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compliance.audit.lock import DirectoryLock
from compliance.audit.process import AuditLogProcess
from compliance.audit.reader import read_events
from compliance.audit.samples import order_flow
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig
from oms.events import Event

EVENTS = 50_000
BATCH_EVENTS = 1024
WINDOW_MS = 1.0
APPENDERS = 8
LATENCY_EVENTS_PER_APPENDER = 250
# The writer fsyncs once per commit of up to this many batches; the reference does too.
BATCHES_PER_COMMIT = 16

# figure name -> (value, unit, goal or note); printed at the end of the module.
FIGURES: dict[str, tuple[float, str, str]] = {}


@pytest.fixture(scope="module", autouse=True)
def figure_table() -> Iterator[None]:
    yield
    if FIGURES:
        print_table()


def print_table() -> None:
    append = FIGURES.get("append, audit log")
    raw = FIGURES.get("append, raw pickle+fsync")
    if append and raw:
        FIGURES["append ratio (audit / raw)"] = (append[0] / raw[0], "x", "goal >= 0.5")
    bare = FIGURES.get("write+fsync p99, bare")
    for writer in ("thread", "process"):
        p99 = FIGURES.get(f"durable p99, group commit, writer {writer}")
        if p99 and bare:
            allowed = 2 * bare[0] + WINDOW_MS
            met = "met" if p99[0] <= allowed else "not met"
            FIGURES[f"p99 allowance (2 x bare + window), writer {writer}"] = (
                allowed, "ms", f"p99 {p99[0]:.3f} ms: {met}"
            )
    width = max(len(name) for name in FIGURES)
    print()
    print(f"{'audit log figure':<{width}}  {'value':>12}  unit       goal / note")
    for name, (value, unit, note) in FIGURES.items():
        print(f"{name:<{width}}  {value:>12,.3f}  {unit:<9}  {note}")


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return order_flow(EVENTS)


@pytest.fixture
def directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def fresh(directory: Path) -> Path:
    """An empty subdirectory per round, so every round writes a new log."""
    path = Path(tempfile.mkdtemp(dir=directory))
    return path


def locked(directory: Path) -> DirectoryLock:
    """The directory's writer lock, held until the process exits (benchmarks only)."""
    return DirectoryLock(directory)


def timed_rounds(benchmark: Any, run: Callable[[Path], None], directory: Path) -> list[float]:
    """Run `run` on a fresh directory per round; the seconds of each round."""
    seconds: list[float] = []

    def setup() -> tuple[tuple[Path], dict[str, Any]]:
        return (fresh(directory),), {}

    def measured(target: Path) -> None:
        started = time.perf_counter()
        run(target)
        seconds.append(time.perf_counter() - started)

    benchmark.pedantic(measured, setup=setup, rounds=5, iterations=1, warmup_rounds=1)
    return seconds


def test_append_throughput_audit_log(benchmark: Any, events: list[Event], directory: Path) -> None:
    def run(target: Path) -> None:
        config = AuditConfig(
            directory=target, batch_events=BATCH_EVENTS, batch_window_ms=WINDOW_MS
        )
        log = AuditLog(config)
        append = log.append
        for event in events:
            append(event)
        log.flush()
        log.close()

    seconds = timed_rounds(benchmark, run, directory)
    FIGURES["append, audit log"] = (len(events) / statistics.median(seconds), "events/s", "")


def test_append_call_on_the_engine_thread(
    benchmark: Any, events: list[Event], directory: Path
) -> None:
    """What `append` costs the engine thread, with the writer kept waiting meanwhile."""
    seconds: list[float] = []

    def run(target: Path) -> None:
        config = AuditConfig(directory=target, batch_events=10**9, batch_window_ms=600_000.0)
        log = AuditLog(config)
        append = log.append
        # The first event wakes the writer, which then waits out its window: let it get
        # there, so that the figure is the call and not that one hand-over of the GIL.
        append(events[0])
        time.sleep(0.05)
        started = time.perf_counter()
        for event in events[1:]:
            append(event)
        seconds.append(time.perf_counter() - started)
        log.close()

    timed_rounds(benchmark, run, directory)
    per_call = statistics.median(seconds) / (len(events) - 1) * 1e9
    FIGURES["append call, engine thread"] = (per_call, "ns", "writer idle meanwhile")


def test_append_throughput_raw_pickle_reference(
    benchmark: Any, events: list[Event], directory: Path
) -> None:
    def run(target: Path) -> None:
        descriptor = os.open(target / "raw.pickle", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            for number, start in enumerate(range(0, len(events), BATCH_EVENTS), 1):
                os.write(descriptor, pickle.dumps(events[start : start + BATCH_EVENTS], 5))
                if number % BATCHES_PER_COMMIT == 0:
                    os.fsync(descriptor)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    seconds = timed_rounds(benchmark, run, directory)
    rate = len(events) / statistics.median(seconds)
    FIGURES["append, raw pickle+fsync"] = (rate, "events/s", "reference")


@pytest.mark.parametrize("compression", [None, "lz4"])
def test_bytes_per_event_on_disk(
    benchmark: Any, events: list[Event], directory: Path, compression: str | None
) -> None:
    sizes: list[int] = []

    def run(target: Path) -> None:
        with AuditLog(
            AuditConfig(directory=target, batch_events=BATCH_EVENTS), compression=compression
        ) as log:
            for event in events:
                log.append(event)
        sizes.append(sum(p.stat().st_size for p in target.iterdir()))

    timed_rounds(benchmark, run, directory)
    pickled = len(pickle.dumps(events[:BATCH_EVENTS], 5)) / BATCH_EVENTS
    FIGURES[f"bytes/event, {compression or 'uncompressed'}"] = (
        sizes[-1] / len(events),
        "bytes",
        f"pickle: {pickled:.0f}",
    )


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_durable_latency_group_commit(
    benchmark: Any, events: list[Event], directory: Path, writer: str
) -> None:
    waits: list[float] = []

    def run(target: Path) -> None:
        config = AuditConfig(
            directory=target, batch_events=BATCH_EVENTS, batch_window_ms=WINDOW_MS
        )
        log = AuditLog(config) if writer == "thread" else AuditLogProcess(config, locked(target))
        lock = threading.Lock()
        supply = iter(events)

        def appender() -> None:
            for _ in range(LATENCY_EVENTS_PER_APPENDER):
                # One engine thread appends in seq order; the lock stands in for it.
                with lock:
                    event = next(supply)
                    started = time.perf_counter()
                    log.append(event)
                    log.ship()
                log.wait_durable(event.seq)
                waits.append(time.perf_counter() - started)

        threads = [threading.Thread(target=appender) for _ in range(APPENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log.close()

    # The 50,000 events held for the other benchmarks make each full collection take tens
    # of milliseconds, on whichever thread triggers it; a service freezes its start-up heap
    # the same way. The bare reference allocates almost nothing and never collects.
    gc.freeze()
    try:
        benchmark.pedantic(lambda: run(fresh(directory)), rounds=1, iterations=1)
    finally:
        gc.unfreeze()
    p50, p99 = percentiles(waits)
    note = f"{APPENDERS} appenders, window {WINDOW_MS} ms"
    FIGURES[f"durable p50, group commit, writer {writer}"] = (p50, "ms", note)
    FIGURES[f"durable p99, group commit, writer {writer}"] = (p99, "ms", note)


def test_durable_latency_bare_write_fsync(
    benchmark: Any, events: list[Event], directory: Path
) -> None:
    waits: list[float] = []
    records = [pickle.dumps(event, 5) for event in events[:2000]]

    def run() -> None:
        descriptor = os.open(fresh(directory) / "bare", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            for record in records:
                started = time.perf_counter()
                os.write(descriptor, record)
                os.fsync(descriptor)
                waits.append(time.perf_counter() - started)
        finally:
            os.close(descriptor)

    benchmark.pedantic(run, rounds=1, iterations=1)
    p50, p99 = percentiles(waits)
    FIGURES["write+fsync p50, bare"] = (p50, "ms", "one event per fsync, one thread")
    FIGURES["write+fsync p99, bare"] = (p99, "ms", "reference")


def test_replay_speed(benchmark: Any, events: list[Event], directory: Path) -> None:
    target = fresh(directory)
    with AuditLog(AuditConfig(directory=target, batch_events=BATCH_EVENTS)) as log:
        for event in events:
            log.append(event)
    seconds: list[float] = []

    def replay() -> None:
        started = time.perf_counter()
        count = 0
        for _ in read_events(target):
            count += 1
        seconds.append(time.perf_counter() - started)
        assert count == len(events)

    benchmark.pedantic(replay, rounds=5, iterations=1, warmup_rounds=1)
    rate = len(events) / statistics.median(seconds)
    FIGURES["replay"] = (rate, "events/s", "goal >= 300,000")


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100)
    return cuts[49] * 1000, cuts[98] * 1000
