"""Metrics scraped for real over HTTP from a running runtime."""

from __future__ import annotations

import dataclasses
import queue
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
