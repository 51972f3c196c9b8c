"""Bytes that are not UTF-8, sent over a raw socket to a running OMS with a durable audit
log: each message is refused with a session Reject naming the tag, before the engine sees
it, and the OMS keeps trading; valid UTF-8 comes back as the very bytes it was sent as."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixclient import RawFixConnection
from running_oms import RunningOms

from gateways.fix.initiator import Received


@pytest.fixture(scope="module")
def oms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOms]:
    with RunningOms(tmp_path_factory.mktemp("oms"), audit_mode="durable") as running:
        yield running


class Raw:
    """A logged-on raw connection that numbers its messages."""

    def __init__(self, oms: RunningOms, sender: str, begin_string: str) -> None:
        self.connection = RawFixConnection(oms.port, sender, begin_string=begin_string)
        self.connection.logon()
        logon = self.connection.receive()
        assert logon is not None and logon.msg_type == "A"
        self.seq_num = 1

    def send(self, msg_type: str, fields: list[tuple[int, str | bytes]]) -> int:
        self.seq_num += 1
        self.connection.send(msg_type, self.seq_num, fields)
        return self.seq_num

    def answer(self, msg_type: str, timeout: float = 5.0) -> Received:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self.connection.receive(left)
            if message is None:
                break
            if message.msg_type == msg_type:
                return message
        raise AssertionError(f"no {msg_type} within {timeout:g} s")


@pytest.fixture
def client2(oms: RunningOms) -> Iterator[Raw]:
    raw = Raw(oms, "CLIENT2", "FIX.4.4")
    yield raw
    raw.connection.close()


def new_order(cl_ord_id: str | bytes, symbol: str | bytes = "AAPL",
              extra: list[tuple[int, str | bytes]] | None = None
              ) -> list[tuple[int, str | bytes]]:
    return [(11, cl_ord_id), (21, "1"), (55, symbol), (54, "1"),
            (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime())), (38, "10"), (40, "2"),
            (44, "185.00"), *(extra or [])]


def trades_on(oms: RunningOms, raw: Raw, cl_ord_id: str) -> None:
    """The OMS is not halted and the session takes a valid order."""
    raw.send("D", new_order(cl_ord_id))
    ack = raw.answer("8")
    assert (ack[11], ack[150]) == (cl_ord_id, "0")
    assert oms.runtime.halted is None


class TestBytesThatAreNotUtf8:
    @pytest.mark.parametrize(
        ("tag", "name", "fields"),
        [
            (55, "Symbol(55)", new_order("U1", b"AAPL\xe9")),
            (11, "ClOrdID(11)", new_order(b"U2\xe9")),
            # Text(58) is read by nobody, but it is in the message the audit log keeps.
            (58, "Text(58)", new_order("U3", extra=[(58, b"caf\xe9")])),
        ],
    )
    def test_a_new_order_is_refused_with_a_session_reject_naming_the_tag(
        self, oms: RunningOms, client2: Raw, tag: int, name: str,
        fields: list[tuple[int, str | bytes]],
    ) -> None:
        seq_num = client2.send("D", fields)
        reject = client2.answer("3")
        assert (reject[45], reject[371], reject[372], reject[373]) == (
            str(seq_num), str(tag), "D", "6"
        )
        assert reject[58] == f"{name} is not valid UTF-8"
        trades_on(oms, client2, f"U-ok-{tag}")

    def test_a_status_request_is_refused_naming_the_tag(
        self, oms: RunningOms, client2: Raw
    ) -> None:
        seq_num = client2.send("H", [(11, b"X\xe9"), (54, "1")])
        reject = client2.answer("3")
        assert (reject[45], reject[371], reject[372]) == (str(seq_num), "11", "H")
        assert reject[58] == "ClOrdID(11) is not valid UTF-8"
        trades_on(oms, client2, "U-ok-status")

    def test_a_fix_4_2_cancel_is_refused_naming_the_tag_by_its_fix_4_2_name(
        self, oms: RunningOms
    ) -> None:
        raw = Raw(oms, "CLIENT3", "FIX.4.2")
        try:
            raw.send("F", [(41, b"O\xff"), (11, "C1"), (55, "MSFT"), (54, "2"),
                           (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()))])
            reject = raw.answer("3")
            assert (reject[371], reject[58]) == ("41", "OrigClOrdID(41) is not valid UTF-8")
        finally:
            raw.connection.close()

    def test_nothing_of_a_refused_message_reaches_the_audit_log(
        self, oms: RunningOms, client2: Raw
    ) -> None:
        client2.send("D", new_order("U-audit", b"AAPL\xe9"))
        client2.answer("3")
        trades_on(oms, client2, "U-audit-ok")
        oms.runtime.flush()
        assert oms.runtime.halted is None

    def test_a_logon_carrying_them_is_refused_with_a_logout_naming_the_tag(
        self, oms: RunningOms
    ) -> None:
        raw = RawFixConnection(oms.port, "CLIENT1")
        raw.logon(extra=[(553, b"tr\xe9der")])
        logout = raw.receive()
        assert logout is not None and logout.msg_type == "5"
        assert logout[58].endswith("Username(553) is not valid UTF-8")
        raw.close()


class TestValidUtf8:
    def test_a_cl_ord_id_comes_back_as_the_bytes_it_was_sent_as(
        self, client2: Raw
    ) -> None:
        client2.send("D", new_order("W2é".encode()))
        ack = client2.answer("8")
        assert ack[11] == "W2é" and "\x0111=W2é\x01" in ack.raw

        client2.send("F", [(41, "W2é"), (11, "W2é-cancel"), (55, "AAPL"), (54, "1"),
                           (60, time.strftime("%Y%m%d-%H:%M:%S", time.gmtime()))])
        assert client2.answer("8")[41] == "W2é"

    def test_refusals_and_rejects_echo_it_unchanged(self, client2: Raw) -> None:
        client2.send("D", new_order("Ré-1", extra=[(18, "M")]))
        refused = client2.answer("8")
        assert (refused[11], refused[39]) == ("Ré-1", "8")

        client2.send("H", [(11, "Ré-none"), (54, "1")])
        unknown = client2.answer("8")
        assert unknown[11] == "Ré-none"

        client2.send("D", new_order("Ré-2", "ZZé"))
        denied = client2.answer("8")
        assert (denied[55], denied[58]) == ("ZZé", "Symbol(55) ZZé is not known")


def test_the_audit_log_kept_the_valid_text(oms: RunningOms, tmp_path: Path) -> None:
    from compliance.audit import query

    oms.runtime.flush()
    table = query.sql(oms.config.audit.directory,
                      "select fix_message from events where cl_ord_id = 'W2é'")
    assert any("\x0111=W2é\x01" in text for text in table.column(0).to_pylist())
