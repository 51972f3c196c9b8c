"""A scripted FIX venue: a real quickfix acceptor (SenderCompID VENUE, client OMS) that
answers nothing on its own; the test sends each report, message by message.

    with ScriptedFixVenue() as venue, RunningOms(tmp, extra_toml=venue.toml()) as oms:
        cl = client.new_order(...)
        venue.expect("D")
        venue.ack()

It keeps the orders it received (NewOrderSingle, and the cancel or replace pending on each)
so that its reports carry the right ClOrdID(11), OrigClOrdID(41), CumQty(14), LeavesQty(151)
and AvgPx(6), as a venue's would. A report names its order by any of its ClOrdIDs or by the
OMS's OrderID (the venue-side ClOrdIDs start with it); left out, it is the order received
last. `dup` sends the previous report again with the same ExecID.

`settle` waits until every message sent between two in-process sessions has been read, so a
test needs no sleeps: both ends of every session live in the test process.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from decimal import Decimal

import quickfix
from fixclient import FixTestClient
from running_oms import free_port

from gateways.fix.fields import MessageFields
from gateways.fix.initiator import Received
from gateways.fix.session import GuardedApplication, SessionSpec, build_settings, stop_quietly
from gateways.fix.wire import build_message, format_utc_timestamp

Fields = list[tuple[int, str]]


class VenueOrder:
    """One order as the scripted venue holds it."""

    def __init__(self, venue_order_id: str, request: Received) -> None:
        self.venue_order_id = venue_order_id
        self.first = request[11]
        self.working = request[11]
        self.chain = [request[11]]
        self.symbol = request[55]
        self.side = request[54]
        self.quantity = int(request[38])
        self.price = request.get(44)
        self.cum = 0
        self.notional = Decimal(0)
        self.status = "A"
        # The cancel (35=F) or replace (35=G) not answered yet.
        self.pending: Received | None = None

    @property
    def leaves(self) -> int:
        return max(self.quantity - self.cum, 0) if self.status in ("A", "0", "1") else 0

    @property
    def average(self) -> Decimal:
        return self.notional / self.cum if self.cum else Decimal(0)


class _Venue(GuardedApplication):
    def __init__(self, owner: ScriptedFixVenue) -> None:
        super().__init__()
        self._owner = owner

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if message.getHeader().getField(35) == "A" and self._owner.refusing:
            raise quickfix.RejectLogon("the scripted venue is refusing logons")

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._owner.arrived(message)


class ScriptedFixVenue:
    def __init__(self, comp_id: str = "VENUE", client_comp_id: str = "OMS") -> None:
        self.port = free_port()
        self.spec = SessionSpec("FIX.4.4", comp_id, client_comp_id)
        self.session_id = self.spec.session_id
        self.client_session_id = quickfix.SessionID("FIX.4.4", client_comp_id, comp_id)
        self._settings = build_settings({
            "ConnectionType": "acceptor", "SocketAcceptPort": self.port,
            "NonStopSession": True, "SocketReuseAddress": True,
            "ResetOnLogon": True, "ResetOnLogout": True, "ResetOnDisconnect": True,
        }, [self.spec])
        self._app = _Venue(self)
        self._acceptor: quickfix.ThreadedSocketAcceptor | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.messages: queue.Queue[Received] = queue.Queue()
        self.backlog: list[Received] = []
        self.orders: list[VenueOrder] = []
        self.sent: list[Fields] = []
        self.refusing = False
        self.dropped = 0

    # Reading what the OMS sent: the test client's own expect, drain and expect_nothing.
    expect = FixTestClient.expect
    expect_nothing = FixTestClient.expect_nothing
    drain = FixTestClient.drain

    def receive(self, timeout: float) -> Received | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def toml(self, symbols: tuple[str, ...] = ("AAPL", "MSFT"), name: str = "XVENUE") -> str:
        """Configuration lines that route `symbols` to this venue."""
        routes = "".join(f'{symbol} = "{name}"\n' for symbol in symbols)
        return (f'\n[venues.{name}]\nkind = "fix"\nport = {self.port}\n'
                f'reconnect_seconds = 1\n\n[routing.symbols]\n{routes}')

    # Life cycle.

    def start(self) -> ScriptedFixVenue:
        self._acceptor = quickfix.ThreadedSocketAcceptor(
            self._app, quickfix.MemoryStoreFactory(), self._settings
        )
        self._acceptor.start()
        return self

    def stop(self) -> None:
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            stop_quietly(acceptor, self._app, [self.session_id])

    def __enter__(self) -> ScriptedFixVenue:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def logged_on(self) -> bool:
        session = quickfix.Session.lookupSession(self.session_id)
        return session is not None and session.isLoggedOn()

    def wait_logged_on(self, timeout: float = 15.0) -> None:
        wait_for(lambda: self.logged_on, timeout, "the OMS to log on to the venue")

    def disconnect(self) -> None:
        """Drop the connection (the OMS reconnects unless `refusing` is set)."""
        session = quickfix.Session.lookupSession(self.session_id)
        session.disconnect()
        wait_for(lambda: not self.logged_on, 5.0, "the venue session to drop")

    # What the OMS sent (quickfix thread).

    def arrived(self, message: quickfix.Message) -> None:
        # A copy: quickfix destroys the callback's message once the callback returns.
        fields = MessageFields(quickfix.Message(message))
        received = Received(fields.get(35, ""), fields, message.toString())
        with self._lock:
            if received.msg_type == "D":
                self.orders.append(VenueOrder(f"V{len(self.orders) + 1}", received))
            elif received.msg_type in ("F", "G"):
                order = self._find(received.get(41))
                if order is not None:
                    order.pending = received
                    order.chain.append(received[11])
        self.messages.put(received)

    # Reports (test thread).

    def order(self, ref: str | None = None) -> VenueOrder:
        with self._lock:
            order = self._find(ref) if ref is not None else (
                self.orders[-1] if self.orders else None)
        assert order is not None, f"the scripted venue has no order {ref or '(none yet)'}"
        return order

    def ack(self, ref: str | None = None) -> Fields:
        order = self.order(ref)
        order.status = "0"
        return self.report(order, "0")

    def fill(self, quantity: int, price: str, ref: str | None = None) -> Fields:
        order = self.order(ref)
        order.cum += quantity
        order.notional += quantity * Decimal(price)
        order.status = "2" if order.cum >= order.quantity else "1"
        return self.report(order, "F", extra=[(32, str(quantity)), (31, price)])

    def pending_cancel(self, ref: str | None = None) -> Fields:
        order = self.order(ref)
        assert order.pending is not None
        return self.report(order, "6", status="6", cl=order.pending[11], orig=order.working)

    def pending_replace(self, ref: str | None = None) -> Fields:
        order = self.order(ref)
        assert order.pending is not None
        return self.report(order, "E", status="E", cl=order.pending[11], orig=order.working)

    def canceled(self, ref: str | None = None, *, unsolicited: bool = False) -> Fields:
        order = self.order(ref)
        order.status = "4"
        if unsolicited or order.pending is None:
            return self.report(order, "4", text="canceled by the venue")
        request, order.pending = order.pending, None
        fields = self.report(order, "4", cl=request[11], orig=order.working)
        order.working = request[11]
        return fields

    def replaced(self, ref: str | None = None) -> Fields:
        order = self.order(ref)
        request, order.pending = order.pending, None
        assert request is not None and request.msg_type == "G"
        order.quantity = int(request[38])
        order.price = request.get(44)
        order.status = "2" if order.cum >= order.quantity else "1" if order.cum else "0"
        fields = self.report(order, "5", cl=request[11], orig=order.working)
        order.working = request[11]
        return fields

    def cancel_reject(self, reason: int = 0, ref: str | None = None) -> Fields:
        order = self.order(ref)
        request, order.pending = order.pending, None
        assert request is not None
        fields: Fields = [(37, order.venue_order_id), (11, request[11]), (41, order.working),
                          (39, order.status), (434, "1" if request.msg_type == "F" else "2"),
                          (102, str(reason)), (58, "too late to cancel")]
        return self.send("9", fields)

    def rejected(self, reason: int | None = None, ref: str | None = None) -> Fields:
        order = self.order(ref)
        order.status = "8"
        extra = [(103, str(reason))] if reason is not None else []
        return self.report(order, "8", extra=extra, text="rejected by venue")

    def done_for_day(self, ref: str | None = None) -> Fields:
        order = self.order(ref)
        order.status = "3"
        return self.report(order, "3")

    def expired(self, ref: str | None = None) -> Fields:
        order = self.order(ref)
        order.status = "C"
        return self.report(order, "C")

    def restated(self, quantity: int, reason: int, ref: str | None = None) -> Fields:
        order = self.order(ref)
        order.quantity = quantity
        return self.report(order, "D", extra=[(378, str(reason))])

    def status(self, ref: str | None = None) -> Fields:
        """Answer an OrderStatusRequest with the venue's view of the order (ExecType I)."""
        order = self.order(ref)
        return self.report(order, "I")

    def unknown_order(self, request: Received) -> Fields:
        """Answer an OrderStatusRequest for an order the venue does not have."""
        return self.send("8", [(37, "NONE"), (11, request[11]), (17, self.exec_id()),
                               (150, "I"), (39, "8"), (103, "5"), (55, request[55]),
                               (54, request[54]), (151, "0"), (14, "0"), (6, "0")])

    def dup(self) -> Fields:
        """The previous report again, ExecID and all."""
        msg_type, fields = self._last
        return self.send(msg_type, fields)

    def report(self, order: VenueOrder, exec_type: str, *, status: str | None = None,
               cl: str | None = None, orig: str | None = None, extra: Fields | None = None,
               text: str | None = None) -> Fields:
        fields: Fields = [(37, order.venue_order_id), (11, cl or order.working)]
        if orig:
            fields.append((41, orig))
        fields += [(17, self.exec_id()), (150, exec_type), (39, status or order.status),
                   (55, order.symbol), (54, order.side), (38, str(order.quantity))]
        if order.price is not None:
            fields.append((44, order.price))
        fields += extra or []
        fields += [(151, str(order.leaves)), (14, str(order.cum)), (6, str(order.average)),
                   (60, format_utc_timestamp(time.time_ns()))]
        if text:
            fields.append((58, text))
        return self.send("8", fields)

    def send(self, msg_type: str, fields: Fields) -> Fields:
        """Send one message; while the OMS is away it is lost (counted in `dropped`), as a
        venue's report is when the session resets on reconnect."""
        self._last = (msg_type, fields)
        self.sent.append(fields)
        if not quickfix.Session.sendToTarget(build_message(msg_type, fields), self.session_id):
            self.dropped += 1
        return fields

    def exec_id(self) -> str:
        return f"X{next(self._ids)}"

    def _find(self, ref: str | None) -> VenueOrder | None:
        for order in reversed(self.orders):
            if ref in order.chain or (ref and order.first.startswith(f"{ref}.")):
                return order
        return None


# Waiting without sleeping blindly.


def wait_for(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.005)


def settle(*links: tuple[quickfix.SessionID, quickfix.SessionID], timeout: float = 5.0) -> None:
    """Wait until each (sender, receiver) pair of in-process sessions has read everything:
    the receiver expects the MsgSeqNum(34) the sender will use next."""
    for sender, receiver in links:
        def caught_up(sender: quickfix.SessionID = sender,
                      receiver: quickfix.SessionID = receiver) -> bool:
            out = quickfix.Session.lookupSession(sender)
            into = quickfix.Session.lookupSession(receiver)
            return (out is not None and into is not None
                    and out.getExpectedSenderNum() == into.getExpectedTargetNum())
        wait_for(caught_up, timeout, f"{receiver} to read what {sender} sent")
