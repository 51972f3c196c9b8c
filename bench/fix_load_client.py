"""The load client of `bench.fix_load`: resting limit orders built before the clock starts,
one quickfix initiator for the sessions, and a window of at most K orders unanswered.

Threads: the calling thread sends (`quickfix.Session.sendToTarget`); quickfix's initiator
thread runs `_Collector`'s callbacks, which only read the answer's ClOrdID(11) and
ExecType(150), note the time and open the window by one. Nothing is parsed in Python.

The client is kept lean on purpose, because it shares the machine with the server it
measures: no data dictionary validation of what it receives (the server validates what it
receives), no message persistence (it never resends), a memory message store.
"""

from __future__ import annotations

import gc
import threading
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import quickfix

from gateways.fix.session import (
    FixSetupError,
    GuardedApplication,
    SessionSpec,
    SettingValue,
    build_settings,
    stop_quietly,
)
from gateways.fix.wire import build_message, decimal_text, format_utc_timestamp
from oms.config import REPOSITORY_ROOT
from oms.model import price_to_decimal
from oms.refdata import Instrument, load_instruments

# Price levels per instrument and side the resting orders spread over: 1 to LEVELS ticks
# away from the reference price, buys below and sells above, so that nothing crosses.
LEVELS = 200
BEGIN_STRING = "FIX.4.4"
TARGET_COMP_ID = "OMS"
_LOGON_TIMEOUT = 10.0

# (ClOrdID, the NewOrderSingle, the session to send it on)
Order = tuple[str, quickfix.Message, quickfix.SessionID]


class LoadError(RuntimeError):
    """The load could not be delivered: no logon, a refused send, answers that stopped."""


@dataclass(frozen=True)
class LoadRun:
    """What one batch of orders measured."""

    orders: int
    seconds: float  # from the first send to the last answer
    latencies_ns: np.ndarray  # send to first answer, one per answered order
    problems: Counter[str] = field(default_factory=Counter)  # answers other than New


# The orders.


@dataclass(frozen=True)
class OrderPlan:
    """Which session sends what: (SenderCompID, Account, Side) per session."""

    sessions: Sequence[tuple[str, str, str]]
    quantity: int
    instruments: Sequence[Instrument]

    def messages(self, prefix: str, warmup: int, orders: int) -> tuple[list[Order], list[Order]]:
        """The warm-up orders and the timed ones, round robin over the sessions, with
        ClOrdIDs `<prefix>-<n>`."""
        built = [self._order(prefix, index) for index in range(warmup + orders)]
        return built[:warmup], built[warmup:]

    def _order(self, prefix: str, index: int) -> Order:
        sender, account, side = self.sessions[index % len(self.sessions)]
        step = index // len(self.sessions)
        instrument = self.instruments[step % len(self.instruments)]
        ticks = 1 + (step // len(self.instruments)) % LEVELS
        # Side(54) 1 buys below the reference price, 2 sells above it.
        offset = -ticks if side == "1" else ticks
        units = instrument.reference_price + offset * instrument.tick
        price = price_to_decimal(units).quantize(instrument.tick_size)
        cl_ord_id = f"{prefix}-{index}"
        # NewOrderSingle(35=D): a Day limit order, HandlInst(21)=1, on the session's account.
        message = build_message(
            "D",
            [
                (11, cl_ord_id),
                (1, account),
                (21, "1"),
                (55, instrument.symbol),
                (54, side),
                (60, format_utc_timestamp(time.time_ns())),
                (38, str(self.quantity)),
                (40, "2"),
                (44, decimal_text(price)),
                (59, "0"),
            ],
        )
        session_id = quickfix.SessionID(BEGIN_STRING, sender, TARGET_COMP_ID)
        return cl_ord_id, message, session_id


def plan_orders(sessions: Sequence[tuple[str, str, str]], quantity: int) -> OrderPlan:
    """Orders over the shipped instruments (`config/instruments.csv`)."""
    instruments = load_instruments(REPOSITORY_ROOT / "config" / "instruments.csv")
    tradable = [i for i in instruments.values() if i.tradable]
    return OrderPlan(tuple(sessions), quantity, tradable)


# The answers.


class _Collector(GuardedApplication):
    """Times each order's first answer and opens the window by one per answer.

    A `quickfix.SocketInitiator` runs every session's callbacks on its one thread, so the
    counters here have a single writer; the sending thread only adds to `pending`.
    """

    def __init__(self, senders: Sequence[str]) -> None:
        super().__init__()
        self._wanted = frozenset(senders)
        self.logged_on: set[str] = set()
        self.all_logged_on = threading.Event()
        self.logouts = 0
        self.last_logout_text = ""
        # ClOrdID -> time.perf_counter_ns() just before its send, until its first answer.
        self.pending: dict[str, int] = {}
        self.window = threading.Semaphore(1)
        self.latencies = array("q")
        self.problems: Counter[str] = Counter()
        self.expected = 0
        self.answered = 0
        self.last_answer_ns = 0
        self.done = threading.Event()

    def start_batch(self, orders: int, in_flight: int) -> None:
        self.window = threading.Semaphore(in_flight)
        self.latencies = array("q")
        self.problems = Counter()
        self.expected = orders
        self.answered = 0
        self.last_answer_ns = time.perf_counter_ns()
        self.done.clear()

    def on_logon(self, session_id: quickfix.SessionID) -> None:
        self.logged_on.add(session_id.getSenderCompID().getValue())
        if self.logged_on >= self._wanted:
            self.all_logged_on.set()

    def on_logout(self, session_id: quickfix.SessionID) -> None:
        self.logged_on.discard(session_id.getSenderCompID().getValue())
        self.all_logged_on.clear()
        self.logouts += 1

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        msg_type = message.getHeader().getField(35)
        if msg_type == "3":
            # A session Reject(35=3) names the request by RefSeqNum(45) only.
            reason = message.getField(373) if message.isSetField(373) else "-"
            self._answer(
                None, time.perf_counter_ns(), f"Reject(35=3) SessionRejectReason(373)={reason}"
            )
        elif msg_type == "5" and message.isSetField(58):
            self.last_logout_text = message.getField(58)

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        now = time.perf_counter_ns()
        msg_type = message.getHeader().getField(35)
        if msg_type == "8":
            exec_type = message.getField(150)
            problem = None
            if exec_type != "0":
                problem = f"ExecutionReport ExecType(150)={exec_type}"
                if message.isSetField(58):
                    problem += f" ({message.getField(58)})"
            self._answer(message.getField(11), now, problem)
        elif msg_type == "j":
            # BusinessMessageReject(35=j): BusinessRejectRefID(379) carries the ClOrdID.
            ref = message.getField(379) if message.isSetField(379) else None
            self._answer(ref, now, f"BusinessMessageReject(35=j) {message.getField(380)}")
        else:
            self._answer(
                message.getField(11) if message.isSetField(11) else None,
                now,
                f"MsgType(35)={msg_type}",
            )

    def _answer(self, cl_ord_id: str | None, now: int, problem: str | None) -> None:
        sent = self.pending.pop(cl_ord_id, None) if cl_ord_id is not None else None
        if cl_ord_id is not None and sent is None:
            return  # a later report on an order already answered
        if sent is not None:
            self.latencies.append(now - sent)
        if problem is not None:
            self.problems[problem] += 1
        self.answered += 1
        self.last_answer_ns = now
        self.window.release()
        if self.answered >= self.expected:
            self.done.set()


class LoadClient:
    """Logged-on sessions to the server on `port`, and `drive` to send batches of orders."""

    def __init__(self, port: int, senders: Sequence[str], *, stall_seconds: float) -> None:
        self._stall_seconds = stall_seconds
        self._app = _Collector(senders)
        self._session_ids = [quickfix.SessionID(BEGIN_STRING, s, TARGET_COMP_ID) for s in senders]
        defaults: dict[str, SettingValue] = {
            "ConnectionType": "initiator",
            "SocketConnectHost": "127.0.0.1",
            "SocketConnectPort": port,
            "HeartBtInt": 30,
            "ReconnectInterval": 1,
            "NonStopSession": True,
            "ResetOnLogon": True,
            "SocketNodelay": True,
            "PersistMessages": False,
            "UseDataDictionary": False,
        }
        specs = [SessionSpec(BEGIN_STRING, s, TARGET_COMP_ID) for s in senders]
        self._settings = build_settings(defaults, specs)
        self._initiator: quickfix.SocketInitiator | None = None

    def connect(self) -> None:
        initiator = quickfix.SocketInitiator(
            self._app, quickfix.MemoryStoreFactory(), self._settings
        )
        self._initiator = initiator
        initiator.start()
        if not self._app.all_logged_on.wait(_LOGON_TIMEOUT):
            raise FixSetupError(
                f"not logged on within {_LOGON_TIMEOUT:g} s: only {sorted(self._app.logged_on)}"
                f" ({self._app.last_logout_text or 'no Logout text'})"
            )

    def drive(self, orders: Sequence[Order], in_flight: int) -> LoadRun:
        """Send `orders` with at most `in_flight` unanswered; return once all are answered."""
        app = self._app
        app.start_batch(len(orders), in_flight)
        if not orders:
            return LoadRun(0, 0.0, np.zeros(0, dtype=np.int64))
        # Nothing made before this point is scanned by a collection while the clock runs.
        gc.collect()
        gc.freeze()
        send = quickfix.Session.sendToTarget
        clock = time.perf_counter_ns
        pending = app.pending
        acquire = app.window.acquire
        logouts = app.logouts
        started = clock()
        for count, (cl_ord_id, message, session_id) in enumerate(orders):
            if not acquire(timeout=self._stall_seconds):
                raise self._stalled(count, len(orders))
            pending[cl_ord_id] = clock()
            if not send(message, session_id):
                raise LoadError(f"{cl_ord_id} was not sent: {session_id} refused it")
        while not app.done.wait(1.0):
            if clock() - app.last_answer_ns > self._stall_seconds * 1e9:
                raise self._stalled(len(orders), len(orders))
        gc.unfreeze()
        if app.logouts != logouts:
            app.problems["a session logged out during the run"] += app.logouts - logouts
        latencies = np.frombuffer(app.latencies, dtype=np.int64).copy()
        return LoadRun(
            len(orders), (app.last_answer_ns - started) / 1e9, latencies, Counter(app.problems)
        )

    def _stalled(self, sent: int, total: int) -> LoadError:
        app = self._app
        return LoadError(
            f"no answer for {self._stall_seconds:g} s: {sent:,} of {total:,} sent, "
            f"{app.answered:,} answered, logged on: {sorted(app.logged_on) or 'none'}; "
            f"problems so far: {dict(app.problems) or 'none'}"
        )

    def close(self) -> None:
        """Log out and stop; the initiator is deleted, so another may take these sessions."""
        initiator, self._initiator = self._initiator, None
        if initiator is not None:
            stop_quietly(initiator, self._app, self._session_ids, timeout=3.0)
        del initiator
        gc.collect()


__all__ = ["LoadClient", "LoadError", "LoadRun", "OrderPlan", "plan_orders"]
