"""Realistic audit events for tests, benchmarks and demonstrations.

The flow below is what a working day looks like to the audit log: each client order is
requested, acknowledged, filled in a few pieces, and now and then replaced, canceled or
denied, with FIX session details and raw messages on the requests. Prices are in units of
1e-8 (`oms.model.PRICE_SCALE`).
"""

from __future__ import annotations

from collections.abc import Iterator

from oms.commands import FixContext
from oms.events import Event, EventKind, RiskVerdict
from oms.model import (
    PRICE_SCALE,
    Account,
    ClOrdID,
    CxlRejResponseTo,
    ExecID,
    ExecType,
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
from oms.order import OrderTerms

# 2026-03-02 14:30:00 UTC, a Monday at the New York open.
MARKET_OPEN_NS = 1_772_461_800_000_000_000
DAY_NS = 86_400_000_000_000

SESSION = SessionID("FIX.4.4:CLIENT1->OMS")
VENUE = VenueName("embedded")
_SYMBOLS = (("AAPL", 190), ("MSFT", 420), ("NVDA", 880), ("TSLA", 175))
_KIND_EXEC_TYPE = {
    EventKind.PENDING_NEW: (ExecType.PENDING_NEW, OrdStatus.PENDING_NEW),
    EventKind.ACCEPTED: (ExecType.NEW, OrdStatus.NEW),
    EventKind.REJECTED: (ExecType.REJECTED, OrdStatus.REJECTED),
    EventKind.NEW_DENIED: (ExecType.REJECTED, OrdStatus.REJECTED),
    EventKind.TRADE: (ExecType.TRADE, OrdStatus.PARTIALLY_FILLED),
    EventKind.PENDING_CANCEL: (ExecType.PENDING_CANCEL, OrdStatus.PENDING_CANCEL),
    EventKind.CANCELED: (ExecType.CANCELED, OrdStatus.CANCELED),
    EventKind.PENDING_REPLACE: (ExecType.PENDING_REPLACE, OrdStatus.PENDING_REPLACE),
    EventKind.REPLACED: (ExecType.REPLACED, OrdStatus.NEW),
    EventKind.DONE_FOR_DAY: (ExecType.DONE_FOR_DAY, OrdStatus.DONE_FOR_DAY),
    EventKind.EXPIRED: (ExecType.EXPIRED, OrdStatus.EXPIRED),
    EventKind.RESTATED: (ExecType.RESTATED, OrdStatus.NEW),
    EventKind.STATUS: (ExecType.ORDER_STATUS, OrdStatus.PARTIALLY_FILLED),
}


def price(units: int, cents: int = 0) -> int:
    """A price in scaled units from whole currency units and cents: price(190, 25) is 190.25."""
    return units * PRICE_SCALE + cents * (PRICE_SCALE // 100)


def terms(
    cl_ord_id: str = "C-000001",
    symbol: str = "AAPL",
    limit: int = price(190),
    quantity: int = 500,
    *,
    stop_price: int | None = None,
    expire_time_ns: int | None = None,
) -> OrderTerms:
    return OrderTerms(
        ClOrdID(cl_ord_id),
        Account("ACC1"),
        Symbol(symbol),
        Side.BUY,
        OrdType.LIMIT if stop_price is None else OrdType.STOP_LIMIT,
        TimeInForce.DAY if expire_time_ns is None else TimeInForce.GTD,
        quantity,
        limit,
        stop_price,
        expire_time_ns,
    )


def raw_message(msg_type: str, cl_ord_id: str, seq_num: int) -> str:
    """A plausible FIX 4.4 message with SOH separators (checksum not computed)."""
    fields = (
        "8=FIX.4.4",
        "9=178",
        f"35={msg_type}",
        f"34={seq_num}",
        "49=CLIENT1",
        "52=20260302-14:30:00.000123",
        "56=OMS",
        "1=ACC1",
        f"11={cl_ord_id}",
        "38=500",
        "40=2",
        "44=190.00",
        "54=1",
        "55=AAPL",
        "59=0",
        "60=20260302-14:30:00.000100",
        "10=000",
    )
    return "\x01".join(fields) + "\x01"


def event(
    kind: EventKind,
    seq: int = 1,
    *,
    full: bool = True,
    time_ns: int = MARKET_OPEN_NS,
) -> Event:
    """One event of `kind`; with `full` every optional field is set, without it none is."""
    if not full:
        return Event(
            seq, time_ns, kind, SESSION, None, None, None, None, None, None, None,
            0, 0, 0, 0, 0, None, None, None, None, None, None, None, None, None,
            0, 0, None, 0,
        )  # fmt: skip
    exec_type, ord_status = _KIND_EXEC_TYPE.get(kind, (ExecType.NEW, OrdStatus.NEW))
    current = terms("C-000001", stop_price=price(189, 50), expire_time_ns=time_ns + DAY_NS)
    requested = current.replaced(
        ClOrdID("C-000002"), 800, price(190, 5), None, OrdType.LIMIT, TimeInForce.GTC, None
    )
    return Event(
        seq=seq,
        time_ns=time_ns,
        kind=kind,
        session=SESSION,
        order_id=OrderID("O-000001"),
        cl_ord_id=ClOrdID("C-000002"),
        orig_cl_ord_id=ClOrdID("C-000001"),
        terms=current,
        requested_terms=requested,
        exec_type=exec_type,
        ord_status=ord_status,
        cum_quantity=300,
        leaves_quantity=200,
        notional=100 * price(190) + 200 * price(190, 1),
        last_quantity=200,
        last_price=price(190, 1),
        exec_id=ExecID("E-000001"),
        venue=VENUE,
        venue_order_id=VenueOrderID("V-77"),
        venue_exec_id=ExecID("VX-77-1"),
        ord_rej_reason=3,
        cxl_rej_reason=0,
        cxl_rej_response_to=CxlRejResponseTo.REPLACE,
        text="order exceeds limit: quantity 500 > 400",
        risk=RiskVerdict("max_order_quantity", "500", "400"),
        transact_time_ns=time_ns - 1_000,
        received_ns=time_ns - 25_000,
        fix=FixContext("FIX.4.4", "CLIENT1", "OMS", 42, raw_message("D", "C-000001", 42)),
        avg_px_decimals=6,
    )


def order_flow(count: int, *, first_seq: int = 1, start_ns: int = MARKET_OPEN_NS) -> list[Event]:
    """`count` events of many orders, seq from `first_seq`, a microsecond or so apart."""
    return list(_flow(first_seq, start_ns, count))


def _flow(seq: int, now: int, count: int) -> Iterator[Event]:
    produced = 0
    order = 0
    fix_seq = 1
    while True:
        order += 1
        symbol, whole = _SYMBOLS[order % len(_SYMBOLS)]
        limit = price(whole, order % 100)
        quantity = 100 * (1 + order % 9)
        order_id = OrderID(f"O-{order:08d}")
        cl = ClOrdID(f"C-{order:08d}")
        current = terms(cl, symbol, limit, quantity)
        steps = _lifecycle(order, current, quantity, limit)
        for kind, cum, last_qty, notional, new_terms, fix_type in steps:
            if produced == count:
                return
            previous = current
            if kind is EventKind.REPLACED and new_terms is not None:
                # The replaced order carries the new terms; the request is settled.
                current, new_terms = new_terms, None
            exec_type, ord_status = _KIND_EXEC_TYPE.get(kind, (None, None))
            if kind is EventKind.TRADE and cum == current.quantity:
                ord_status = OrdStatus.FILLED
            live = ord_status not in (OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED)
            venue_side = kind not in (EventKind.NEW_REQUESTED, EventKind.NEW_DENIED)
            exec_id = ExecID(f"E-{seq:010d}") if exec_type is not None else None
            event_cl, orig = current.cl_ord_id, None
            if new_terms is not None or previous is not current:
                event_cl, orig = current.cl_ord_id, previous.cl_ord_id
                if new_terms is not None:
                    event_cl = new_terms.cl_ord_id
            elif kind in (EventKind.CANCEL_REQUESTED, EventKind.CANCELED):
                event_cl, orig = ClOrdID(f"X-{order:08d}"), current.cl_ord_id
            fix = None
            if fix_type is not None:
                raw = raw_message(fix_type, event_cl, fix_seq)
                fix = FixContext("FIX.4.4", "CLIENT1", "OMS", fix_seq, raw)
                fix_seq += 1
            yield Event(
                seq, now, kind, SESSION, order_id if venue_side else None, event_cl, orig,
                current, new_terms, exec_type, ord_status, cum,
                current.quantity - cum if live else 0, notional, last_qty,
                limit if last_qty else 0, exec_id, VENUE if venue_side else None,
                VenueOrderID(f"V-{order}") if venue_side else None,
                ExecID(f"VX-{seq}") if last_qty else None,
                3 if kind is EventKind.NEW_DENIED else None, None, None,
                "quantity 900 > 800" if kind is EventKind.NEW_DENIED else None,
                RiskVerdict("max_order_quantity", "900", "800")
                if kind is EventKind.NEW_DENIED else None,
                now - 2_000, now - 40_000 if fix is not None else 0, fix, 6,
            )  # fmt: skip
            produced += 1
            seq += 1
            now += 1_000 + (seq * 7919) % 3_000


_Step = tuple[EventKind, int, int, int, OrderTerms | None, str | None]


def _lifecycle(order: int, current: OrderTerms, quantity: int, limit: int) -> list[_Step]:
    """The events of one order: (kind, CumQty, LastQty, notional, requested terms, FIX type)."""
    if order % 17 == 0:
        return [
            (EventKind.NEW_REQUESTED, 0, 0, 0, None, "D"),
            (EventKind.NEW_DENIED, 0, 0, 0, None, None),
        ]
    steps: list[_Step] = [
        (EventKind.NEW_REQUESTED, 0, 0, 0, None, "D"),
        (EventKind.PENDING_NEW, 0, 0, 0, None, None),
        (EventKind.ACCEPTED, 0, 0, 0, None, None),
    ]
    half = quantity // 2
    steps.append((EventKind.TRADE, half, half, half * limit, None, None))
    if order % 5 == 0:
        bigger = current.replaced(
            ClOrdID(f"R-{order:08d}"), quantity * 2, limit, None,
            current.ord_type, current.time_in_force, None,
        )  # fmt: skip
        steps.append((EventKind.REPLACE_REQUESTED, half, 0, half * limit, bigger, "G"))
        steps.append((EventKind.PENDING_REPLACE, half, 0, half * limit, bigger, None))
        steps.append((EventKind.REPLACED, half, 0, half * limit, bigger, None))
    if order % 3 == 0:
        steps.append((EventKind.CANCEL_REQUESTED, half, 0, half * limit, None, "F"))
        steps.append((EventKind.CANCELED, half, 0, half * limit, None, None))
    else:
        steps.append((EventKind.TRADE, quantity, quantity - half, quantity * limit, None, None))
    return steps
