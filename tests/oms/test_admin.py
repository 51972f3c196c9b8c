"""The operators' endpoint over real XML-RPC on loopback, against a running runtime."""

from __future__ import annotations

import dataclasses
import queue
import xmlrpc.client
from collections.abc import Iterator

import pytest

from oms.admin import AdminServer, connect
from oms.commands import NewOrder
from oms.config import load_config
from oms.events import Event
from oms.model import ClOrdID, ExecType, OrdType, SessionID, Side, Symbol, TimeInForce
from oms.model import price_from_decimal as px
from oms.runtime import Runtime


@pytest.fixture
def running() -> Iterator[tuple[Runtime, queue.Queue[Event], object]]:
    config = load_config()
    config = dataclasses.replace(config, audit=dataclasses.replace(config.audit, mode="off"))
    runtime = Runtime(config)
    heard: queue.Queue[Event] = queue.Queue()
    runtime.add_client_sink(heard.put)
    runtime.start()
    server = AdminServer(runtime, "127.0.0.1", 0)
    server.start()
    try:
        yield runtime, heard, connect(*server.address[:2])
    finally:
        server.stop()
        runtime.stop()


def buy(cl_ord_id: str, session: str = "CLIENT1") -> NewOrder:
    return NewOrder(
        SessionID(session), ClOrdID(cl_ord_id), None, Symbol("AAPL"), Side.BUY,
        OrdType.LIMIT, TimeInForce.DAY, 100, px("190.00"),
    )


def test_kill_switch_for_one_account_denies_its_new_orders_and_not_others(running) -> None:
    runtime, heard, admin = running
    state = admin.kill_switch(True, "ACC1")
    assert state["halted_accounts"] == ["ACC1"]

    runtime.submit(buy("K1"))
    denied = heard.get(timeout=5)
    assert denied.exec_type is ExecType.REJECTED
    assert denied.text == "kill switch engaged for account ACC1"

    runtime.submit(buy("K2", "CLIENT2"))
    assert heard.get(timeout=5).exec_type is ExecType.NEW

    admin.kill_switch(False, "ACC1")
    runtime.submit(buy("K3"))
    assert heard.get(timeout=5).exec_type is ExecType.NEW


def test_open_orders_and_depth_show_a_resting_order(running) -> None:
    runtime, heard, admin = running
    runtime.submit(buy("D1"))
    heard.get(timeout=5)
    orders = admin.open_orders("ACC1", "")
    assert [(o["cl_ord_id"], o["leaves_quantity"], o["ord_status"]) for o in orders] == [
        ("D1", 100, "New")
    ]
    assert admin.depth("AAPL", 5) == {"bids": [["190.00", 100, 1]], "asks": []}


def test_end_of_day_makes_resting_day_orders_done_for_day(running) -> None:
    runtime, heard, admin = running
    runtime.submit(buy("E1"))
    heard.get(timeout=5)
    assert admin.end_of_day() is True
    done = heard.get(timeout=5)
    assert done.exec_type is ExecType.DONE_FOR_DAY and done.leaves_quantity == 0
    assert admin.open_orders("", "") == []


def test_kill_switch_for_an_unknown_account_is_refused_naming_it(running) -> None:
    runtime, heard, admin = running

    with pytest.raises(xmlrpc.client.Fault, match="account ACC9 is not known"):
        admin.kill_switch(True, "ACC9", "typo")

    assert admin.risk_state()["halted_accounts"] == []


def test_releasing_the_kill_switch_for_all_accounts_releases_each_account(running) -> None:
    runtime, heard, admin = running
    admin.kill_switch(True, "ACC1", "")
    admin.kill_switch(True, "", "market data outage")

    state = admin.kill_switch(False, "", "")

    assert (state["all_accounts_halted"], state["halted_accounts"]) == (False, [])
    assert "releases each account's own switch" in admin.system.methodHelp("kill_switch")
