"""`oms venue` as its own process: it says where it listens, answers a FIX 4.4 client
(the OMS's side of the session) and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from fixclient import FixTestClient
from running_oms import free_port

from oms.config import REPOSITORY_ROOT


def test_oms_venue_listens_answers_a_new_order_and_a_status_request_and_stops_on_sigterm(
) -> None:
    port = free_port()
    venue = subprocess.Popen(
        [sys.executable, "-m", "oms.cli", "venue", "--port", str(port)],
        cwd=REPOSITORY_ROOT, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert venue.stderr is not None
        ready = venue.stderr.readline()
        deadline = time.monotonic() + 10
        while "venue ready" not in ready and time.monotonic() < deadline:
            ready = venue.stderr.readline()
        assert f"on port {port}" in ready and "as VENUE for OMS" in ready

        # The OMS's side of the session: SenderCompID OMS, TargetCompID VENUE.
        with FixTestClient(port, "OMS", target_comp_id="VENUE") as oms_side:
            oms_side.new_order("1", "100", "AAPL", "190.00", cl_ord_id="O5.0",
                               account="ACC1")
            ack = oms_side.expect("8", {11: "O5.0", 150: "0"})
            assert (ack[39], ack[151], ack[14]) == ("0", "100", "0")
            oms_side.status("O5.0")
            status = oms_side.expect("8", {150: "I"})
            assert (status[37], status[11], status[39]) == (ack[37], "O5.0", "0")
            oms_side.status("O6.0")
            unknown = oms_side.expect("8", {11: "O6.0", 150: "I"})
            assert (unknown[37], unknown[39], unknown[103]) == ("NONE", "8", "5")
    finally:
        venue.send_signal(signal.SIGTERM)
        assert venue.wait(timeout=10) == 0
