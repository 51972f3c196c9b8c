"""Crash test: `oms serve` killed with SIGKILL at random moments while clients trade over FIX.

After every kill the OMS restarts on the same audit log. At the end, every ExecutionReport
any client received must be in the log with the same CumQty, LeavesQty and AvgPx, no
ExecID may appear twice, and the state the restarted OMS rebuilt must equal a replay of
the log done here.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from fixclient import FixTestClient
from running_oms import free_port, write_config

from compliance.audit.reader import read_events
from oms.admin import connect
from oms.config import load_config
from oms.runtime import Runtime

ROUNDS = 4
SEED = int(os.environ.get("OMS_CRASH_SEED", "20261203"))


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "--log-level", "WARNING", "serve", "--config",
         str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"oms serve exited: {process.stderr.read().decode()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("oms serve did not listen within 30 s")


def trade(clients: list[FixTestClient], stop: threading.Event, rng: random.Random) -> None:
    """Random new orders, replaces and cancels until `stop` (or the connection dies)."""
    working: list[tuple[FixTestClient, str, int]] = []
    try:
        while not stop.is_set():
            client = rng.choice(clients)
            side = "1" if client.sender_comp_id == "CLIENT1" else "2"
            roll = rng.random()
            if roll < 0.6 or not working:
                price = f"{rng.choice(['189.98', '189.99', '190.00', '190.01']):s}"
                quantity = rng.choice([100, 200, 300])
                cl = client.new_order(side, str(quantity), "AAPL", price)
                working.append((client, cl, quantity))
            elif roll < 0.8:
                owner, cl, quantity = working.pop(rng.randrange(len(working)))
                new = owner.replace(cl, str(quantity + 100), "190.00",
                                    side="1" if owner.sender_comp_id == "CLIENT1" else "2")
                working.append((owner, new, quantity + 100))
            else:
                owner, cl, _ = working.pop(rng.randrange(len(working)))
                owner.cancel(cl, side="1" if owner.sender_comp_id == "CLIENT1" else "2")
            time.sleep(rng.uniform(0, 0.004))
    except Exception:
        return  # the server died under us: that is the point


def test_sigkill_at_random_moments_loses_no_report_a_client_saw(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    port = free_port()
    config_path = write_config(tmp_path, port, audit_mode="durable")
    config = load_config(config_path)
    received: list[dict[int, str]] = []

    for _ in range(ROUNDS):
        server = start_server(config_path, port)
        clients = [FixTestClient(port, "CLIENT1"), FixTestClient(port, "CLIENT2")]
        for client in clients:
            client.connect(timeout=10)
        stop = threading.Event()
        trader = threading.Thread(target=trade, args=(clients, stop, rng), daemon=True)
        trader.start()
        time.sleep(rng.uniform(0.3, 1.5))
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        trader.join(timeout=10)
        for client in clients:
            received += [dict(m.fields) for m in client.drain(0.2) if m.msg_type == "8"]
            client.close(timeout=0.5)

    server = start_server(config_path, port)
    try:
        digest = connect(config.admin.host, config.admin.port).digest()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

    events = list(read_events(config.audit.directory))
    by_exec_id = {e.exec_id: e for e in events if e.exec_id is not None}
    assert len(by_exec_id) == sum(1 for e in events if e.exec_id is not None), "ExecID twice"
    trades = [e.venue_exec_id for e in events if e.kind.value == "trade"]
    assert len(trades) == len(set(trades)), "a venue ExecID was applied twice"

    assert received, "no client received anything: the test traded nothing"
    assert any(r[150] == "F" for r in received), "no fill reached a client"
    print(f"{len(received)} reports checked over {ROUNDS} kills, {len(events)} events")
    for report in received:
        event = by_exec_id.get(report[17])
        assert event is not None, f"report {report[17]} reached a client but not the log"
        assert (event.cl_ord_id, event.cum_quantity, event.leaves_quantity) == (
            report[11], int(report[14]), int(report[151]),
        )
        assert event.avg_price == Decimal(report[6])

    rebuilt = Runtime(config)
    assert rebuilt.engine.replay(events) == len(events)
    assert rebuilt.engine.digest() == digest
