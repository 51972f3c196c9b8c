"""One sending thread per client session, so that a client that stops reading stalls only
itself.

quickfix's threaded acceptor writes to a socket with a blocking send while holding the
session's lock (measured: a sender stops after 63 reports to a client that does not read).
The engine thread and the audit writer thread must never wait for a client, so they only
put what a session is owed on its `Outbox`; the outbox's own thread builds each message and
sends it, in order. What a stalled client cannot take waits in its outbox.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class Outbox:
    """A queue of items for one session and the thread that sends them with `send`."""

    def __init__(self, name: str, send: Callable[[Any], None]) -> None:
        self.name = name
        self._send = send
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"fix-out-{name}", daemon=True)
        self._closed = False
        self._thread.start()

    def put(self, item: Any) -> bool:
        """Queue an item (never blocks); False once the outbox is closed."""
        if self._closed:
            return False
        self._queue.put(item)
        return True

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float | None = None) -> bool:
        """Send what is queued, then stop; True if the thread ended within `timeout`."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        take = self._queue.get
        send = self._send
        while True:
            item = take()
            if item is _STOP:
                return
            try:
                send(item)
            except Exception:
                log.exception("could not send to %s: %r", self.name, item)
