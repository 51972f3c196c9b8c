"""Cancels and replaces the OMS refuses, over real quickfix sessions on loopback: each is
answered with one OrderCancelReject (35=9), CxlRejReason(102)=99 and a Text(58) naming the
tag, with no Pending report before it; and stop orders held to the price band."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixclient import FixTestClient
from running_oms import RunningOms

# One OMS and one CLIENT1 session for the module; every order buys below the reference
# price (AAPL 190.00), so nothing trades.


@pytest.fixture(scope="module")
def client1(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixTestClient]:
    with RunningOms(tmp_path_factory.mktemp("oms")) as oms, oms.client("CLIENT1") as client:
        yield client


def working(client: FixTestClient) -> str:
    cl_ord_id = client.new_order("1", "100", "AAPL", "185.00")
    client.expect("8", {11: cl_ord_id, 150: "0"})
    return cl_ord_id


def refused(client: FixTestClient, cl_ord_id: str, *named: str) -> dict[int, str]:
    """The OrderCancelReject for `cl_ord_id`, checked, with no ExecutionReport before it."""
    reject = client.expect("9", {11: cl_ord_id})
    assert reject[102] == "99"
    for name in named:
        assert name in reject[58], f"{name!r} not named in {reject[58]!r}"
    assert [m for m in client.backlog if m.get(11) == cl_ord_id] == []
    return {tag: reject[tag] for tag in (39, 41, 434, 102, 58)}


def test_a_replace_to_a_market_order_is_refused_naming_the_new_ord_type(
    client1: FixTestClient,
) -> None:
    order = working(client1)

    replace = client1.replace(order, "100", None, ord_type="1")

    reject = refused(client1, replace, "OrdType(40)", "limit to market")
    assert (reject[39], reject[41], reject[434]) == ("0", order, "2")


def test_a_replace_of_a_limit_order_without_price_is_refused_naming_price(
    client1: FixTestClient,
) -> None:
    order = working(client1)

    replace = client1.replace(order, "80", None)

    refused(client1, replace, "Price(44)", "limit")


def test_a_replace_to_immediate_or_cancel_is_refused_and_the_order_rests_as_it_was(
    client1: FixTestClient,
) -> None:
    order = working(client1)

    replace = client1.replace(order, "100", "185.00", extra=[(59, "3")])

    refused(client1, replace, "TimeInForce(59)", "day to ioc")
    client1.status(order)
    status = client1.expect("8", {11: order, 150: "I"})
    assert (status[39], status[151], status[38]) == ("0", "100", "100")


def test_a_cancel_naming_a_clordid_since_replaced_is_refused_and_the_current_one_cancels(
    client1: FixTestClient,
) -> None:
    order = working(client1)
    replace = client1.replace(order, "80", "185.50")
    client1.expect("8", {11: replace, 150: "5"})

    stale = client1.cancel(order)

    reject = refused(client1, stale, f"OrigClOrdID(41) {order}", f"ClOrdID(11) {replace}")
    assert (reject[39], reject[41]) == ("0", replace)
    cancel = client1.cancel(replace)
    canceled = client1.expect("8", {11: cancel, 150: "4"})
    assert (canceled[41], canceled[151]) == (replace, "0")


def test_a_stop_order_with_its_stop_price_outside_the_band_is_rejected_naming_stop_px(
    client1: FixTestClient,
) -> None:
    cl_ord_id = client1.new_order("1", "10", "AAPL", None, ord_type="3",
                                  stop_price="1000000.00")

    rejected = client1.expect("8", {11: cl_ord_id})
    assert (rejected[150], rejected[39], rejected[103]) == ("8", "8", "3")
    for name in ("StopPx(99) 1000000.00", "reference 190.00", "10%"):
        assert name in rejected[58], f"{name!r} not named in {rejected[58]!r}"


def test_a_cancel_naming_another_symbol_or_side_is_refused_and_the_order_rests(
    client1: FixTestClient,
) -> None:
    order = working(client1)

    other_symbol = client1.cancel(order, symbol="MSFT")
    refused(client1, other_symbol, "Symbol(55)", "MSFT", "AAPL")
    other_side = client1.cancel(order, side="2")
    refused(client1, other_side, "Side(54)")

    status = client1.status(order)
    assert client1.expect("8", {11: status})[39] == "0"


def test_a_replace_naming_another_account_is_refused_naming_the_account(
    client1: FixTestClient,
) -> None:
    order = working(client1)

    replace = client1.replace(order, "80", "185.00", extra=[(1, "ACC2")])

    refused(client1, replace, "Account(1)", "ACC2")
