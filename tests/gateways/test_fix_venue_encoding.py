"""A venue that sends bytes that are not UTF-8: a raw socket plays the venue, so the bytes
reach the adapter as they were sent. Its report is applied (a fill is a fill) with those
bytes escaped, a warning names the tag, and the OMS neither halts nor loses the report."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixclient import RawFixConnection
from running_oms import RunningOms
from scripted_fix_venue import wait_for

from gateways.fix.initiator import Received
from gateways.fix.venue import FixVenue, LinkState


class RawVenue:
    """Listens for the OMS's venue session and answers it by hand."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.link: RawFixConnection | None = None
        self.seq_num = 0

    def toml(self) -> str:
        return (f'\n[venues.RAWVENUE]\nkind = "fix"\nport = {self.port}\n'
                'reconnect_seconds = 1\n\n[routing.symbols]\nAAPL = "RAWVENUE"\n')

    def accept_logon(self) -> None:
        self.server.settimeout(15)
        accepted, _ = self.server.accept()
        self.link = RawFixConnection(0, "VENUE", "OMS", accepted=accepted)
        logon = self.expect("A")
        assert logon[141] == "Y"
        self.send("A", [(98, "0"), (108, "30"), (141, "Y")])

    def expect(self, msg_type: str) -> Received:
        assert self.link is not None
        deadline = time.monotonic() + 10
        while (left := deadline - time.monotonic()) > 0:
            message = self.link.receive(left)
            if message is not None and message.msg_type == msg_type:
                return message
        raise AssertionError(f"the OMS sent no {msg_type}")

    def send(self, msg_type: str, fields: list[tuple[int, str | bytes]]) -> None:
        assert self.link is not None
        self.seq_num += 1
        self.link.send(msg_type, self.seq_num, fields)

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.server.close()


@pytest.fixture
def venue() -> Iterator[RawVenue]:
    raw = RawVenue()
    yield raw
    raw.close()


def test_a_fill_whose_text_is_not_utf8_is_applied_with_the_bytes_escaped(
    tmp_path: Path, venue: RawVenue, caplog: pytest.LogCaptureFixture
) -> None:
    with RunningOms(tmp_path, audit_mode="durable", extra_toml=venue.toml()) as oms:
        venue.accept_logon()
        adapter = oms.runtime.engine.venues["RAWVENUE"]
        assert isinstance(adapter, FixVenue)
        wait_for(lambda: adapter.state is LinkState.READY, 15.0, "the venue link")
        with oms.client("CLIENT1") as client, caplog.at_level(logging.WARNING):
            cl_ord_id = client.new_order("1", "100", "AAPL", "190.00")
            order = venue.expect("D")
            report = [(37, "V1"), (11, order[11]), (150, "F"), (39, "2"),
                      (55, "AAPL"), (54, "1"), (38, "100"), (44, "190.00"), (32, "100"),
                      (31, "190.00"), (14, "100"), (151, "0"), (6, "190.00"),
                      (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()))]
            venue.send("8", [(17, b"X1\xe9"), *report, (58, b"filled at caf\xe9")])

            fill = client.expect("8", {11: cl_ord_id, 150: "F"})
            assert (fill[32], fill[39]) == ("100", "2")
            assert fill[58] == "filled at caf\\xe9"
            assert any(
                "venue RAWVENUE sent ExecID(17) that is not valid UTF-8" in r.getMessage()
                for r in caplog.records
            )
            # The same report again is the same ExecID once escaped: applied once.
            venue.send("8", [(17, b"X1\xe9"), *report, (58, b"filled at caf\xe9")])
            client.expect_nothing("8", {11: cl_ord_id, 150: "F"}, timeout=1.0)
        oms.runtime.flush()
        assert oms.runtime.halted is None
