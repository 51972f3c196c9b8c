"""Routing to named venues, and the shipped configuration for an external FIX venue."""

from __future__ import annotations

from pathlib import Path

from running_oms import RunningOms
from scripted_fix_venue import ScriptedFixVenue, wait_for

from gateways.fix.venue import FixVenue, LinkState
from oms.config import REPOSITORY_ROOT, load_config


def test_the_external_venue_configuration_routes_everything_to_its_fix_venue() -> None:
    external = load_config(REPOSITORY_ROOT / "config" / "external-venue.toml")
    venue = external.venues["XVENUE"]
    assert (venue.kind, venue.host, venue.port) == ("fix", "127.0.0.1", 9877)
    assert (venue.sender_comp_id, venue.target_comp_id) == ("OMS", "VENUE")
    assert external.routing.default == "XVENUE" and list(external.venues) == ["XVENUE"]


def test_the_external_venue_configuration_can_run_beside_the_default_one() -> None:
    external = load_config(REPOSITORY_ROOT / "config" / "external-venue.toml")
    default = load_config(REPOSITORY_ROOT / "config" / "oms.toml")
    # The same clients, accounts and limits...
    assert external.fix.sessions == default.fix.sessions
    assert external.accounts == default.accounts
    # ...but its own state and its own ports.
    assert external.data_directory != default.data_directory
    assert external.audit.directory != default.audit.directory
    ports = {default.fix.port, default.metrics.port, default.admin.port}
    assert not {external.fix.port, external.metrics.port, external.admin.port} & ports


def test_an_exchange_rule_sends_its_instruments_to_the_named_venue_and_the_rest_stay(
    tmp_path: Path,
) -> None:
    with ScriptedFixVenue() as venue:
        extra = (f'\n[venues.XVENUE]\nkind = "fix"\nport = {venue.port}\n'
                 'reconnect_seconds = 1\n\n[routing.exchanges]\nXNYS = "XVENUE"\n')
        with RunningOms(tmp_path, extra_toml=extra) as oms, oms.client("CLIENT1") as client:
            adapter = oms.runtime.engine.venues["XVENUE"]  # type: ignore[index]
            assert isinstance(adapter, FixVenue)
            wait_for(lambda: adapter.state is LinkState.READY, 15.0, "the venue link")

            on_nasdaq = client.new_order("1", "10", "AAPL", "190.00")
            # The embedded venue (the default) acknowledges at once.
            client.expect("8", {11: on_nasdaq, 150: "0"})

            on_nyse = client.new_order("1", "10", "JPM", "200.00")
            sent = venue.expect("D")
            assert sent[55] == "JPM"
            venue.ack()
            ack = client.expect("8", {11: on_nyse, 150: "0"})
            venue.expect_nothing("D")
            order = oms.runtime.call(lambda: oms.runtime.engine.book.get(ack[37]))
            assert order.venue == "XVENUE"
