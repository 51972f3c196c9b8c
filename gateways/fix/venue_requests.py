"""What the OMS sends a FIX 4.4 venue: NewOrderSingle (35=D), OrderCancelRequest (35=F),
OrderCancelReplaceRequest (35=G) and OrderStatusRequest (35=H).

Venue-side ClOrdIDs: the venue sees our OrderID followed by a dot and a number, so that any
report naming one of them maps back to our order without a lookup table (and still does
after a restart). The number is 0 for the NewOrderSingle, and for a cancel or a replace the
sequence number of the engine event that asked for it, which no later request of the same
order can reuse. Our client's own ClOrdIDs never leave the OMS.

Each function returns a `VenueRequest`: the MsgType, the body fields as (tag, text) pairs,
and the ids the adapter keeps to read the answers. Nothing here touches quickfix.
"""

from __future__ import annotations

from gateways.fix.wire import decimal_text, format_utc_timestamp
from oms.model import ClOrdID, OrderID, VenueOrderID, price_to_decimal
from oms.order import Order, OrderTerms

Fields = list[tuple[int, str]]

# HandlInst(21)=1: automated execution, no broker intervention.
_AUTOMATED = "1"


class VenueRequest:
    """One request for the venue, built on the engine thread and sent (or held) as is."""

    __slots__ = ("msg_type", "order_id", "cl_ord_id", "fields", "sent")

    def __init__(
        self, msg_type: str, order_id: OrderID, cl_ord_id: ClOrdID, fields: Fields
    ) -> None:
        self.msg_type = msg_type
        self.order_id = order_id
        self.cl_ord_id = cl_ord_id
        self.fields = fields
        # True once quickfix took it for the wire; False while it is held.
        self.sent = False

    @property
    def is_replace(self) -> bool:
        return self.msg_type == "G"

    def __repr__(self) -> str:
        return f"VenueRequest({self.msg_type}, order={self.order_id}, cl={self.cl_ord_id})"


# Venue-side ClOrdIDs.


def venue_cl_ord_id(order_id: OrderID, number: int) -> ClOrdID:
    return ClOrdID(f"{order_id}.{number}")


def new_order_cl_ord_id(order_id: OrderID) -> ClOrdID:
    """The ClOrdID(11) of an order's NewOrderSingle: derivable from the OrderID alone."""
    return venue_cl_ord_id(order_id, 0)


def order_id_of(cl_ord_id: str | None) -> OrderID | None:
    """Our OrderID inside a venue-side ClOrdID, or None if we did not make that ClOrdID."""
    if not cl_ord_id:
        return None
    order_id, dot, number = cl_ord_id.rpartition(".")
    if not dot or not order_id or not number.isdigit():
        return None
    return OrderID(order_id)


# Requests.


def new_order_single(order: Order, now_ns: int) -> VenueRequest:
    cl_ord_id = new_order_cl_ord_id(order.order_id)
    terms = order.terms
    fields: Fields = [(11, cl_ord_id)]
    # Account(1) travels on, so that the venue can keep an account from trading with itself.
    if terms.account:
        fields.append((1, terms.account))
    fields.append((21, _AUTOMATED))
    fields += _instrument_and_side(terms)
    fields.append((60, format_utc_timestamp(now_ns)))
    fields += _order_terms(terms)
    return VenueRequest("D", order.order_id, cl_ord_id, fields)


def cancel_request(
    order: Order,
    cl_ord_id: ClOrdID,
    orig_cl_ord_id: ClOrdID,
    venue_order_id: VenueOrderID | None,
    now_ns: int,
) -> VenueRequest:
    terms = order.terms
    # OrigClOrdID(41) names the version working at the venue; OrderID(37) where known.
    fields: Fields = [(41, orig_cl_ord_id), (11, cl_ord_id)]
    if venue_order_id:
        fields.append((37, venue_order_id))
    if terms.account:
        fields.append((1, terms.account))
    fields += _instrument_and_side(terms)
    fields.append((60, format_utc_timestamp(now_ns)))
    # OrderQty(38) of the order as it stands (OrderQtyData is required in 4.4).
    fields.append((38, str(terms.quantity)))
    return VenueRequest("F", order.order_id, cl_ord_id, fields)


def replace_request(
    order: Order,
    terms: OrderTerms,
    cl_ord_id: ClOrdID,
    orig_cl_ord_id: ClOrdID,
    venue_order_id: VenueOrderID | None,
    now_ns: int,
) -> VenueRequest:
    fields: Fields = [(41, orig_cl_ord_id), (11, cl_ord_id)]
    if venue_order_id:
        fields.append((37, venue_order_id))
    if terms.account:
        fields.append((1, terms.account))
    fields.append((21, _AUTOMATED))
    fields += _instrument_and_side(terms)
    fields.append((60, format_utc_timestamp(now_ns)))
    # A replace restates the whole order: OrderQty(38) is the new total, fills included.
    fields += _order_terms(terms)
    return VenueRequest("G", order.order_id, cl_ord_id, fields)


def status_request(
    order: Order, cl_ord_id: ClOrdID, venue_order_id: VenueOrderID | None
) -> VenueRequest:
    # ClOrdID(11) names the order asked about (no new id); OrderID(37) where known wins.
    fields: Fields = [(11, cl_ord_id)]
    if venue_order_id:
        fields.append((37, venue_order_id))
    fields += _instrument_and_side(order.terms)
    return VenueRequest("H", order.order_id, cl_ord_id, fields)


def _instrument_and_side(terms: OrderTerms) -> Fields:
    return [(55, terms.symbol), (54, terms.side.value)]


def _order_terms(terms: OrderTerms) -> Fields:
    fields: Fields = [(38, str(terms.quantity)), (40, terms.ord_type.value)]
    if terms.price is not None:
        fields.append((44, _price(terms.price)))
    if terms.stop_price is not None:
        fields.append((99, _price(terms.stop_price)))
    fields.append((59, terms.time_in_force.value))
    if terms.expire_time_ns is not None:
        fields.append((126, format_utc_timestamp(terms.expire_time_ns)))
    return fields


def _price(units: int) -> str:
    return decimal_text(price_to_decimal(units))


__all__ = [
    "VenueRequest",
    "cancel_request",
    "new_order_cl_ord_id",
    "new_order_single",
    "order_id_of",
    "replace_request",
    "status_request",
    "venue_cl_ord_id",
]
