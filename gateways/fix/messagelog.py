"""A FIX message log with passwords masked, written from the Application callbacks.

quickfix's own FileLog writes Password(554), NewPassword(925) and RawData(96) in clear, so
our sessions never get it. This log sees what the callbacks see: every message sent, and
every message received that passed quickfix's validation. A malformed message that quickfix
rejected before any callback is not here itself; the session Reject answering it is, with
its RefSeqNum(45), RefTagID(371) and reason.

One file per session, `<BeginString>-<SenderCompID>-<TargetCompID>.messages.log`, one line
per message: the UTC time, `in` or `out`, and the message with SOH shown as |.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TextIO

import quickfix

from gateways.fix.wire import masked_text, printable

log = logging.getLogger(__name__)


class MessageLog:
    """Appends masked messages to one file per session; safe to call from any thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, TextIO] = {}
        self._lock = threading.Lock()

    def incoming(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._write("in", message, session_id)

    def outgoing(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        self._write("out", message, session_id)

    def _write(self, direction: str, message: quickfix.Message,
               session_id: quickfix.SessionID) -> None:
        now = time.time_ns()
        stamp = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(now // 1_000_000_000))
        text = printable(masked_text(message))
        line = f"{stamp}.{now // 1000 % 1_000_000:06d} {direction} {text}\n"
        name = str(session_id).replace(":", "-").replace("->", "-")
        with self._lock:
            file = self._files.get(name)
            if file is None:
                path = self.directory / f"{name}.messages.log"
                file = path.open("a", encoding="utf-8", errors="replace")
                self._files[name] = file
                log.info("FIX message log: %s", path)
            file.write(line)
            file.flush()

    def close(self) -> None:
        with self._lock:
            for file in self._files.values():
                file.close()
            self._files.clear()
