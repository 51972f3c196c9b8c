"""A FIX test client: a real quickfix initiator session, with one short method per request
and a way to wait for the answer you expect.

    with FixTestClient(port, "CLIENT1") as client:
        cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
        ack = client.expect("8", {11: cl_ord_id, 150: "0"})
        assert ack[39] == "0"

Everything the session receives (application messages, session Rejects, Logouts) lands in
one queue. `expect` takes messages off it until one matches; the ones it passes over are
kept in `backlog`, and the next `expect` looks there first, so reports arriving for other
orders in between do not get in the way. `drain` empties both.

Every request method returns the ClOrdID it used (generated unless given). Field values are
passed as FIX text, so a test can send what a client would, including nonsense
(`quantity="abc"`). `omit` leaves tags out, `extra` adds tags, and `send` sends any message.

The session resets its sequence numbers at each Logon (see `gateways.fix.initiator`).

`RawFixConnection` is a bare socket for what a quickfix session would never send.
"""

from __future__ import annotations

import itertools
import socket
import time
import uuid
from collections.abc import Iterable, Mapping

from gateways.fix.fields import read_fields
from gateways.fix.initiator import FixInitiator, Received
from gateways.fix.wire import SOH, format_utc_timestamp

Match = Mapping[int, str]

_ids = itertools.count(1)
_RUN = uuid.uuid4().hex[:6]


class FixTestClient(FixInitiator):
    def __init__(
        self,
        port: int,
        sender_comp_id: str = "CLIENT1",
        begin_string: str = "FIX.4.4",
        *,
        target_comp_id: str = "OMS",
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host, port, sender_comp_id, target_comp_id, begin_string)
        self.backlog: list[Received] = []

    # Requests.

    def new_id(self) -> str:
        return f"{self.sender_comp_id}-{_RUN}-{next(_ids)}"

    def new_order(
        self,
        side: str = "1",
        quantity: str = "100",
        symbol: str = "AAPL",
        price: str | None = "190.00",
        *,
        ord_type: str | None = None,
        time_in_force: str | None = None,
        stop_price: str | None = None,
        account: str | None = None,
        cl_ord_id: str | None = None,
        extra: Iterable[tuple[int, str]] = (),
        omit: Iterable[int] = (),
    ) -> str:
        """NewOrderSingle (35=D): a limit order when given a price, else a market order."""
        cl_ord_id = cl_ord_id or self.new_id()
        fields = [(11, cl_ord_id), (21, "1"), (55, symbol), (54, side), (60, _now())]
        fields += [(38, quantity), (40, ord_type or ("2" if price is not None else "1"))]
        if price is not None:
            fields.append((44, price))
        if stop_price is not None:
            fields.append((99, stop_price))
        if time_in_force is not None:
            fields.append((59, time_in_force))
        if account is not None:
            fields.append((1, account))
        self.send("D", _edit(fields, extra, omit))
        return cl_ord_id

    def cancel(
        self,
        orig_cl_ord_id: str,
        *,
        side: str = "1",
        symbol: str = "AAPL",
        quantity: str | None = None,
        order_id: str | None = None,
        cl_ord_id: str | None = None,
    ) -> str:
        """OrderCancelRequest (35=F)."""
        cl_ord_id = cl_ord_id or self.new_id()
        fields = [(41, orig_cl_ord_id), (11, cl_ord_id), (55, symbol), (54, side), (60, _now())]
        if quantity is not None:
            fields.append((38, quantity))
        if order_id is not None:
            fields.append((37, order_id))
        self.send("F", fields)
        return cl_ord_id

    def replace(
        self,
        orig_cl_ord_id: str,
        quantity: str,
        price: str | None = None,
        *,
        side: str = "1",
        symbol: str = "AAPL",
        ord_type: str = "2",
        cl_ord_id: str | None = None,
        extra: Iterable[tuple[int, str]] = (),
    ) -> str:
        """OrderCancelReplaceRequest (35=G)."""
        cl_ord_id = cl_ord_id or self.new_id()
        fields = [(41, orig_cl_ord_id), (11, cl_ord_id), (21, "1"), (55, symbol), (54, side)]
        fields += [(60, _now()), (38, quantity), (40, ord_type)]
        if price is not None:
            fields.append((44, price))
        self.send("G", _edit(fields, extra, ()))
        return cl_ord_id

    def status(self, cl_ord_id: str, *, side: str = "1", symbol: str = "AAPL") -> str:
        """OrderStatusRequest (35=H)."""
        self.send("H", [(11, cl_ord_id), (55, symbol), (54, side)])
        return cl_ord_id

    # Answers.

    def expect(self, msg_type: str | None = None, match: Match | None = None,
               timeout: float = 5.0) -> Received:
        """The first message (backlog first) of `msg_type` whose fields include `match`;
        AssertionError naming what did arrive if none does within `timeout` seconds."""
        wanted = dict(match or {})
        for index, kept in enumerate(self.backlog):
            if _matches(kept, msg_type, wanted):
                return self.backlog.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            message = self.receive(max(left, 0.0)) if left > 0 else None
            if message is None:
                seen = "\n  ".join(str(m) for m in self.backlog) or "nothing"
                raise AssertionError(
                    f"no {msg_type or 'message'} matching {wanted} within {timeout:g} s; "
                    f"received:\n  {seen}"
                )
            if _matches(message, msg_type, wanted):
                return message
            self.backlog.append(message)

    def expect_nothing(self, msg_type: str | None = None, match: Match | None = None,
                       timeout: float = 0.3) -> None:
        """AssertionError if a matching message arrives within `timeout` seconds."""
        try:
            found = self.expect(msg_type, match, timeout)
        except AssertionError:
            return
        raise AssertionError(f"unexpected message: {found}")

    def drain(self, settle: float = 0.1) -> list[Received]:
        """Everything received so far (waiting `settle` seconds for stragglers)."""
        messages, self.backlog = self.backlog, []
        while (message := self.receive(settle)) is not None:
            messages.append(message)
        return messages

    def __enter__(self) -> FixTestClient:
        self.connect()
        return self


def _matches(message: Received, msg_type: str | None, wanted: Match) -> bool:
    if msg_type is not None and message.msg_type != msg_type:
        return False
    return all(message.get(tag) == value for tag, value in wanted.items())


def _edit(fields: list[tuple[int, str]], extra: Iterable[tuple[int, str]],
          omit: Iterable[int]) -> list[tuple[int, str]]:
    dropped = set(omit)
    return [(t, v) for t, v in fields if t not in dropped] + list(extra)


def _now() -> str:
    return format_utc_timestamp(time.time_ns())


class RawFixConnection:
    """A bare TCP connection speaking FIX text, for what a quickfix session will not send:
    a Logon with a chosen MsgSeqNum, a second Logon, a password, bytes that are not FIX.

    `send` frames the fields (BodyLength, CheckSum) under a standard header; `receive`
    returns the next whole message from the peer, or None on timeout or when it closed.
    """

    def __init__(self, port: int, sender_comp_id: str = "CLIENT1",
                 target_comp_id: str = "OMS", begin_string: str = "FIX.4.4",
                 host: str = "127.0.0.1", *, accepted: socket.socket | None = None) -> None:
        """Connect to `port`, or speak over a connection a test server `accepted`."""
        self.sender_comp_id = sender_comp_id
        self.target_comp_id = target_comp_id
        self.begin_string = begin_string
        self.socket = accepted or socket.create_connection((host, port), timeout=5)
        self.closed = False
        self._buffer = b""

    def send(self, msg_type: str, seq_num: int,
             fields: Iterable[tuple[int, str | bytes]]) -> None:
        """Send one message; a value given as bytes goes out as those bytes (UTF-8 or not),
        a str as its UTF-8."""
        header: list[tuple[int, str | bytes]] = [
            (35, msg_type), (49, self.sender_comp_id), (56, self.target_comp_id),
            (34, str(seq_num)), (52, _now()),
        ]
        body = b"".join(
            f"{tag}=".encode() + (value if isinstance(value, bytes) else value.encode())
            + SOH.encode()
            for tag, value in [*header, *fields]
        )
        text = f"8={self.begin_string}{SOH}9={len(body)}{SOH}".encode() + body
        checksum = sum(text) % 256
        self.send_bytes(text + f"10={checksum:03d}{SOH}".encode())

    def send_bytes(self, data: bytes) -> None:
        self.socket.sendall(data)

    def logon(self, seq_num: int = 1, reset: bool = True,
              extra: Iterable[tuple[int, str | bytes]] = (), heartbeat: str = "30") -> None:
        fields: list[tuple[int, str | bytes]] = [
            (98, "0"), (108, heartbeat), *([(141, "Y")] if reset else []), *extra
        ]
        self.send("A", seq_num, fields)

    def receive(self, timeout: float = 5.0) -> Received | None:
        deadline = time.monotonic() + timeout
        while True:
            message = self._take()
            if message is not None:
                return message
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.socket.settimeout(left)
            try:
                data = self.socket.recv(65536)
            except (TimeoutError, OSError):
                return None
            if not data:
                self.closed = True
            self._buffer += data

    def _take(self) -> Received | None:
        end = self._buffer.find(f"{SOH}10=".encode())
        if end < 0 or self._buffer.find(SOH.encode(), end + 1) < 0:
            return None
        stop = self._buffer.find(SOH.encode(), end + 1) + 1
        raw, self._buffer = self._buffer[:stop].decode(), self._buffer[stop:]
        fields = read_fields(raw, self.begin_string)
        return Received(fields.get(35, ""), fields, raw)

    def close(self) -> None:
        self.socket.close()
