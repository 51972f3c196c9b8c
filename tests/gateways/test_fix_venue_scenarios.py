"""The shared order state scenarios over FIX: a real FIX client to the OMS, the OMS routed
to the scripted FIX venue, each venue step a real ExecutionReport or OrderCancelReject.

The steps mean what they mean in-process (`tests/oms/test_engine_scenarios.py`, and the
scenario folder's README.md); here each expectation is checked on the message the client
received. Between steps every session is let catch up (`settle`), so "the client receives
nothing" is a fact rather than a timeout.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import quickfix
from fixclient import FixTestClient
from running_oms import RunningOms
from scripted_fix_venue import ScriptedFixVenue, settle, wait_for

from gateways.fix.initiator import Received
from gateways.fix.venue import FixVenue, LinkState
from gateways.fix.wire import build_message
from oms.events import Event
from oms.model import ClOrdID, ExecType, OrdStatus, SessionID

# The in-process runner's scenario list and its tables of FIX values, shared.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oms"))
from test_engine_scenarios import (  # noqa: E402
    FOUR_PLACES,
    ORDER_TYPES,
    SIDES,
    TIMES_IN_FORCE,
    scenario_files,
)

CLIENT = "CLIENT1"


class ScenarioClient(FixTestClient):
    """The test client, able to send a NewOrderSingle marked PossResend(97)=Y."""

    poss_resend = False

    def send(self, msg_type: str, fields: Iterable[tuple[int, str]]) -> int:
        if not self.poss_resend:
            return super().send(msg_type, fields)
        message = build_message(msg_type, fields)
        # PossResend(97) belongs in the standard header.
        message.getHeader().setField(97, "Y")
        assert quickfix.Session.sendToTarget(message, self._app.session_id)
        return 0


def report_values(message: Received) -> dict[str, Any]:
    """The values of a client message under the names the scenarios use."""

    def number(tag: int) -> int | None:
        text = message.get(tag)
        return int(text) if text is not None else None

    exec_type = message.get(150)
    status = message.get(39)
    avg = message.get(6)
    return {
        "cl": message.get(11),
        "orig": message.get(41),
        "exec_type": ExecType(exec_type).label if exec_type is not None else None,
        "ord_status": OrdStatus(status).label if status is not None else None,
        "order_qty": number(38),
        "cum_qty": number(14),
        "leaves_qty": number(151),
        "last_qty": number(32) or 0,
        "avg_px": Decimal(avg).quantize(FOUR_PLACES) if avg is not None else None,
        "ord_rej_reason": number(103),
        "cxl_rej_reason": number(102),
    }


class FixScenarioRun:
    """One scenario's steps over FIX; each failure names its step."""

    def __init__(self, scenario: dict[str, Any], oms: RunningOms, venue: ScriptedFixVenue,
                 client: ScenarioClient) -> None:
        self.oms = oms
        self.venue = venue
        self.client = client
        self.symbol = scenario["symbol"]
        self.inbox: deque[Received] = deque()
        self.sides: dict[str, str] = {}
        self.number = 0
        begin = client.begin_string
        self.to_oms = (quickfix.SessionID(begin, CLIENT, "OMS"),
                       quickfix.SessionID(begin, "OMS", CLIENT))
        self.to_client = (self.to_oms[1], self.to_oms[0])
        self.to_venue = (venue.client_session_id, venue.session_id)
        self.from_venue = (venue.session_id, venue.client_session_id)
        # Client messages the engine has released, and those taken into the inbox: the
        # acceptor sends from a thread of its own, so this is how we know all arrived.
        self.owed = 0
        self.taken = 0
        oms.runtime.add_client_sink(self.released)

    def run(self, steps: list[dict[str, Any]]) -> None:
        for self.number, step in enumerate(steps, start=1):
            if "client" in step:
                self.client_step(step)
            elif "venue" in step:
                self.venue_step(step)
            elif "expect" in step:
                self.expect(step)
            else:
                pytest.fail(f"step {self.number}: not a client, venue or expect step: {step}")

    # Steps.

    def client_step(self, step: dict[str, Any]) -> None:
        client = self.client
        request = step["client"]
        cl = step["cl"]
        if request == "new":
            side = SIDES[step["side"]].value
            self.sides[cl] = side
            client.poss_resend = bool(step.get("poss_resend"))
            try:
                client.new_order(
                    side, str(step["qty"]), self.symbol, step.get("price"),
                    ord_type=ORDER_TYPES[step.get("type", "limit")].value,
                    time_in_force=TIMES_IN_FORCE[step.get("tif", "day")].value, cl_ord_id=cl,
                )
            finally:
                client.poss_resend = False
        elif request == "cancel":
            self.sides[cl] = side = self.sides[step["orig"]]
            client.cancel(step["orig"], cl_ord_id=cl, side=side, symbol=self.symbol)
        elif request == "replace":
            self.sides[cl] = side = self.sides[step["orig"]]
            client.replace(step["orig"], str(step["qty"]), step.get("price"), cl_ord_id=cl,
                           side=side, symbol=self.symbol)
        elif request == "status":
            client.status(cl, side=self.sides.get(cl, "1"), symbol=self.symbol)
        else:
            pytest.fail(f"step {self.number}: unknown client request {request!r}")
        # The request is read and decided, and what it sent the venue has arrived there.
        settle(self.to_oms)
        self.oms.runtime.flush()
        settle(self.to_venue, self.to_client)
        self.collect()

    def venue_step(self, step: dict[str, Any]) -> None:
        venue = self.venue
        ref = self.order_id(step["cl"]) if "cl" in step else None
        what = step["venue"]
        if step.get("dup"):
            venue.dup()
        elif what == "fill":
            venue.fill(step["qty"], step["px"], ref)
        elif what == "cancel_reject":
            venue.cancel_reject(step.get("reason", 0), ref)
        elif what == "restated":
            venue.restated(step["qty"], step.get("reason", 0), ref)
        elif what in ("ack", "pending_cancel", "canceled", "pending_replace", "replaced",
                      "done_for_day", "rejected", "expired"):
            getattr(venue, what)(ref=ref)
        else:
            pytest.fail(f"step {self.number}: unknown venue report {what!r}")
        settle(self.from_venue)
        self.oms.runtime.flush()
        settle(self.to_client)
        self.collect()

    def expect(self, step: dict[str, Any]) -> None:
        what = step["expect"]
        if what == "nothing":
            order = self.order_id(step["cl"]) if "cl" in step else None
            left = [m for m in self.inbox if order is None or m.get(37) == order]
            assert not left, (
                f"step {self.number}: expected nothing more, the client received "
                + "; ".join(str(m) for m in left)
            )
            return
        assert self.inbox, f"step {self.number}: expected a {what}, the client received none"
        message = self.inbox.popleft()
        wanted = {"report": "8", "cancel_reject": "9"}.get(what)
        if wanted is None:
            pytest.fail(f"step {self.number}: unknown expectation {what!r}")
        assert message.msg_type == wanted, f"step {self.number}: expected {what}, got {message}"
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
        assert not differing, f"step {self.number}: {message}: {differing}"

    # Helpers.

    def released(self, event: Event) -> None:
        """Engine thread: one more message is on its way to a client."""
        if event.session == CLIENT:
            self.owed += 1

    def collect(self) -> None:
        """Move what the client has received into the inbox, in order, once every message
        the engine released to it has arrived."""
        client = self.client
        wait_for(lambda: self.taken + client.messages.qsize() >= self.owed, 5.0,
                 f"step {self.number}: the client's reports")
        messages = client.drain(settle=0.0)
        self.taken += len(messages)
        self.inbox.extend(messages)

    def order_id(self, cl: str) -> str:
        engine = self.oms.runtime.engine
        order = self.oms.runtime.call(lambda: engine.book.find(SessionID(CLIENT), ClOrdID(cl)))
        assert order is not None, f"step {self.number}: no order under ClOrdID {cl}"
        return str(order.order_id)


@pytest.mark.parametrize("path", scenario_files())
def test_scenario_file_runs_over_fix_as_its_steps_expect(path: Path, tmp_path: Path) -> None:
    import json

    scenario = json.loads(path.read_text(encoding="utf-8"))
    with ScriptedFixVenue() as venue, RunningOms(tmp_path, extra_toml=venue.toml()) as oms:
        adapter = oms.runtime.engine.venues["XVENUE"]  # type: ignore[index]
        assert isinstance(adapter, FixVenue)
        wait_for(lambda: adapter.state is LinkState.READY, 15.0, "the venue link")
        with ScenarioClient(oms.port, CLIENT) as client:
            FixScenarioRun(scenario, oms, venue, client).run(scenario["steps"])
