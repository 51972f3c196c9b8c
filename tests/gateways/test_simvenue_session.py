"""The simulated venue's FIX session, driven by a plain FIX client in the OMS's place:
what it answers to each request, keyed by the client's ClOrdID chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixclient import FixTestClient
from running_oms import free_port

from gateways.simvenue.server import SimulatedVenue
from oms.config import REPOSITORY_ROOT
from oms.refdata import load_instruments


@pytest.fixture(scope="module")
def venue() -> Iterator[SimulatedVenue]:
    instruments = load_instruments(REPOSITORY_ROOT / "config" / "instruments.csv")
    with SimulatedVenue(instruments, port=free_port()) as running:
        yield running


@pytest.fixture
def oms(venue: SimulatedVenue) -> Iterator[FixTestClient]:
    with FixTestClient(venue.port, "OMS", target_comp_id="VENUE") as client:
        yield client


def test_a_cross_reports_a_fill_to_each_side_under_its_own_clordid_and_execid(
    oms: FixTestClient,
) -> None:
    sell = oms.new_order("2", "50", "MSFT", "420.00", account="ACC2")
    oms.expect("8", {11: sell, 150: "0"})
    buy = oms.new_order("1", "80", "MSFT", "420.00", account="ACC1")
    bought = oms.expect("8", {11: buy, 150: "F"})
    sold = oms.expect("8", {11: sell, 150: "F"})
    assert (bought[32], bought[31], bought[39], bought[151]) == ("50", "420.00", "1", "30")
    assert (sold[32], sold[39], sold[151]) == ("50", "2", "0")
    assert bought[17] != sold[17] and bought[37] != sold[37]
    oms.cancel(buy, symbol="MSFT")


def test_a_replace_answers_replaced_and_the_new_clordid_then_names_the_order(
    oms: FixTestClient,
) -> None:
    first = oms.new_order("1", "100", "AAPL", "180.00", account="ACC1")
    oms.expect("8", {11: first, 150: "0"})
    second = oms.replace(first, "120", "181.00")
    replaced = oms.expect("8", {11: second, 150: "5"})
    assert (replaced[41], replaced[38], replaced[44], replaced[151]) == (first, "120",
                                                                         "181.00", "120")
    cancel = oms.cancel(second)
    canceled = oms.expect("8", {11: cancel, 150: "4"})
    assert canceled[41] == second


def test_a_cancel_of_an_order_it_never_had_is_rejected_unknown_order(
    oms: FixTestClient,
) -> None:
    cancel = oms.cancel("nobody.0")
    reject = oms.expect("9", {11: cancel})
    assert (reject[102], reject[434], reject[37]) == ("1", "1", "NONE")


def test_a_cancel_of_a_canceled_order_is_rejected_too_late(oms: FixTestClient) -> None:
    order = oms.new_order("1", "10", "AAPL", "180.00", account="ACC1")
    oms.expect("8", {11: order, 150: "0"})
    first = oms.cancel(order)
    oms.expect("8", {11: first, 150: "4"})
    second = oms.cancel(order)
    reject = oms.expect("9", {11: second})
    assert (reject[102], reject[39]) == ("0", "4")


def test_a_reused_clordid_is_rejected_as_a_duplicate(oms: FixTestClient) -> None:
    order = oms.new_order("1", "10", "AAPL", "180.00", account="ACC1")
    oms.expect("8", {11: order, 150: "0"})
    oms.new_order("1", "10", "AAPL", "180.00", account="ACC1", cl_ord_id=order)
    reject = oms.expect("8", {11: order, 150: "8"})
    assert (reject[103], reject[37]) == ("6", "NONE")
    oms.cancel(order)


def test_what_an_ioc_order_cannot_fill_is_canceled_unsolicited(oms: FixTestClient) -> None:
    order = oms.new_order("1", "10", "NVDA", "1.00", account="ACC1", time_in_force="3")
    oms.expect("8", {11: order, 150: "0"})
    canceled = oms.expect("8", {11: order, 150: "4"})
    assert 41 not in canceled.fields and canceled[151] == "0"


def test_an_order_for_an_instrument_it_does_not_list_is_rejected_unknown_symbol(
    oms: FixTestClient,
) -> None:
    order = oms.new_order("1", "10", "NOPE", "1.00", account="ACC1")
    reject = oms.expect("8", {11: order, 150: "8"})
    assert reject[103] == "1"
