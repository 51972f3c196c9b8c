"""`oms demo --lobster FILE`: a day of real exchange order flow through the whole OMS.

Steps: read the LOBSTER file and plan its requests (`flow`); build the demo configuration
(`configuration`); start the OMS in this process, Runtime and FIX acceptor, as `oms serve`
does; log on a FIX client session per DEMO session and the contra session; send every
request and read every answer (`driver`); stop the OMS; print the summary (`summary`).

The OMS's own log lines go to `oms.log` in the run's directory, not to the terminal: a day
of flow makes thousands of them (every cancel that comes too late is a warning).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from gateways.demo.configuration import demo_config, demo_instruments, session_names
from gateways.demo.driver import DemoDriver, DemoStalled, DriverResult
from gateways.demo.flow import FlowPlan, plan_flow
from gateways.demo.summary import summary_lines
from gateways.fix.initiator import FixInitiator
from gateways.fix.session import FixSetupError
from gateways.lobster import LobsterFormatError, read_messages, symbol_from_file_name
from oms.config import DEFAULT_CONFIG, ConfigError, OmsConfig, load_config
from oms.model import Symbol
from oms.refdata import Instrument, ReferenceDataError

log = logging.getLogger(__name__)

# Loggers of the OMS itself, sent to the run's oms.log while the demo runs.
_OMS_LOGGERS = ("oms", "gateways", "compliance")


class DemoError(RuntimeError):
    """The demo cannot run: the text says why (a bad file, a busy port, no Logon)."""


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    lobster: Path
    symbol: str | None = None
    limit: int = 0
    sessions: int = 2
    in_flight: int = 64
    port: int = 0
    progress: bool = True
    directory: Path | None = None
    audit_mode: str = "durable"
    base_config: Path = DEFAULT_CONFIG


@dataclass(frozen=True)
class DemoOutcome:
    options: DemoOptions
    symbol: str
    plan: FlowPlan
    config: OmsConfig
    result: DriverResult
    audit_events: int  # events the engine wrote (its last sequence number)
    wall_seconds: float  # the whole run, from reading the file to the OMS stopped
    log_file: Path


def main(args: argparse.Namespace) -> int:
    options = DemoOptions(
        lobster=Path(args.lobster),
        symbol=args.symbol,
        limit=args.limit,
        sessions=args.sessions,
        in_flight=args.in_flight,
        port=args.port,
        progress=not args.no_progress,
        directory=Path(args.directory) if getattr(args, "directory", None) else None,
        audit_mode=getattr(args, "audit_mode", None) or "durable",
    )
    try:
        outcome = run_demo(options)
    except DemoError as error:
        print(f"oms demo: {error}", file=sys.stderr)
        return 2
    for line in summary_lines(outcome):
        print(line)
    return 0


def run_demo(options: DemoOptions) -> DemoOutcome:
    """Run the demo end to end; DemoError when it cannot."""
    started = time.perf_counter()
    symbol = options.symbol or symbol_from_file_name(options.lobster)
    if not symbol:
        raise DemoError(f"{options.lobster.name} does not start with a ticker: give --symbol")
    if options.sessions < 1 or options.in_flight < 1:
        raise DemoError("--sessions and --in-flight must be at least 1")
    try:
        plan = plan_flow(read_messages(options.lobster, options.limit), options.sessions)
        base = load_config(options.base_config)
    except (OSError, LobsterFormatError, ConfigError) as error:
        raise DemoError(str(error)) from error
    if not plan.requests:
        raise DemoError(f"{options.lobster}: no event of the file can be replayed")

    directory = options.directory or _run_directory(base, symbol)
    directory.mkdir(parents=True, exist_ok=True)
    config = demo_config(
        base,
        plan,
        sessions=options.sessions,
        port=options.port,
        directory=directory,
        audit_mode=options.audit_mode,
    )
    try:
        instruments = demo_instruments(config, symbol, plan.first_price)
    except ReferenceDataError as error:
        raise DemoError(str(error)) from error
    log_file = directory / "oms.log"
    with _oms_log_to(log_file):
        result, audit_events = _run_oms(config, instruments, plan, symbol, options)
    return DemoOutcome(
        options,
        symbol,
        plan,
        config,
        result,
        audit_events,
        time.perf_counter() - started,
        log_file,
    )


def _run_oms(
    config: OmsConfig,
    instruments: dict[Symbol, Instrument],
    plan: FlowPlan,
    symbol: str,
    options: DemoOptions,
) -> tuple[DriverResult, int]:
    from gateways.fix.acceptor import ClientAcceptor
    from oms.runtime import Runtime

    runtime = Runtime(config, instruments=instruments)
    acceptor = ClientAcceptor(config, runtime)
    clients = [
        FixInitiator("127.0.0.1", config.fix.port, name, config.fix.comp_id)
        for name in session_names(options.sessions)
    ]
    driver = DemoDriver(clients, symbol, in_flight=options.in_flight)
    runtime.start()
    try:
        acceptor.start()
        for client in clients:
            client.connect(timeout=10.0)
        with tqdm(
            total=len(plan.requests),
            unit="req",
            desc=f"demo {symbol}",
            disable=not options.progress,
            file=sys.stderr,
        ) as bar:
            driver.on_answer = lambda: bar.update(1)
            result = driver.run(plan.requests)
        # Every report is on its way once the engine is idle and its events are durable.
        runtime.flush()
        driver.finish()
        return result, runtime.engine.seq
    except (FixSetupError, DemoStalled, OSError) as error:
        raise DemoError(str(error)) from error
    finally:
        driver.close()
        _close_all(clients)
        acceptor.stop()
        runtime.stop()


def _close_all(clients: list[FixInitiator]) -> None:
    """Log every client out at once: each logout and stop takes quickfix about a second."""
    closing = [
        threading.Thread(target=client.close, name=f"demo-close-{client.sender_comp_id}")
        for client in clients
    ]
    for thread in closing:
        thread.start()
    for thread in closing:
        thread.join(timeout=10.0)


def _run_directory(base: OmsConfig, symbol: str) -> Path:
    """A new directory for this run under the configuration's data directory."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = Path(base.data_directory) / "demo" / f"{symbol}-{stamp}"
    number = 1
    while directory.exists():
        number += 1
        directory = directory.with_name(f"{symbol}-{stamp}-{number}")
    return directory


@contextlib.contextmanager
def _oms_log_to(path: Path) -> Iterator[None]:
    """Send the OMS's log records to `path` rather than the terminal, for a while."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in _OMS_LOGGERS]
    saved = [(logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.getLogger().getEffectiveLevel())
    try:
        yield
    finally:
        for logger, (propagate, level) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        handler.close()
