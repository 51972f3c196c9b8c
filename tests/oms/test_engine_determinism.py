"""The engine is deterministic: the same input with the same clock gives the same events.

Each script runs twice on fresh engines with a fake clock starting at the same instant;
the two event streams must be equal field by field (timestamps, OrderIDs, ExecIDs, texts
and risk verdicts included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine_harness import CLIENT2, EmbeddedHarness, EngineHarness, FakeClock, ScriptedHarness

from oms.engine import NO_ORDER_ID
from oms.events import Event
from oms.model import OrdType, Side, TimeInForce


def scripted_day(h: ScriptedHarness) -> None:
    """Orders of two sessions through fills, a replace chain, cancels, refusals, a denial."""
    h.new("A", 1000, "190.00")
    h.venue.ack()
    h.new("B", 500, "189.50", side=Side.SELL, session=CLIENT2)
    h.venue.ack()
    h.venue.fill(300, "190.00", order=h.order("A").order_id)
    h.venue.dup()
    h.replace("A2", "A", 1500, "190.05")
    h.venue.fill(100, "190.00", order=h.order("A").order_id)
    h.venue.replaced(order=h.order("A").order_id)
    h.replace("A3", "A2", 1200, "190.05")
    h.cancel("A4", "A2")
    h.new("BIG", 1_000_000, "190.00")
    h.new("BAD", 10, "190.001")
    h.status("A2")
    h.cancel("B2", "B", session=CLIENT2)
    h.venue.fill(500, "189.50", order=h.order("B", CLIENT2).order_id)
    h.venue.cancel_reject(0, order=h.order("B", CLIENT2).order_id)
    h.venue.restated(1000, 5, order=h.order("A").order_id)
    h.venue.done_for_day(order=h.order("A").order_id)


def embedded_day(h: EmbeddedHarness) -> None:
    """Resting orders, a cross, an IOC remainder, a self-match and the end of the day."""
    h.new("B1", 300, "190.00")
    h.new("B2", 1000, "189.90")
    h.new("B3", 200, "189.50")
    h.new("S1", 400, "189.80", side=Side.SELL, session=CLIENT2)
    h.new("S2", 1000, "189.90", side=Side.SELL, session=CLIENT2, tif=TimeInForce.IOC)
    h.new("S3", 100, "189.00", side=Side.SELL)
    h.new("M1", 50, None, side=Side.SELL, session=CLIENT2, ord_type=OrdType.MARKET)
    h.replace("B4", "B3", 100, "189.60")
    h.new("G1", 100, "191.00", side=Side.SELL, session=CLIENT2, tif=TimeInForce.GTC)
    h.venue.end_of_day()


def events_of(
    build: Callable[[FakeClock], EngineHarness], script: Callable[[Any], None]
) -> list[Event]:
    """The events of one run; an Event is a tuple, so lists of them compare field by field."""
    h = build(FakeClock())
    script(h)
    return list(h.events)


def test_same_requests_and_venue_reports_give_identical_event_streams() -> None:
    first = events_of(lambda clock: ScriptedHarness(clock=clock), scripted_day)
    second = events_of(lambda clock: ScriptedHarness(clock=clock), scripted_day)

    assert first == second
    assert len(first) > 25
    assert any(e.risk is not None for e in first), "the script includes a risk denial"


def test_same_orders_on_the_embedded_venue_give_identical_event_streams() -> None:
    first = events_of(lambda clock: EmbeddedHarness(clock=clock), embedded_day)
    second = events_of(lambda clock: EmbeddedHarness(clock=clock), embedded_day)

    assert first == second
    kinds = {e.kind.value for e in first}
    texts = " ".join(e.text or "" for e in first)
    assert {"trade", "canceled", "replaced", "done_for_day"} <= kinds
    assert "self-match prevented" in texts and "immediate or cancel" in texts


def test_another_clock_changes_only_the_timestamps() -> None:
    h1 = ScriptedHarness(clock=FakeClock())
    h2 = ScriptedHarness(clock=FakeClock(start=FakeClock().now + 86_400_000_000_000, step=7))
    scripted_day(h1)
    scripted_day(h2)

    assert [e._replace(time_ns=0) for e in h1.events] == [
        e._replace(time_ns=0) for e in h2.events
    ]
    assert [e.time_ns for e in h1.events] != [e.time_ns for e in h2.events]


def test_replaying_the_event_stream_rebuilds_the_same_state() -> None:
    h = ScriptedHarness()
    scripted_day(h)

    fresh = h.fresh_engine()
    count = fresh.replay(h.events)

    assert count == len(h.events)
    assert fresh.digest() == h.engine.digest()
    assert fresh.book.get(NO_ORDER_ID) is None
