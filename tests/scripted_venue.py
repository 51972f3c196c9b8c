"""A scripted venue: the engine's `Venue` double whose every report the test writes.

The engine routes to it as to any venue (`submit`, `cancel`, `replace`, `request_status`);
it records those calls and answers nothing on its own. The test then says what the venue
reports, one method per ExecutionReport a real venue would send (`ack`, `fill`,
`canceled`, ...). Each becomes one `VenueReport` handed to the sink the venue was built
with: the engine's `on_venue_report` in-process, or whatever a FIX test wires in.

Reports name the order by our OrderID, as every venue adapter does; left out, it is the
order routed last. Each report carries a fresh venue ExecID(17), so that `dup` can send
the previous one again under the same ExecID, as a venue does on a resend.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import NamedTuple

from oms.model import ExecID, OrderID, VenueName, VenueOrderID, price_from_decimal
from oms.order import Order, OrderTerms
from oms.reports import ReportSink, VenueReport
from oms.reports import VenueReportKind as R


class VenueCall(NamedTuple):
    """One call the engine made on the venue, with the terms it sent."""

    action: str  # "submit", "cancel", "replace" or "request_status"
    order_id: OrderID
    # The order's terms for a submit, cancel or status request; the new terms of a replace.
    terms: OrderTerms


class ScriptedVenue:
    """Implements `oms.reports.Venue`; reports only when the test tells it to."""

    def __init__(self, sink: ReportSink, name: str = "scripted") -> None:
        self.name = VenueName(name)
        self.calls: list[VenueCall] = []
        self.sent: list[VenueReport] = []
        self._sink = sink
        self._exec_ids = itertools.count(1)
        self._routed: list[OrderID] = []
        # The terms of the last replace the engine asked for, per order.
        self._replaces: dict[OrderID, OrderTerms] = {}

    # The engine's Venue interface.

    def submit(self, order: Order) -> None:
        self.calls.append(VenueCall("submit", order.order_id, order.terms))
        self._routed.append(order.order_id)

    def cancel(self, order: Order) -> None:
        self.calls.append(VenueCall("cancel", order.order_id, order.terms))

    def replace(self, order: Order, terms: OrderTerms) -> None:
        self.calls.append(VenueCall("replace", order.order_id, terms))
        self._replaces[order.order_id] = terms

    def request_status(self, order: Order) -> None:
        self.calls.append(VenueCall("request_status", order.order_id, order.terms))

    # What the engine asked for.

    def calls_of(self, action: str) -> list[VenueCall]:
        return [call for call in self.calls if call.action == action]

    @property
    def routed(self) -> list[OrderID]:
        """Every order submitted, in order."""
        return list(self._routed)

    @property
    def last_routed(self) -> OrderID:
        if not self._routed:
            raise LookupError("no order has been routed to the scripted venue yet")
        return self._routed[-1]

    # What the venue reports. Prices are in currency units: "190.00", Decimal or int.

    def ack(self, order: OrderID | None = None) -> VenueReport:
        target = self._target(order)
        return self._send(R.ACKNOWLEDGED, target, venue_order_id=VenueOrderID(f"V-{target}"))

    def rejected(
        self, reason: int | None = None, text: str = "rejected by venue",
        order: OrderID | None = None,
    ) -> VenueReport:
        return self._send(R.REJECTED, self._target(order), reason=reason, text=text)

    def fill(
        self, quantity: int, price: str | Decimal | int, order: OrderID | None = None
    ) -> VenueReport:
        return self._send(
            R.FILL, self._target(order), last_quantity=quantity,
            last_price=price_from_decimal(price),
        )

    def pending_cancel(self, order: OrderID | None = None) -> VenueReport:
        return self._send(R.PENDING_CANCEL, self._target(order))

    def canceled(
        self, text: str | None = None, order: OrderID | None = None
    ) -> VenueReport:
        return self._send(R.CANCELED, self._target(order), text=text)

    def pending_replace(self, order: OrderID | None = None) -> VenueReport:
        return self._send(R.PENDING_REPLACE, self._target(order))

    def replaced(self, order: OrderID | None = None) -> VenueReport:
        """The venue's Replaced, stating the terms of the replace it was sent last."""
        target = self._target(order)
        terms = self._replaces.get(target)
        return self._send(
            R.REPLACED, target,
            quantity=terms.quantity if terms is not None else None,
            price=terms.price if terms is not None else None,
        )

    def cancel_reject(
        self, reason: int = 0, text: str | None = None, order: OrderID | None = None
    ) -> VenueReport:
        return self._send(R.CANCEL_REJECTED, self._target(order), reason=reason, text=text)

    def done_for_day(self, order: OrderID | None = None) -> VenueReport:
        return self._send(R.DONE_FOR_DAY, self._target(order), text="trading day ended")

    def restated(
        self, quantity: int, reason: int, price: str | Decimal | int | None = None,
        order: OrderID | None = None,
    ) -> VenueReport:
        """Restated (ExecType D): the venue changed OrderQty (and Price) on its own."""
        return self._send(
            R.RESTATED, self._target(order), quantity=quantity, reason=reason,
            price=price_from_decimal(price) if price is not None else None,
        )

    def expired(self, order: OrderID | None = None) -> VenueReport:
        return self._send(R.EXPIRED, self._target(order), text="ExpireTime reached")

    def order_status(
        self, quantity: int | None = None, cum_quantity: int | None = None,
        order: OrderID | None = None,
    ) -> VenueReport:
        """The venue's answer to a status request: its OrderQty and CumQty of the order."""
        return self._send(
            R.STATUS, self._target(order), quantity=quantity, cum_quantity=cum_quantity
        )

    def dup(self) -> VenueReport:
        """Send the previous report again, with the same venue ExecID."""
        if not self.sent:
            raise LookupError("the scripted venue has sent no report to repeat")
        report = self.sent[-1]
        self.sent.append(report)
        self._sink(report)
        return report

    # Internals.

    def _target(self, order: OrderID | None) -> OrderID:
        return order if order is not None else self.last_routed

    def _send(self, kind: R, order: OrderID, **fields: object) -> VenueReport:
        report = VenueReport(
            kind, order, self.name,
            venue_exec_id=ExecID(f"{self.name}-X{next(self._exec_ids)}"),
            **fields,  # type: ignore[arg-type]
        )
        self.sent.append(report)
        self._sink(report)
        return report
