"""Sending the planned requests over the client sessions and reading every answer.

The main thread sends, in file order, with at most `in_flight` requests unanswered. A
request is answered by the first message about it: an ExecutionReport or OrderCancelReject
carrying its ClOrdID(11), or a session or business reject whose RefSeqNum(45) is its
MsgSeqNum(34). Its ack latency runs from just before the send to that message's arrival.

Requests of one session reach the engine in the order they were sent. Across sessions
they may not: so a request also waits until every earlier request of another session that
it `interacts` with has been answered (an answer means the engine has decided it).

One thread per session reads that session's messages and counts them all: the answers,
the fills that follow, the cancels of IOC remainders.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateways.demo.flow import DemoRequest, interacts
from gateways.fix.initiator import FixInitiator, Received
from gateways.fix.wire import format_utc_timestamp

log = logging.getLogger(__name__)

# ExecType(150) codes, FIX 4.4.
_TRADE = "F"
_CANCELED = "4"
_REJECTED = "8"


class DemoStalled(RuntimeError):
    """Requests went unanswered for too long; the text names the oldest."""


@dataclass
class DriverResult:
    sent: Counter[str] = field(default_factory=Counter)  # by request kind
    received: Counter[str] = field(default_factory=Counter)  # by MsgType / ExecType label
    latencies: list[float] = field(default_factory=list)  # seconds, one per request
    fills: int = 0  # Trade reports on resting orders
    fill_quantity: int = 0
    execution_fills: int = 0  # Trade reports of the contra session's IOC orders
    execution_fill_quantity: int = 0
    unfilled_executions: int = 0  # IOC orders whose remainder was canceled
    rejects: Counter[str] = field(default_factory=Counter)  # by message and reason code
    reject_examples: dict[str, str] = field(default_factory=dict)  # reason -> first text
    seconds: float = 0.0  # from the first send to the last answer
    messages: int = 0  # everything received


_LABELS = {
    "0": "New",
    "4": "Canceled",
    "5": "Replaced",
    "6": "Pending Cancel",
    "8": "Rejected",
    "A": "Pending New",
    "E": "Pending Replace",
    "F": "Trade",
    "I": "Order Status",
    "C": "Expired",
    "3": "Done for Day",
    "D": "Restated",
}
_NAMES = {
    "8": "ExecutionReport",
    "9": "OrderCancelReject",
    "3": "Reject",
    "j": "BusinessMessageReject",
    "5": "Logout",
}


# The tag giving the reason of each kind of reject, and its name.
_REASON_TAGS = {
    "8": (103, "OrdRejReason"),
    "9": (102, "CxlRejReason"),
    "3": (373, "SessionRejectReason"),
    "j": (380, "BusinessRejectReason"),
}


def _reject_reason(message: Received) -> str:
    """The reject's message name and reason code, e.g. OrderCancelReject CxlRejReason=0."""
    tag, name = _REASON_TAGS[message.msg_type]
    kind = _NAMES[message.msg_type]
    if message.msg_type == "8":
        kind = "ExecutionReport Rejected"
    return f"{kind} {name}={message.get(tag) or '-'}"


class DemoDriver:
    """Sends the requests over the sessions (the contra session last) and reads answers."""

    def __init__(
        self,
        clients: Sequence[FixInitiator],
        symbol: str,
        *,
        in_flight: int,
        on_answer: Callable[[], None] = lambda: None,
        stall_seconds: float = 30.0,
    ) -> None:
        self._clients = clients
        self._symbol = symbol
        self._window = max(in_flight, 1)
        self.on_answer = on_answer
        self._stall_seconds = stall_seconds
        self._contra = len(clients) - 1
        self.result = DriverResult()
        self._lock = threading.Condition()
        # (session, ClOrdID) -> (request, perf_counter at the send)
        self._flying: dict[tuple[int, str], tuple[DemoRequest, float]] = {}
        self._by_seq_num: dict[tuple[int, str], tuple[int, str]] = {}
        self._early_rejects: dict[tuple[int, str], Received] = {}
        self._last_answer = time.perf_counter()
        self._last_message = time.perf_counter()
        self._stopping = threading.Event()
        self._readers: list[threading.Thread] = []

    def run(self, requests: Sequence[DemoRequest]) -> DriverResult:
        """Send every request; return once each has been answered (DemoStalled if not).

        The readers keep reading until `finish` or `close`.
        """
        for index in range(len(self._clients)):
            reader = threading.Thread(
                target=self._read, args=(index,), name=f"demo-read-{index}", daemon=True
            )
            self._readers.append(reader)
            reader.start()
        started = time.perf_counter()
        for request in requests:
            self._send(request)
        with self._lock:
            self._wait(lambda: not self._flying)
        self.result.seconds = self._last_answer - started
        return self.result

    def finish(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Read what still arrives (the fills after the last answers) until all is quiet."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = time.perf_counter() - self._last_message
            if idle >= quiet:
                break
            time.sleep(quiet - idle)
        self.close()

    def close(self) -> None:
        """Stop reading."""
        self._stopping.set()
        for reader in self._readers:
            reader.join(timeout=2.0)
        self._readers.clear()

    # Sending (the main thread).

    def _send(self, request: DemoRequest) -> None:
        key = (request.session, request.cl_ord_id)
        with self._lock:
            self._wait(lambda: len(self._flying) < self._window and not self._blocked(request))
            self._flying[key] = (request, time.perf_counter())
        client = self._clients[request.session]
        fields = request.fields(self._symbol, format_utc_timestamp(time.time_ns()))
        seq_num = str(client.send(request.msg_type, fields))
        self.result.sent[request.kind] += 1
        with self._lock:
            self._by_seq_num[(request.session, seq_num)] = key
            early = self._early_rejects.pop((request.session, seq_num), None)
            if early is not None and key in self._flying:
                self._answered(key, early)

    def _blocked(self, request: DemoRequest) -> bool:
        session = request.session
        return any(
            other.session != session and interacts(other, request)
            for other, _ in self._flying.values()
        )

    def _wait(self, ready: Callable[[], bool]) -> None:
        """Wait (holding the lock) until `ready()`; DemoStalled when answers stop coming."""
        while not ready():
            self._lock.wait(timeout=1.0)
            if self._flying and time.perf_counter() - self._last_answer > self._stall_seconds:
                oldest, _ = min(self._flying.values(), key=lambda flying: flying[1])
                raise DemoStalled(
                    f"no answer for {self._stall_seconds:g} s; {len(self._flying)} requests "
                    f"unanswered, the oldest {oldest.kind} {oldest.cl_ord_id} (file line "
                    f"{oldest.line})"
                )

    # Reading (one thread per session).

    def _read(self, index: int) -> None:
        client = self._clients[index]
        while not self._stopping.is_set():
            message = client.receive(0.1)
            if message is not None:
                with self._lock:
                    self._take(index, message)

    def _take(self, session: int, message: Received) -> None:
        result = self.result
        result.messages += 1
        self._last_message = time.perf_counter()
        kind = message.msg_type
        exec_type = message.get(150) or ""
        label = _NAMES.get(kind, f"MsgType {kind}")
        if kind == "8":
            label = f"{label} {_LABELS.get(exec_type, exec_type)}"
        result.received[label] += 1
        if kind == "8" and exec_type == _TRADE:
            quantity = int(message.get(32) or 0)
            if session == self._contra:
                result.execution_fills += 1
                result.execution_fill_quantity += quantity
            else:
                result.fills += 1
                result.fill_quantity += quantity
        elif kind == "8" and exec_type == _CANCELED and session == self._contra:
            result.unfilled_executions += 1
        if (kind == "8" and exec_type == _REJECTED) or kind in ("9", "3", "j"):
            reason = _reject_reason(message)
            result.rejects[reason] += 1
            result.reject_examples.setdefault(reason, message.get(58) or "no text")
        if kind in ("8", "9"):
            key = (session, message.get(11) or "")
            if key in self._flying:
                self._answered(key, message)
        elif kind in ("3", "j"):
            seq_key = (session, message.get(45) or "")
            flying = self._by_seq_num.get(seq_key)
            if flying is None:
                self._early_rejects[seq_key] = message
            elif flying in self._flying:
                self._answered(flying, message)

    def _answered(self, key: tuple[int, str], message: Received) -> None:
        _, sent = self._flying.pop(key)
        now = time.perf_counter()
        self.result.latencies.append(now - sent)
        self._last_answer = now
        self.on_answer()
        self._lock.notify_all()
