"""Events to client messages: ExecutionReport (35=8) and OrderCancelReject (35=9), in the
forms of FIX 4.4 and FIX 4.2, and the rejects the acceptor sends on its own.

The engine speaks FIX 4.4 codes. FIX 4.2 differs on the wire in a few places, each mapped
here and nowhere else:

- ExecTransType(20): 3 (Status) on the answer to an OrderStatusRequest (35=H), 0 (New) on
  every other report; we never correct or cancel a report we sent.
- ExecType(150) has no Trade or Order Status: a fill is 1 (Partial fill) or 2 (Fill) by
  whether LeavesQty is 0, and a status answer repeats the OrdStatus(39) code.
- OrdRejReason(103) stops at 8, CxlRejReason(102) at 3 and ExecRestatementReason(378) at 5;
  a 4.4 code beyond the 4.2 list is sent as Broker option (0, 2 and 4), with the Text(58)
  saying what happened.

Each function returns the MsgType and the body fields as (tag, text) pairs, so the forms can
be read and tested without a session; `gateways.fix.wire.build_message` makes the quickfix
Message. Where a report echoes the request it answers, quickfix reads the request's text
(`gateways.fix.fields`).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateways.fix.codec import Refusal
from gateways.fix.fields import read_fields
from gateways.fix.wire import decimal_text, format_utc_timestamp
from oms.events import Event
from oms.model import (
    CxlRejResponseTo,
    ExecType,
    OrdStatus,
    price_to_decimal,
)

Fields = list[tuple[int, str]]
NONE = "NONE"

# Codes each version's dictionary lists, and the catch-all for the rest.
_ORD_REJ_REASONS = {
    "FIX.4.4": (frozenset({*range(0, 12), 13, 14, 15, 99}), 99),
    "FIX.4.2": (frozenset(range(0, 9)), 0),
}
_CXL_REJ_REASONS = {
    "FIX.4.4": (frozenset({*range(0, 7), 99}), 99),
    "FIX.4.2": (frozenset(range(0, 4)), 2),
}
_RESTATEMENT_REASONS = {
    "FIX.4.4": (frozenset({*range(0, 11), 99}), 99),
    "FIX.4.2": (frozenset(range(0, 6)), 4),
}
# ExecTransType(20), FIX 4.2 only.
EXEC_TRANS_NEW = "0"
EXEC_TRANS_STATUS = "3"
# SessionRejectReason(373): 6, Incorrect data format for value.
SESSION_REJECT_INCORRECT_DATA_FORMAT = 6
# BusinessRejectReason(380).
BUSINESS_REJECT_OTHER = 0
BUSINESS_REJECT_UNSUPPORTED_MESSAGE_TYPE = 3
BUSINESS_REJECT_APPLICATION_NOT_AVAILABLE = 4


def encode(event: Event, begin_string: str) -> tuple[str, Fields]:
    """The client message of a client-visible event."""
    if event.is_cancel_reject:
        return "9", cancel_reject(event, begin_string)
    return "8", execution_report(event, begin_string)


# ExecutionReport (35=8).


def execution_report(event: Event, begin_string: str) -> Fields:
    exec_type = event.exec_type
    assert exec_type is not None, f"not an execution report: {event.describe()}"
    fix42 = begin_string == "FIX.4.2"
    terms = event.terms
    request = _Request(event)
    fields: Fields = [(37, event.order_id or NONE)]
    if event.cl_ord_id is not None:
        fields.append((11, event.cl_ord_id))
    if event.orig_cl_ord_id is not None:
        fields.append((41, event.orig_cl_ord_id))
    fields.append((17, event.exec_id or NONE))
    if fix42:
        fields.append((20, _exec_trans_type(exec_type)))
    fields.append((150, _exec_type(event, fix42)))
    fields.append((39, (event.ord_status or OrdStatus.REJECTED).value))
    if event.ord_rej_reason is not None and exec_type in (ExecType.REJECTED,
                                                          ExecType.ORDER_STATUS):
        fields.append((103, _code(_ORD_REJ_REASONS, begin_string, event.ord_rej_reason)))
    if exec_type is ExecType.RESTATED:
        reason = event.ord_rej_reason if event.ord_rej_reason is not None else 99
        fields.append((378, _code(_RESTATEMENT_REASONS, begin_string, reason)))

    # The order's terms; a request the engine denied before it had terms echoes the request.
    account = terms.account if terms is not None else None
    if account:
        fields.append((1, account))
    symbol = terms.symbol if terms is not None else request.get(55)
    if symbol:
        fields.append((55, symbol))
    side = terms.side.value if terms is not None else request.get(54)
    if side:
        fields.append((54, side))
    if terms is not None:
        quantity = str(terms.quantity) if terms.quantity > 0 else request.get(38)
        if quantity:
            fields.append((38, quantity))
        fields.append((40, terms.ord_type.value))
        price = _price(terms.price) if terms.price is not None else request.get(44)
        if price:
            fields.append((44, price))
        stop = _price(terms.stop_price) if terms.stop_price is not None else request.get(99)
        if stop:
            fields.append((99, stop))
        fields.append((59, terms.time_in_force.value))
        if terms.expire_time_ns is not None:
            fields.append((126, format_utc_timestamp(terms.expire_time_ns)))

    # Quantities: CumQty(14), LeavesQty(151), AvgPx(6); LastQty(32) and LastPx(31) on fills.
    fields.append((14, str(event.cum_quantity)))
    fields.append((151, str(event.leaves_quantity)))
    fields.append((6, decimal_text(event.avg_price)))
    if exec_type is ExecType.TRADE:
        fields.append((32, str(event.last_quantity)))
        fields.append((31, _price(event.last_price)))
    fields.append((60, format_utc_timestamp(event.time_ns)))
    if event.text:
        fields.append((58, event.text))
    return fields


def _exec_trans_type(exec_type: ExecType) -> str:
    """FIX 4.2 ExecTransType(20): 3 (Status) answers a status request, 0 (New) is any other
    report. 1 (Cancel) and 2 (Correct) would amend an earlier report; we send neither."""
    return EXEC_TRANS_STATUS if exec_type is ExecType.ORDER_STATUS else EXEC_TRANS_NEW


def _exec_type(event: Event, fix42: bool) -> str:
    exec_type = event.exec_type
    assert exec_type is not None
    if not fix42:
        return exec_type.value
    if exec_type is ExecType.TRADE:
        # FIX 4.2 tells a fill by what is left: 1 Partial fill, 2 Fill.
        return "2" if event.leaves_quantity == 0 else "1"
    if exec_type is ExecType.ORDER_STATUS:
        # FIX 4.2 answers a status request with ExecType equal to OrdStatus.
        return (event.ord_status or OrdStatus.REJECTED).value
    return exec_type.value


# OrderCancelReject (35=9).


def cancel_reject(event: Event, begin_string: str) -> Fields:
    request = _Request(event)
    orig = event.orig_cl_ord_id or request.get(41) or NONE
    fields: Fields = [(37, event.order_id or NONE)]
    fields.append((11, event.cl_ord_id or request.get(11) or NONE))
    fields.append((41, orig))
    fields.append((39, (event.ord_status or OrdStatus.REJECTED).value))
    if event.terms is not None and event.terms.account:
        fields.append((1, event.terms.account))
    fields.append((60, format_utc_timestamp(event.time_ns)))
    response_to = event.cxl_rej_response_to or CxlRejResponseTo.CANCEL
    fields.append((434, response_to.value))
    if event.cxl_rej_reason is not None:
        fields.append((102, _code(_CXL_REJ_REASONS, begin_string, event.cxl_rej_reason)))
    if event.text:
        fields.append((58, event.text))
    return fields


# What the acceptor sends on its own.


def refusal(refusal: Refusal, begin_string: str, exec_id: str, time_ns: int) -> tuple[
    str, Fields
]:
    """The business reject of a request the codec refused: ExecutionReport Rejected for a new
    order, an ExecutionReport of OrdStatus Rejected for a status request, OrderCancelReject
    for a cancel or a replace."""
    request = refusal.fields
    if refusal.msg_type in ("F", "G"):
        fields: Fields = [(37, request.get(37, NONE)), (11, request.get(11, NONE))]
        fields.append((41, request.get(41, NONE)))
        fields.append((39, OrdStatus.REJECTED.value))
        fields.append((60, format_utc_timestamp(time_ns)))
        response_to = CxlRejResponseTo.CANCEL if refusal.msg_type == "F" else (
            CxlRejResponseTo.REPLACE
        )
        fields.append((434, response_to.value))
        fields.append((102, _code(_CXL_REJ_REASONS, begin_string, refusal.reason)))
        fields.append((58, refusal.text))
        return "9", fields

    fix42 = begin_string == "FIX.4.2"
    # A refused status request is answered as a status answer about no order: ExecType
    # Order Status in 4.4; in 4.2 ExecTransType Status and ExecType repeating OrdStatus.
    status = refusal.msg_type == "H"
    fields = [(37, NONE), (11, request.get(11, NONE)), (17, exec_id)]
    if fix42:
        fields.append((20, EXEC_TRANS_STATUS if status else EXEC_TRANS_NEW))
    exec_type = ExecType.ORDER_STATUS if status and not fix42 else ExecType.REJECTED
    fields.append((150, exec_type.value))
    fields.append((39, OrdStatus.REJECTED.value))
    fields.append((103, _code(_ORD_REJ_REASONS, begin_string, refusal.reason)))
    # Echo the request's terms; the 4.2 report requires Symbol(55) and both require Side(54).
    for tag in (1, 55, 54, 38, 40, 44, 99, 59):
        if tag in request:
            fields.append((tag, request[tag]))
    fields += [(14, "0"), (151, "0"), (6, "0"), (60, format_utc_timestamp(time_ns))]
    fields.append((58, refusal.text))
    return "8", fields


def session_reject(
    ref_seq_num: int, ref_msg_type: str, ref_tag: int, reason: int, text: str
) -> tuple[str, Fields]:
    """Reject (35=3) of one received message, naming the field: RefSeqNum(45),
    RefTagID(371), RefMsgType(372), SessionRejectReason(373) and Text(58), which FIX 4.2 and
    4.4 both define."""
    fields: Fields = [(45, str(ref_seq_num))]
    if ref_tag:
        fields.append((371, str(ref_tag)))
    fields += [(372, ref_msg_type), (373, str(reason)), (58, text)]
    return "3", fields


def business_reject(
    ref_seq_num: int, ref_msg_type: str, reason: int, text: str, ref_id: str | None = None
) -> tuple[str, Fields]:
    """BusinessMessageReject (35=j) referring to one received message."""
    fields: Fields = [(45, str(ref_seq_num)), (372, ref_msg_type)]
    if ref_id:
        # BusinessRejectRefID(379): the ClOrdID of the request, so the client can match it.
        fields.append((379, ref_id))
    fields.append((380, str(reason)))
    fields.append((58, text))
    return "j", fields


# Helpers.


def _code(table: Mapping[str, tuple[frozenset[int], int]], begin_string: str, code: int) -> str:
    valid, fallback = table.get(begin_string, table["FIX.4.4"])
    # int() first: an IntEnum's str() is its name, not its code.
    number = int(code)
    return str(number if number in valid else fallback)


def _price(units: int) -> str:
    return decimal_text(price_to_decimal(units))


class _Request:
    """The fields of the request an event answers, read by quickfix from the request's text
    only if asked."""

    __slots__ = ("_event", "_fields")

    def __init__(self, event: Event) -> None:
        self._event = event
        self._fields: Mapping[int, str] | None = None

    def get(self, tag: int) -> str | None:
        if self._fields is None:
            fix = self._event.fix
            # A venue report's context is the venue's message, not the client's request.
            if fix is not None and fix.raw and fix.sender_comp_id == self._event.session:
                self._fields = read_fields(fix.raw, fix.begin_string)
            else:
                self._fields = {}
        return self._fields.get(tag)


__all__ = [
    "NONE",
    "business_reject",
    "cancel_reject",
    "encode",
    "execution_report",
    "refusal",
    "session_reject",
]
