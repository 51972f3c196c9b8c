"""One FIX initiator session that logs on, sends what it is given and hands back what it
receives: the engine of the bundled trader client (`oms order`) and of the test clients.

Sequence numbers: the session keeps them in memory and asks for a reset on every Logon
(ResetOnLogon=Y sends ResetSeqNumFlag(141)=Y), so the client can be run again and again
without a state directory; the acceptor takes a reset Logon from its configured clients. The
price is that reports sent while the client was away are not resent to it; it asks for an
order's status instead.

Threads: quickfix's initiator thread runs the callbacks; they only put what arrives on a
queue. `send` may be called from any thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import quickfix

from gateways.fix.fields import MessageFields
from gateways.fix.session import (
    FixSetupError,
    GuardedApplication,
    SessionSpec,
    build_settings,
    stop_quietly,
)
from gateways.fix.wire import build_message, printable

log = logging.getLogger(__name__)

# Administrative messages worth handing to the caller: Reject, Logout.
_ADMIN_KEPT = frozenset({"3", "5"})


@dataclass(frozen=True)
class Received:
    """A message that arrived: its MsgType, its fields (header, body and trailer, as
    quickfix read them; not those inside repeating groups), its text."""

    msg_type: str
    fields: Mapping[int, str]
    raw: str = field(repr=False)

    def get(self, tag: int, default: str | None = None) -> str | None:
        return self.fields.get(tag, default)

    def __getitem__(self, tag: int) -> str:
        return self.fields[tag]

    def __str__(self) -> str:
        return printable(self.raw)


class _Collector(GuardedApplication):
    def __init__(self) -> None:
        super().__init__()
        self.messages: queue.Queue[Received] = queue.Queue()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.session_id: quickfix.SessionID | None = None
        self.last_logout_text = ""
        # MsgSeqNum(34) of the last application message each thread sent.
        self.sent = threading.local()

    def on_create(self, session_id: quickfix.SessionID) -> None:
        self.session_id = session_id

    def on_logon(self, session_id: quickfix.SessionID) -> None:
        self.logged_out.clear()
        self.logged_on.set()

    def on_logout(self, session_id: quickfix.SessionID) -> None:
        self.logged_on.clear()
        self.logged_out.set()

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if message.getHeader().getField(35) in _ADMIN_KEPT:
            received = _received(message)
            if received.msg_type == "5":
                self.last_logout_text = received.get(58) or ""
            self.messages.put(received)

    def to_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self.sent.seq_num = int(message.getHeader().getField(34))

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self.messages.put(_received(message))


def _received(message: quickfix.Message) -> Received:
    # A copy: quickfix destroys the callback's message once the callback returns.
    fields = MessageFields(quickfix.Message(message))
    return Received(fields.get(35, ""), fields, message.toString())


class FixInitiator:
    """A logged-on session to a FIX acceptor, used from ordinary (blocking) code."""

    def __init__(
        self,
        host: str,
        port: int,
        sender_comp_id: str,
        target_comp_id: str,
        begin_string: str = "FIX.4.4",
        *,
        heartbeat_seconds: int = 30,
        options: Mapping[str, str | int | bool] | None = None,
    ) -> None:
        self.sender_comp_id = sender_comp_id
        self.target_comp_id = target_comp_id
        self.begin_string = begin_string
        defaults: dict[str, str | int | bool] = {
            "ConnectionType": "initiator",
            "SocketConnectHost": host,
            "SocketConnectPort": port,
            "HeartBtInt": heartbeat_seconds,
            "ReconnectInterval": 1,
            "NonStopSession": True,
            "ResetOnLogon": True,
            "SocketNodelay": True,
            **(options or {}),
        }
        spec = SessionSpec(begin_string, sender_comp_id, target_comp_id)
        self._settings = build_settings(defaults, [spec])
        self._app = _Collector()
        self._store = quickfix.MemoryStoreFactory()
        self._initiator: quickfix.SocketInitiator | None = None

    @property
    def messages(self) -> queue.Queue[Received]:
        """Everything received: application messages, Rejects and Logouts, in order."""
        return self._app.messages

    @property
    def is_logged_on(self) -> bool:
        return self._app.logged_on.is_set()

    def connect(self, timeout: float = 5.0) -> None:
        """Connect and log on; FixSetupError if the acceptor did not take the Logon in time."""
        self._initiator = quickfix.SocketInitiator(self._app, self._store, self._settings)
        self._initiator.start()
        if not self._app.logged_on.wait(timeout):
            why = self._app.last_logout_text or "no Logon answer"
            stop_quietly(self._initiator, self._app, [], timeout=1.0)
            self._initiator = None
            raise FixSetupError(
                f"{self.sender_comp_id} could not log on to {self.target_comp_id} within "
                f"{timeout:g} s: {why}"
            )

    @property
    def session_id(self) -> quickfix.SessionID | None:
        """The quickfix SessionID (ours first), once `connect` has created the session."""
        return self._app.session_id

    def send(self, msg_type: str, fields: Iterable[tuple[int, str]], *,
             header: Iterable[tuple[int, str]] = ()) -> int:
        """Send one message, with extra `header` fields such as PossResend(97); returns the
        MsgSeqNum(34) it went out with."""
        session_id = self._app.session_id
        if session_id is None:
            raise FixSetupError("the session does not exist: connect first")
        message = build_message(msg_type, fields)
        for tag, value in header:
            message.getHeader().setField(tag, value)
        self._app.sent.seq_num = 0
        if not quickfix.Session.sendToTarget(message, session_id):
            raise FixSetupError(f"{msg_type} was not sent: the session refused it")
        return int(self._app.sent.seq_num)

    def receive(self, timeout: float) -> Received | None:
        """The next message received, or None after `timeout` seconds."""
        try:
            return self._app.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self, timeout: float = 2.0) -> None:
        """Log out (waiting up to `timeout` for the acceptor's answer) and stop."""
        initiator, self._initiator = self._initiator, None
        if initiator is None:
            return
        session_id = self._app.session_id
        stop_quietly(initiator, self._app, [session_id] if session_id is not None else [],
                     timeout=timeout)

    def __enter__(self) -> FixInitiator:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["FixInitiator", "Received"]
