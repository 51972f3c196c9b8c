"""Restart from the audit log: the state rebuilt from the journal is the state before.

In-process: a runtime with the durable log trades, stops, and a new runtime over the same
directory replays the log. (The SIGKILL crash test over FIX lives beside the gateways.)
"""

from __future__ import annotations

import dataclasses
import queue
from pathlib import Path

from running_oms import RunningOms

from compliance.audit.reader import read_events
from oms.admin import AdminServer, connect
from oms.commands import CancelOrder, NewOrder, ReplaceOrder
from oms.config import OmsConfig, load_config
from oms.events import Event, EventKind
from oms.model import ClOrdID, ExecType, OrdType, SessionID, Side, Symbol, TimeInForce
from oms.model import price_from_decimal as px
from oms.runtime import Runtime


def durable_config(directory: Path) -> OmsConfig:
    config = load_config()
    return dataclasses.replace(
        config,
        audit=dataclasses.replace(config.audit, directory=directory, mode="durable"),
    )


def order(cl: str, session: str, side: Side, qty: int, price: str) -> NewOrder:
    return NewOrder(SessionID(session), ClOrdID(cl), None, Symbol("AAPL"), side,
                    OrdType.LIMIT, TimeInForce.DAY, qty, px(price))


def run(config: OmsConfig) -> tuple[Runtime, queue.Queue[Event]]:
    runtime = Runtime(config)
    heard: queue.Queue[Event] = queue.Queue()
    runtime.add_client_sink(heard.put)
    runtime.start()
    return runtime, heard


def drain(heard: queue.Queue[Event], count: int) -> list[Event]:
    return [heard.get(timeout=10) for _ in range(count)]


def test_restart_rebuilds_the_same_state_and_the_venue_book(tmp_path: Path) -> None:
    config = durable_config(tmp_path / "audit")
    runtime, heard = run(config)
    runtime.submit(order("B1", "CLIENT1", Side.BUY, 300, "190.00"))
    runtime.submit(order("S1", "CLIENT2", Side.SELL, 100, "190.00"))  # fills B1 for 100
    runtime.submit(order("B2", "CLIENT1", Side.BUY, 50, "189.00"))
    runtime.submit(ReplaceOrder(SessionID("CLIENT1"), ClOrdID("B1R"), ClOrdID("B1"), 400,
                                px("190.00")))
    runtime.submit(CancelOrder(SessionID("CLIENT1"), ClOrdID("B2C"), ClOrdID("B2")))
    # New, New, Trade, Trade, New, Pending Replace, Replaced, Pending Cancel, Canceled.
    before_events = drain(heard, 9)
    runtime.flush()
    digest = runtime.call(runtime.engine.digest)
    last_seq = runtime.engine.seq
    runtime.stop()

    restarted, heard = run(config)
    try:
        assert restarted.recovered_events == last_seq
        assert restarted.call(restarted.engine.digest) == digest
        # The replaced order rests again on the embedded venue and trades there.
        restarted.submit(order("S2", "CLIENT2", Side.SELL, 300, "190.00"))
        answers = drain(heard, 3)
    finally:
        restarted.stop()
    trades = [e for e in answers if e.exec_type is ExecType.TRADE]
    b1 = next(e for e in trades if e.session == "CLIENT1")
    assert (b1.cl_ord_id, b1.cum_quantity, b1.leaves_quantity) == ("B1R", 400, 0)
    assert b1.exec_id not in {e.exec_id for e in before_events}
    assert answers[0].seq > last_seq


def test_restart_keeps_client_order_ids_used(tmp_path: Path) -> None:
    config = durable_config(tmp_path / "audit")
    runtime, heard = run(config)
    runtime.submit(order("U1", "CLIENT1", Side.BUY, 10, "190.00"))
    drain(heard, 1)
    runtime.stop()

    restarted, heard = run(config)
    try:
        restarted.submit(order("U1", "CLIENT1", Side.BUY, 10, "190.00"))
        (answer,) = drain(heard, 1)
    finally:
        restarted.stop()
    assert answer.exec_type is ExecType.REJECTED and answer.ord_rej_reason == 6


def test_an_engaged_kill_switch_survives_a_restart_and_denies_new_orders(tmp_path: Path) -> None:
    # Over FIX and the admin endpoint, with the durable log: the switch is an event in it.
    with RunningOms(tmp_path, audit_mode="durable") as oms:
        admin = AdminServer(oms.runtime, "127.0.0.1", 0)
        admin.start()
        try:
            connect(*admin.address[:2]).kill_switch(True, "ACC1", "runaway algo")
        finally:
            admin.stop()

    with RunningOms(tmp_path, audit_mode="durable") as oms, oms.client("CLIENT1") as client:
        assert oms.runtime.risk.halted_accounts == {"ACC1"}
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        denied = client.expect("8", {11: cl_ord_id})
        with oms.client("CLIENT2") as other:
            other_id = other.new_order("2", "100", "AAPL", "191.00")
            accepted = other.expect("8", {11: other_id})

    assert (denied[150], denied[39], denied[103]) == ("8", "8", "0")
    assert denied[58] == "kill switch engaged for account ACC1"
    assert accepted[150] == "0"
    switches = [e for e in read_events(tmp_path / "audit") if e.kind is EventKind.KILL_SWITCH]
    assert [(e.account, e.risk.value, e.text) for e in switches] == [
        ("ACC1", "engaged", "runaway algo")
    ]
