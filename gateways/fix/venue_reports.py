"""What a FIX venue reports, read onto our orders: ExecutionReport (35=8), OrderCancelReject
(35=9), and the rejects a venue sends when it could not take one of our requests.

`VenueReader` turns each message into `VenueReport`s for the engine and keeps a
`RoutedOrder` per order up to date: the venue-side ClOrdID working at the venue, the
cancel or replace waiting for an answer, and the venue's CumQty and AvgPx as it last stated
them. Messages are read in the venue's sequence order, so those figures are the venue's
own view, which is what an OrderStatusRequest answer (ExecType I) is compared with: a CumQty
beyond it is a fill we never received a report for.

Every report carries the venue's ExecID(17), so that the engine applies a duplicate once.
Reports made up from one status answer carry that answer's ExecID with a suffix each.

Runs on quickfix's thread, under the adapter's lock; it only posts reports (never blocks).

The fields read here are valid text: a value the venue sent that is not valid UTF-8 (which
quickfix's binding would hand over as lone surrogates, unwritable to the audit log or to a
client) arrives with those bytes escaped as \\xNN, and the adapter has logged a warning
naming the tag (`gateways.fix.venue.FixVenue.read`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from gateways.fix.venue_requests import VenueRequest, order_id_of
from gateways.fix.wire import parse_utc_timestamp
from oms.commands import FixContext
from oms.model import (
    PRICE_SCALE,
    ClOrdID,
    CxlRejReason,
    ExecID,
    OrderID,
    OrdRejReason,
    Symbol,
    VenueName,
    VenueOrderID,
    price_from_decimal,
)
from oms.reports import ReportSink, VenueReport
from oms.reports import VenueReportKind as R

log = logging.getLogger(__name__)

Fields = Mapping[int, str]

# ExecType(150) -> report. 1 and 2 are FIX 4.2's Partial fill and Fill.
_EXEC_TYPES = {
    "0": R.ACKNOWLEDGED,
    "1": R.FILL,
    "2": R.FILL,
    "F": R.FILL,
    "3": R.DONE_FOR_DAY,
    "4": R.CANCELED,
    "5": R.REPLACED,
    "6": R.PENDING_CANCEL,
    "8": R.REJECTED,
    "C": R.EXPIRED,
    "D": R.RESTATED,
    "E": R.PENDING_REPLACE,
}
# ExecTypes that change nothing for us: Pending New, Stopped, Suspended, Calculated.
_QUIET_EXEC_TYPES = frozenset({"A", "7", "9", "B"})
# OrdStatus(39) of a status answer -> the terminal report it implies.
_TERMINAL_STATUSES = {"3": R.DONE_FOR_DAY, "4": R.CANCELED, "C": R.EXPIRED}
# OrdStatus(39) after which the venue works the order no more.
_DONE_STATUSES = frozenset({"2", "3", "4", "8", "C"})
_ENDS_ORDER = frozenset({R.CANCELED, R.DONE_FOR_DAY, R.EXPIRED, R.REJECTED})
_UNKNOWN = "NONE"


class RoutedOrder:
    """What the adapter knows of one order at the venue."""

    __slots__ = (
        "order_id",
        "symbol",
        "working",
        "new",
        "pending",
        "acknowledged",
        "venue_order_id",
        "cum_quantity",
        "notional",
        "done",
    )

    def __init__(
        self,
        order_id: OrderID,
        symbol: Symbol,
        working: ClOrdID,
        *,
        new: VenueRequest | None = None,
        acknowledged: bool = False,
        venue_order_id: VenueOrderID | None = None,
        cum_quantity: int = 0,
        notional: Decimal = Decimal(0),
    ) -> None:
        self.order_id = order_id
        self.symbol = symbol
        # The venue-side ClOrdID of the version working at the venue.
        self.working = working
        # The NewOrderSingle until the venue answers it; None once it has (or after a restart).
        self.new = new
        # The cancel or replace sent (or held) and not answered yet.
        self.pending: VenueRequest | None = None
        self.acknowledged = acknowledged
        self.venue_order_id = venue_order_id
        # CumQty(14), and AvgPx(6) x CumQty, as the venue last stated them.
        self.cum_quantity = cum_quantity
        self.notional = notional
        self.done = False

    def __repr__(self) -> str:
        return (
            f"RoutedOrder({self.order_id}, working={self.working}, pending={self.pending}, "
            f"cum={self.cum_quantity})"
        )


class StatusOutcome:
    """What one status answer said that only the engine thread can act on."""

    __slots__ = ("order_id", "unknown", "venue_pending")

    def __init__(self, order_id: OrderID, unknown: bool, venue_pending: bool) -> None:
        self.order_id = order_id
        # The venue does not know an order it never acknowledged: its NewOrderSingle is lost.
        self.unknown = unknown
        # The venue itself shows a cancel or replace pending (OrdStatus 6 or E).
        self.venue_pending = venue_pending


class VenueReader:
    def __init__(
        self, venue: VenueName, sink: ReportSink, tick: Callable[[Symbol], int | None]
    ) -> None:
        self.venue = venue
        self._sink = sink
        self._tick = tick

    # ExecutionReport (35=8).

    def execution_report(
        self, fields: Fields, routed: RoutedOrder, context: FixContext, received_ns: int
    ) -> StatusOutcome | None:
        """Post what one ExecutionReport says; a status answer's outcome is returned."""
        exec_type = fields.get(150, "")
        # ExecType I answers a status request; FIX 4.2 says so with ExecTransType(20)=3.
        if exec_type == "I" or fields.get(20) == "3":
            return self._status(fields, routed, context, received_ns)
        self._note_order_id(fields, routed)
        kind = _EXEC_TYPES.get(exec_type)
        if kind is None:
            if exec_type not in _QUIET_EXEC_TYPES:
                # TODO: trade busts and corrections (ExecType H and G) are not applied; the
                # engine has no event for them yet, so an operator must correct the position.
                log.warning("venue report not applied: venue=%s order=%s ExecType(150)=%s",
                            self.venue, routed.order_id, exec_type)
            return None
        pending = routed.pending
        if kind is R.REJECTED and pending is not None and fields.get(11) == pending.cl_ord_id:
            # Some venues answer a cancel or replace they refuse with ExecType Rejected.
            routed.pending = None
            self._post(R.CANCEL_REJECTED, routed, fields, context, received_ns,
                       reason=_int(fields, 103))
            return None
        if kind is not R.REJECTED:
            routed.acknowledged = True
        routed.new = None
        self._note_quantities(fields, routed)
        extra: dict[str, Any] = {}
        if kind is R.FILL:
            extra = {"last_quantity": _quantity(fields, 32), "last_price": _price(fields, 31)}
        elif kind is R.REPLACED:
            # The replace is done: its ClOrdID(11) is the version working from now on.
            routed.working = ClOrdID(fields.get(11) or routed.working)
            routed.pending = None
            extra = {"quantity": _quantity(fields, 38) or None, "price": _price(fields, 44)
                     or None}
        elif kind is R.RESTATED:
            extra = {"quantity": _quantity(fields, 38) or None,
                     "price": _price(fields, 44) or None, "reason": _int(fields, 378)}
        elif kind is R.REJECTED:
            # OrdRejReason(103); left out, the engine records Broker option.
            extra = {"reason": _int(fields, 103)}
        if kind in _ENDS_ORDER:
            routed.done = True
            routed.pending = None
        self._post(kind, routed, fields, context, received_ns, **extra)
        return None

    # OrderCancelReject (35=9).

    def cancel_reject(
        self, fields: Fields, routed: RoutedOrder, context: FixContext, received_ns: int
    ) -> None:
        pending = routed.pending
        if pending is not None and fields.get(11) == pending.cl_ord_id:
            routed.pending = None
        self._note_order_id(fields, routed)
        # CxlRejReason(102); left out, the engine records Other.
        self._post(R.CANCEL_REJECTED, routed, fields, context, received_ns,
                   reason=_int(fields, 102))

    # A request the venue could not take at all: session Reject (35=3) or
    # BusinessMessageReject (35=j) naming it.

    def request_refused(
        self, request: VenueRequest, routed: RoutedOrder, text: str, context: FixContext,
        received_ns: int,
    ) -> None:
        if request.msg_type == "D":
            routed.new = None
            routed.done = True
            self._post(R.REJECTED, routed, {}, context, received_ns,
                       reason=int(OrdRejReason.OTHER), text=text)
        elif request.msg_type in ("F", "G"):
            pending = routed.pending
            if pending is not None and pending.cl_ord_id == request.cl_ord_id:
                routed.pending = None
            self._post(R.CANCEL_REJECTED, routed, {}, context, received_ns,
                       reason=int(CxlRejReason.OTHER), text=text)
        else:
            log.warning("venue refused a status request: venue=%s order=%s text=%s",
                        self.venue, routed.order_id, text)

    # Status answers (ExecType I).

    def _status(
        self, fields: Fields, routed: RoutedOrder, context: FixContext, received_ns: int
    ) -> StatusOutcome:
        """Compare the venue's view of the order with ours and post what differs."""
        order_id = routed.order_id
        status = fields.get(39, "")
        exec_id = fields.get(17) or f"status-{received_ns}"
        known = fields.get(37, _UNKNOWN) != _UNKNOWN and fields.get(103) != "5"
        if not known:
            if not routed.acknowledged:
                return StatusOutcome(order_id, unknown=True, venue_pending=False)
            if not routed.done:
                log.error("venue no longer knows a working order: venue=%s order=%s; "
                          "reported as canceled", self.venue, order_id)
                routed.done = True
                self._post(R.CANCELED, routed, fields, context, received_ns,
                           exec_id=f"{exec_id}.unknown",
                           text="the venue no longer knows this order (status request)")
            return StatusOutcome(order_id, unknown=False, venue_pending=False)
        self._note_order_id(fields, routed)
        if status == "8":
            if not routed.acknowledged and not routed.done:
                routed.done = True
                self._post(R.REJECTED, routed, fields, context, received_ns,
                           exec_id=f"{exec_id}.rejected",
                           reason=_int(fields, 103))
            return StatusOutcome(order_id, unknown=False, venue_pending=False)
        if not routed.acknowledged:
            # The venue has the order: its acknowledgement was lost.
            routed.acknowledged = True
            routed.new = None
            self._post(R.ACKNOWLEDGED, routed, fields, context, received_ns,
                       exec_id=f"{exec_id}.new")
        self._missed_fill(fields, routed, context, received_ns, exec_id)
        cl_ord_id = fields.get(11)
        pending = routed.pending
        if pending is not None and pending.is_replace and cl_ord_id == pending.cl_ord_id:
            routed.working = pending.cl_ord_id
            routed.pending = None
            self._post(R.REPLACED, routed, fields, context, received_ns,
                       exec_id=f"{exec_id}.replaced", quantity=_quantity(fields, 38) or None,
                       price=_price(fields, 44) or None)
        elif cl_ord_id and order_id_of(cl_ord_id) == order_id:
            routed.working = ClOrdID(cl_ord_id)
        terminal = _TERMINAL_STATUSES.get(status)
        if terminal is not None and not routed.done:
            routed.done = True
            routed.pending = None
            self._post(terminal, routed, fields, context, received_ns,
                       exec_id=f"{exec_id}.{terminal.value}")
        return StatusOutcome(order_id, unknown=False, venue_pending=status in ("6", "E"))

    def _missed_fill(
        self, fields: Fields, routed: RoutedOrder, context: FixContext, received_ns: int,
        exec_id: str,
    ) -> None:
        """A CumQty(14) beyond the last one reported: the venue filled without telling us."""
        cum = _quantity(fields, 14)
        missing = cum - routed.cum_quantity
        if missing <= 0:
            return
        notional = _decimal(fields, 6) * cum
        price = self._price_of(routed.symbol, (notional - routed.notional) / missing)
        if price <= 0:
            price = _price(fields, 6)
        log.warning(
            "fill found by status request: venue=%s order=%s last_qty=%d last_px=%s "
            "(from AvgPx(6); the venue's own executions were not received)",
            self.venue, routed.order_id, missing, Decimal(price) / PRICE_SCALE,
        )
        routed.cum_quantity = cum
        routed.notional = notional
        self._post(R.FILL, routed, fields, context, received_ns, exec_id=f"{exec_id}.fill",
                   last_quantity=missing, last_price=price)

    def _price_of(self, symbol: Symbol, price: Decimal) -> int:
        """A price in our units, on the instrument's tick grid (nearest tick)."""
        try:
            units = price * PRICE_SCALE
            tick = self._tick(symbol) or 1
            ticks = (units / tick).to_integral_value(rounding=ROUND_HALF_EVEN)
            return int(ticks) * tick
        except (InvalidOperation, ArithmeticError):
            return 0

    # Shared.

    def _note_order_id(self, fields: Fields, routed: RoutedOrder) -> None:
        venue_order_id = fields.get(37)
        if venue_order_id and venue_order_id != _UNKNOWN:
            routed.venue_order_id = VenueOrderID(venue_order_id)

    def _note_quantities(self, fields: Fields, routed: RoutedOrder) -> None:
        if fields.get(39) in _DONE_STATUSES:
            routed.done = True
        if 14 not in fields:
            return
        cum = _quantity(fields, 14)
        # Reports can arrive out of order: CumQty never goes back.
        if cum >= routed.cum_quantity:
            routed.cum_quantity = cum
            routed.notional = _decimal(fields, 6) * cum

    def _post(
        self,
        kind: R,
        routed: RoutedOrder,
        fields: Fields,
        context: FixContext,
        received_ns: int,
        *,
        exec_id: str | None = None,
        text: str | None = None,
        **values: object,
    ) -> None:
        venue_exec_id = exec_id or fields.get(17)
        transact = fields.get(60)
        report = VenueReport(
            kind,
            routed.order_id,
            self.venue,
            routed.venue_order_id,
            ExecID(venue_exec_id) if venue_exec_id else None,
            text=text or fields.get(58),
            transact_time_ns=_timestamp(transact),
            received_ns=received_ns,
            fix=context,
            **values,  # type: ignore[arg-type]
        )
        log.debug("venue report: %r", report)
        self._sink(report)


# Field readers: a venue's bad value becomes 0 (a report the engine then ignores, logged).


def _decimal(fields: Fields, tag: int) -> Decimal:
    try:
        value = Decimal(fields.get(tag, "0"))
    except InvalidOperation:
        return Decimal(0)
    return value if value.is_finite() else Decimal(0)


def _quantity(fields: Fields, tag: int) -> int:
    value = _decimal(fields, tag)
    return int(value) if value == value.to_integral_value() else 0


def _price(fields: Fields, tag: int) -> int:
    try:
        return price_from_decimal(_decimal(fields, tag))
    except ValueError:
        return 0


def _int(fields: Fields, tag: int) -> int | None:
    text = fields.get(tag, "")
    return int(text) if text.isdigit() else None


def _timestamp(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_utc_timestamp(text)
    except ValueError:
        return None


__all__ = ["RoutedOrder", "StatusOutcome", "VenueReader"]
