"""The operators' endpoint over real XML-RPC on loopback, against a running runtime."""

from __future__ import annotations

import dataclasses
import queue
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from running_oms import free_port, write_config

from oms.admin import AdminServer, connect
from oms.cli import main as oms_main
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
    assert admin.end_of_day() == {"day_orders": 1, "venues": ["embedded"]}
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


@pytest.mark.parametrize(
    ("call", "arguments", "text"),
    [
        ("open_orders", ("NOPE", ""), "account 'NOPE' is not configured (accounts: ACC1, ACC2, "
         "ACC3)"),
        ("open_orders", ("", "NOPE"), "instrument 'NOPE' is not in the reference data"),
        ("depth", ("NOPE", 5), "instrument 'NOPE' is not in the reference data"),
        ("depth", ("AAPL", -1), "levels must be a whole number of at least 1, not -1"),
        ("depth", ("AAPL", 0), "levels must be a whole number of at least 1, not 0"),
        ("kill_switch", (True, "  ", ""), "account '  ' is blank"),
    ],
)
def test_a_call_naming_what_is_not_configured_is_refused_naming_it(
    running, call: str, arguments: tuple[object, ...], text: str
) -> None:
    runtime, heard, admin = running
    with pytest.raises(xmlrpc.client.Fault) as refused:
        getattr(admin, call)(*arguments)
    assert text in refused.value.faultString
    assert admin.risk_state()["halted_accounts"] == []


# `oms admin` itself, against an OMS whose admin endpoint its configuration names.


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[tuple[Runtime, queue.Queue[Event], Path]]:
    path = write_config(tmp_path, free_port())
    config = load_config(path)
    runtime = Runtime(config)
    heard: queue.Queue[Event] = queue.Queue()
    runtime.add_client_sink(heard.put)
    runtime.start()
    server = AdminServer(runtime, config.admin.host, config.admin.port)
    server.start()
    try:
        yield runtime, heard, path
    finally:
        server.stop()
        runtime.stop()


def oms_admin(path: Path, *arguments: str) -> int:
    return oms_main(["admin", "--config", str(path), *arguments])


@pytest.mark.parametrize("state", ["on", "off"])
@pytest.mark.parametrize("account", ["", "   "])
def test_oms_admin_kill_switch_with_a_blank_account_is_refused_and_switches_nothing(
    configured, capsys: pytest.CaptureFixture[str], state: str, account: str
) -> None:
    runtime, heard, path = configured
    assert oms_admin(path, "kill-switch", state, "--account", account) == 2
    error = capsys.readouterr().err
    assert "--account" in error and "is blank" in error and "leave --account out" in error
    assert not runtime.risk.halted_all and not runtime.risk.halted_accounts


@pytest.mark.parametrize(
    ("arguments", "text"),
    [
        (("open-orders", "--account", "NOPE"), "account 'NOPE' is not configured"),
        (("open-orders", "--symbol", "NOPE"), "instrument 'NOPE' is not in the reference"),
        (("depth", "NOPE"), "instrument 'NOPE' is not in the reference data"),
    ],
)
def test_oms_admin_refuses_an_unknown_account_or_instrument_with_exit_1(
    configured, capsys: pytest.CaptureFixture[str], arguments: tuple[str, ...], text: str
) -> None:
    runtime, heard, path = configured
    assert oms_admin(path, *arguments) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and text in captured.err


def test_oms_admin_depth_refuses_levels_below_1_before_asking(
    configured, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, heard, path = configured
    assert oms_admin(path, "depth", "AAPL", "--levels", "-1") == 2
    assert "--levels must be at least 1, not -1" in capsys.readouterr().err


def test_oms_admin_end_of_day_says_how_many_day_orders_ended(
    configured, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, heard, path = configured
    runtime.submit(buy("EOD1"))
    runtime.submit(buy("EOD2", "CLIENT2"))
    heard.get(timeout=5), heard.get(timeout=5)

    assert oms_admin(path, "end-of-day") == 0
    assert capsys.readouterr().out == (
        "end of day: 2 live Day orders on embedded ended as Done for Day; traded notional "
        "limits start again\n"
    )
    assert {heard.get(timeout=5).exec_type for _ in range(2)} == {ExecType.DONE_FOR_DAY}


def test_oms_admin_open_orders_of_a_known_account_prints_them(
    configured, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime, heard, path = configured
    runtime.submit(buy("OO1"))
    heard.get(timeout=5)
    assert oms_admin(path, "open-orders", "--account", "ACC1") == 0
    assert '"cl_ord_id": "OO1"' in capsys.readouterr().out
