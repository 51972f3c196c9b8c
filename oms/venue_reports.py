"""Venue reports: what each report a venue makes means for its order, as events.

A report is taken only where the order state table (`oms.order.STATE_TABLE`) lists it for
the order's status; any other report, a duplicate venue ExecID, or a report for an order
we do not know is recorded as ignored (REPORT_IGNORED), so the audit log still holds it.
Fills are never dropped: one on a done order is recorded as reported and flagged.
"""

from __future__ import annotations

import logging

from oms.book import SHARD_MASK
from oms.engine_state import EngineState, K, R, S, X, tuple_new
from oms.events import Event
from oms.model import CxlRejReason, CxlRejResponseTo, OrdRejReason, SessionID
from oms.order import TERMINAL, Order, OrderTerms, status_after_quantities
from oms.reports import VenueReport

log = logging.getLogger(__name__)


class VenueReports(EngineState):
    """The engine's decisions on venue reports (see `oms.engine.Engine.on_venue_report`)."""

    def _venue_report(self, report: VenueReport) -> None:
        order_id = report.order_id
        order = self.book.by_id.shards[hash(order_id) & SHARD_MASK].get(order_id)
        if order is None:
            self._ignore(report, None, f"report for unknown order {report.order_id}")
            return
        if report.venue_exec_id is not None:
            if report.venue_exec_id in order.venue_exec_ids:
                self._ignore(report, order, f"duplicate venue ExecID {report.venue_exec_id}")
                return
        kind = report.kind
        if kind is R.FILL:
            self._fill(order, report)
        elif kind is R.ACKNOWLEDGED:
            if order.status is not S.PENDING_NEW:
                self._ignore(report, order, f"acknowledgement of a {order.status.label} order")
                return
            self._commit(self._order_event(
                K.ACCEPTED, order, X.NEW, order.terms.cl_ord_id, None, order.pending,
                order.terms, order.cum_quantity, order.notional, S.NEW, report=report,
            ), order)
        elif kind is R.CANCELED:
            self._venue_canceled(order, report)
        elif kind is R.REPLACED:
            self._venue_replaced(order, report)
        elif kind is R.CANCEL_REJECTED:
            self._venue_cancel_rejected(order, report)
        elif kind is R.REJECTED:
            if order.status is not S.PENDING_NEW:
                self._ignore(report, order, f"reject of a {order.status.label} order")
                return
            self._commit(self._order_event(
                K.REJECTED, order, X.REJECTED, order.terms.cl_ord_id, None, None,
                order.terms, order.cum_quantity, order.notional, S.REJECTED, report=report,
                text=report.text, ord_reason=report.reason
                if report.reason is not None else int(OrdRejReason.BROKER_OPTION),
            ), order)
        elif kind in (R.DONE_FOR_DAY, R.EXPIRED):
            if order.status in TERMINAL:
                self._ignore(report, order, f"{kind.value} of a {order.status.label} order")
                return
            done_dfd = kind is R.DONE_FOR_DAY
            self._commit(self._order_event(
                K.DONE_FOR_DAY if done_dfd else K.EXPIRED, order,
                X.DONE_FOR_DAY if done_dfd else X.EXPIRED, order.terms.cl_ord_id, None, None,
                order.terms, order.cum_quantity, order.notional,
                S.DONE_FOR_DAY if done_dfd else S.EXPIRED, report=report, text=report.text,
            ), order)
        elif kind is R.RESTATED:
            self._venue_restated(order, report)
        else:
            # Pending Cancel / Pending Replace from the venue: we told the client already.
            self._ignore(report, order, f"venue {kind.value} (already reported)", quiet=True)

    def _fill(self, order: Order, report: VenueReport) -> None:
        quantity = report.last_quantity
        price = report.last_price
        if quantity <= 0 or price <= 0:
            self._ignore(report, order, f"fill with LastQty {quantity} LastPx {price}")
            return
        terms = order.terms
        leaves = order.leaves_quantity
        cum = order.cum_quantity + quantity
        status = status_after_quantities(order.status, terms.quantity, cum)
        text = report.text
        if order.status is S.FILLED:
            # Every share was filled already: the venue filled beyond OrderQty.
            text = (
                f"overfill: venue reported LastQty {quantity} on a Filled order, "
                f"CumQty {cum} beyond OrderQty {terms.quantity}"
            )
            log.warning("overfill: order=%s last_qty=%s cum_qty=%s order_qty=%s",
                        order.order_id, quantity, cum, terms.quantity)
        elif order.status in TERMINAL:
            # A trade the venue made before it saw our cancel: real, so recorded (flagged).
            text = f"late fill on a {order.status.label} order: LastQty {quantity}"
            log.warning("late fill: order=%s status=%s last_qty=%s",
                        order.order_id, order.status.label, quantity)
        elif quantity > leaves:
            text = f"overfill: venue reported LastQty {quantity} beyond LeavesQty {leaves}"
            log.warning("overfill: order=%s last_qty=%s leaves_qty=%s",
                        order.order_id, quantity, leaves)
        self._commit(self._order_event(
            K.TRADE, order, X.TRADE, terms.cl_ord_id, None, order.pending, terms, cum,
            order.notional + quantity * price, status, report=report, last_qty=quantity,
            last_px=price, text=text,
        ), order)

    def _venue_canceled(self, order: Order, report: VenueReport) -> None:
        if order.status in TERMINAL:
            self._ignore(report, order, f"cancel of a {order.status.label} order")
            return
        pending = order.pending
        if pending is not None and pending.terms is None:
            cl_ord_id, orig = pending.cl_ord_id, pending.orig_cl_ord_id
        else:
            # Unsolicited (or the venue canceled instead of replacing): the order's own id.
            cl_ord_id, orig = order.terms.cl_ord_id, None
        self._commit(self._order_event(
            K.CANCELED, order, X.CANCELED, cl_ord_id, orig, None, order.terms,
            order.cum_quantity, order.notional, S.CANCELED, report=report, text=report.text,
        ), order)

    def _venue_replaced(self, order: Order, report: VenueReport) -> None:
        pending = order.pending
        if order.status in TERMINAL or pending is None or pending.terms is None:
            self._ignore(report, order, "replace that was not pending")
            return
        terms = pending.terms
        cum = order.cum_quantity
        if terms.quantity < cum:
            # A replace to below CumQty cancels the balance: OrderQty is amended to CumQty
            # and the order is Filled, never OrderQty < CumQty (FIX 4.4 Vol. 4, Appendix
            # D, matrix C.3.c; C.3.b is the same at exactly CumQty).
            terms = terms.replaced(
                terms.cl_ord_id, cum, terms.price, terms.stop_price, terms.ord_type,
                terms.time_in_force, terms.expire_time_ns,
            )
        status = status_after_quantities(order.status, terms.quantity, cum)
        self._commit(self._order_event(
            K.REPLACED, order, X.REPLACED, pending.cl_ord_id, pending.orig_cl_ord_id, None,
            terms, order.cum_quantity, order.notional, status, report=report,
        ), order)

    def _venue_cancel_rejected(self, order: Order, report: VenueReport) -> None:
        pending = order.pending
        if pending is None:
            self._ignore(report, order, "cancel reject with nothing pending")
            return
        response_to = CxlRejResponseTo.CANCEL if pending.terms is None else (
            CxlRejResponseTo.REPLACE
        )
        reason = report.reason if report.reason is not None else int(CxlRejReason.OTHER)
        self._commit(self._order_event(
            K.CANCEL_REJECTED, order, None, pending.cl_ord_id, pending.orig_cl_ord_id, None,
            order.terms, order.cum_quantity, order.notional, order.status, report=report,
            text=report.text, cxl_reason=reason, response_to=response_to, exec_id=False,
        ), order)

    def _venue_restated(self, order: Order, report: VenueReport) -> None:
        if order.status in TERMINAL or report.quantity is None or report.quantity <= 0:
            self._ignore(report, order, "restatement without a usable OrderQty")
            return
        old = order.terms
        # A venue that restates OrderQty below CumQty has cut the order to what is
        # filled: OrderQty is CumQty and the order Filled, as after a replace (above).
        quantity = report.quantity
        if quantity < order.cum_quantity:
            quantity = order.cum_quantity
        terms = OrderTerms(
            old.cl_ord_id, old.account, old.symbol, old.side, old.ord_type,
            old.time_in_force, quantity,
            report.price if report.price is not None else old.price,
            old.stop_price, old.expire_time_ns,
        )
        status = status_after_quantities(order.status, terms.quantity, order.cum_quantity)
        self._commit(self._order_event(
            K.RESTATED, order, X.RESTATED, old.cl_ord_id, None, order.pending, terms,
            order.cum_quantity, order.notional, status, report=report, text=report.text,
            ord_reason=report.reason,
        ), order)

    def _ignore(
        self, report: VenueReport, order: Order | None, why: str, quiet: bool = False
    ) -> None:
        """Record a venue report that changes nothing, so the log still holds it."""
        if not quiet:
            log.warning("venue report ignored: %s: %r", why, report)
        seq = self._seq + 1
        self._commit(tuple_new(Event, (
            seq, self._clock(), K.REPORT_IGNORED, order.session if order else SessionID(""),
            report.order_id, order.terms.cl_ord_id if order else None, None,
            order.terms if order else None, None, None,
            order.ord_status if order else None,
            order.cum_quantity if order else 0, order.leaves_quantity if order else 0,
            order.notional if order else 0, report.last_quantity, report.last_price, None,
            report.venue, report.venue_order_id, report.venue_exec_id, None, None, None,
            why, None, report.transact_time_ns or 0, report.received_ns, report.fix,
            order.instrument.avg_px_decimals if order and order.instrument else 4, None,
        )), order)
