"""The shared order state scenarios, run in-process against the engine and a scripted venue.

Every `*.json` file in the scenario folder (`/work/shared/scenarios`, or `OMS_SCENARIOS`)
is one test. Its steps are client requests, venue reports and expectations about the next
message the client receives; the folder's README.md defines them. The client hears the
engine's client-visible events: ExecutionReports and OrderCancelRejects.
"""

from __future__ import annotations

import json
import os
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from engine_harness import CLIENT1, ScriptedHarness

from oms.events import Event
from oms.model import ClOrdID, OrderID, OrdType, Side, TimeInForce

SCENARIOS = Path(os.environ.get("OMS_SCENARIOS", "/work/shared/scenarios"))

SIDES = {"buy": Side.BUY, "sell": Side.SELL, "sell_short": Side.SELL_SHORT}
ORDER_TYPES = {
    "limit": OrdType.LIMIT,
    "market": OrdType.MARKET,
    "stop": OrdType.STOP,
    "stop_limit": OrdType.STOP_LIMIT,
}
TIMES_IN_FORCE = {
    "day": TimeInForce.DAY,
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
    "gtd": TimeInForce.GTD,
}
FOUR_PLACES = Decimal("0.0001")


def scenario_files() -> list[Any]:
    if not SCENARIOS.is_dir():
        reason = f"scenario folder {SCENARIOS} is missing (set OMS_SCENARIOS to run them)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-scenarios")]
    return [pytest.param(path, id=path.name) for path in sorted(SCENARIOS.glob("*.json"))]


def report_values(message: Event) -> dict[str, Any]:
    """The values of a client message under the names the scenarios use."""
    return {
        "cl": message.cl_ord_id,
        "orig": message.orig_cl_ord_id,
        "exec_type": message.exec_type.label if message.exec_type is not None else None,
        "ord_status": message.ord_status.label if message.ord_status is not None else None,
        "order_qty": message.terms.quantity if message.terms is not None else None,
        "cum_qty": message.cum_quantity,
        "leaves_qty": message.leaves_quantity,
        "last_qty": message.last_quantity,
        "avg_px": message.avg_price.quantize(FOUR_PLACES),
        "ord_rej_reason": message.ord_rej_reason,
        "cxl_rej_reason": message.cxl_rej_reason,
    }


class ScenarioRun:
    """One scenario's steps against a fresh engine; each failure names its step."""

    def __init__(self, scenario: dict[str, Any]) -> None:
        self.harness = ScriptedHarness()
        self.symbol = scenario["symbol"]
        self.inbox: deque[Event] = deque()
        self.number = 0

    def run(self, steps: list[dict[str, Any]]) -> None:
        for self.number, step in enumerate(steps, start=1):
            if "client" in step:
                self.client(step)
            elif "venue" in step:
                self.venue(step)
            elif "expect" in step:
                self.expect(step)
            else:
                pytest.fail(f"step {self.number}: not a client, venue or expect step: {step}")

    # Steps.

    def client(self, step: dict[str, Any]) -> None:
        h = self.harness
        request = step["client"]
        if request == "new":
            h.new(
                step["cl"], step["qty"], step.get("price"), side=SIDES[step["side"]],
                symbol=self.symbol, ord_type=ORDER_TYPES[step.get("type", "limit")],
                tif=TIMES_IN_FORCE[step.get("tif", "day")],
                poss_resend=step.get("poss_resend", False),
            )
        elif request == "cancel":
            h.cancel(step["cl"], step["orig"])
        elif request == "replace":
            h.replace(step["cl"], step["orig"], step["qty"], step.get("price"))
        elif request == "status":
            h.status(step["cl"])
        else:
            pytest.fail(f"step {self.number}: unknown client request {request!r}")
        self.inbox.extend(h.take())

    def venue(self, step: dict[str, Any]) -> None:
        venue = self.harness.venue
        order = self.order_id(step["cl"]) if "cl" in step else None
        what = step["venue"]
        if step.get("dup"):
            venue.dup()
        elif what == "fill":
            venue.fill(step["qty"], step["px"], order=order)
        elif what == "cancel_reject":
            venue.cancel_reject(step.get("reason", 0), order=order)
        elif what == "restated":
            venue.restated(step["qty"], step.get("reason", 0), order=order)
        elif what in ("ack", "pending_cancel", "canceled", "pending_replace", "replaced",
                      "done_for_day", "rejected", "expired"):
            getattr(venue, what)(order=order)
        else:
            pytest.fail(f"step {self.number}: unknown venue report {what!r}")
        self.inbox.extend(self.harness.take())

    def expect(self, step: dict[str, Any]) -> None:
        what = step["expect"]
        if what == "nothing":
            order = self.order_id(step["cl"]) if "cl" in step else None
            left = [m for m in self.inbox if order is None or m.order_id == order]
            assert not left, (
                f"step {self.number}: expected nothing more, the client received "
                + "; ".join(m.describe() for m in left)
            )
            return
        assert self.inbox, f"step {self.number}: expected a {what}, the client received none"
        message = self.inbox.popleft()
        if what == "report":
            assert message.exec_type is not None, (
                f"step {self.number}: expected an ExecutionReport, got {message.describe()}"
            )
        elif what == "cancel_reject":
            assert message.is_cancel_reject, (
                f"step {self.number}: expected an OrderCancelReject, got {message.describe()}"
            )
        else:
            pytest.fail(f"step {self.number}: unknown expectation {what!r}")
        actual = report_values(message)
        expected = {k: v for k, v in step.items() if k != "expect"}
        unknown = set(expected) - set(actual)
        assert not unknown, f"step {self.number}: unknown keys {sorted(unknown)}"
        if "avg_px" in expected:
            expected["avg_px"] = Decimal(expected["avg_px"]).quantize(FOUR_PLACES)
        differing = {
            key: f"expected {value!r}, got {actual[key]!r}"
            for key, value in expected.items() if actual[key] != value
        }
        assert not differing, f"step {self.number}: {message.describe()}: {differing}"

    def order_id(self, cl: str) -> OrderID:
        order = self.harness.engine.book.find(CLIENT1, ClOrdID(cl))
        assert order is not None, f"step {self.number}: no order under ClOrdID {cl}"
        return order.order_id


@pytest.mark.parametrize("path", scenario_files())
def test_scenario_file_runs_step_by_step_as_its_steps_expect(path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    ScenarioRun(scenario).run(scenario["steps"])
