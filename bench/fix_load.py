"""FIX load on loopback: the OMS beside a bare quickfix acceptor, orders per second and ack
latency with K orders in flight.

    .venv/bin/python -m bench.fix_load                          # 20,000 orders, 64 then 1
    .venv/bin/python -m bench.fix_load --sessions 2 --audit off
    .venv/bin/python -m bench.fix_load --target oms --in-flight 64 --orders 50000
    .venv/bin/python -m bench.fix_load --threads     # and the OMS's CPU per order by thread

Each measurement starts a server process of its own in a new temporary directory, from one
configuration file written for it (`write_config`): the OMS as an operator runs it
(`python -m oms.cli serve --config ...`), or `bench.bare_acceptor`, which reads the same
file and builds the same quickfix settings, message store and message log, then answers
every NewOrderSingle with an ExecutionReport New from inside quickfix's callback. The two
are measured one after the other with the same client, so their ratio takes most of the
machine out of the comparison; the client runs in this process, so its GIL is not theirs.

The client (`bench.fix_load_client`) is one quickfix initiator carrying CLIENT1 (buys)
and, with --sessions 2, CLIENT2 (sells). Its orders are limit orders that rest: buys
1 to `LEVELS` ticks below each instrument's reference price, sells as far above, spread
over every instrument, well inside the 10% price band. The limits that grow with the
order count (open orders, position, daily notional) are raised above what a run reaches; the
per-order ones (quantity, notional, price band) keep their shipped values.

Each order is timed from just before its send to the arrival of the first
ExecutionReport carrying its ClOrdID(11); at most K are unanswered at any time, across the
sessions. Throughput is the measured orders over the time from their first send to their
last answer. The first `--warmup` orders of each run are sent the same way and not counted.
The server's CPU time per order is read from /proc around the measured orders, and so is
this process's (the client's): the two share the machine. With --threads the OMS runs
under `bench.serve_threads`, which splits its CPU time by thread.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.fix_load_client import LoadClient, LoadRun, OrderPlan, plan_orders
from oms.config import REPOSITORY_ROOT

# The goals, with 64 orders in flight: OMS throughput at least 0.7 of the bare
# acceptor's, OMS p99 ack latency at most twice the bare acceptor's.
GOAL_THROUGHPUT_RATIO = 0.7
GOAL_P99_RATIO = 2.0
GOAL_IN_FLIGHT = 64

# CLIENT1 buys on ACC1, CLIENT2 sells on ACC2.
SESSIONS = (("CLIENT1", "ACC1", "1"), ("CLIENT2", "ACC2", "2"))
TARGETS = ("bare", "oms")
PERCENTILES = (50.0, 90.0, 99.0)
# Shares per order, and how far above every order's notional the daily limit is set.
QUANTITY = 100
_NOTIONAL_HEADROOM = 1000
_LISTEN_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0
_SIGNAL_SETTLE = 0.6
# Lines of a server's own output shown after its run.
_OUTPUT_LINES = 20


@dataclass(frozen=True, kw_only=True)
class LoadSettings:
    """One invocation: what to send, and how the servers keep their state."""

    orders: int
    warmup: int
    sessions: int
    in_flight: tuple[int, ...]
    store: str
    log: str
    audit: str
    targets: tuple[str, ...]
    audit_writer: str = "thread"
    stall_seconds: float
    threads: bool = False


@dataclass(frozen=True)
class Measurement:
    target: str
    in_flight: int
    run: LoadRun
    server_cpu_seconds: float | None
    client_cpu_seconds: float
    # CPU seconds by server thread (--threads, OMS only).
    thread_cpu_seconds: dict[str, float] | None = None

    @property
    def throughput(self) -> float:
        return self.run.orders / self.run.seconds

    def percentile(self, share: float) -> float:
        """Ack latency at `share` percent, in microseconds."""
        return float(np.percentile(self.run.latencies_ns, share)) / 1000


# The server's configuration.


def free_port() -> int:
    """A loopback TCP port the OS reports free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(directory: Path, port: int, settings: LoadSettings) -> Path:
    """The configuration both servers read: the shipped instruments and per-order limits,
    CLIENT1 and CLIENT2, the embedded venue, and no metrics or admin endpoint."""
    capacity = 2 * (settings.orders + settings.warmup)
    instruments = REPOSITORY_ROOT / "config" / "instruments.csv"
    lines = [
        f'instruments = "{instruments}"',
        f'data_directory = "{directory / "var"}"',
        "",
        "[fix]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'comp_id = "OMS"',
        f'store = "{settings.store}"',
        f'log = "{settings.log}"',
        "heartbeat_seconds = 30",
    ]
    for sender, account, _ in SESSIONS:
        lines += [
            "",
            "[[fix.sessions]]",
            f'sender_comp_id = "{sender}"',
            'begin_string = "FIX.4.4"',
            f'accounts = ["{account}"]',
            f'default_account = "{account}"',
        ]
    for _, account, _ in SESSIONS:
        lines += [
            "",
            f"[accounts.{account}]",
            "max_order_quantity = 100000",
            'max_order_notional = "10000000"',
            'price_band_percent = "10"',
            f"max_open_orders = {capacity}",
            f"max_position = {capacity * QUANTITY}",
            f'max_daily_notional = "{capacity * QUANTITY * _NOTIONAL_HEADROOM}"',
        ]
    lines += [
        "",
        "[venues.embedded]",
        'kind = "embedded"',
        "",
        "[routing]",
        'default = "embedded"',
        "",
        "[audit]",
        f'directory = "{directory / "audit"}"',
        f'mode = "{settings.audit}"',
        f'writer = "{settings.audit_writer}"',
        "",
        "[metrics]",
        "enabled = false",
        "",
        "[admin]",
        "enabled = false",
        "",
    ]
    path = directory / "fix-load.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# The server process.


@dataclass(frozen=True)
class Server:
    """A server process that listens on `port`; `thread_report` is where it writes its
    threads' CPU time when asked (None: it cannot)."""

    port: int
    pid: int
    thread_report: Path | None


def server_command(target: str, config: Path, thread_report: Path | None) -> list[str]:
    if target == "bare":
        return [sys.executable, "-m", "bench.bare_acceptor", "--config", str(config)]
    oms = ["--log-level", "WARNING", "serve", "--config", str(config)]
    if thread_report is not None:
        return [sys.executable, "-m", "bench.serve_threads", "--report", str(thread_report)] + oms
    return [sys.executable, "-m", "oms.cli", *oms]


@contextmanager
def serving(target: str, settings: LoadSettings) -> Iterator[Server]:
    """Start the server in a new temporary directory; yields it once it listens, and stops
    it with SIGTERM afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"fix-load-{target}-") as name:
        directory = Path(name)
        port = free_port()
        config = write_config(directory, port, settings)
        report = directory / "threads.json" if settings.threads and target == "oms" else None
        output_path = directory / "server.log"
        with output_path.open("wb") as output:
            process = subprocess.Popen(
                server_command(target, config, report),
                cwd=REPOSITORY_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_listening(process, port, output_path)
            yield Server(port, process.pid, report)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _show_output(target, output_path)


def _show_output(target: str, output: Path) -> None:
    """The first lines the server wrote (its log at WARNING and above), if any."""
    lines = output.read_text(errors="replace").splitlines()
    if not lines:
        return
    more = (
        f"\n... and {len(lines) - _OUTPUT_LINES:,} more lines"
        if len(lines) > _OUTPUT_LINES
        else ""
    )
    shown = "\n".join(lines[:_OUTPUT_LINES])
    print(f"{target} server said:\n{shown}{more}", file=sys.stderr)


def _wait_listening(process: subprocess.Popen[bytes], port: int, output: Path) -> None:
    deadline = time.monotonic() + _LISTEN_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"the server exited ({process.returncode}): {output.read_text(errors='replace')}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server did not listen on port {port} within {_LISTEN_TIMEOUT:g} s")


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process and its descendants (the audit writer, under
    a fork server) have used so far (Linux /proc), or None if the process is gone."""
    stats = _process_stats()
    if pid not in stats:
        return None
    children: dict[int, list[int]] = {}
    for child, (parent, _) in stats.items():
        children.setdefault(parent, []).append(child)
    total, family = 0, [pid]
    while family:
        member = family.pop()
        total += stats[member][1]
        family += children.get(member, [])
    return total / os.sysconf("SC_CLK_TCK")


def _process_stats() -> dict[int, tuple[int, int]]:
    """Every process's parent and its user plus system CPU ticks."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: ppid is field 4, utime field 14 and stime field 15.
        stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return stats


# One measurement.


def measure(
    target: str, in_flight: int, settings: LoadSettings, plan: OrderPlan, run_number: int
) -> Measurement:
    with serving(target, settings) as server:
        client = LoadClient(
            server.port,
            [sender for sender, _, _ in SESSIONS[: settings.sessions]],
            stall_seconds=settings.stall_seconds,
        )
        try:
            client.connect()
            warm, timed = plan.messages(f"R{run_number}", settings.warmup, settings.orders)
            client.drive(warm, in_flight)
            _mark_threads(server)
            before, client_before = cpu_seconds(server.pid), time.process_time()
            run = client.drive(timed, in_flight)
            after, client_after = cpu_seconds(server.pid), time.process_time()
            threads = _thread_cpu_seconds(server)
        finally:
            client.close()
    used = after - before if before is not None and after is not None else None
    return Measurement(target, in_flight, run, used, client_after - client_before, threads)


def _mark_threads(server: Server) -> None:
    if server.thread_report is not None:
        os.kill(server.pid, signal.SIGUSR2)
        # The server's main thread runs the handler when it next wakes (at most 0.5 s).
        time.sleep(_SIGNAL_SETTLE)


def _thread_cpu_seconds(server: Server) -> dict[str, float] | None:
    report = server.thread_report
    if report is None:
        return None
    os.kill(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + _LISTEN_TIMEOUT
    while not report.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the OMS did not report its threads' CPU time")
        time.sleep(0.05)
    seconds: dict[str, float] = json.loads(report.read_text(encoding="utf-8"))
    return seconds


# The report.


def print_header(settings: LoadSettings) -> None:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"FIX load: {settings.orders:,} orders per run after {settings.warmup:,} of warm-up; "
        f"{settings.sessions} session(s); store={settings.store}, log={settings.log}, "
        f"OMS audit={settings.audit} (writer: {settings.audit_writer}); "
        f"{os.cpu_count()} CPUs, load average {load}"
    )
    print(
        f"\n{'target':<7}{'in flight':>10}{'orders/s':>10}"
        + "".join(f"{f'p{p:g}':>8}" for p in PERCENTILES)
        + f"{'max':>9}{'server CPU':>11}{'client CPU':>11}"
        + "   (ack latency in µs; CPU in µs per order)"
    )


def print_row(measurement: Measurement) -> None:
    run = measurement.run
    cpu = measurement.server_cpu_seconds
    cpu_text = f"{cpu / run.orders * 1e6:.0f}" if cpu is not None else "-"
    print(
        f"{measurement.target:<7}{measurement.in_flight:>10}{measurement.throughput:>10,.0f}"
        + "".join(f"{measurement.percentile(p):>8.0f}" for p in PERCENTILES)
        + f"{run.latencies_ns.max() / 1000:>9.0f}{cpu_text:>11}"
        + f"{measurement.client_cpu_seconds / run.orders * 1e6:>11.0f}"
    )
    threads = measurement.thread_cpu_seconds
    if threads:
        busy = sorted(threads.items(), key=lambda item: -item[1])
        print(
            "        OMS threads, CPU µs per order: "
            + ", ".join(f"{name} {s / run.orders * 1e6:.0f}" for name, s in busy if s > 0)
        )
    for problem, count in sorted(run.problems.items()):
        print(f"        {count:,} answered with {problem}")


def print_ratio(oms: Measurement, bare: Measurement) -> None:
    throughput = oms.throughput / bare.throughput
    p99 = oms.percentile(99) / bare.percentile(99)
    goals = ""
    if oms.in_flight == GOAL_IN_FLIGHT:
        goals = (
            f" (goals: throughput at least {GOAL_THROUGHPUT_RATIO:g}, "
            f"{_met(throughput >= GOAL_THROUGHPUT_RATIO)}; "
            f"p99 at most {GOAL_P99_RATIO:g}x, {_met(p99 <= GOAL_P99_RATIO)})"
        )
    print(f"  OMS/bare: throughput {throughput:.3f}, p99 {p99:.3f}x{goals}")


def _met(met: bool) -> str:
    return "met" if met else "not met"


def run(settings: LoadSettings) -> list[Measurement]:
    plan = plan_orders(SESSIONS[: settings.sessions], QUANTITY)
    print_header(settings)
    measurements: list[Measurement] = []
    run_number = 0
    for in_flight in settings.in_flight:
        by_target: dict[str, Measurement] = {}
        for target in settings.targets:
            run_number += 1
            measurement = measure(target, in_flight, settings, plan, run_number)
            print_row(measurement)
            by_target[target] = measurement
            measurements.append(measurement)
        if len(by_target) == len(TARGETS):
            print_ratio(by_target["oms"], by_target["bare"])
    return measurements


def parse_settings(argv: Sequence[str] | None) -> LoadSettings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fix_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--orders", type=int, default=20_000, help="timed orders per run")
    parser.add_argument("--warmup", type=int, default=1_000, help="untimed orders first")
    parser.add_argument(
        "--sessions",
        type=int,
        choices=(1, 2),
        default=1,
        help="CLIENT1 only, or CLIENT1 and CLIENT2",
    )
    parser.add_argument(
        "--in-flight",
        type=int,
        nargs="+",
        default=[GOAL_IN_FLIGHT, 1],
        metavar="K",
        help="orders unanswered at most (one run each)",
    )
    parser.add_argument(
        "--store",
        choices=("file", "memory"),
        default="file",
        help="the servers' quickfix message store",
    )
    parser.add_argument(
        "--log", choices=("none", "file"), default="none", help="the servers' FIX message log"
    )
    parser.add_argument(
        "--audit",
        choices=("durable", "async", "off"),
        default="durable",
        help="the OMS's audit log mode",
    )
    parser.add_argument(
        "--audit-writer",
        choices=("process", "thread"),
        default="thread",
        help="where the OMS's audit log is written: an OMS thread or its own process",
    )
    parser.add_argument("--target", choices=("oms", "bare", "both"), default="both")
    parser.add_argument(
        "--threads",
        action="store_true",
        help="run the OMS under bench.serve_threads and show each thread's CPU per order",
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=30.0,
        help="give up when no answer comes for this long",
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.warmup < 0 or min(args.in_flight) < 1:
        parser.error("--orders and --in-flight must be positive, --warmup not negative")
    return LoadSettings(
        orders=args.orders,
        warmup=args.warmup,
        sessions=args.sessions,
        in_flight=tuple(args.in_flight),
        store=args.store,
        log=args.log,
        audit=args.audit,
        audit_writer=args.audit_writer,
        targets=TARGETS if args.target == "both" else (args.target,),
        stall_seconds=args.stall_seconds,
        threads=args.threads,
    )


def main(argv: Sequence[str] | None = None) -> int:
    measurements = run(parse_settings(argv))
    return 1 if any(m.run.problems for m in measurements) else 0


if __name__ == "__main__":
    raise SystemExit(main())
