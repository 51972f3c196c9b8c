"""Metrics scraped for real over HTTP from a running runtime."""

from __future__ import annotations

import dataclasses
import queue
import re
import threading
import urllib.request

from oms.commands import NewOrder
from oms.config import load_config
from oms.events import Event
from oms.model import ClOrdID, OrdType, SessionID, Side, Symbol, TimeInForce
from oms.model import price_from_decimal as px
from oms.runtime import Runtime


def test_scrape_counts_events_fills_and_denials_by_check() -> None:
    config = load_config()
    runtime = Runtime(
        dataclasses.replace(config, audit=dataclasses.replace(config.audit, mode="off"))
    )
    heard: queue.Queue[Event] = queue.Queue()
    runtime.add_client_sink(heard.put)
    runtime.start()
    port = runtime.metrics.serve("127.0.0.1", 0)
    try:
        def order(cl: str, session: str, side: Side, qty: int) -> NewOrder:
            return NewOrder(SessionID(session), ClOrdID(cl), None, Symbol("MSFT"), side,
                            OrdType.LIMIT, TimeInForce.DAY, qty, px("420.00"))

        runtime.submit(order("M1", "CLIENT1", Side.BUY, 300))
        runtime.submit(order("M2", "CLIENT2", Side.SELL, 100))
        runtime.submit(order("M3", "CLIENT1", Side.BUY, 1_000_000))  # over max quantity
        for _ in range(5):  # New, New, Trade, Trade, Rejected
            heard.get(timeout=5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        runtime.metrics.close()
        runtime.stop()
    assert 'oms_events_total{kind="accepted"} 2.0' in text
    assert 'oms_events_total{kind="trade"} 2.0' in text
    assert "oms_fill_quantity_total 200.0" in text
    assert 'oms_denials_total{check="max_order_quantity",kind="new_denied"} 1.0' in text
    assert "oms_engine_input_seconds_count" in text


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


def gauge(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{name} not in the scrape"
    return float(found.group(1))


def test_scrape_reads_open_orders_and_the_engine_queue_depth_as_they_are() -> None:
    config = load_config()
    runtime = Runtime(
        dataclasses.replace(config, audit=dataclasses.replace(config.audit, mode="off"))
    )
    heard: queue.Queue[Event] = queue.Queue()
    runtime.add_client_sink(heard.put)
    runtime.start()
    port = runtime.metrics.serve("127.0.0.1", 0)
    release = threading.Event()
    try:
        def order(cl: str, price: str) -> NewOrder:
            return NewOrder(SessionID("CLIENT1"), ClOrdID(cl), None, Symbol("MSFT"), Side.BUY,
                            OrdType.LIMIT, TimeInForce.DAY, 10, px(price))

        assert gauge(scrape(port), "oms_open_orders") == 0
        for number in range(3):
            runtime.submit(order(f"Q{number}", "400.00"))
        for _ in range(3):
            heard.get(timeout=5)
        assert gauge(scrape(port), "oms_open_orders") == 3

        # Hold the engine thread, queue five more orders behind it, and scrape.
        held = threading.Event()

        def hold() -> None:
            held.set()
            release.wait(10)

        holding = threading.Thread(target=lambda: runtime.call(hold, timeout=15))
        holding.start()
        assert held.wait(5)
        for number in range(5):
            runtime.submit(order(f"W{number}", "401.00"))
        assert gauge(scrape(port), "oms_engine_queue_depth") >= 5
        release.set()
        holding.join(timeout=10)
        for _ in range(5):
            heard.get(timeout=5)
        text = scrape(port)
        assert gauge(text, "oms_engine_queue_depth") <= 1  # at most the clock's tick
        assert gauge(text, "oms_open_orders") == 8
    finally:
        release.set()
        runtime.metrics.close()
        runtime.stop()
