"""The client acceptor's quickfix settings, from the OMS configuration.

One acceptor on fix.port with SenderCompID fix.comp_id, one session per configured client,
each validated against the data dictionary of its FIX version. What quickfix 1.16 does and
what these settings can and cannot change:

- Bind address: quickfix 1.16 has no SocketAcceptHost; it listens on every interface.
  When fix.host is a loopback address, AllowedRemoteAddresses makes quickfix drop a
  connection from anywhere else, but only after it has processed that peer's Logon
  (measured: onLogon runs, then the socket closes). Keep the port behind a firewall.
- ResetSeqNumFlag(141)=Y on a Logon resets the session's sequence numbers and stored
  messages before any callback sees the Logon, so it cannot be refused in time. The
  acceptor refuses what it can afterwards (see `gateways.fix.acceptor`); the settings keep
  every reset of our own off (ResetOnLogon, ResetOnLogout, ResetOnDisconnect = N), so the
  only resets are the ones a client asks for.
- BodyLength(9): quickfix buffers whatever length a peer announces, before any Logon.
- No TLS here: quickfix's SSL acceptor is not used.
- HeartBtInt: an acceptor follows the HeartBtInt(108) of each client's Logon.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import quickfix

from gateways.fix.session import SessionSpec, SettingValue, build_settings
from oms.config import FixAcceptorConfig


def acceptor_sessions(fix: FixAcceptorConfig) -> list[SessionSpec]:
    """Our side of each configured client session: SenderCompID is the OMS."""
    return [
        SessionSpec(client.begin_string, fix.comp_id, client.sender_comp_id)
        for client in fix.sessions
    ]


def acceptor_settings(fix: FixAcceptorConfig, data_directory: Path) -> quickfix.SessionSettings:
    defaults: dict[str, SettingValue] = {
        "ConnectionType": "acceptor",
        "SocketAcceptPort": fix.port,
        "SenderCompID": fix.comp_id,
        "NonStopSession": True,
        "SocketReuseAddress": True,
        "SocketNodelay": True,
        "HeartBtInt": fix.heartbeat_seconds,
        "ResetOnLogon": False,
        "ResetOnLogout": False,
        "ResetOnDisconnect": False,
        "RefreshOnLogon": False,
        "PersistMessages": True,
        # SendingTime(52) further than this from our clock is refused (a replayed message).
        "CheckLatency": True,
        "MaxLatency": 120,
        "LogonTimeout": 10,
        "LogoutTimeout": 2,
    }
    if fix.store == "file":
        store = data_directory / "fix" / "store"
        store.mkdir(parents=True, exist_ok=True)
        defaults["FileStorePath"] = store
    if is_loopback(fix.host):
        defaults["AllowedRemoteAddresses"] = "127.0.0.1"
    return build_settings(defaults, acceptor_sessions(fix))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
