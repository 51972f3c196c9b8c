"""`oms venue`: a standalone simulated venue, a FIX 4.4 acceptor in front of one matching
engine per instrument, for an OMS configured with a venue of kind "fix" to route to.

    oms venue --port 9877 --comp-id VENUE --client-comp-id OMS
    oms serve --config config/external-venue.toml

It lists the instruments of the configuration it is given (`--config`) and serves one
client session. The session starts afresh at every logon (ResetOnLogon, sequence numbers in
memory), as the OMS's venue adapter expects. What the venue answers is described in
`gateways.simvenue.session`.

quickfix's threaded acceptor is used here: its stop closes the listening socket and joins
its threads in order, where the single-threaded one races its own thread over the socket
list (a crash measured in most stops right after a session ended).
"""

from __future__ import annotations

import argparse
import logging
import threading

import quickfix

from gateways.fix.session import (
    FixSetupError,
    SessionSpec,
    SettingValue,
    build_settings,
    stop_quietly,
)
from gateways.fix.settings import is_loopback
from gateways.simvenue.session import SimulatedVenueSession
from oms.config import ConfigError, load_config
from oms.model import Symbol
from oms.refdata import Instrument, ReferenceDataError, load_instruments

log = logging.getLogger(__name__)

BEGIN_STRING = "FIX.4.4"


class SimulatedVenue:
    """The acceptor and its session, started and stopped together."""

    def __init__(
        self,
        instruments: dict[Symbol, Instrument],
        *,
        port: int,
        comp_id: str = "VENUE",
        client_comp_id: str = "OMS",
        host: str = "127.0.0.1",
    ) -> None:
        self.port = port
        self.comp_id = comp_id
        self.client_comp_id = client_comp_id
        self.host = host
        self.instruments = instruments
        self.session = SimulatedVenueSession(instruments)
        self._spec = SessionSpec(BEGIN_STRING, comp_id, client_comp_id)
        defaults: dict[str, SettingValue] = {
            "ConnectionType": "acceptor",
            "SocketAcceptPort": port,
            "NonStopSession": True,
            "SocketReuseAddress": True,
            "SocketNodelay": True,
            # The session starts afresh at each logon: nothing is resent across a reconnect.
            "ResetOnLogon": True,
            "ResetOnLogout": True,
            "ResetOnDisconnect": True,
        }
        if is_loopback(host):
            defaults["AllowedRemoteAddresses"] = "127.0.0.1"
        self._settings = build_settings(defaults, [self._spec])
        self._acceptor: quickfix.ThreadedSocketAcceptor | None = None
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> None:
        try:
            acceptor = quickfix.ThreadedSocketAcceptor(
                self.session, quickfix.MemoryStoreFactory(), self._settings
            )
            acceptor.start()
        except (quickfix.ConfigError, quickfix.RuntimeError) as error:
            raise FixSetupError(f"venue cannot listen on port {self.port}: {error}") from error
        self._acceptor = acceptor
        self._stopping.clear()
        self._ticker = threading.Thread(target=self._tick, name="venue-clock", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        # Once a second: GTD orders past their ExpireTime(126) are Expired.
        while not self._stopping.wait(1.0):
            try:
                self.session.expire()
            except Exception:
                log.exception("expiring GTD orders failed")

    def stop(self) -> None:
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2)
            self._ticker = None
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            stop_quietly(acceptor, self.session, [self._spec.session_id],
                         reason="the venue is shutting down")

    def describe(self) -> str:
        return (f"simulated venue on port {self.port} (host {self.host}) as {self.comp_id} "
                f"for {self.client_comp_id}, {len(self.instruments)} instruments")

    def __enter__(self) -> SimulatedVenue:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(args: argparse.Namespace) -> int:
    from oms.serve import _on_signals, _restore_signals

    try:
        instruments = load_instruments(load_config(args.config).instruments)
    except (ConfigError, ReferenceDataError) as error:
        log.error("%s", error)
        return 2
    venue = SimulatedVenue(instruments, port=args.port, comp_id=args.comp_id,
                           client_comp_id=args.client_comp_id, host=args.host)
    stop = threading.Event()
    previous = _on_signals(stop)
    try:
        venue.start()
        log.info("venue ready: %s", venue.describe())
        # Wake up now and then: a signal handler runs only when the main thread does.
        while not stop.wait(0.5):
            pass
        return 0
    except FixSetupError as error:
        log.error("cannot start: %s", error)
        return 1
    finally:
        venue.stop()
        _restore_signals(previous)
        log.info("venue stopped")


__all__ = ["SimulatedVenue", "main"]
