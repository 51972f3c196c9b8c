"""Client requests to commands: NewOrderSingle (35=D), OrderCancelRequest (35=F),
OrderCancelReplaceRequest (35=G) and OrderStatusRequest (35=H), FIX 4.2 and FIX 4.4.

By the time a request gets here quickfix has checked it against the session's data
dictionary: required tags are present, values have their type, enumerated values are ones
the dictionary lists. Three kinds of outcome are left:

- a command for the engine. Numbers are read as Decimal; a quantity or price that fits our
  integers becomes one, and one that does not stays a Decimal so that the engine, the one
  place that decides, denies it naming the field;
- a `Refusal`: a value FIX allows but the OMS does not support (OrdType(40) pegged, Side(54)
  cross, TimeInForce(59) at the opening), an instruction the OMS would not carry out
  (MinQty(110), ExecInst(18), ...: `gateways.fix.instructions`), a ClOrdID(11) or
  OrigClOrdID(41) longer than `MAX_ID_LENGTH`, or a field the OMS needs that the 4.4
  dictionary leaves optional (Symbol(55), OrderQty(38)). The acceptor answers it with the
  business reject FIX defines for the request: ExecutionReport Rejected for a new order or
  a status request, OrderCancelReject for a cancel or a replace; and has the engine record
  it in the audit log;
- a `DecodeError` for a value quickfix let through but that cannot be read (a TransactTime
  with month 13). The acceptor turns it into the quickfix exception that makes quickfix send
  a session Reject(35=3) naming the tag;
- a `DecodeError` of problem "encoding" for a message with a value that is not valid UTF-8
  (quickfix checks no encoding; its binding hands such bytes over as lone surrogates, which
  the audit log and every report would fail to write). Any field counts, the header's and
  the ones the OMS does not read included, so that the message's text kept for the audit
  log (`FixContext.raw`) is always valid UTF-8. The acceptor answers it with a session
  Reject(35=3) of its own whose Text(58) names the tag: SessionRejectReason(373)=6 alone
  would not say what is wrong with the value.

The input is the `quickfix.Message` the acceptor's callback holds, already parsed by
quickfix; it is read through `gateways.fix.fields.MessageFields`, a tag -> value view, so
the rules below read as plain look-ups.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

import quickfix

from gateways.fix import instructions
from gateways.fix.fields import MessageFields, tag_name
from gateways.fix.instructions import Listings
from gateways.fix.wire import invalid_utf8_tag, parse_utc_timestamp
from oms.commands import (
    CancelOrder,
    Command,
    FixContext,
    NewOrder,
    ReplaceOrder,
    StatusRequest,
)
from oms.model import (
    Account,
    ClOrdID,
    CxlRejReason,
    OrderID,
    OrdRejReason,
    OrdType,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
    price_from_decimal,
)

E = TypeVar("E", bound=Enum)

# MsgType(35) values this codec reads.
REQUEST_TYPES = frozenset({"D", "F", "G", "H"})
# The longest ClOrdID(11) and OrigClOrdID(41) taken: every ClOrdID is kept for the session's
# lifetime and written to the audit log, so its length is bounded.
MAX_ID_LENGTH = 64
_ID_TAGS = ((11, "ClOrdID"), (41, "OrigClOrdID"))


class DecodeError(ValueError):
    """A field quickfix accepted that cannot be read; `problem` is one of PROBLEMS."""

    PROBLEMS = ("missing", "format", "value", "encoding")

    def __init__(self, tag: int, problem: str, text: str) -> None:
        assert problem in DecodeError.PROBLEMS, problem
        super().__init__(text)
        self.tag = tag
        self.problem = problem
        self.text = text


class Refusal:
    """A request the OMS answers without the engine: the reason code, the text naming the
    tag and value, the request's fields to echo in the answer, and where it came from (its
    FIX context, with its text) for the audit log.

    `fields` is a view of the callback's message: answer the refusal before the callback
    returns."""

    __slots__ = ("msg_type", "reason", "text", "fields", "fix")

    def __init__(self, msg_type: str, reason: int, text: str, fields: Mapping[int, str],
                 fix: FixContext | None = None) -> None:
        self.msg_type = msg_type
        self.reason = reason
        self.text = text
        self.fields = fields
        self.fix = fix

    def __repr__(self) -> str:
        return f"Refusal({self.msg_type}, reason={self.reason}, text={self.text!r})"


class _Unsupported(Exception):
    """Raised inside decoding only, caught at once and turned into a Refusal."""

    def __init__(self, text: str, reason: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.reason = reason


def decode(
    message: quickfix.Message, received_ns: int, listings: Listings | None = None
) -> Command | Refusal:
    """The command a request asks for, or the Refusal that answers it.

    `listings` holds what Currency(15) and ExDestination(100) are checked against; without
    it a request carrying either is refused."""
    fields = MessageFields(message)
    raw = message.toString()
    check_encoding(raw, fields.get(8, ""))
    msg_type = fields.get(35, "")
    context = FixContext(
        fields.get(8, ""), fields.get(49, ""), fields.get(56, ""), _int(fields, 34), raw
    )
    session = SessionID(context.sender_comp_id)
    try:
        if msg_type in REQUEST_TYPES:
            _check_ids(fields)
        if msg_type == "D":
            return _new_order(fields, session, received_ns, context, listings)
        if msg_type == "F":
            return _cancel(fields, session, received_ns, context)
        if msg_type == "G":
            return _replace(fields, session, received_ns, context, listings)
        if msg_type == "H":
            return _status(fields, session, received_ns, context)
    except _Unsupported as unsupported:
        if msg_type == "D":
            reason = unsupported.reason or OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC
        elif msg_type == "H":
            reason = unsupported.reason or OrdRejReason.OTHER
        else:
            reason = CxlRejReason.OTHER
        return Refusal(msg_type, int(reason), unsupported.text, fields, context)
    raise DecodeError(35, "value", f"MsgType(35) {msg_type} is not a request this codec reads")


def check_encoding(text: str, begin_string: str) -> None:
    """DecodeError naming the first field of a message's text that is not valid UTF-8."""
    tag = invalid_utf8_tag(text)
    if tag is not None:
        raise DecodeError(tag, "encoding", f"{tag_name(tag, begin_string)} is not valid UTF-8")


# One function per request.


def _check_ids(fields: Mapping[int, str]) -> None:
    for tag, name in _ID_TAGS:
        value = fields.get(tag)
        if value is not None and len(value) > MAX_ID_LENGTH:
            raise _Unsupported(
                f"{name}({tag}) is {len(value)} characters long; the limit is {MAX_ID_LENGTH}",
                OrdRejReason.OTHER,
            )


def _new_order(
    fields: Mapping[int, str],
    session: SessionID,
    received_ns: int,
    context: FixContext,
    listings: Listings | None,
) -> NewOrder:
    # Side(54), OrdType(40) and TimeInForce(59, Day when absent) must be ones we support.
    side = _required(_enum(Side, fields, 54, "Side"), 54)
    ord_type = _required(_enum(OrdType, fields, 40, "OrdType"), 40)
    time_in_force = _enum(TimeInForce, fields, 59, "TimeInForce") or TimeInForce.DAY
    # Symbol(55) sits in the 4.4 Instrument component, which lets a SecurityID stand in.
    symbol = fields.get(55)
    if symbol is None:
        raise _Unsupported(
            "Symbol(55) is required (SecurityID(48) alone is not supported)",
            OrdRejReason.UNKNOWN_SYMBOL,
        )
    # OrderQty(38) sits in the 4.4 OrderQtyData component beside CashOrderQty(152).
    if 38 not in fields:
        raise _Unsupported(
            "OrderQty(38) is required (CashOrderQty(152) and OrderPercent(516) are not "
            "supported)",
            OrdRejReason.INCORRECT_QUANTITY,
        )
    _check_instructions(fields, symbol, listings)
    account = fields.get(1)
    return NewOrder(
        session,
        ClOrdID(_text(fields, 11)),
        Account(account) if account is not None else None,
        Symbol(symbol),
        side,
        ord_type,
        time_in_force,
        _quantity(fields, 38),
        price=_price(fields, 44),
        stop_price=_price(fields, 99),
        expire_time_ns=_timestamp(fields, 126),
        # PossResend(97) in the header: a copy of a request that may have been processed.
        poss_resend=fields.get(97) == "Y",
        transact_time_ns=_timestamp(fields, 60),
        received_ns=received_ns,
        fix=context,
    )


def _cancel(
    fields: Mapping[int, str], session: SessionID, received_ns: int, context: FixContext
) -> CancelOrder:
    # The order is named by OrigClOrdID(41), or by OrderID(37) where the client has it.
    orig = fields.get(41)
    order_id = fields.get(37)
    # Symbol(55) and Side(54) must be the order's own; the engine checks them.
    symbol = fields.get(55)
    return CancelOrder(
        session,
        ClOrdID(_text(fields, 11)),
        ClOrdID(orig) if orig is not None else None,
        OrderID(order_id) if order_id is not None else None,
        symbol=Symbol(symbol) if symbol is not None else None,
        side=_enum(Side, fields, 54, "Side"),
        transact_time_ns=_timestamp(fields, 60),
        received_ns=received_ns,
        fix=context,
    )


def _replace(
    fields: Mapping[int, str],
    session: SessionID,
    received_ns: int,
    context: FixContext,
    listings: Listings | None,
) -> ReplaceOrder:
    # A replace restates the order: Side(54) and OrdType(40) are required, TimeInForce(59)
    # left out keeps the order's own.
    side = _required(_enum(Side, fields, 54, "Side"), 54)
    ord_type = _required(_enum(OrdType, fields, 40, "OrdType"), 40)
    time_in_force = _enum(TimeInForce, fields, 59, "TimeInForce")
    if 38 not in fields:
        raise _Unsupported("OrderQty(38) is required on a replace")
    symbol = fields.get(55)
    # A replace restates every instruction, so it is held to the same ones as a new order.
    _check_instructions(fields, symbol, listings)
    orig = fields.get(41)
    order_id = fields.get(37)
    return ReplaceOrder(
        session,
        ClOrdID(_text(fields, 11)),
        ClOrdID(orig) if orig is not None else None,
        _quantity(fields, 38),
        price=_price(fields, 44),
        stop_price=_price(fields, 99),
        ord_type=ord_type,
        time_in_force=time_in_force,
        expire_time_ns=_timestamp(fields, 126),
        order_id=OrderID(order_id) if order_id is not None else None,
        side=side,
        symbol=Symbol(symbol) if symbol is not None else None,
        # Account(1), where given, must be the order's own; the engine checks it.
        account=Account(fields[1]) if 1 in fields else None,
        transact_time_ns=_timestamp(fields, 60),
        received_ns=received_ns,
        fix=context,
    )


def _status(
    fields: Mapping[int, str], session: SessionID, received_ns: int, context: FixContext
) -> StatusRequest:
    cl_ord_id = fields.get(11)
    order_id = fields.get(37)
    return StatusRequest(
        session,
        ClOrdID(cl_ord_id) if cl_ord_id is not None else None,
        OrderID(order_id) if order_id is not None else None,
        received_ns=received_ns,
        fix=context,
    )


def _check_instructions(
    fields: Mapping[int, str], symbol: str | None, listings: Listings | None
) -> None:
    text = instructions.problem(fields, symbol, listings)
    if text is not None:
        raise _Unsupported(text)


# Field readers.

_SUPPORTED = {
    Side: "1 buy, 2 sell, 5 sell short, 6 sell short exempt",
    OrdType: "1 market, 2 limit, 3 stop, 4 stop limit",
    TimeInForce: "0 day, 1 good till cancel, 3 immediate or cancel, 4 fill or kill, "
    "6 good till date",
}


def _enum(kind: type[E], fields: Mapping[int, str], tag: int, name: str) -> E | None:
    value = fields.get(tag)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise _Unsupported(
            f"{name}({tag}) {value} is not supported (supported: {_SUPPORTED[kind]})"
        ) from None


def _text(fields: Mapping[int, str], tag: int) -> str:
    """A field the dictionary requires (so quickfix refused its absence before us)."""
    value = fields.get(tag)
    if value is None:
        raise DecodeError(tag, "missing", f"tag {tag} is required")
    return value


def _required(value: E | None, tag: int) -> E:
    """A field the dictionary requires (so quickfix refused its absence before us)."""
    if value is None:
        raise DecodeError(tag, "missing", f"tag {tag} is required")
    return value


def _quantity(fields: Mapping[int, str], tag: int) -> int | Decimal:
    """A whole quantity as an int; any other number stays a Decimal for the engine to deny."""
    value = _decimal(fields, tag)
    if value == value.to_integral_value():
        return int(value)
    return value


def _price(fields: Mapping[int, str], tag: int) -> int | Decimal | None:
    """A price in our scaled units, or the Decimal when it has more places than we keep."""
    if tag not in fields:
        return None
    value = _decimal(fields, tag)
    try:
        return price_from_decimal(value)
    except ValueError:
        return value


def _decimal(fields: Mapping[int, str], tag: int) -> Decimal:
    text = fields[tag]
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DecodeError(tag, "format", f"tag {tag} is not a number: {text!r}") from None
    if not value.is_finite():
        raise DecodeError(tag, "format", f"tag {tag} is not a finite number: {text!r}")
    return value


def _timestamp(fields: Mapping[int, str], tag: int) -> int | None:
    text = fields.get(tag)
    if text is None:
        return None
    try:
        return parse_utc_timestamp(text)
    except ValueError:
        raise DecodeError(tag, "format", f"tag {tag} is not a UTCTimestamp: {text!r}") from None


def _int(fields: Mapping[int, str], tag: int) -> int:
    text = fields.get(tag, "0")
    return int(text) if text.isdigit() else 0
