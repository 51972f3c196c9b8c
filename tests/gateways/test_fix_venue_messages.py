"""The venue adapter's messages without a session: the requests it builds, and how each
venue message becomes reports (including what a status answer reconciles)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateways.fix.venue_reports import RoutedOrder, VenueReader
from gateways.fix.venue_requests import (
    VenueRequest,
    cancel_request,
    new_order_single,
    order_id_of,
    replace_request,
    status_request,
)
from oms.commands import FixContext
from oms.model import (
    PRICE_SCALE,
    Account,
    ClOrdID,
    OrderID,
    OrdStatus,
    OrdType,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
    VenueName,
    VenueOrderID,
)
from oms.order import Order, OrderTerms
from oms.reports import VenueReport
from oms.reports import VenueReportKind as R

CONTEXT = FixContext("FIX.4.4", "VENUE", "OMS", 1, None)
TICK = PRICE_SCALE // 100


def an_order(quantity: int = 100, price: str = "190.00") -> Order:
    terms = OrderTerms(ClOrdID("client-1"), Account("ACC1"), Symbol("AAPL"), Side.BUY,
                       OrdType.LIMIT, TimeInForce.DAY, quantity,
                       int(Decimal(price) * PRICE_SCALE), None, None)
    return Order(OrderID("O7"), SessionID("CLIENT1"), terms, None, OrdStatus.NEW,
                 VenueName("XVENUE"), 0)


class Reader:
    """A VenueReader whose reports land in a list."""

    def __init__(self) -> None:
        self.reports: list[VenueReport] = []
        self.reader = VenueReader(VenueName("XVENUE"), self.reports.append, lambda s: TICK)
        self.routed = RoutedOrder(OrderID("O7"), Symbol("AAPL"), ClOrdID("O7.0"))

    def report(self, **tags: str):  # type: ignore[no-untyped-def]
        fields = {int(tag[1:]): value for tag, value in tags.items()}
        fields.setdefault(11, self.routed.working)
        fields.setdefault(17, f"X{len(self.reports) + 1}")
        return self.reader.execution_report(fields, self.routed, CONTEXT, 0)

    @property
    def kinds(self) -> list[R]:
        return [report.kind for report in self.reports]


class TestRequests:
    @pytest.mark.parametrize(("cl_ord_id", "order_id"), [
        ("O12.0", "O12"), ("O12.15", "O12"), ("client-7", None), ("O1.x", None), ("", None),
        (".3", None),
    ])
    def test_a_venue_clordid_maps_back_to_our_order_id_only_if_we_made_it(
        self, cl_ord_id: str, order_id: str | None
    ) -> None:
        assert order_id_of(cl_ord_id) == order_id

    def test_a_new_order_single_carries_the_terms_under_the_orders_first_venue_clordid(
        self,
    ) -> None:
        request = new_order_single(an_order(), 0)
        fields = dict(request.fields)
        assert (request.msg_type, request.cl_ord_id) == ("D", "O7.0")
        assert (fields[55], fields[54], fields[38], fields[40], fields[44], fields[59]) == (
            "AAPL", "1", "100", "2", "190.00", "0")
        assert fields[1] == "ACC1" and 60 in fields

    def test_cancel_replace_and_status_name_the_working_version_and_the_venue_order_id(
        self,
    ) -> None:
        order = an_order()
        venue_order_id = VenueOrderID("V9")
        cancel = dict(cancel_request(order, ClOrdID("O7.12"), ClOrdID("O7.0"), venue_order_id,
                                     0).fields)
        assert (cancel[11], cancel[41], cancel[37], cancel[38]) == ("O7.12", "O7.0", "V9",
                                                                    "100")
        terms = order.terms.replaced(ClOrdID("client-2"), 150, 191 * PRICE_SCALE, None,
                                     OrdType.LIMIT, TimeInForce.DAY, None)
        replace = dict(replace_request(order, terms, ClOrdID("O7.13"), ClOrdID("O7.0"), None,
                                       0).fields)
        assert (replace[11], replace[41], replace[38], replace[44]) == ("O7.13", "O7.0",
                                                                        "150", "191.00")
        assert 37 not in replace
        status = dict(status_request(order, ClOrdID("O7.13"), venue_order_id).fields)
        assert (status[11], status[37], status[55], status[54]) == ("O7.13", "V9", "AAPL", "1")


class TestExecutionReports:
    @pytest.mark.parametrize(("exec_type", "kind"), [
        ("0", R.ACKNOWLEDGED), ("1", R.FILL), ("2", R.FILL), ("F", R.FILL),
        ("3", R.DONE_FOR_DAY), ("4", R.CANCELED), ("5", R.REPLACED), ("6", R.PENDING_CANCEL),
        ("8", R.REJECTED), ("C", R.EXPIRED), ("D", R.RESTATED), ("E", R.PENDING_REPLACE),
    ])
    def test_every_exec_type_we_apply_becomes_its_report(self, exec_type: str, kind: R) -> None:
        reader = Reader()
        reader.report(t150=exec_type, t39="0", t32="10", t31="190.00", t14="10", t6="190",
                      t38="100")
        assert reader.kinds == [kind]
        assert reader.reports[0].venue_exec_id == "X1"

    @pytest.mark.parametrize("exec_type", ["A", "7", "9", "B", "H", "G"])
    def test_exec_types_that_change_nothing_here_post_nothing(self, exec_type: str) -> None:
        reader = Reader()
        reader.report(t150=exec_type, t39="0")
        assert reader.kinds == []

    def test_a_fill_carries_last_quantity_and_price_in_our_units(self) -> None:
        reader = Reader()
        reader.report(t150="F", t39="1", t32="30", t31="190.05", t14="30", t6="190.05")
        fill = reader.reports[0]
        assert (fill.last_quantity, fill.last_price) == (30, 19_005_000_000)

    def test_a_replaced_report_makes_its_clordid_the_working_one(self) -> None:
        reader = Reader()
        reader.routed.pending = VenueRequest("G", OrderID("O7"), ClOrdID("O7.5"), [])
        reader.report(t150="5", t11="O7.5", t41="O7.0", t39="0", t38="150", t44="191")
        assert reader.routed.working == "O7.5" and reader.routed.pending is None
        assert (reader.reports[0].quantity, reader.reports[0].price) == (150,
                                                                         191 * PRICE_SCALE)

    def test_an_exec_type_rejected_answering_our_cancel_is_a_cancel_reject(self) -> None:
        reader = Reader()
        reader.routed.pending = VenueRequest("F", OrderID("O7"), ClOrdID("O7.5"), [])
        reader.report(t150="8", t11="O7.5", t39="0", t103="0")
        assert reader.kinds == [R.CANCEL_REJECTED] and reader.routed.pending is None

    def test_a_late_report_never_takes_the_venues_cum_qty_back(self) -> None:
        reader = Reader()
        reader.report(t150="F", t39="1", t32="30", t31="190", t14="30", t6="190")
        reader.report(t150="F", t39="1", t32="20", t31="190", t14="20", t6="190")
        assert reader.routed.cum_quantity == 30


class TestStatusAnswers:
    def test_a_cum_qty_beyond_ours_is_a_fill_at_the_price_the_avg_px_implies(self) -> None:
        reader = Reader()
        reader.report(t150="0", t39="0")
        reader.report(t150="F", t39="1", t32="10", t31="190.00", t14="10", t6="190")
        outcome = reader.report(t150="I", t37="V1", t39="1", t14="40", t6="190.15")
        fill = reader.reports[-1]
        # 40 x 190.15 - 10 x 190.00 = 5706.00 over 30 shares: 190.20.
        assert (fill.kind, fill.last_quantity, fill.last_price) == (R.FILL, 30, 19_020_000_000)
        assert fill.venue_exec_id == "X3.fill"
        assert outcome is not None and not outcome.unknown and not outcome.venue_pending

    def test_a_status_answer_that_matches_reports_nothing(self) -> None:
        reader = Reader()
        reader.report(t150="0", t39="0")
        reader.report(t150="I", t37="V1", t39="0", t14="0", t6="0")
        assert reader.kinds == [R.ACKNOWLEDGED]

    def test_a_status_answer_acknowledges_an_order_whose_ack_was_lost(self) -> None:
        reader = Reader()
        reader.report(t150="I", t37="V1", t39="0", t14="0", t6="0")
        assert reader.kinds == [R.ACKNOWLEDGED] and reader.routed.venue_order_id == "V1"

    def test_an_unknown_order_never_acknowledged_is_left_to_be_sent_again(self) -> None:
        reader = Reader()
        outcome = reader.report(t150="I", t37="NONE", t39="8", t103="5")
        assert outcome is not None and outcome.unknown and reader.kinds == []

    def test_an_unknown_order_the_venue_had_acknowledged_is_reported_canceled(self) -> None:
        reader = Reader()
        reader.report(t150="0", t39="0")
        outcome = reader.report(t150="I", t37="NONE", t39="8", t103="5")
        assert outcome is not None and not outcome.unknown
        assert reader.kinds == [R.ACKNOWLEDGED, R.CANCELED]

    def test_a_status_showing_our_pending_replace_applied_reports_replaced(self) -> None:
        reader = Reader()
        reader.report(t150="0", t39="0")
        reader.routed.pending = VenueRequest("G", OrderID("O7"), ClOrdID("O7.5"), [])
        reader.report(t150="I", t37="V1", t11="O7.5", t39="0", t38="60", t14="0", t6="0")
        assert reader.kinds == [R.ACKNOWLEDGED, R.REPLACED]
        assert reader.routed.working == "O7.5"

    @pytest.mark.parametrize(("status", "kind"), [
        ("4", R.CANCELED), ("C", R.EXPIRED), ("3", R.DONE_FOR_DAY),
    ])
    def test_a_status_showing_the_order_ended_reports_how(self, status: str, kind: R) -> None:
        reader = Reader()
        reader.report(t150="0", t39="0")
        reader.report(t150="I", t37="V1", t39=status, t14="0", t6="0")
        assert reader.kinds == [R.ACKNOWLEDGED, kind]

    def test_a_status_showing_a_request_pending_at_the_venue_says_so(self) -> None:
        reader = Reader()
        reader.report(t150="0", t39="0")
        outcome = reader.report(t150="I", t37="V1", t39="6", t14="0", t6="0")
        assert outcome is not None and outcome.venue_pending
