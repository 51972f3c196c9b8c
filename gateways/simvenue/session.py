"""The simulated venue's FIX side: requests from its one client in, ExecutionReports and
OrderCancelRejects out, with a price-time `MatchingEngine` per instrument in between.

What it answers, FIX 4.4:
- NewOrderSingle (35=D): New (ExecType 0), or Rejected (8) naming the field; then Trade (F)
  for each fill, and Canceled (4) for an IOC, FOK or market remainder.
- OrderCancelRequest (35=F): Canceled (4), or OrderCancelReject (35=9) with CxlRejReason(102).
- OrderCancelReplaceRequest (35=G): Replaced (5), or OrderCancelReject.
- OrderStatusRequest (35=H): Order Status (I) with the working ClOrdID, CumQty and AvgPx;
  an order it does not know is answered with OrdStatus Rejected, OrdRejReason(103)=5.
- A GTD order past its ExpireTime(126): Expired (C).

Orders are keyed by the client's ClOrdID chain: every ClOrdID(11) the client used for an
order names it, as does our OrderID(37); reports carry the ClOrdID of the version working.
Both sides of a trade belong to the one client, and each side gets its own report.

Threads: quickfix runs the callbacks on the connection's thread, holding the session's
lock; the expiry ticker runs on its own. Both change the matching engines under one lock
and collect the reports the change produced, then send them after releasing it. Sending
to the same session from its own callback is what quickfix allows; the ticker holds no
quickfix lock when it sends. While the client is disconnected a report is dropped (the
session resets on disconnect, so quickfix refuses it); the client asks for each order's
status after its next logon.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import quickfix

from gateways.fix.fields import MessageFields
from gateways.fix.session import GuardedApplication
from gateways.fix.wire import (
    build_message,
    decimal_text,
    format_utc_timestamp,
    parse_utc_timestamp,
    printable,
)
from gateways.simvenue.matching import MatchingEngine
from oms.model import (
    CxlRejReason,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    Symbol,
    TimeInForce,
    average_price,
    price_from_decimal,
    price_to_decimal,
)
from oms.refdata import Instrument

log = logging.getLogger(__name__)

Fields = list[tuple[int, str]]
S = OrdStatus
_UNKNOWN = "NONE"


class _VenueOrder:
    """One order at the venue, across its cancel/replace chain."""

    __slots__ = ("ref", "cl_ord_id", "account", "symbol", "side", "ord_type",
                 "time_in_force", "quantity", "price", "cum", "notional", "status")

    def __init__(self, ref: str, cl_ord_id: str, account: str, symbol: Symbol, side: str,
                 ord_type: str, time_in_force: str, quantity: int, price: int | None) -> None:
        self.ref = ref
        self.cl_ord_id = cl_ord_id
        self.account = account
        self.symbol = symbol
        self.side = side
        self.ord_type = ord_type
        self.time_in_force = time_in_force
        self.quantity = quantity
        self.price = price
        self.cum = 0
        self.notional = 0
        self.status = S.PENDING_NEW

    @property
    def leaves(self) -> int:
        live = self.status in (S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED)
        return max(self.quantity - self.cum, 0) if live else 0


class _Request:
    """The cancel or replace being applied, so the listener knows whose ClOrdIDs to use."""

    __slots__ = ("cl_ord_id", "orig_cl_ord_id", "response_to")

    def __init__(self, cl_ord_id: str, orig_cl_ord_id: str, response_to: str) -> None:
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id = orig_cl_ord_id
        self.response_to = response_to


class SimulatedVenueSession(GuardedApplication):
    """The quickfix Application of the simulated venue, and its matching engines' listener."""

    def __init__(self, instruments: dict[Symbol, Instrument],
                 clock: Callable[[], int] = time.time_ns) -> None:
        super().__init__()
        self._instruments = instruments
        self._clock = clock
        self._engines: dict[Symbol, MatchingEngine] = {}
        self._orders: dict[str, _VenueOrder] = {}
        self._by_cl_ord_id: dict[str, _VenueOrder] = {}
        self._lock = threading.Lock()
        self._outbox: list[tuple[str, Fields]] = []
        self._request: _Request | None = None
        self.session_id: quickfix.SessionID | None = None
        # ExecIDs and OrderIDs are unique across restarts of the venue, as a client expects.
        self._run = format(clock() // 1_000_000 % 10**10, "x")
        self._ids = itertools.count(1)
        self._refs = itertools.count(1)

    # Session life cycle.

    def on_create(self, session_id: quickfix.SessionID) -> None:
        self.session_id = session_id

    def on_logon(self, session_id: quickfix.SessionID) -> None:
        log.info("client logged on: session=%s", session_id)

    def on_logout(self, session_id: quickfix.SessionID) -> None:
        log.info("client logged out: session=%s", session_id)

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        # Read only while the callback runs: quickfix destroys the message afterwards.
        fields = MessageFields(message)
        log.debug("request: %s", printable(message.toString()))
        handler = {"D": self._new_order, "F": self._cancel, "G": self._replace,
                   "H": self._status}.get(fields.get(35, ""))
        if handler is None:
            # quickfix answers with BusinessMessageReject(35=j), BusinessRejectReason(380)=3.
            raise quickfix.UnsupportedMessageType()
        self.process(lambda: handler(fields))

    # Changing state and sending what it produced.

    def process(self, change: Callable[[], None]) -> None:
        """Apply one change under the lock, then send the reports it produced."""
        with self._lock:
            try:
                change()
            finally:
                outbox, self._outbox = self._outbox, []
        session_id = self.session_id
        for msg_type, fields in outbox:
            sent = session_id is not None and quickfix.Session.sendToTarget(
                build_message(msg_type, fields), session_id
            )
            if not sent:
                log.debug("client away, report dropped: %s", fields)

    def expire(self) -> None:
        """Expire the GTD orders whose ExpireTime has passed (the ticker calls this)."""
        now = self._clock()

        def expire_all() -> None:
            for engine in self._engines.values():
                engine.expire(now)

        self.process(expire_all)

    # Requests (under the lock).

    def _new_order(self, fields: Mapping[int, str]) -> None:
        cl_ord_id = fields.get(11, "")
        if cl_ord_id in self._by_cl_ord_id:
            # PossDupFlag(43) or PossResend(97): a copy of an order we have; else a reuse.
            if fields.get(43) == "Y" or fields.get(97) == "Y":
                self._status_of(self._by_cl_ord_id[cl_ord_id])
            else:
                self._refuse_new(fields, OrdRejReason.DUPLICATE_ORDER,
                                 f"ClOrdID(11) {cl_ord_id} is already used")
            return
        symbol = Symbol(fields.get(55, ""))
        instrument = self._instruments.get(symbol)
        if instrument is None:
            self._refuse_new(fields, OrdRejReason.UNKNOWN_SYMBOL, f"Symbol(55) {symbol} is "
                             "not listed here")
            return
        try:
            quantity = _whole(fields.get(38, "0"))
            price = _price(fields.get(44))
            stop_price = _price(fields.get(99))
            expire = parse_utc_timestamp(fields[126]) if 126 in fields else None
        except ValueError as error:
            self._refuse_new(fields, OrdRejReason.OTHER, str(error))
            return
        ref = f"{self._run}-{next(self._refs)}"
        order = _VenueOrder(ref, cl_ord_id, fields.get(1, ""), symbol, fields.get(54, ""),
                            fields.get(40, ""), fields.get(59, TimeInForce.DAY.value), quantity,
                            price)
        self._orders[ref] = order
        self._by_cl_ord_id[cl_ord_id] = order
        self._engine(instrument).submit(
            ref, order.account or "-", _enum(Side, order.side), _enum(OrdType, order.ord_type),
            _enum(TimeInForce, order.time_in_force), quantity, price, stop_price,
            expire_time_ns=expire,
        )

    def _cancel(self, fields: Mapping[int, str]) -> None:
        self._change(fields, "1", lambda engine, order: engine.cancel(order.ref))

    def _replace(self, fields: Mapping[int, str]) -> None:
        try:
            quantity = _whole(fields.get(38, "0"))
            price = _price(fields.get(44))
            stop_price = _price(fields.get(99))
        except ValueError as error:
            self._cancel_reject(fields, None, "2", CxlRejReason.OTHER, str(error))
            return
        self._change(fields, "2", lambda engine, order: engine.replace(
            order.ref, quantity, price, stop_price))

    def _change(self, fields: Mapping[int, str], response_to: str,
                apply: Callable[[MatchingEngine, _VenueOrder], object]) -> None:
        """A cancel or replace: find the order by OrderID(37), else OrigClOrdID(41)."""
        cl_ord_id, orig = fields.get(11, ""), fields.get(41, "")
        order = self._orders.get(fields.get(37, "")) or self._by_cl_ord_id.get(orig)
        if cl_ord_id in self._by_cl_ord_id:
            if fields.get(43) != "Y":
                self._cancel_reject(fields, order, response_to, CxlRejReason.DUPLICATE_CLORDID,
                                    f"ClOrdID(11) {cl_ord_id} is already used")
            return
        if order is None:
            self._cancel_reject(fields, None, response_to, CxlRejReason.UNKNOWN_ORDER,
                                f"no order under OrigClOrdID(41) {orig}")
            return
        self._by_cl_ord_id[cl_ord_id] = order
        self._request = _Request(cl_ord_id, orig or order.cl_ord_id, response_to)
        try:
            apply(self._engines[order.symbol], order)
        finally:
            self._request = None

    def _status(self, fields: Mapping[int, str]) -> None:
        order = self._orders.get(fields.get(37, "")) or self._by_cl_ord_id.get(
            fields.get(11, ""))
        if order is None:
            # Unknown: Order Status with OrdStatus Rejected, OrdRejReason(103)=5.
            self._send("8", [(37, _UNKNOWN), (11, fields.get(11, _UNKNOWN)),
                             (17, self._exec_id()), (150, "I"), (39, S.REJECTED.value),
                             (103, str(int(OrdRejReason.UNKNOWN_ORDER))),
                             (55, fields.get(55, "")), (54, fields.get(54, "1")),
                             (151, "0"), (14, "0"), (6, "0"),
                             (60, format_utc_timestamp(self._clock())),
                             (58, "unknown order")])
            return
        self._status_of(order)

    def _status_of(self, order: _VenueOrder) -> None:
        self._report(order, "I", order.status)

    # The matching engines' listener (called under the lock, from the requests above).

    def on_accepted(self, ref: str) -> None:
        order = self._orders[ref]
        order.status = S.NEW
        self._report(order, "0", S.NEW)

    def on_rejected(self, ref: str, reason: str) -> None:
        order = self._orders[ref]
        order.status = S.REJECTED
        self._report(order, "8", S.REJECTED, text=reason, reason=int(OrdRejReason.OTHER))

    def on_fill(self, ref: str, quantity: int, price: int, trade_id: str, leaves: int,
                contra_ref: str) -> None:
        order = self._orders[ref]
        order.cum += quantity
        order.notional += quantity * price
        order.status = S.FILLED if order.cum >= order.quantity else S.PARTIALLY_FILLED
        self._report(order, "F", order.status, last=(quantity, price),
                     exec_id=f"{trade_id}.{ref}")

    def on_canceled(self, ref: str, leaves: int, reason: str) -> None:
        order = self._orders[ref]
        order.status = S.CANCELED
        request = self._request
        if request is not None and request.response_to == "1":
            self._report(order, "4", S.CANCELED, cl=request.cl_ord_id,
                         orig=request.orig_cl_ord_id, text=reason)
            order.cl_ord_id = request.cl_ord_id
        else:
            # Unsolicited: an IOC or market remainder, or self-match prevention.
            self._report(order, "4", S.CANCELED, text=reason)

    def on_replaced(self, ref: str, quantity: int, price: int | None, leaves: int) -> None:
        order = self._orders[ref]
        request = self._request
        assert request is not None, "a replace is reported only while one is applied"
        order.quantity, order.price = quantity, price
        order.status = (S.FILLED if order.cum >= quantity else
                        S.PARTIALLY_FILLED if order.cum else S.NEW)
        self._report(order, "5", order.status, cl=request.cl_ord_id,
                     orig=request.orig_cl_ord_id)
        order.cl_ord_id = request.cl_ord_id

    def on_cancel_rejected(self, ref: str, reason: str) -> None:
        order = self._orders.get(ref)
        # The matching engine refuses orders that are no longer working, and bad replaces.
        done = order is None or order.leaves == 0
        code = CxlRejReason.TOO_LATE_TO_CANCEL if done else CxlRejReason.OTHER
        request = self._request
        self._cancel_reject({11: request.cl_ord_id if request else "",
                             41: request.orig_cl_ord_id if request else ""}, order,
                            request.response_to if request else "1", code, reason)

    def on_triggered(self, ref: str) -> None:
        log.debug("stop triggered: order=%s", ref)

    def on_done_for_day(self, ref: str, leaves: int) -> None:
        order = self._orders[ref]
        order.status = S.DONE_FOR_DAY
        self._report(order, "3", S.DONE_FOR_DAY, text="trading day ended")

    def on_expired(self, ref: str, leaves: int) -> None:
        order = self._orders[ref]
        order.status = S.EXPIRED
        self._report(order, "C", S.EXPIRED, text="ExpireTime(126) reached")

    # Messages.

    def _report(self, order: _VenueOrder, exec_type: str, status: OrdStatus, *,
                cl: str | None = None, orig: str | None = None,
                last: tuple[int, int] | None = None, text: str | None = None,
                reason: int | None = None, exec_id: str | None = None) -> None:
        """ExecutionReport (35=8) restating the order after the change."""
        fields: Fields = [(37, order.ref), (11, cl or order.cl_ord_id)]
        if orig:
            fields.append((41, orig))
        fields += [(17, f"{self._run}-{exec_id}" if exec_id else self._exec_id()),
                   (150, exec_type), (39, status.value)]
        if reason is not None:
            fields.append((103, str(reason)))
        if order.account:
            fields.append((1, order.account))
        fields += [(55, order.symbol), (54, order.side), (38, str(order.quantity))]
        if order.ord_type:
            fields.append((40, order.ord_type))
        if order.price is not None:
            fields.append((44, _text(order.price)))
        if last is not None:
            # LastQty(32) and LastPx(31) of this fill.
            fields += [(32, str(last[0])), (31, _text(last[1]))]
        average = average_price(order.notional, order.cum, 6)
        fields += [(151, str(order.leaves)), (14, str(order.cum)),
                   (6, decimal_text(average.normalize() if order.cum else Decimal(0))),
                   (60, format_utc_timestamp(self._clock()))]
        if text:
            fields.append((58, text))
        self._send("8", fields)

    def _cancel_reject(self, fields: Mapping[int, str], order: _VenueOrder | None,
                       response_to: str, reason: CxlRejReason, text: str) -> None:
        """OrderCancelReject (35=9), CxlRejResponseTo(434) 1 cancel or 2 replace."""
        status = order.status if order is not None else S.REJECTED
        self._send("9", [(37, order.ref if order is not None else _UNKNOWN),
                         (11, fields.get(11) or _UNKNOWN), (41, fields.get(41) or _UNKNOWN),
                         (39, status.value), (434, response_to), (102, str(int(reason))),
                         (60, format_utc_timestamp(self._clock())), (58, text)])

    def _refuse_new(self, fields: Mapping[int, str], reason: OrdRejReason, text: str) -> None:
        self._send("8", [(37, _UNKNOWN), (11, fields.get(11, _UNKNOWN)), (17, self._exec_id()),
                         (150, "8"), (39, S.REJECTED.value), (103, str(int(reason))),
                         (55, fields.get(55, "")), (54, fields.get(54, "1")), (151, "0"),
                         (14, "0"), (6, "0"), (60, format_utc_timestamp(self._clock())),
                         (58, text)])

    def _send(self, msg_type: str, fields: Fields) -> None:
        self._outbox.append((msg_type, fields))

    def _exec_id(self) -> str:
        return f"{self._run}-E{next(self._ids)}"

    def _engine(self, instrument: Instrument) -> MatchingEngine:
        engine = self._engines.get(instrument.symbol)
        if engine is None:
            engine = MatchingEngine(instrument.symbol, instrument.tick, self,
                                    trade_ids=lambda: f"T{next(self._ids)}", clock=self._clock)
            self._engines[instrument.symbol] = engine
        return engine


def _whole(text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"OrderQty(38) {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise ValueError(f"OrderQty(38) {text} is not a whole number")
    return int(value)


def _price(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return price_from_decimal(text)
    except ValueError:
        raise ValueError(f"price {text!r} has more than eight decimals") from None


def _enum(kind: type[Side] | type[OrdType] | type[TimeInForce], value: str) -> Any:
    """The enum member, or the raw text for the matching engine's check to name."""
    try:
        return kind(value)
    except ValueError:
        return value


def _text(units: int) -> str:
    return decimal_text(price_to_decimal(units))


__all__ = ["SimulatedVenueSession"]
