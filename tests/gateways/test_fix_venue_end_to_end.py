"""Client -> OMS -> `oms venue` over FIX on loopback: the OMS routes to the simulated venue
as a venue of kind "fix", and each answer comes back through both sessions."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fixclient import FixTestClient
from running_oms import RunningOms, free_port
from scripted_fix_venue import wait_for

from gateways.fix.venue import FixVenue, LinkState
from gateways.simvenue.server import SimulatedVenue
from oms.config import REPOSITORY_ROOT
from oms.refdata import load_instruments


def venue_toml(port: int, *, routing: str) -> str:
    return f'\n[venues.XVENUE]\nkind = "fix"\nport = {port}\nreconnect_seconds = 1\n{routing}'


@pytest.fixture
def venue() -> Iterator[SimulatedVenue]:
    instruments = load_instruments(REPOSITORY_ROOT / "config" / "instruments.csv")
    with SimulatedVenue(instruments, port=free_port()) as running:
        yield running


@pytest.fixture
def oms(tmp_path: Path, venue: SimulatedVenue) -> Iterator[RunningOms]:
    routing = '\n[routing.symbols]\nAAPL = "XVENUE"\nMSFT = "XVENUE"\n'
    with RunningOms(tmp_path, extra_toml=venue_toml(venue.port, routing=routing)) as running:
        adapter = running.runtime.engine.venues["XVENUE"]
        assert isinstance(adapter, FixVenue)
        wait_for(lambda: adapter.state is LinkState.READY, 15.0, "the venue link")
        yield running


@pytest.fixture
def client1(oms: RunningOms) -> Iterator[FixTestClient]:
    with oms.client("CLIENT1") as client:
        yield client


@pytest.fixture
def client2(oms: RunningOms) -> Iterator[FixTestClient]:
    with oms.client("CLIENT2") as client:
        yield client


def test_an_order_routed_to_the_fix_venue_is_acknowledged_with_our_order_id(
    oms: RunningOms, client1: FixTestClient
) -> None:
    cl_ord_id = client1.new_order("1", "100", "AAPL", "190.00")
    ack = client1.expect("8", {11: cl_ord_id, 150: "0"})
    assert (ack[39], ack[14], ack[151]) == ("0", "0", "100")
    order = oms.runtime.call(lambda: oms.runtime.engine.book.get(ack[37]))
    assert order.venue == "XVENUE" and order.venue_order_id


def test_two_clients_trade_with_each_other_through_the_external_venue(
    client1: FixTestClient, client2: FixTestClient
) -> None:
    sell = client2.new_order("2", "100", "AAPL", "190.00")
    client2.expect("8", {11: sell, 150: "0"})
    buy = client1.new_order("1", "60", "AAPL", "190.10")
    client1.expect("8", {11: buy, 150: "0"})

    bought = client1.expect("8", {11: buy, 150: "F"})
    sold = client2.expect("8", {11: sell, 150: "F"})
    # The resting sell's price, for both sides.
    assert (bought[32], bought[31], bought[39], bought[151]) == ("60", "190.00", "2", "0")
    assert (sold[32], sold[31], sold[39], sold[14], sold[151]) == ("60", "190.00", "1", "60",
                                                                   "40")
    assert Decimal(sold[6]) == Decimal("190")


def test_a_cancel_goes_to_the_venue_and_its_canceled_report_reaches_the_client(
    client1: FixTestClient
) -> None:
    cl_ord_id = client1.new_order("1", "100", "AAPL", "189.00")
    client1.expect("8", {11: cl_ord_id, 150: "0"})
    cancel = client1.cancel(cl_ord_id)
    pending = client1.expect("8", {11: cancel, 150: "6"})
    canceled = client1.expect("8", {11: cancel, 150: "4"})
    assert (pending[41], canceled[41]) == (cl_ord_id, cl_ord_id)
    assert (canceled[39], canceled[151]) == ("4", "0")


def test_a_replace_changes_quantity_and_price_at_the_venue_and_then_trades_at_the_new_price(
    client1: FixTestClient, client2: FixTestClient
) -> None:
    buy = client1.new_order("1", "100", "AAPL", "189.00")
    client1.expect("8", {11: buy, 150: "0"})
    replace = client1.replace(buy, "150", "189.50")
    client1.expect("8", {11: replace, 150: "E"})
    replaced = client1.expect("8", {11: replace, 150: "5"})
    assert (replaced[41], replaced[38], replaced[44], replaced[39]) == (buy, "150", "189.50",
                                                                       "0")
    sell = client2.new_order("2", "150", "AAPL", "189.50")
    filled = client1.expect("8", {11: replace, 150: "F"})
    assert (filled[32], filled[31], filled[39]) == ("150", "189.50", "2")
    client2.expect("8", {11: sell, 150: "F", 39: "2"})


def test_a_cancel_of_a_filled_order_is_rejected_by_the_venue_too_late_to_cancel(
    oms: RunningOms, client1: FixTestClient, client2: FixTestClient
) -> None:
    sell = client2.new_order("2", "10", "AAPL", "190.00")
    client2.expect("8", {11: sell, 150: "0"})
    buy = client1.new_order("1", "10", "AAPL", "190.00")
    client1.expect("8", {11: buy, 150: "F", 39: "2"})
    # The OMS knows the order is Filled and answers the cancel itself.
    cancel = client1.cancel(buy)
    reject = client1.expect("9", {11: cancel})
    assert (reject[39], reject[102]) == ("2", "0")
