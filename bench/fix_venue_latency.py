"""Round trips over FIX on loopback: a client's request to the report that answers it, with
the OMS on its embedded venue and with the OMS routed to `oms venue` (a process of its
own) over FIX. The client and the OMS share this process.

    .venv/bin/python -m bench.fix_venue_latency                 # 2,000 of each, audit off
    .venv/bin/python -m bench.fix_venue_latency --orders 500 --audit async

Each round is one request at a time, timed from the client's send to the arrival of the
report it waits for: New for a NewOrderSingle, Canceled for an OrderCancelRequest. With the
FIX venue the request crosses four sessions' worth of quickfix (client to OMS, OMS to venue
and back, OMS to client); the difference between the two runs is what the venue hop costs.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fixclient import FixTestClient  # noqa: E402
from running_oms import RunningOms, free_port  # noqa: E402

from gateways.fix.venue import FixVenue, LinkState  # noqa: E402
from oms.config import REPOSITORY_ROOT  # noqa: E402


@contextmanager
def running(fix_venue: bool, audit: str) -> Iterator[RunningOms]:
    with tempfile.TemporaryDirectory() as directory:
        if not fix_venue:
            with RunningOms(Path(directory), audit_mode=audit) as oms:
                yield oms
            return
        port = free_port()
        # The venue in a process of its own, as it runs beside an OMS.
        venue = subprocess.Popen(
            [sys.executable, "-m", "oms.cli", "--log-level", "WARNING", "venue", "--port",
             str(port)], cwd=REPOSITORY_ROOT,
        )
        try:
            extra = (f'\n[venues.XVENUE]\nkind = "fix"\nport = {port}\n'
                     'reconnect_seconds = 1\n\n[routing.symbols]\nAAPL = "XVENUE"\n')
            with RunningOms(Path(directory), audit_mode=audit, extra_toml=extra) as oms:
                adapter = oms.runtime.engine.venues["XVENUE"]  # type: ignore[index]
                assert isinstance(adapter, FixVenue)
                deadline = time.monotonic() + 10
                while adapter.state is not LinkState.READY and time.monotonic() < deadline:
                    time.sleep(0.01)
                yield oms
        finally:
            venue.send_signal(signal.SIGTERM)
            venue.wait(timeout=10)


def measure(client: FixTestClient, orders: int, warmup: int) -> tuple[list[float], list[float]]:
    """Microseconds per round trip: new order to New, cancel to Canceled."""
    new: list[float] = []
    cancel: list[float] = []
    for index in range(orders + warmup):
        # Away from the market, so that nothing trades: each order rests, then goes.
        price = f"{175 + index % 14}.00"
        started = time.perf_counter()
        cl_ord_id = client.new_order("1", "10", "AAPL", price)
        client.expect("8", {11: cl_ord_id, 150: "0"})
        acked = time.perf_counter()
        cancel_id = client.cancel(cl_ord_id)
        client.expect("8", {11: cancel_id, 150: "4"})
        done = time.perf_counter()
        client.drain(settle=0.0)
        if index >= warmup:
            new.append((acked - started) * 1e6)
            cancel.append((done - acked) * 1e6)
    return new, cancel


def describe(name: str, values: list[float]) -> str:
    ordered = sorted(values)

    def at(share: float) -> float:
        return ordered[min(int(share * len(ordered)), len(ordered) - 1)]

    return (f"{name:<34} p50 {statistics.median(ordered):7.0f} us  p90 {at(0.9):7.0f} us  "
            f"p99 {at(0.99):7.0f} us  max {ordered[-1]:7.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--audit", default="off", choices=["off", "async", "durable"])
    args = parser.parse_args()
    for fix_venue in (False, True):
        where = "FIX venue (oms venue)" if fix_venue else "embedded venue"
        with running(fix_venue, args.audit) as oms, oms.client("CLIENT1") as client:
            new, cancel = measure(client, args.orders, args.warmup)
        print(describe(f"{where}: new order -> New", new))
        print(describe(f"{where}: cancel -> Canceled", cancel))


if __name__ == "__main__":
    main()
