"""`oms serve`: the OMS process. Engine, venues, audit log, metrics and the client acceptor,
started in that order and stopped in the reverse one on SIGINT or SIGTERM.

A configuration or reference data file that cannot be used ends the process before anything
starts, with one error line naming the file and exit status 2; a part that cannot start (a
busy port, a missing data dictionary, an audit directory we cannot write) stops what did
start, with one error line and exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType

from oms.config import ConfigError, load_config
from oms.refdata import ReferenceDataError, load_instruments

log = logging.getLogger(__name__)


def main(args: argparse.Namespace) -> int:
    from compliance.audit.errors import AuditLogError
    from gateways.fix.acceptor import ClientAcceptor
    from gateways.fix.session import FixSetupError
    from oms.runtime import Runtime

    try:
        config = load_config(args.config)
        instruments = load_instruments(config.instruments)
    except (ConfigError, ReferenceDataError) as error:
        log.error("%s", error)
        return 2

    stop = threading.Event()
    previous = _on_signals(stop)
    runtime: Runtime | None = None
    acceptor: ClientAcceptor | None = None
    admin = None
    try:
        runtime = Runtime(config, instruments=instruments)
        acceptor = ClientAcceptor(config, runtime)
        runtime.start()
        if config.admin.enabled:
            from oms.admin import AdminServer

            admin = AdminServer(runtime, config.admin.host, config.admin.port)
            admin.start()
        if config.metrics.enabled:
            runtime.metrics.serve(config.metrics.host, config.metrics.port)
            log.info("metrics on http://%s:%d/metrics", config.metrics.host, config.metrics.port)
        acceptor.start()
        log.info("OMS ready: %s", acceptor.describe())
        # Wake up now and then: a signal handler runs only when the main thread does.
        while not stop.wait(0.5):
            pass
        log.info("stopping")
        return 0
    except (FixSetupError, AuditLogError, OSError) as error:
        log.error("cannot start: %s", error)
        return 1
    finally:
        if admin is not None:
            admin.stop()
        if acceptor is not None:
            acceptor.stop()
        if runtime is not None:
            runtime.stop()
        _restore_signals(previous)
        log.info("OMS stopped")


def _on_signals(stop: threading.Event) -> dict[int, object]:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    return {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore_signals(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
