"""The FIX acceptor clients trade through: requests in, reports out.

Threads (see also `oms.runtime`):
- quickfix's threaded acceptor gives each client connection a thread, which runs that
  session's callbacks holding that session's lock. A request is decoded there and posted to
  the engine with `Runtime.submit`, which never blocks.
- the runtime calls `ClientSessions.deliver` with each client-visible event once it may be
  sent (on the engine thread, or on the audit writer thread in durable mode). It only puts
  the event on the session's `Outbox`.
- each session's outbox thread encodes the report and sends it with
  `quickfix.Session.sendToTarget`, taking only that session's lock. quickfix's send blocks
  while a client does not read; only that client's outbox waits. Our own answers from the
  callbacks (refused requests, internal errors) go through the same outbox, so a session
  hears everything of ours in order.
- quickfix's plain SocketAcceptor, which would not block, is not used: its stop() races
  with its own thread and crashes the process (measured, see `gateways.fix.session`).

What a client gets for what it sends:
- a malformed message: a session Reject(35=3) from quickfix's dictionary validation;
- a request with a value that is not valid UTF-8: a session Reject(35=3) of our own, with
  SessionRejectReason(373)=6 and a Text(58) naming the tag; the engine never sees it;
- a message type the dictionary defines but we do not handle: BusinessMessageReject(35=j)
  with BusinessRejectReason(380)=3; a MsgType the dictionary does not define at all is a
  session Reject with SessionRejectReason(373)=11 from quickfix;
- a value FIX allows but we do not support: ExecutionReport Rejected or OrderCancelReject,
  sent by the acceptor itself; the engine records the request and the refusal in the audit
  log (EventKind.REQUEST_REFUSED);
- a message our own code fails on: BusinessMessageReject with reason 0 naming the error.

Logons and ResetSeqNumFlag(141). quickfix drops a connection whose CompIDs are not a
configured session, and holds a second connection for a logged-on session for 5 s, then
drops it, before either can touch the session (`gateways.fix.eventlog` logs a WARNING for
these, and for messages quickfix drops, from quickfix's own event log). A Logon we refuse
(HeartBtInt(108) out of range, text that is not UTF-8, see below) is answered with a Logout
naming the tag, and logged as a WARNING. A Logon with ResetSeqNumFlag=Y from a
configured client resets the session's sequence numbers and stored messages before any
callback sees it; we cannot refuse that in time, only afterwards: a reset Logon whose
MsgSeqNum(34) is not 1, and any Logon on a session already logged on, are answered with a
Logout and a disconnect. Our own clients reset at every Logon (see
`gateways.fix.initiator`), so the acceptor takes reset Logons, never resets on its own, and
warns when a reset throws away reports a client missed while it was away.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

import quickfix

from gateways.fix import codec, reports
from gateways.fix.codec import DecodeError, Refusal
from gateways.fix.eventlog import QuickfixEvents
from gateways.fix.fields import MessageFields, tag_name
from gateways.fix.instructions import Listings
from gateways.fix.messagelog import MessageLog
from gateways.fix.outbox import Outbox
from gateways.fix.reports import Fields
from gateways.fix.session import (
    FixSetupError,
    GuardedApplication,
    comp_ids,
    stop_quietly,
    store_factory,
)
from gateways.fix.settings import acceptor_sessions, acceptor_settings, is_loopback
from gateways.fix.wire import build_message, invalid_utf8_tag, printable
from oms.config import OmsConfig
from oms.events import Event
from oms.model import ClOrdID, SessionID
from oms.runtime import Runtime

log = logging.getLogger(__name__)

# The longest HeartBtInt(108) a client's Logon may ask for: a silent peer is noticed within
# about twice this.
MAX_HEARTBEAT_SECONDS = 3600


class Answer(NamedTuple):
    """A message of our own for a session's outbox, and when the request it answers came."""

    msg_type: str
    fields: Fields
    arrived: float | None


class ClientSessions(GuardedApplication):
    """The quickfix Application of the client acceptor, and the runtime's client sink."""

    def __init__(self, runtime: Runtime, begin_strings: dict[str, str],
                 listings: Listings, message_log: MessageLog | None = None) -> None:
        super().__init__()
        self._runtime = runtime
        self._listings = listings
        self._begin_strings = begin_strings
        self._message_log = message_log
        self._session_ids: dict[str, quickfix.SessionID] = {}
        self._logged_on: set[str] = set()
        # Reports sent to a client while it was logged out: lost if it logs on with a reset.
        self._undelivered: defaultdict[str, int] = defaultdict(int)
        # (session, ClOrdID) -> perf_counter at the request's arrival, until it is answered.
        self._arrivals: dict[tuple[str, str | None], float] = {}
        self._exec_ids = itertools.count(1)
        self._outboxes: dict[str, Outbox] = {}
        self._ack_seconds = runtime.metrics.ack_seconds
        self._sessions_gauge = runtime.metrics.sessions.labels("client")
        self.accepting = True

    @property
    def logged_on(self) -> frozenset[str]:
        return frozenset(self._logged_on)

    @property
    def session_ids(self) -> list[quickfix.SessionID]:
        return list(self._session_ids.values())

    def undelivered(self, client: str) -> int:
        """Reports sent to `client` since it logged out (quickfix keeps them for a resend)."""
        return self._undelivered.get(client, 0)

    # Session life cycle.

    def on_create(self, session_id: quickfix.SessionID) -> None:
        _, client = comp_ids(session_id)
        self._session_ids[client] = session_id
        self._outboxes[client] = Outbox(
            client, lambda item: self._send(client, session_id, item)
        )

    def on_logon(self, session_id: quickfix.SessionID) -> None:
        _, client = comp_ids(session_id)
        self._logged_on.add(client)
        self._sessions_gauge.set(len(self._logged_on))
        log.info("client logged on: session=%s", session_id)

    def on_logout(self, session_id: quickfix.SessionID) -> None:
        _, client = comp_ids(session_id)
        self._logged_on.discard(client)
        self._sessions_gauge.set(len(self._logged_on))
        log.info("client logged out: session=%s", session_id)

    # Administrative messages.

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.incoming(message, session_id)
        msg_type = message.getHeader().getField(35)
        if msg_type == "A":
            try:
                self._check_logon(message, session_id)
            except quickfix.RejectLogon as refused:
                log.warning("logon refused: session=%s reason=%s", session_id,
                            refused.args[0] if refused.args else "")
                raise
        elif msg_type == "3":
            # The client could not take one of our messages: a bug of ours or of theirs.
            log.warning("client rejected a message of ours: session=%s reject=%s",
                        session_id, printable(message.toString()))
        elif msg_type == "5" and message.isSetField(58):
            log.info("client logs out: session=%s text=%s", session_id, message.getField(58))

    def _check_logon(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        """Refuse what can still be refused of a Logon; quickfix has already applied a
        ResetSeqNumFlag(141)=Y by now (it resets before any callback)."""
        _, client = comp_ids(session_id)
        # A second Logon(35=A) on a logged-on session (quickfix would take it as a reset).
        if client in self._logged_on:
            raise quickfix.RejectLogon("Logon(35=A) on a session that is already logged on")
        begin_string = session_id.getBeginString().getValue()
        tag = invalid_utf8_tag(message.toString())
        if tag is not None:
            raise quickfix.RejectLogon(f"{tag_name(tag, begin_string)} is not valid UTF-8")
        # HeartBtInt(108): quickfix answers a negative one with a Logon, then times out at once.
        heartbeat = int(message.getField(108))
        if not 0 <= heartbeat <= MAX_HEARTBEAT_SECONDS:
            raise quickfix.RejectLogon(
                f"HeartBtInt(108) {heartbeat} is out of range: 0 to {MAX_HEARTBEAT_SECONDS} "
                "seconds"
            )
        reset = message.isSetField(141) and message.getField(141) == "Y"
        undelivered = self._undelivered.pop(client, 0)
        if not reset:
            return
        # A reset Logon starts the sequence again, so it must itself be MsgSeqNum(34)=1.
        seq_num = int(message.getHeader().getField(34))
        if seq_num != 1:
            raise quickfix.RejectLogon(
                f"ResetSeqNumFlag(141)=Y requires MsgSeqNum(34)=1, not {seq_num}"
            )
        if undelivered:
            log.warning(
                "client reset its sequence numbers: the %d reports sent while it was logged "
                "out cannot be resent; session=%s", undelivered, session_id,
            )

    def to_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.outgoing(message, session_id)
        msg_type = message.getHeader().getField(35)
        if msg_type == "3":
            log.warning("session reject sent: session=%s reject=%s",
                        session_id, printable(message.toString()))
        elif msg_type == "5" and message.isSetField(58):
            log.info("logout sent: session=%s text=%s", session_id, message.getField(58))

    # Application messages.

    def to_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.outgoing(message, session_id)
        if message.getHeader().getField(35) == "j":
            log.warning("business reject sent: session=%s reject=%s",
                        session_id, printable(message.toString()))

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        received_ns = time.time_ns()
        arrived = time.perf_counter()
        if self._message_log is not None:
            self._message_log.incoming(message, session_id)
        msg_type = message.getHeader().getField(35)
        if msg_type not in codec.REQUEST_TYPES:
            # quickfix answers with BusinessMessageReject(35=j), BusinessRejectReason(380)=3.
            raise quickfix.UnsupportedMessageType()
        if not self.accepting:
            self._business_reject(
                message, session_id, reports.BUSINESS_REJECT_APPLICATION_NOT_AVAILABLE,
                "the OMS is shutting down; the request was not acted on",
            )
            return
        try:
            decoded = codec.decode(message, received_ns, self._listings)
        except DecodeError as error:
            if error.problem == "encoding":
                self._session_reject(message, session_id, error, arrived)
                return
            raise quickfix_exception(error) from None
        if isinstance(decoded, Refusal):
            self._refuse(decoded, session_id, received_ns, arrived)
            return
        log.debug("request: session=%s msg_type=%s cl_ord_id=%s",
                  decoded.session, msg_type, decoded.cl_ord_id)
        self._arrivals[(decoded.session, decoded.cl_ord_id)] = arrived
        self._runtime.submit(decoded)

    def _refuse(self, refusal: Refusal, session_id: quickfix.SessionID, received_ns: int,
                arrived: float) -> None:
        """Answer a request the codec refused, without the engine's decision, once the
        engine has recorded it (the audit log holds every request and every refusal)."""
        _, client = comp_ids(session_id)
        begin_string = session_id.getBeginString().getValue()
        exec_id = f"G{received_ns}.{next(self._exec_ids)}"
        msg_type, fields = reports.refusal(refusal, begin_string, exec_id, time.time_ns())
        cl_ord_id, orig = refusal.fields.get(11), refusal.fields.get(41)
        log.warning("request refused: session=%s cl_ord_id=%s text=%s",
                    session_id, cl_ord_id, refusal.text)
        # Sent once the record is durable, like the engine's own reports.
        answer = Answer(msg_type, fields, arrived)
        self._runtime.record_refusal(
            SessionID(client), refusal.msg_type,
            ClOrdID(cl_ord_id) if cl_ord_id is not None else None,
            ClOrdID(orig) if orig is not None else None,
            refusal.reason, refusal.text, refusal.fix, received_ns,
            answer=lambda: self._answer(session_id, answer),
        )

    def _session_reject(self, message: quickfix.Message, session_id: quickfix.SessionID,
                        error: DecodeError, arrived: float) -> None:
        """A session Reject(35=3) of our own, for a value quickfix took but the OMS cannot:
        quickfix's own names the tag in RefTagID(371) only, with a generic Text(58)."""
        header = message.getHeader()
        seq_num = int(header.getField(34)) if header.isSetField(34) else 0
        msg_type = header.getField(35)
        reject = reports.session_reject(
            seq_num, msg_type, error.tag, reports.SESSION_REJECT_INCORRECT_DATA_FORMAT,
            error.text,
        )
        self._answer(session_id, Answer(*reject, arrived))

    def callback_failed(self, callback: str, message: quickfix.Message | None,
                        session_id: quickfix.SessionID, error: BaseException) -> None:
        """A request our code failed on is answered, so the client is not left waiting."""
        if callback != "fromApp" or message is None:
            return
        self._business_reject(
            message, session_id, reports.BUSINESS_REJECT_OTHER,
            f"internal error: the OMS could not process this message and did not act on it "
            f"({type(error).__name__})",
        )

    def _business_reject(self, message: quickfix.Message, session_id: quickfix.SessionID,
                         reason: int, text: str) -> None:
        fields = MessageFields(message)
        seq_num = int(fields.get(34, "0"))
        msg_type, body = reports.business_reject(seq_num, fields.get(35, ""), reason, text,
                                                 fields.get(11))
        self._answer(session_id, Answer(msg_type, body, None))

    def _answer(self, session_id: quickfix.SessionID, answer: Answer) -> None:
        _, client = comp_ids(session_id)
        outbox = self._outboxes.get(client)
        if outbox is None or not outbox.put(answer):
            log.warning("answer not sent: session %s is closed: %s", client, answer)

    # Reports: the runtime's client sink (engine or audit writer thread) queues them...

    def deliver(self, event: Event) -> None:
        outbox = self._outboxes.get(event.session)
        if outbox is None or not outbox.put(event):
            log.warning("report not sent: no open client session %s: %s", event.session,
                        event.describe())

    # ...and each session's outbox thread sends them.

    def _send(self, client: str, session_id: quickfix.SessionID, item: Event | Answer) -> None:
        if isinstance(item, Answer):
            msg_type, fields, arrived = item
        else:
            msg_type, fields = reports.encode(item, self._begin_strings[client])
            arrived = self._arrivals.pop((client, item.cl_ord_id), None)
        quickfix.Session.sendToTarget(build_message(msg_type, fields), session_id)
        if arrived is not None:
            self._ack_seconds.observe(time.perf_counter() - arrived)
        if client not in self._logged_on:
            self._undelivered[client] += 1

    def close_outboxes(self, timeout: float | None) -> bool:
        """Send what is queued and stop taking more; True if every outbox thread ended."""
        return all([outbox.close(timeout) for outbox in self._outboxes.values()])


def quickfix_exception(error: DecodeError) -> Exception:
    """The quickfix exception that makes quickfix answer a field we cannot read: a session
    Reject(35=3) for a value or format, a BusinessMessageReject(35=j) with reason 5 for a
    missing field."""
    if error.problem == "missing":
        return quickfix.FieldNotFound(error.tag)
    if error.problem == "value":
        return quickfix.IncorrectTagValue(error.tag)
    # "format" and "encoding" (the acceptor answers the latter with a Reject of its own).
    return quickfix.IncorrectDataFormat(error.tag, error.text)


class ClientAcceptor:
    """The quickfix acceptor for the configured client sessions, wired to a Runtime."""

    def __init__(self, config: OmsConfig, runtime: Runtime) -> None:
        self.config = config
        self._runtime = runtime
        fix = config.fix
        message_log = None
        if fix.log == "file":
            message_log = MessageLog(Path(config.data_directory) / "fix" / "log")
        self.sessions = ClientSessions(
            runtime,
            {s.sender_comp_id: s.begin_string for s in fix.sessions},
            Listings.from_config(config, runtime.instruments.values()),
            message_log,
        )
        self._message_log = message_log
        self._settings = acceptor_settings(fix, Path(config.data_directory))
        self._events = QuickfixEvents(
            Path(config.data_directory) / "fix" / "events",
            [spec.session_id for spec in acceptor_sessions(fix)],
            {s.sender_comp_id: s.begin_string for s in fix.sessions},
            fix.comp_id,
        )
        self._store = store_factory(fix.store, self._settings)
        self._acceptor: quickfix.ThreadedSocketAcceptor | None = None
        self._lock = threading.Lock()
        runtime.add_client_sink(self.sessions.deliver)

    def start(self) -> None:
        fix = self.config.fix
        try:
            acceptor = quickfix.ThreadedSocketAcceptor(
                self.sessions, self._store, self._settings, self._events.factory
            )
            acceptor.start()
        except (quickfix.ConfigError, quickfix.RuntimeError) as error:
            self.sessions.close_outboxes(timeout=1.0)
            self._events.stop()
            raise FixSetupError(
                f"FIX acceptor cannot listen on port {fix.port}: {error}"
            ) from error
        self._acceptor = acceptor
        self._events.start()
        if not is_loopback(fix.host) and fix.host not in ("0.0.0.0", "::"):
            log.warning("fix.host %s is not enforced: quickfix listens on every interface",
                        fix.host)

    def stop(self) -> None:
        """Take no new requests, send what the engine still owes, log every client out."""
        with self._lock:
            acceptor, self._acceptor = self._acceptor, None
        if acceptor is None:
            return
        self.sessions.accepting = False
        try:
            self._runtime.flush()
        except Exception:
            log.exception("could not flush the engine before logging clients out")
        if not self.sessions.close_outboxes(timeout=5.0):
            log.warning("a client is not reading: its reports wait until its socket closes")
        stop_quietly(acceptor, self.sessions, self.sessions.session_ids,
                     reason="the OMS is shutting down")
        # quickfix's sessions are deleted with `acceptor`: not while an outbox thread may
        # still be inside sendToTarget (its socket is closed now, so it ends).
        self.sessions.close_outboxes(timeout=None)
        self._events.stop()
        if self._message_log is not None:
            self._message_log.close()
        log.info("FIX acceptor stopped")

    def describe(self) -> str:
        fix = self.config.fix
        clients = ", ".join(f"{s.sender_comp_id} ({s.begin_string})" for s in fix.sessions)
        return (f"FIX acceptor on port {fix.port} (fix.host {fix.host}) as {fix.comp_id} "
                f"for {clients}; store={fix.store}")


__all__ = ["ClientAcceptor", "ClientSessions"]
