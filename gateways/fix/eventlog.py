"""What quickfix refused or dropped on its own, as one WARNING line each in the OMS log.

Some input never reaches an Application callback. The acceptor drops a connection whose
Logon names no configured session (an unknown SenderCompID, a TargetCompID that is not
ours, a BeginString the session does not speak) before any session sees it; a session
throws away a message whose BodyLength(9) or CheckSum(10) is wrong or whose fields are not
`tag=value`. quickfix says so in its own log only. A `quickfix.LogFactory` written in Python
crashes quickfix 1.16 (see `gateways.fix.session`), so the acceptor is given quickfix's
FileLog, and `QuickfixEvents` makes sure nothing it writes reaches the disk:

- FileLog's message files (`*.messages.current.log`) are symbolic links to /dev/null, made
  before quickfix opens them: FileLog would write every message there, passwords in clear
  (`gateways.fix.messagelog` keeps the masked message log);
- its event files (`GLOBAL.event.current.log` for the acceptor, one per session) are named
  pipes, read on a thread of its own: the acceptor's events quote a refused Logon whole,
  password included. Each refused connection and each dropped message is logged as a
  WARNING naming the peer or the session and quickfix's reason; other events at DEBUG.

Named pipes make this POSIX only, as the rest of the OMS is.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import quickfix

from gateways.fix.wire import SOH, printable

log = logging.getLogger(__name__)

GLOBAL = "GLOBAL"
_EVENTS = ".event.current.log"
_MESSAGES = ".messages.current.log"
_POLL_SECONDS = 0.25
# quickfix's event texts (Session.cpp, ThreadedSocketConnection.cpp) worth a WARNING: the
# beginning of the text, and what it means for the operator.
_ACCEPTED = "Accepted connection from "
_NOT_FOUND = "Session not found for incoming message: "
_WARNINGS = {
    "Invalid message": "message dropped",
    "Field tag is invalid": "message dropped",
    "MsgSeqNum too low": "session ended",
    "Timed out waiting for heartbeat": "connection dropped",
    "Timed out waiting for logon": "connection dropped",
    "Logon state is not valid": "message dropped",
    "Received logon response before sending request": "message dropped",
}


def file_log_prefix(session_id: quickfix.SessionID) -> str:
    """The name FileLog gives a session's files, before `.event.current.log`."""
    return "-".join(
        (session_id.getBeginString().getValue(), session_id.getSenderCompID().getValue(),
         session_id.getTargetCompID().getValue())
    )


class QuickfixEvents:
    """quickfix's FileLog for one acceptor, read back into our log (see the module doc).

    `clients` maps each configured client SenderCompID to its BeginString and `comp_id` is
    ours, so that a connection quickfix found no session for is told apart: an unknown
    SenderCompID, a wrong TargetCompID, a wrong BeginString. Build it before the acceptor
    (it makes the pipes quickfix opens), stop it after."""

    def __init__(self, directory: Path, session_ids: Iterable[quickfix.SessionID],
                 clients: Mapping[str, str], comp_id: str) -> None:
        self.directory = directory
        self._clients = dict(clients)
        self._comp_id = comp_id
        # FileLog prefix -> the session as our log lines name it.
        self._sessions = {file_log_prefix(s): str(s) for s in session_ids}
        self._peer = "unknown"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        directory.mkdir(parents=True, exist_ok=True)
        # Pipe descriptor -> (FileLog prefix, a line not yet complete). Opened for reading
        # and writing, so that an open never waits and a read never sees an end of file.
        self._pipes: dict[int, tuple[str, bytes]] = {}
        for prefix in (GLOBAL, *self._sessions):
            _silence(directory / f"{prefix}{_MESSAGES}")
            path = directory / f"{prefix}{_EVENTS}"
            _make_pipe(path)
            self._pipes[os.open(path, os.O_RDWR | os.O_NONBLOCK)] = (prefix, b"")
        self.factory = quickfix.FileLogFactory(str(directory))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fix-events", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Read what is left, end the thread and close the pipes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self._read(list(self._pipes))
        for descriptor in self._pipes:
            os.close(descriptor)
        self._pipes.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select(list(self._pipes), [], [], _POLL_SECONDS)
                self._read(ready)
            except Exception:  # a log reader must never end the OMS
                log.exception("reading quickfix's event log failed")
                time.sleep(_POLL_SECONDS)

    def _read(self, descriptors: list[int]) -> None:
        for descriptor in descriptors:
            prefix, partial = self._pipes[descriptor]
            data = partial
            while True:
                try:
                    chunk = os.read(descriptor, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                data += chunk
            *lines, rest = data.split(b"\n")
            self._pipes[descriptor] = (prefix, rest)
            for line in lines:
                if line:
                    self._event(prefix, line.decode("utf-8", "backslashreplace"))

    def _event(self, prefix: str, line: str) -> None:
        # "<YYYYMMDD-HH:MM:SS.nnnnnnnnn> : <text>"
        _, separator, text = line.partition(" : ")
        if not separator:
            text = line
        if prefix == GLOBAL:
            self._acceptor_event(text)
            return
        session = self._sessions.get(prefix, prefix)
        for start, meaning in _WARNINGS.items():
            if text.startswith(start):
                log.warning("FIX %s: session=%s reason=%s", meaning, session, printable(text))
                return
        log.debug("quickfix: session=%s %s", session, printable(text))

    def _acceptor_event(self, text: str) -> None:
        if text.startswith(_ACCEPTED):
            # "Accepted connection from 127.0.0.1 on port N" (quickfix prints N wrongly).
            self._peer = text[len(_ACCEPTED):].split(" ", 1)[0]
            log.debug("quickfix: %s", text)
        elif text.startswith(_NOT_FOUND):
            message = text[len(_NOT_FOUND):]
            log.warning("FIX logon refused: peer=%s reason=%s; quickfix dropped the "
                        "connection", self._peer, self.why_no_session(message))
        else:
            log.debug("quickfix: %s", printable(text))

    def why_no_session(self, message: str) -> str:
        """Why the header of `message` names no configured session (its fields are read by
        hand: quickfix refused the message, so it may be anything)."""
        header = _header(message)
        begin_string, sender, target = header.get(8), header.get(49), header.get(56)
        if begin_string is None or sender is None or target is None:
            return "the first message is not a FIX message with BeginString(8), " \
                   "SenderCompID(49) and TargetCompID(56)"
        if sender not in self._clients:
            return f"SenderCompID(49) {printable(sender)} is not a configured client"
        if target != self._comp_id:
            return f"TargetCompID(56) {printable(target)} is not {self._comp_id}"
        expected = self._clients[sender]
        if begin_string != expected:
            return (f"BeginString(8) {printable(begin_string)} is not the one of {sender}'s "
                    f"session ({expected})")
        return "no session matches BeginString(8), SenderCompID(49) and TargetCompID(56)"


def _header(message: str) -> dict[int, str]:
    fields: dict[int, str] = {}
    for piece in message.split(SOH)[:12]:
        tag, equals, value = piece.partition("=")
        if equals and tag.isdigit():
            fields.setdefault(int(tag), value)
    return fields


def _make_pipe(path: Path) -> None:
    """Make `path` a named pipe (a file left by an earlier run is removed)."""
    if path.is_fifo():
        return
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mkfifo(path, 0o600)


def _silence(path: Path) -> None:
    """Make `path` a symbolic link to /dev/null (a file left by an earlier run is removed)."""
    if path.is_symlink() and os.readlink(path) == os.devnull:
        return
    if path.exists() or path.is_symlink():
        path.unlink()
    path.symlink_to(os.devnull)


__all__ = ["QuickfixEvents", "file_log_prefix"]
