"""A bare quickfix acceptor: the floor `bench.fix_load` sets the OMS beside.

    .venv/bin/python -m bench.bare_acceptor --config <an OMS configuration file>

It listens where the configuration's [fix] table says, with the very quickfix settings,
message store and message log the OMS acceptor builds from it
(`gateways.fix.settings.acceptor_settings`, `gateways.fix.session.store_factory`,
`gateways.fix.messagelog.MessageLog`), and answers every NewOrderSingle(35=D) at once,
inside quickfix's callback, with an ExecutionReport(35=8) New built from the order's own
fields. There is no engine, no risk check, no audit log and no queue between threads: what
is left is what quickfix and a Python callback cost per order.

Any other application message gets a BusinessMessageReject(35=j) from quickfix. SIGTERM or
SIGINT logs the sessions out and stops.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import quickfix

from gateways.fix.messagelog import MessageLog
from gateways.fix.session import GuardedApplication, stop_quietly, store_factory
from gateways.fix.settings import acceptor_settings
from gateways.fix.wire import build_message, format_utc_timestamp
from oms.config import load_config

log = logging.getLogger(__name__)

# Fields of the NewOrderSingle(35=D) echoed on the ExecutionReport when present: Account(1),
# Symbol(55), Side(54), OrderQty(38), OrdType(40), Price(44), TimeInForce(59).
_ECHOED = (1, 55, 54, 38, 40, 44, 59)


class BareAcknowledger(GuardedApplication):
    """Answers each NewOrderSingle with ExecutionReport New, on the session's own thread."""

    def __init__(self, message_log: MessageLog | None) -> None:
        super().__init__()
        self._message_log = message_log
        self._order_ids = itertools.count(1)
        self.session_ids: list[quickfix.SessionID] = []

    def on_create(self, session_id: quickfix.SessionID) -> None:
        self.session_ids.append(session_id)

    def from_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.incoming(message, session_id)

    def to_admin(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.outgoing(message, session_id)

    def to_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.outgoing(message, session_id)

    def from_app(self, message: quickfix.Message, session_id: quickfix.SessionID) -> None:
        if self._message_log is not None:
            self._message_log.incoming(message, session_id)
        if message.getHeader().getField(35) != "D":
            # quickfix answers with BusinessMessageReject(35=j), BusinessRejectReason(380)=3.
            raise quickfix.UnsupportedMessageType()
        quickfix.Session.sendToTarget(self._new(message, session_id), session_id)

    def _new(self, order: quickfix.Message, session_id: quickfix.SessionID) -> quickfix.Message:
        """ExecutionReport(35=8) with ExecType(150)=0 and OrdStatus(39)=0 for `order`."""
        number = next(self._order_ids)
        fields = [(37, f"B{number}"), (11, order.getField(11)), (17, f"BE{number}")]
        if session_id.getBeginString().getValue() == "FIX.4.2":
            # ExecTransType(20)=0 (New): FIX 4.2 requires it on every report.
            fields.append((20, "0"))
        fields += [(150, "0"), (39, "0")]
        fields += [(tag, order.getField(tag)) for tag in _ECHOED if order.isSetField(tag)]
        # Nothing filled yet: CumQty(14) 0, LeavesQty(151) the whole OrderQty(38), AvgPx(6) 0.
        fields += [(14, "0"), (151, order.getField(38)), (6, "0")]
        fields.append((60, format_utc_timestamp(time.time_ns())))
        return build_message("8", fields)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bare_acceptor", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--config", required=True, help="OMS configuration file")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    config = load_config(args.config)
    data_directory = Path(config.data_directory)
    settings = acceptor_settings(config.fix, data_directory)
    message_log = None
    if config.fix.log == "file":
        message_log = MessageLog(data_directory / "fix" / "log")
    application = BareAcknowledger(message_log)
    acceptor = quickfix.ThreadedSocketAcceptor(
        application, store_factory(config.fix.store, settings), settings
    )

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    acceptor.start()
    log.info(
        "bare acceptor on port %d, store=%s, log=%s",
        config.fix.port,
        config.fix.store,
        config.fix.log,
    )
    # Wake up now and then: a signal handler runs only when the main thread does.
    while not stop.wait(0.5):
        pass
    stop_quietly(acceptor, application, application.session_ids, reason="bench over")
    if message_log is not None:
        message_log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
