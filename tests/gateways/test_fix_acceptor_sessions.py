"""The client acceptor's sessions: logons it refuses, connections it drops, metrics, the
masked message log, a client that stops reading, shutdown, and the durable audit log."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixclient import RawFixConnection
from running_oms import RunningOms

from oms.events import EventKind


@pytest.fixture
def oms(tmp_path: Path) -> Iterator[RunningOms]:
    with RunningOms(tmp_path) as running:
        yield running


def logged_on(oms: RunningOms) -> frozenset[str]:
    return oms.acceptor.sessions.logged_on


def sample(oms: RunningOms, name: str, labels: dict[str, str] | None = None) -> float:
    value = oms.runtime.metrics.registry.get_sample_value(name, labels)
    return value if value is not None else 0.0


def settled_sample(oms: RunningOms, name: str, expected: float,
                   labels: dict[str, str] | None = None, timeout: float = 3.0) -> float:
    """The sample once it equals `expected`, or when `timeout` passes: the acceptor counts
    a logon, and an answer's latency, only after its message has gone out, so a client can
    hear it first (the OMS runs in the test's process)."""
    deadline = time.monotonic() + timeout
    while sample(oms, name, labels) != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return sample(oms, name, labels)


class TestLogons:
    def test_a_reset_logon_whose_msg_seq_num_is_not_1_is_logged_out(
        self, oms: RunningOms
    ) -> None:
        raw = RawFixConnection(oms.port)
        raw.logon(seq_num=5)
        answers = [raw.receive(3), raw.receive(3)]
        logout = next(m for m in answers if m is not None and m.msg_type == "5")
        assert "MsgSeqNum(34)=1" in (logout.get(58) or "")
        assert raw.receive(3) is None and raw.closed
        assert logged_on(oms) == frozenset()

    def test_a_second_logon_on_a_logged_on_session_logs_it_out(self, oms: RunningOms) -> None:
        raw = RawFixConnection(oms.port)
        raw.logon()
        first = raw.receive()
        assert first is not None and first.msg_type == "A"
        raw.logon(seq_num=2)
        logout = raw.receive()
        assert logout is not None and logout.msg_type == "5"
        assert "already logged on" in (logout.get(58) or "")
        assert raw.receive(3) is None and raw.closed

    def test_a_second_connection_for_a_logged_on_session_is_dropped_and_the_first_trades_on(
        self, oms: RunningOms
    ) -> None:
        with oms.client("CLIENT1") as client:
            intruder = RawFixConnection(oms.port)
            intruder.logon()
            # quickfix waits up to 5 s for the session to free up, then drops the socket.
            assert intruder.receive(8) is None and intruder.closed
            cl_ord_id = client.new_order(price="185.00")
            assert client.expect("8", {11: cl_ord_id})[150] == "0"
            assert client.is_logged_on

    def test_an_unknown_comp_id_is_disconnected_without_an_answer(self, oms: RunningOms) -> None:
        raw = RawFixConnection(oms.port, sender_comp_id="NOBODY")
        raw.logon()
        assert raw.receive(3) is None and raw.closed

    def test_a_reset_logon_after_reports_were_missed_warns_that_they_are_lost(
        self, oms: RunningOms, caplog: pytest.LogCaptureFixture
    ) -> None:
        with oms.client("CLIENT1") as client:
            resting = client.new_order("1", "10", "TSLA", "250.00")
            client.expect("8", {11: resting, 150: "0"})
        with oms.client("CLIENT2") as seller:
            sell = seller.new_order("2", "10", "TSLA", "250.00")
            seller.expect("8", {11: sell, 150: "F"})
        # CLIENT1's fill leaves on its own outbox thread, maybe after CLIENT2 heard of it.
        deadline = time.monotonic() + 10
        while oms.acceptor.sessions.undelivered("CLIENT1") < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The fill, and whatever earlier tests on this OMS left for CLIENT1.
        missed = oms.acceptor.sessions.undelivered("CLIENT1")
        assert missed >= 1
        with caplog.at_level(logging.WARNING), oms.client("CLIENT1"):
            pass
        assert any(f"the {missed} reports sent while it was logged out" in r.getMessage()
                   for r in caplog.records)


def warned(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 3.0) -> str:
    """The first WARNING containing `text`, once logged (quickfix's event log is read on a
    thread of its own); AssertionError listing the warnings if none comes in time."""
    deadline = time.monotonic() + timeout
    while True:
        for record in caplog.records:
            if record.levelno == logging.WARNING and text in record.getMessage():
                return record.getMessage()
        if time.monotonic() > deadline:
            seen = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
            raise AssertionError(f"no warning with {text!r}; warnings: {seen}")
        time.sleep(0.05)


def framed(body: bytes, checksum: int | None = None) -> bytes:
    """A FIX 4.4 message around `body`, its CheckSum(10) computed unless given."""
    text = b"8=FIX.4.4\x019=" + str(len(body)).encode() + b"\x01" + body
    return text + b"10=%03d\x01" % (sum(text) % 256 if checksum is None else checksum)


def heartbeat(seq_num: int, extra: bytes = b"") -> bytes:
    sent = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()).encode()
    return (b"35=0\x0149=CLIENT1\x0156=OMS\x0134=%d\x0152=" % seq_num) + sent + b"\x01" + extra


class TestWhatQuickfixRefusesOnItsOwn:
    """Connections and messages no callback sees are each logged as one WARNING."""

    @pytest.mark.parametrize(
        ("sender", "target", "begin_string", "reason"),
        [
            ("NOBODY", "OMS", "FIX.4.4", "SenderCompID(49) NOBODY is not a configured client"),
            ("CLIENT1", "XX", "FIX.4.4", "TargetCompID(56) XX is not OMS"),
            ("CLIENT3", "OMS", "FIX.4.4",
             "BeginString(8) FIX.4.4 is not the one of CLIENT3's session (FIX.4.2)"),
        ],
    )
    def test_a_logon_naming_no_session_is_dropped_and_logged_with_the_peer_and_why(
        self, oms: RunningOms, caplog: pytest.LogCaptureFixture, sender: str, target: str,
        begin_string: str, reason: str,
    ) -> None:
        with caplog.at_level(logging.WARNING):
            raw = RawFixConnection(oms.port, sender, target, begin_string)
            raw.logon()
            assert raw.receive(3) is None and raw.closed
            line = warned(caplog, "FIX logon refused")
        assert line.startswith("FIX logon refused: peer=127.0.0.1 reason=")
        assert reason in line

    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (framed(heartbeat(2), checksum=1), "Invalid message: Expected CheckSum=1"),
            (framed(heartbeat(2, b"abc=1\x01")), "Field tag is invalid: abc"),
        ],
    )
    def test_a_message_quickfix_drops_is_logged_with_the_session_and_why(
        self, oms: RunningOms, caplog: pytest.LogCaptureFixture, data: bytes, reason: str
    ) -> None:
        raw = RawFixConnection(oms.port)
        raw.logon()
        assert raw.receive() is not None
        with caplog.at_level(logging.WARNING):
            raw.send_bytes(data)
            line = warned(caplog, "FIX message dropped")
        assert line.startswith("FIX message dropped: session=FIX.4.4:OMS->CLIENT1 reason=")
        assert reason in line
        raw.close()

    @pytest.mark.parametrize("interval", ["-5", "3601"])
    def test_a_logon_with_a_heartbeat_out_of_range_is_logged_out_naming_the_tag(
        self, oms: RunningOms, caplog: pytest.LogCaptureFixture, interval: str
    ) -> None:
        with caplog.at_level(logging.WARNING):
            raw = RawFixConnection(oms.port)
            raw.logon(heartbeat=interval)
            logout = raw.receive()
            assert logout is not None and logout.msg_type == "5"
            assert f"HeartBtInt(108) {interval} is out of range: 0 to 3600 seconds" in logout[58]
            assert raw.receive(3) is None and raw.closed
            warned(caplog, "logon refused: session=FIX.4.4:OMS->CLIENT1")
        assert logged_on(oms) == frozenset()

    def test_quickfix_writes_no_message_to_disk_passwords_included(
        self, oms: RunningOms
    ) -> None:
        raw = RawFixConnection(oms.port, sender_comp_id="NOBODY")
        raw.logon(extra=[(554, "hunter2")])
        assert raw.receive(3) is None
        # quickfix's event log quotes the refused Logon whole: it goes through pipes.
        events = Path(oms.config.data_directory) / "fix" / "events"
        for path in events.iterdir():
            if path.name.endswith(".messages.current.log"):
                assert path.is_symlink() and os.readlink(path) == os.devnull
            else:
                assert path.is_fifo(), path


class TestMetrics:
    def test_logged_on_sessions_are_counted(self, oms: RunningOms) -> None:
        labels = {"side": "client"}
        assert sample(oms, "oms_fix_sessions_logged_on", labels) == 0
        with oms.client("CLIENT1"), oms.client("CLIENT3"):
            assert settled_sample(oms, "oms_fix_sessions_logged_on", 2, labels) == 2
        assert settled_sample(oms, "oms_fix_sessions_logged_on", 0, labels) == 0

    def test_every_answered_request_observes_its_ack_latency(self, oms: RunningOms) -> None:
        with oms.client("CLIENT1") as client:
            answered = [client.new_order(price="185.00"), client.new_order(ord_type="P")]
            client.status("NO-SUCH-ORDER")
            for cl_ord_id in [*answered, "NO-SUCH-ORDER"]:
                client.expect("8", {11: cl_ord_id})
            assert settled_sample(oms, "oms_ack_latency_seconds_count", 3) == 3
            assert 0 < sample(oms, "oms_ack_latency_seconds_sum") < 3


class TestMessageLog:
    def test_the_message_log_writes_both_directions_with_passwords_masked(
        self, tmp_path: Path
    ) -> None:
        with RunningOms(tmp_path, message_log="file") as oms:
            raw = RawFixConnection(oms.port)
            raw.logon(extra=[(553, "trader"), (554, "hunter2")])
            assert raw.receive() is not None
            raw.send("5", 2, [])
            assert raw.receive() is not None
            # Stopped only once quickfix has hung up, or stopping would send a Logout too.
            assert raw.receive(3) is None and raw.closed
            deadline = time.monotonic() + 3
            while logged_on(oms) and time.monotonic() < deadline:
                time.sleep(0.01)
        log_file = tmp_path / "var" / "fix" / "log" / "FIX.4.4-OMS-CLIENT1.messages.log"
        text = log_file.read_text()
        assert "hunter2" not in text
        assert "|554=***|" in text and "|553=trader|" in text
        assert [line.split()[1] for line in text.splitlines()] == ["in", "out", "in", "out"]


class TestSlowClient:
    def test_a_client_that_stops_reading_does_not_stall_the_engine_or_other_clients(
        self, oms: RunningOms
    ) -> None:
        slow = RawFixConnection(oms.port, sender_comp_id="CLIENT2")
        slow.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.logon()
        assert slow.receive() is not None
        # Orders that each earn a report, and never a read again.
        count = 3000
        for seq_num in range(2, count + 2):
            slow.send("D", seq_num, [(11, f"SLOW-{seq_num}"), (21, "1"), (55, "NVDA"),
                                     (54, "1"), (60, "20240603-13:30:00"), (38, "1"),
                                     (40, "2"), (44, "110.00")])
        with oms.client("CLIENT1") as client:
            started = time.monotonic()
            cl_ord_id = client.new_order(price="185.00")
            client.expect("8", {11: cl_ord_id, 150: "0"}, timeout=10)
            round_trip = time.monotonic() - started
        oms.runtime.flush()
        outbox = oms.acceptor.sessions._outboxes["CLIENT2"]
        assert outbox.backlog > 0, "the slow client's reports should be waiting"
        assert round_trip < 2.0
        slow.close()


class TestShutdown:
    def test_stopping_the_acceptor_logs_clients_out_with_a_reason(self, tmp_path: Path) -> None:
        oms = RunningOms(tmp_path).start()
        client = oms.client("CLIENT1")
        try:
            client.connect()
            oms.acceptor.stop()
            logout = client.expect("5", timeout=5)
            assert "shutting down" in (logout.get(58) or "")
        finally:
            client.close()
            oms.stop()


class TestDurableAuditLog:
    def test_with_the_durable_audit_log_reports_follow_their_events_to_disk(
        self, tmp_path: Path
    ) -> None:
        from compliance.audit.reader import read_events

        with RunningOms(tmp_path, audit_mode="durable") as oms, oms.client("CLIENT1") as client:
            cl_ord_id = client.new_order(price="185.00")
            ack = client.expect("8", {11: cl_ord_id, 150: "0"})
            kinds = [e.kind for e in read_events(tmp_path / "audit") if e.cl_ord_id == cl_ord_id]
            assert kinds[:3] == [EventKind.NEW_REQUESTED, EventKind.PENDING_NEW,
                                 EventKind.ACCEPTED]
            written = next(e for e in read_events(tmp_path / "audit")
                           if e.kind is EventKind.NEW_REQUESTED and e.cl_ord_id == cl_ord_id)
            assert written.fix is not None and written.fix.sender_comp_id == "CLIENT1"
            assert f"11={cl_ord_id}" in (written.fix.raw or "")
            assert ack[37] == next(e.order_id for e in read_events(tmp_path / "audit")
                                   if e.kind is EventKind.ACCEPTED and e.cl_ord_id == cl_ord_id)

    def test_a_request_the_acceptor_refuses_is_in_the_audit_log_with_its_text(
        self, tmp_path: Path
    ) -> None:
        from compliance.audit.reader import read_events

        with RunningOms(tmp_path, audit_mode="durable") as oms, oms.client("CLIENT1") as client:
            cl_ord_id = client.new_order(ord_type="P")
            rejected = client.expect("8", {11: cl_ord_id, 150: "8"})
            # The answer left only once its record was durable: it is on disk already.
            logged = [e for e in read_events(tmp_path / "audit") if e.cl_ord_id == cl_ord_id]

        assert [e.kind for e in logged] == [EventKind.REQUEST_REFUSED]
        refused = logged[0]
        assert refused.text == rejected[58] and refused.text.startswith("OrdType(40) P")
        assert refused.ord_rej_reason == int(rejected[103])
        assert refused.session == "CLIENT1" and refused.received_ns > 0
        raw = refused.fix.raw if refused.fix is not None else None
        assert raw is not None and f"\x0111={cl_ord_id}\x01" in raw and "\x0140=P\x01" in raw

    def test_a_refusal_is_answered_only_once_its_record_is_durable(
        self, tmp_path: Path
    ) -> None:
        # The writer process can be stopped from here, which holds back durability.
        with RunningOms(tmp_path, audit_mode="durable", audit_writer="process") as oms, \
                oms.client("CLIENT1") as client:
            writer = oms.runtime.audit_writer_pid
            assert writer is not None
            os.kill(writer, signal.SIGSTOP)
            try:
                cl_ord_id = client.new_order(ord_type="P")
                # The writer is stopped, so nothing can become durable, nor be answered.
                client.expect_nothing("8", {11: cl_ord_id}, timeout=1.0)
            finally:
                os.kill(writer, signal.SIGCONT)
            client.expect("8", {11: cl_ord_id, 150: "8"})
