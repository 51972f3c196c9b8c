"""Venue reports: what a venue says about an order the OMS routed to it.

A venue adapter (the embedded venue, or the FIX adapter) turns whatever the venue sent into
one of these, already mapped onto our OrderID. The engine decides what each one means for
the client order; a report that changes nothing is still seen and logged.

`Venue` is the small interface the engine routes through.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from oms.commands import FixContext
from oms.model import ExecID, OrderID, VenueName, VenueOrderID

if TYPE_CHECKING:
    from oms.order import Order, OrderTerms


class VenueReportKind(str, Enum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    FILL = "fill"
    PENDING_CANCEL = "pending_cancel"
    CANCELED = "canceled"
    PENDING_REPLACE = "pending_replace"
    REPLACED = "replaced"
    CANCEL_REJECTED = "cancel_rejected"
    DONE_FOR_DAY = "done_for_day"
    EXPIRED = "expired"
    RESTATED = "restated"
    # The answer to an OrderStatusRequest after a reconnect: the venue's view of the order.
    STATUS = "status"


class VenueReport:
    """One report from a venue about one order.

    `quantity` is the venue's OrderQty where the report states it (replaced, restated,
    status); `cum_quantity` is the venue's CumQty where it states it (status).
    """

    __slots__ = (
        "kind",
        "order_id",
        "venue",
        "venue_order_id",
        "venue_exec_id",
        "last_quantity",
        "last_price",
        "quantity",
        "price",
        "cum_quantity",
        "reason",
        "text",
        "transact_time_ns",
        "received_ns",
        "fix",
    )

    def __init__(
        self,
        kind: VenueReportKind,
        order_id: OrderID,
        venue: VenueName,
        venue_order_id: VenueOrderID | None = None,
        venue_exec_id: ExecID | None = None,
        last_quantity: int = 0,
        last_price: int = 0,
        quantity: int | None = None,
        price: int | None = None,
        cum_quantity: int | None = None,
        reason: int | None = None,
        text: str | None = None,
        transact_time_ns: int | None = None,
        received_ns: int = 0,
        fix: FixContext | None = None,
    ) -> None:
        self.kind = kind
        self.order_id = order_id
        self.venue = venue
        self.venue_order_id = venue_order_id
        self.venue_exec_id = venue_exec_id
        self.last_quantity = last_quantity
        self.last_price = last_price
        self.quantity = quantity
        self.price = price
        self.cum_quantity = cum_quantity
        self.reason = reason
        self.text = text
        self.transact_time_ns = transact_time_ns
        self.received_ns = received_ns
        self.fix = fix

    def __repr__(self) -> str:
        return (
            f"VenueReport({self.kind.value}, order={self.order_id}, "
            f"exec={self.venue_exec_id}, last={self.last_quantity}@{self.last_price})"
        )


ReportSink = Callable[[VenueReport], None]


class Venue(Protocol):
    """Where the engine routes orders. Reports come back through the sink it was given.

    A venue may report from inside these calls (the embedded venue does) or later from
    another thread (a FIX venue); the engine queues reports either way and applies them
    one at a time, never re-entrantly.
    """

    name: VenueName

    def submit(self, order: Order) -> None: ...

    def cancel(self, order: Order) -> None: ...

    def replace(self, order: Order, terms: OrderTerms) -> None: ...

    def request_status(self, order: Order) -> None: ...
