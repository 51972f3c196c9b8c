"""An order, its terms, and the order state table (FIX 4.4 Volume 4, order state matrices).

An `Order` is changed only by `oms.engine` applying events; nothing here decides anything
about commands or venue reports. What lives here is what the state *means*:

- `status` is the order's own state: Pending New, New, Partially Filled, Filled, Done for
  Day, Canceled, Rejected, Expired.
- `pending` is an open cancel or replace request, at most one at a time.
- `ord_status` is what OrdStatus(39) reports, by the FIX 4.4 precedence (Vol. 4, "Order
  State Change Matrices", OrdStatus precedence): Pending Cancel and Pending Replace rank
  above every other status, then Done for Day, then Filled, Canceled, Expired, Partially
  Filled, New, Rejected and Pending New.
- LeavesQty is OrderQty - CumQty while the order is live and 0 once it is done; CumQty and
  AvgPx carry across a cancel/replace chain (the order keeps its OrderID and its fills).

The state table below lists, for each status, which venue reports can move it and where.
A report that the table does not list for a status changes nothing and is recorded as
ignored. Unusual transitions carry a note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from oms.model import (
    Account,
    ClOrdID,
    ExecID,
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
from oms.reports import VenueReportKind as R

if TYPE_CHECKING:
    from oms.refdata import Instrument

S = OrdStatus

# Statuses after which an order never works again.
TERMINAL = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED, S.DONE_FOR_DAY})

_LIVE = (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED)
_FILL_TARGETS = "Partially Filled or Filled, by CumQty against OrderQty"

# status -> venue report -> resulting status (or a note where it depends on quantities).
STATE_TABLE: dict[OrdStatus, dict[R, str]] = {
    S.PENDING_NEW: {
        R.ACKNOWLEDGED: "New",
        R.REJECTED: "Rejected",
        # A fill that overtakes the venue's acknowledgement implies it.
        R.FILL: _FILL_TARGETS,
        R.CANCELED: "Canceled",
        R.EXPIRED: "Expired",
        # A cancel or replace may be sent before the ack; the venue answers it as usual.
        R.REPLACED: "Pending New, with the new terms",
        R.CANCEL_REJECTED: "unchanged; the pending request ends",
        R.DONE_FOR_DAY: "Done for Day",
        R.RESTATED: "Pending New, with the restated OrderQty",
    },
    S.NEW: {
        R.FILL: _FILL_TARGETS,
        R.CANCELED: "Canceled (on our request, or unsolicited by the venue)",
        R.REPLACED: "New, Partially Filled or Filled (a replace to at most CumQty fills it)",
        R.CANCEL_REJECTED: "unchanged; the pending request ends",
        R.DONE_FOR_DAY: "Done for Day",
        R.EXPIRED: "Expired",
        R.RESTATED: "New, Partially Filled or Filled, by the restated OrderQty",
    },
    S.PARTIALLY_FILLED: {
        R.FILL: _FILL_TARGETS,
        R.CANCELED: "Canceled",
        R.REPLACED: "Partially Filled or Filled",
        R.CANCEL_REJECTED: "unchanged; the pending request ends",
        R.DONE_FOR_DAY: "Done for Day",
        R.EXPIRED: "Expired",
        R.RESTATED: "Partially Filled or Filled",
    },
    # Done orders take only fills: a trade the venue made before it saw our cancel is a
    # real trade and is recorded as reported (flagged), never dropped.
    S.FILLED: {R.FILL: "Filled (an overfill, flagged)", R.CANCEL_REJECTED: "Filled"},
    S.CANCELED: {R.FILL: "Canceled (a late fill, flagged)", R.CANCEL_REJECTED: "Canceled"},
    S.EXPIRED: {R.FILL: "Expired (a late fill, flagged)", R.CANCEL_REJECTED: "Expired"},
    S.DONE_FOR_DAY: {R.FILL: "Done for Day (a late fill, flagged)"},
    # A fill after the venue's reject contradicts it, but a trade is never dropped.
    S.REJECTED: {R.FILL: "Rejected (a fill after a reject, flagged)"},
}


class OrderTerms:
    """What the client asked for; immutable, replaced whole by a cancel/replace."""

    __slots__ = (
        "cl_ord_id",
        "account",
        "symbol",
        "side",
        "ord_type",
        "time_in_force",
        "quantity",
        "price",
        "stop_price",
        "expire_time_ns",
    )

    def __init__(
        self,
        cl_ord_id: ClOrdID,
        account: Account,
        symbol: Symbol,
        side: Side,
        ord_type: OrdType,
        time_in_force: TimeInForce,
        quantity: int,
        price: int | None,
        stop_price: int | None,
        expire_time_ns: int | None,
    ) -> None:
        self.cl_ord_id = cl_ord_id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.ord_type = ord_type
        self.time_in_force = time_in_force
        self.quantity = quantity
        self.price = price
        self.stop_price = stop_price
        self.expire_time_ns = expire_time_ns

    def replaced(
        self,
        cl_ord_id: ClOrdID,
        quantity: int,
        price: int | None,
        stop_price: int | None,
        ord_type: OrdType,
        time_in_force: TimeInForce,
        expire_time_ns: int | None,
    ) -> OrderTerms:
        return OrderTerms(
            cl_ord_id,
            self.account,
            self.symbol,
            self.side,
            ord_type,
            time_in_force,
            quantity,
            price,
            stop_price,
            expire_time_ns,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderTerms):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in OrderTerms.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in OrderTerms.__slots__))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in OrderTerms.__slots__)
        return f"OrderTerms({fields})"


class PendingRequest:
    """An accepted cancel or replace the venue has not answered yet."""

    __slots__ = ("cl_ord_id", "orig_cl_ord_id", "terms")

    def __init__(
        self, cl_ord_id: ClOrdID, orig_cl_ord_id: ClOrdID, terms: OrderTerms | None
    ) -> None:
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id = orig_cl_ord_id
        # The proposed terms of a replace; None for a cancel.
        self.terms = terms


class Order:
    """One client order across its whole cancel/replace chain (one OrderID)."""

    __slots__ = (
        "order_id",
        "session",
        "terms",
        "instrument",
        "status",
        "pending",
        "cum_quantity",
        "notional",
        "venue",
        "venue_order_id",
        "venue_exec_ids",
        "created_ns",
    )

    def __init__(
        self,
        order_id: OrderID,
        session: SessionID,
        terms: OrderTerms,
        instrument: Instrument | None,
        status: OrdStatus,
        venue: VenueName | None,
        created_ns: int,
    ) -> None:
        self.order_id = order_id
        self.session = session
        self.terms = terms
        self.instrument = instrument
        self.status = status
        self.pending: PendingRequest | None = None
        self.cum_quantity = 0
        # Sum of LastQty x LastPx in price units; AvgPx is notional / CumQty.
        self.notional = 0
        self.venue = venue
        self.venue_order_id: VenueOrderID | None = None
        # ExecID(17) of every venue report applied to the order, so that a duplicate is
        # applied once (an order is on one venue): a tuple while short, then a set.
        self.venue_exec_ids: tuple[ExecID, ...] | set[ExecID] = ()
        self.created_ns = created_ns

    @property
    def is_live(self) -> bool:
        return self.status in _LIVE

    @property
    def leaves_quantity(self) -> int:
        if self.status not in _LIVE:
            return 0
        leaves = self.terms.quantity - self.cum_quantity
        return leaves if leaves > 0 else 0

    @property
    def ord_status(self) -> OrdStatus:
        pending = self.pending
        if pending is not None:
            return S.PENDING_CANCEL if pending.terms is None else S.PENDING_REPLACE
        return self.status

    @property
    def pending_cancel(self) -> bool:
        return self.pending is not None and self.pending.terms is None

    @property
    def pending_replace(self) -> bool:
        return self.pending is not None and self.pending.terms is not None

    def __repr__(self) -> str:
        return (
            f"Order({self.order_id}, {self.terms.cl_ord_id}, {self.ord_status.label}, "
            f"qty={self.terms.quantity}, cum={self.cum_quantity}, leaves={self.leaves_quantity})"
        )


def status_after_quantities(status: OrdStatus, quantity: int, cum_quantity: int) -> OrdStatus:
    """The status a live order has once its OrderQty or CumQty changed.

    Terminal statuses stay as they are: a late fill on a canceled order does not revive it.
    """
    if status in TERMINAL:
        return status
    if cum_quantity >= quantity:
        return S.FILLED
    if cum_quantity > 0:
        return S.PARTIALLY_FILLED
    return S.NEW if status is not S.PENDING_NEW else S.PENDING_NEW
