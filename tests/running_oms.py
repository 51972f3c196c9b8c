"""The OMS running in the test process: a test-only configuration file, the Runtime and the
client acceptor on a free loopback port, and test clients connected to it.

    with RunningOms(tmp_path) as oms, oms.client("CLIENT1") as client:
        client.new_order(...)

The configuration has the shipped sessions (CLIENT1 and CLIENT2 on FIX 4.4, CLIENT3 on FIX
4.2), their accounts and limits, and the shipped instruments; memory message stores;
no metrics server; and the audit log off unless `audit_mode` asks for one (in
`<directory>/audit`). `extra_toml` is appended to the file for a test's own settings.
"""

from __future__ import annotations

import socket
from pathlib import Path

from fixclient import FixTestClient

from gateways.fix.acceptor import ClientAcceptor
from oms.config import REPOSITORY_ROOT, OmsConfig, load_config
from oms.runtime import Runtime

_SESSIONS = (("CLIENT1", "FIX.4.4", "ACC1"), ("CLIENT2", "FIX.4.4", "ACC2"),
             ("CLIENT3", "FIX.4.2", "ACC3"))


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(
    directory: Path,
    port: int,
    *,
    audit_mode: str = "off",
    audit_writer: str = "thread",
    store: str = "memory",
    message_log: str = "none",
    extra_toml: str = "",
) -> Path:
    """A test configuration file in `directory`; returns its path."""
    instruments = REPOSITORY_ROOT / "config" / "instruments.csv"
    lines = [
        f'instruments = "{instruments}"',
        f'data_directory = "{directory / "var"}"',
        "",
        "[fix]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'comp_id = "OMS"',
        f'store = "{store}"',
        f'log = "{message_log}"',
        "heartbeat_seconds = 30",
    ]
    for sender, begin_string, account in _SESSIONS:
        lines += ["", "[[fix.sessions]]", f'sender_comp_id = "{sender}"',
                  f'begin_string = "{begin_string}"', f'accounts = ["{account}"]',
                  f'default_account = "{account}"']
    for _, _, account in _SESSIONS:
        lines += ["", f"[accounts.{account}]", "max_order_quantity = 100000",
                  'max_order_notional = "10000000"', 'price_band_percent = "10"',
                  "max_open_orders = 50000", "max_position = 1000000",
                  'max_daily_notional = "500000000"']
    lines += ["", "[venues.embedded]", 'kind = "embedded"', "", "[routing]",
              'default = "embedded"', "", "[audit]", f'directory = "{directory / "audit"}"',
              f'mode = "{audit_mode}"', f'writer = "{audit_writer}"', "", "[metrics]",
              "enabled = false", "",
              "[admin]", f"port = {free_port()}", ""]
    path = directory / "oms-test.toml"
    path.write_text("\n".join(lines) + extra_toml, encoding="utf-8")
    return path


class RunningOms:
    """Runtime and client acceptor, started on enter and stopped (cleanly) on exit."""

    def __init__(self, directory: Path, **config_options: str) -> None:
        self.port = free_port()
        self.config_path = write_config(directory, self.port, **config_options)
        self.config: OmsConfig = load_config(self.config_path)
        self.runtime = Runtime(self.config)
        self.acceptor = ClientAcceptor(self.config, self.runtime)

    def start(self) -> RunningOms:
        self.runtime.start()
        self.acceptor.start()
        return self

    def stop(self) -> None:
        self.acceptor.stop()
        self.runtime.stop()

    def client(self, sender_comp_id: str = "CLIENT1") -> FixTestClient:
        """A test client for one of the configured sessions, not yet connected."""
        begin_string = next(b for s, b, _ in _SESSIONS if s == sender_comp_id)
        return FixTestClient(self.port, sender_comp_id, begin_string)

    def __enter__(self) -> RunningOms:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
