"""The FIX venue adapter over real quickfix sessions: a FIX client to the OMS, the OMS routed
to a scripted FIX venue the test drives message by message. What the venue sends, what the
client then receives, and what the adapter does when the venue goes away and comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import quickfix
from fixclient import FixTestClient
from running_oms import RunningOms
from scripted_fix_venue import ScriptedFixVenue, settle, wait_for

from gateways.fix.venue import FixVenue, LinkState
from oms.model import OrderID


@pytest.fixture
def venue() -> Iterator[ScriptedFixVenue]:
    with ScriptedFixVenue() as scripted:
        yield scripted


@pytest.fixture
def oms(tmp_path: Path, venue: ScriptedFixVenue) -> Iterator[RunningOms]:
    with RunningOms(tmp_path, extra_toml=venue.toml()) as running:
        wait_for(lambda: adapter(running).state is LinkState.READY, 15.0, "the venue link")
        yield running


@pytest.fixture
def client(oms: RunningOms) -> Iterator[FixTestClient]:
    with oms.client("CLIENT1") as connected:
        yield connected


def adapter(oms: RunningOms) -> FixVenue:
    venue = oms.runtime.engine.venues["XVENUE"]  # type: ignore[index]
    assert isinstance(venue, FixVenue)
    return venue


def working(client: FixTestClient, venue: ScriptedFixVenue, quantity: str = "100") -> str:
    """A buy limit order the venue has acknowledged; returns the client's ClOrdID."""
    cl_ord_id = client.new_order("1", quantity, "AAPL", "190.00")
    venue.expect("D")
    venue.ack()
    client.expect("8", {11: cl_ord_id, 150: "0"})
    return cl_ord_id


def away(oms: RunningOms, venue: ScriptedFixVenue) -> None:
    """The venue drops the connection and refuses to take it back; the adapter has noticed."""
    venue.refusing = True
    venue.disconnect()
    wait_for(lambda: adapter(oms).state is LinkState.DOWN, 15.0, "the adapter to notice")


def quiet(oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient) -> None:
    """Everything the venue sent has been read by the OMS, applied and passed on."""
    settle((venue.session_id, venue.client_session_id))
    oms.runtime.flush()
    begin, name = client.begin_string, client.sender_comp_id
    settle((quickfix.SessionID(begin, "OMS", name), quickfix.SessionID(begin, name, "OMS")))


class TestRequests:
    def test_a_new_order_reaches_the_venue_under_our_order_id_with_the_clients_terms(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = client.new_order("2", "300", "AAPL", "191.50", time_in_force="1")
        sent = venue.expect("D")
        assert sent[11].endswith(".0") and sent[11] != cl_ord_id
        assert (sent[55], sent[54], sent[38], sent[40], sent[44], sent[59], sent[1]) == (
            "AAPL", "2", "300", "2", "191.50", "1", "ACC1")
        venue.ack()
        ack = client.expect("8", {11: cl_ord_id, 150: "0"})
        assert sent[11] == f"{ack[37]}.0"

    def test_each_cancel_or_replace_has_a_fresh_clordid_and_names_the_working_one(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        first = working(client, venue)
        client.replace(first, "150", "190.00")
        replace = venue.expect("G")
        assert replace[41] == venue.order().first and replace[11] != replace[41]
        assert (replace[38], replace[44], replace[37]) == ("150", "190.00", "V1")
        venue.replaced()
        second = client.expect("8", {150: "5"})[11]
        client.cancel(second)
        cancel = venue.expect("F")
        assert cancel[41] == replace[11] and cancel[11] not in (replace[11], replace[41])


class TestReports:
    def test_a_fill_during_a_pending_cancel_carries_the_original_clordid_to_the_client(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        cancel = client.cancel(original)
        client.expect("8", {11: cancel, 150: "6"})
        venue.expect("F")
        venue.pending_cancel()
        venue.fill(30, "190.00")
        fill = client.expect("8", {150: "F"})
        assert (fill[11], fill[39], fill[14], fill[151]) == (original, "6", "30", "70")
        venue.canceled()
        canceled = client.expect("8", {150: "4"})
        assert (canceled[11], canceled[41], canceled[39], canceled[14]) == (
            cancel, original, "4", "30")

    def test_a_fill_during_a_pending_replace_carries_the_original_clordid_then_the_new_one(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        replace = client.replace(original, "200", "190.00")
        client.expect("8", {11: replace, 150: "E"})
        venue.expect("G")
        venue.fill(50, "190.00")
        during = client.expect("8", {150: "F"})
        assert (during[11], during[39], during[38], during[14]) == (original, "E", "100", "50")
        venue.replaced()
        replaced = client.expect("8", {150: "5"})
        assert (replaced[11], replaced[41], replaced[38], replaced[151]) == (
            replace, original, "200", "150")
        venue.fill(150, "190.00")
        after = client.expect("8", {150: "F"})
        assert (after[11], after[39], after[14]) == (replace, "2", "200")

    def test_an_unsolicited_cancel_by_the_venue_cancels_the_order_under_its_own_clordid(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = working(client, venue)
        venue.canceled(unsolicited=True)
        canceled = client.expect("8", {150: "4"})
        assert (canceled[11], canceled.get(41), canceled[39], canceled[151]) == (
            cl_ord_id, None, "4", "0")
        assert canceled[58] == "canceled by the venue"

    def test_a_restatement_changes_the_order_quantity_with_its_reason(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = working(client, venue)
        venue.restated(80, reason=3)
        restated = client.expect("8", {150: "D"})
        assert (restated[11], restated[38], restated[151], restated[378]) == (
            cl_ord_id, "80", "80", "3")

    def test_a_duplicate_venue_execid_is_applied_once(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        working(client, venue)
        venue.fill(40, "190.00")
        venue.dup()
        fill = client.expect("8", {150: "F"})
        assert (fill[14], fill[32]) == ("40", "40")
        quiet(oms, venue, client)
        client.expect_nothing("8", {150: "F"})
        order = oms.runtime.call(lambda: oms.runtime.engine.book.get(OrderID(fill[37])))
        assert order.cum_quantity == 40

    def test_a_fill_before_the_acknowledgement_implies_it_and_the_late_ack_changes_nothing(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        venue.expect("D")
        venue.fill(100, "190.00")
        fill = client.expect("8", {11: cl_ord_id, 150: "F"})
        assert (fill[39], fill[14], fill[151]) == ("2", "100", "0")
        venue.ack()
        quiet(oms, venue, client)
        client.expect_nothing("8", {11: cl_ord_id})

    def test_a_venue_cancel_reject_reaches_the_client_as_an_order_cancel_reject(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        cancel = client.cancel(original)
        client.expect("8", {11: cancel, 150: "6"})
        venue.expect("F")
        venue.cancel_reject(reason=0)
        reject = client.expect("9", {11: cancel})
        assert (reject[41], reject[39], reject[434], reject[102]) == (original, "0", "1", "0")
        # The order works on, and a second cancel goes out again.
        again = client.cancel(original)
        client.expect("8", {11: again, 150: "6"})
        assert venue.expect("F")[41] == venue.order().first

    def test_a_venue_replace_reject_reaches_the_client_as_a_replace_cancel_reject(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        replace = client.replace(original, "50", "190.00")
        venue.expect("G")
        venue.cancel_reject(reason=99)
        reject = client.expect("9", {11: replace})
        assert (reject[41], reject[434], reject[102]) == (original, "2", "99")

    def test_a_new_order_the_venue_rejects_is_rejected_with_the_venues_reason(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        venue.expect("D")
        venue.rejected(reason=2)
        reject = client.expect("8", {11: cl_ord_id, 150: "8"})
        assert (reject[39], reject[103], reject[58]) == ("8", "2", "rejected by venue")

    def test_done_for_day_and_expired_end_orders_at_the_venues_word(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        day = working(client, venue)
        venue.done_for_day()
        assert client.expect("8", {11: day, 150: "3"})[39] == "3"
        gtc = working(client, venue)
        venue.expired()
        assert client.expect("8", {11: gtc, 150: "C"})[39] == "C"

    def test_a_session_reject_of_our_new_order_rejects_it(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        sent = venue.expect("D")
        venue.send("3", [(45, sent[34]), (372, "D"), (373, "5"), (58, "value is incorrect")])
        reject = client.expect("8", {11: cl_ord_id, 150: "8"})
        assert "value is incorrect" in reject[58]

    def test_a_business_reject_of_our_cancel_is_a_cancel_reject(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        cancel = client.cancel(original)
        sent = venue.expect("F")
        venue.send("j", [(45, sent[34]), (372, "F"), (379, sent[11]), (380, "0"),
                         (58, "not now")])
        reject = client.expect("9", {11: cancel})
        assert "not now" in reject[58]


class TestDisconnect:
    def test_orders_stay_as_they_are_while_the_venue_is_away_and_the_client_hears_nothing(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = working(client, venue)
        away(oms, venue)
        client.expect_nothing(timeout=1.5)
        order = oms.runtime.call(lambda: oms.runtime.engine.book.find("CLIENT1", cl_ord_id))
        assert order.status.label == "New" and order.pending is None

    def test_a_cancel_made_while_the_venue_is_away_is_held_and_sent_after_the_status_request(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        away(oms, venue)
        cancel = client.cancel(original)
        client.expect("8", {11: cancel, 150: "6"})
        wait_for(lambda: adapter(oms).held == 1, 5.0, "the cancel to be held")
        venue.refusing = False
        venue.wait_logged_on()
        status = venue.expect("H")
        assert status[11] == venue.order().first and status[37] == "V1"
        venue.status()
        assert venue.expect("F")[41] == venue.order().first
        venue.canceled()
        canceled = client.expect("8", {11: cancel, 150: "4"})
        assert canceled[41] == original

    def test_after_reconnect_a_fill_made_while_disconnected_is_reconciled_by_status(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = working(client, venue)
        venue.refusing = True
        venue.disconnect()
        venue.fill(30, "190.00")  # lost: the OMS is not there to read it
        assert venue.dropped == 1
        client.expect_nothing(timeout=0.5)
        venue.refusing = False
        venue.wait_logged_on()
        venue.expect("H")
        venue.status()
        fill = client.expect("8", {11: cl_ord_id, 150: "F"})
        assert (fill[32], fill[31], fill[14], fill[151], fill[39]) == (
            "30", "190.00", "30", "70", "1")
        wait_for(lambda: adapter(oms).state is LinkState.READY, 15.0, "the reconcile to end")

    def test_a_status_answer_that_matches_our_view_reports_nothing(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        working(client, venue)
        venue.fill(10, "190.00")
        client.expect("8", {150: "F"})
        venue.disconnect()
        venue.expect("H", timeout=15.0)
        venue.status()
        wait_for(lambda: adapter(oms).state is LinkState.READY, 15.0, "the reconcile to end")
        quiet(oms, venue, client)
        client.expect_nothing()

    def test_a_new_order_made_while_the_venue_is_away_is_sent_after_logon(
        self, oms: RunningOms, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        away(oms, venue)
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        wait_for(lambda: adapter(oms).held == 1, 5.0, "the new order to be held")
        client.expect_nothing(timeout=0.3)
        venue.refusing = False
        venue.wait_logged_on()
        # No status request for an order the venue cannot know yet: the order itself comes.
        venue.expect("D")
        venue.ack()
        client.expect("8", {11: cl_ord_id, 150: "0"})

    def test_a_new_order_the_venue_never_received_is_sent_again_under_the_same_clordid(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        lost = venue.expect("D")
        venue.disconnect()
        status = venue.expect("H", timeout=15.0)
        venue.unknown_order(status)
        again = venue.expect("D")
        assert again[11] == lost[11]
        venue.ack()
        client.expect("8", {11: cl_ord_id, 150: "0"})

    def test_a_cancel_the_venue_never_received_is_sent_again_under_a_new_clordid(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        cancel = client.cancel(original)
        lost = venue.expect("F")
        venue.order().pending = None  # as if it never arrived
        venue.disconnect()
        venue.expect("H", timeout=15.0)
        venue.status()
        again = venue.expect("F")
        assert again[41] == lost[41] and again[11] != lost[11]
        venue.canceled()
        assert client.expect("8", {11: cancel, 150: "4"})[41] == original

    def test_a_replace_the_venue_applied_while_we_were_away_is_reported_replaced(
        self, venue: ScriptedFixVenue, client: FixTestClient
    ) -> None:
        original = working(client, venue)
        replace = client.replace(original, "60", "190.00")
        venue.expect("G")
        venue.refusing = True
        venue.disconnect()
        venue.replaced()  # lost
        venue.refusing = False
        venue.expect("H", timeout=15.0)
        venue.status()
        replaced = client.expect("8", {11: replace, 150: "5"})
        assert (replaced[41], replaced[38]) == (original, "60")


class TestRestart:
    def test_after_an_oms_restart_live_orders_are_reconciled_and_can_still_be_canceled(
        self, tmp_path: Path, venue: ScriptedFixVenue
    ) -> None:
        extra = venue.toml()
        with RunningOms(tmp_path, audit_mode="async", extra_toml=extra) as first:
            wait_for(lambda: adapter(first).state is LinkState.READY, 15.0, "the venue link")
            with first.client("CLIENT1") as client:
                cl_ord_id = working(client, venue)
            first.runtime.flush()
        wait_for(lambda: not venue.logged_on, 5.0, "the OMS to log out")
        venue.fill(30, "190.00")  # while the OMS is down: lost

        with RunningOms(tmp_path, audit_mode="async", extra_toml=extra) as second:
            # The restored order is asked about under its first ClOrdID and the venue's id.
            status = venue.expect("H", timeout=15.0)
            assert (status[11], status[37]) == (venue.order().first, "V1")
            venue.status()
            wait_for(lambda: adapter(second).state is LinkState.READY, 15.0, "the reconcile")
            second.runtime.flush()
            order = second.runtime.call(
                lambda: second.runtime.engine.book.find("CLIENT1", cl_ord_id))
            assert (order.cum_quantity, order.status.label) == (30, "Partially Filled")

            with second.client("CLIENT1") as client:
                cancel = client.cancel(cl_ord_id)
                sent = venue.expect("F")
                assert (sent[41], sent[37]) == (venue.order().first, "V1")
                venue.canceled()
                canceled = client.expect("8", {11: cancel, 150: "4"})
                assert (canceled[14], canceled[41]) == ("30", cl_ord_id)
