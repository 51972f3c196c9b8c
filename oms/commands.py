"""Commands: what a client asked for, before the engine has decided anything.

A gateway turns each FIX request into one of these; the engine answers it with events.
Values are as the client sent them after decoding: a quantity that is not a whole number
stays a Decimal and a price that does not fit the price scale stays a Decimal, so that the
engine, the one place that decides, can deny them with a reason naming the field.
"""

from __future__ import annotations

from decimal import Decimal

from oms.model import (
    Account,
    ClOrdID,
    OrderID,
    OrdType,
    SessionID,
    Side,
    Symbol,
    TimeInForce,
)


class FixContext:
    """Where a request or report came from on the wire, for the audit log."""

    __slots__ = ("begin_string", "sender_comp_id", "target_comp_id", "msg_seq_num", "raw")

    def __init__(
        self,
        begin_string: str,
        sender_comp_id: str,
        target_comp_id: str,
        msg_seq_num: int,
        raw: str | None,
    ) -> None:
        self.begin_string = begin_string
        self.sender_comp_id = sender_comp_id
        self.target_comp_id = target_comp_id
        self.msg_seq_num = msg_seq_num
        self.raw = raw

    # By value, so that an event read back from the audit log equals the one written.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FixContext):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in FixContext.__slots__)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in FixContext.__slots__))


class NewOrder:
    """NewOrderSingle (35=D)."""

    __slots__ = (
        "session",
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
        "poss_resend",
        "transact_time_ns",
        "received_ns",
        "fix",
    )

    def __init__(
        self,
        session: SessionID,
        cl_ord_id: ClOrdID,
        account: Account | None,
        symbol: Symbol,
        side: Side,
        ord_type: OrdType,
        time_in_force: TimeInForce,
        quantity: int | Decimal,
        price: int | Decimal | None = None,
        stop_price: int | Decimal | None = None,
        expire_time_ns: int | None = None,
        poss_resend: bool = False,
        transact_time_ns: int | None = None,
        received_ns: int = 0,
        fix: FixContext | None = None,
    ) -> None:
        self.session = session
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
        self.poss_resend = poss_resend
        self.transact_time_ns = transact_time_ns
        self.received_ns = received_ns
        self.fix = fix


class CancelOrder:
    """OrderCancelRequest (35=F). The order is found by OrigClOrdID, or by OrderID.

    Symbol(55) and Side(54) are what the request restates of the order (None where a
    caller left them out); the engine refuses a cancel whose values differ from the
    order's."""

    __slots__ = (
        "session",
        "cl_ord_id",
        "orig_cl_ord_id",
        "order_id",
        "symbol",
        "side",
        "transact_time_ns",
        "received_ns",
        "fix",
    )

    def __init__(
        self,
        session: SessionID,
        cl_ord_id: ClOrdID,
        orig_cl_ord_id: ClOrdID | None,
        order_id: OrderID | None = None,
        transact_time_ns: int | None = None,
        received_ns: int = 0,
        fix: FixContext | None = None,
        *,
        symbol: Symbol | None = None,
        side: Side | None = None,
    ) -> None:
        self.session = session
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id = orig_cl_ord_id
        self.order_id = order_id
        self.symbol = symbol
        self.side = side
        self.transact_time_ns = transact_time_ns
        self.received_ns = received_ns
        self.fix = fix


class ReplaceOrder:
    """OrderCancelReplaceRequest (35=G): the order restated with its new terms.

    None is a field the request left out: Account(1), Side(54), Symbol(55), OrdType(40)
    and TimeInForce(59) then stay as they were; Price(44) and StopPx(99) must be given
    where the OrdType needs them (the engine refuses the replace otherwise)."""

    __slots__ = (
        "session",
        "cl_ord_id",
        "orig_cl_ord_id",
        "order_id",
        "account",
        "quantity",
        "price",
        "stop_price",
        "side",
        "symbol",
        "ord_type",
        "time_in_force",
        "expire_time_ns",
        "transact_time_ns",
        "received_ns",
        "fix",
    )

    def __init__(
        self,
        session: SessionID,
        cl_ord_id: ClOrdID,
        orig_cl_ord_id: ClOrdID | None,
        quantity: int | Decimal,
        price: int | Decimal | None = None,
        stop_price: int | Decimal | None = None,
        ord_type: OrdType | None = None,
        time_in_force: TimeInForce | None = None,
        expire_time_ns: int | None = None,
        order_id: OrderID | None = None,
        side: Side | None = None,
        symbol: Symbol | None = None,
        transact_time_ns: int | None = None,
        received_ns: int = 0,
        fix: FixContext | None = None,
        *,
        account: Account | None = None,
    ) -> None:
        self.session = session
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id = orig_cl_ord_id
        self.order_id = order_id
        self.account = account
        self.side = side
        self.symbol = symbol
        self.quantity = quantity
        self.price = price
        self.stop_price = stop_price
        self.ord_type = ord_type
        self.time_in_force = time_in_force
        self.expire_time_ns = expire_time_ns
        self.transact_time_ns = transact_time_ns
        self.received_ns = received_ns
        self.fix = fix


class StatusRequest:
    """OrderStatusRequest (35=H)."""

    __slots__ = ("session", "cl_ord_id", "order_id", "received_ns", "fix")

    def __init__(
        self,
        session: SessionID,
        cl_ord_id: ClOrdID | None,
        order_id: OrderID | None = None,
        received_ns: int = 0,
        fix: FixContext | None = None,
    ) -> None:
        self.session = session
        self.cl_ord_id = cl_ord_id
        self.order_id = order_id
        self.received_ns = received_ns
        self.fix = fix


Command = NewOrder | CancelOrder | ReplaceOrder | StatusRequest
