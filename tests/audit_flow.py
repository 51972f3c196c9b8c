"""Two trading days through the real engine and embedded venue, recorded by the real audit log.

The flow is small enough to know every event, and has what compliance queries must get
right: an order replaced twice and filled across two days, requests and denials that name
it in every way, another session reusing one of its ClOrdIDs, and orders of two accounts
and two instruments ending in each status.

CLIENT1 trades for ACC1 and CLIENT2 for ACC2 (config/oms.toml). Day one starts at
`DAY_ONE` (2024-06-03 13:30 UTC), day two at `DAY_TWO`, exactly a day later.

    day one  CLIENT1  A1 buy 300 AAPL 190.00 GTC, replaced to A2 (400 @ 190.05), then to
                      A3 (500 @ 190.10)
             CLIENT2  S1 sell 200 AAPL 190.00: trades 200 with A3 at 190.10
             CLIENT1  B1 buy 100 MSFT 420.00 (stays New)
             CLIENT1  new order A2 again: denied, duplicate ClOrdID (OrderID NONE)
             CLIENT1  cancel X1 of A3 under ClOrdID B1: denied, duplicate ClOrdID
             CLIENT1  status request for A1 (the first ClOrdID still names the order)
             CLIENT2  cancel Z9 of A1: denied, unknown to CLIENT2 (OrderID NONE)
             CLIENT2  C1 sell 100 MSFT 421.00, then canceled by C2
             CLIENT1  D1 buy 200000 AAPL: denied by max_order_quantity (a Rejected order)
    day two  CLIENT2  S2 sell 300 AAPL 190.10 GTC: fills the rest of A3
             CLIENT1  E1 buy 100 NVDA 120.00 (stays New)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine_harness import CLIENT2, T0, EmbeddedHarness, FakeClock

from compliance.audit.writer import AuditLog
from oms.config import AuditConfig
from oms.events import Event
from oms.model import OrderID, Side, TimeInForce

DAY_ONE = T0
DAY_NS = 86_400 * 1_000_000_000
DAY_TWO = DAY_ONE + DAY_NS


@dataclass
class RecordedFlow:
    directory: Path
    events: list[Event]

    def order_id(self, cl_ord_id: str) -> OrderID:
        """The OrderID the engine gave the order first named `cl_ord_id`."""
        for event in self.events:
            if event.cl_ord_id == cl_ord_id and event.order_id not in (None, "NONE"):
                assert event.order_id is not None
                return event.order_id
        raise LookupError(cl_ord_id)


def audit_config(directory: Path) -> AuditConfig:
    return AuditConfig(directory=directory, batch_events=64, batch_window_ms=0.2)


def day_one_first_part(h: EmbeddedHarness) -> None:
    h.new("A1", 300, "190.00", tif=TimeInForce.GTC)
    h.replace("A2", "A1", 400, "190.05")
    h.replace("A3", "A2", 500, "190.10")


def day_one_rest(h: EmbeddedHarness) -> None:
    h.new("S1", 200, "190.00", side=Side.SELL, session=CLIENT2)
    h.new("B1", 100, "420.00", symbol="MSFT")
    h.new("A2", 100, "190.00")
    h.cancel("B1", "A3")
    h.status("A1")
    h.cancel("Z9", "A1", session=CLIENT2)
    h.new("C1", 100, "421.00", side=Side.SELL, symbol="MSFT", session=CLIENT2)
    h.cancel("C2", "C1", session=CLIENT2)
    h.new("D1", 200_000, "190.00")


def day_two(h: EmbeddedHarness) -> None:
    h.clock.now = DAY_TWO
    h.new("S2", 300, "190.10", side=Side.SELL, session=CLIENT2, tif=TimeInForce.GTC)
    h.new("E1", 100, "120.00", symbol="NVDA")


def harness() -> EmbeddedHarness:
    return EmbeddedHarness(clock=FakeClock(DAY_ONE))


def record_flow(directory: Path) -> RecordedFlow:
    """The whole flow, every event appended to a new audit log in `directory`, closed."""
    h = harness()
    with AuditLog(audit_config(directory)) as log:
        h.engine.subscribe(log.append)
        for step in (day_one_first_part, day_one_rest, day_two):
            step(h)
    return RecordedFlow(directory, list(h.events))
