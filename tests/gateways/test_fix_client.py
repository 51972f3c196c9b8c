"""`oms order`, the trader's FIX client: its lines, its requests, and the real command run
against a running acceptor."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest
from running_oms import RunningOms, free_port

from gateways.fix.client import UsageError, describe, new_order_fields, order_terms
from gateways.fix.fields import read_fields
from gateways.fix.initiator import Received
from gateways.fix.wire import SOH
from oms.cli import build_parser
from oms.config import REPOSITORY_ROOT


def received(*fields: str) -> Received:
    raw = SOH.join(["8=FIX.4.4", *fields]) + SOH
    parsed = read_fields(raw, "FIX.4.4")
    return Received(parsed[35], parsed, raw)


class TestLines:
    def test_a_fill_reads_as_one_line_in_fix_words(self) -> None:
        line = describe(received("35=8", "11=A1", "37=O2", "150=F", "39=1", "54=1", "55=AAPL",
                                 "38=100", "44=190.00", "14=40", "151=60", "32=40",
                                 "31=190.00", "6=190.000000"))
        assert line == (
            "ExecutionReport ClOrdID=A1 OrderID=O2 ExecType=Trade OrdStatus=Partially Filled "
            "Side=Buy Symbol=AAPL OrderQty=100 Price=190.00 CumQty=40 LeavesQty=60 "
            "LastQty=40@190.00 AvgPx=190.000000"
        )

    def test_a_fix_4_2_fill_names_its_exec_type(self) -> None:
        line = describe(received("35=8", "11=A1", "150=1", "39=1", "32=5", "31=1"), fix42=True)
        assert "ExecType=Partial fill" in line and "LastQty=5@1" in line

    def test_a_reject_names_its_reason_and_text(self) -> None:
        line = describe(received("35=8", "11=A1", "37=NONE", "150=8", "39=8", "103=15",
                                 "58=Account(1) X is not known"))
        assert "OrdRejReason=Unknown account Text=Account(1) X is not known" in line

    def test_a_cancel_reject_a_session_reject_and_a_business_reject(self) -> None:
        assert describe(received("35=9", "11=C1", "41=A1", "37=NONE", "39=8", "434=1",
                                 "102=1", "58=unknown order")) == (
            "OrderCancelReject ClOrdID=C1 OrigClOrdID=A1 OrderID=NONE OrdStatus=Rejected "
            "CxlRejResponseTo=Cancel CxlRejReason=Unknown order Text=unknown order"
        )
        assert describe(received("35=3", "45=2", "372=D", "371=54", "373=1",
                                 "58=Required tag missing")) == (
            "Reject RefSeqNum=2 RefMsgType=D RefTagID=54 SessionRejectReason=1 "
            "Text=Required tag missing"
        )
        assert describe(received("35=j", "45=3", "372=c", "380=3")) == (
            "BusinessMessageReject RefSeqNum=3 RefMsgType=c "
            "BusinessRejectReason=Unsupported message type"
        )


class TestRequests:
    def arguments(self, *words: str) -> argparse.Namespace:
        return build_parser().parse_args(["order", *words])

    def test_a_price_makes_a_limit_order_and_none_a_market_order(self) -> None:
        limit = dict(new_order_fields(self.arguments("new", "buy", "100", "AAPL", "190"), "A"))
        market = dict(new_order_fields(self.arguments("new", "sell", "5", "AAPL"), "B"))
        assert (limit[40], limit[44], limit[54], limit[59]) == ("2", "190", "1", "0")
        assert (market[40], market[54]) == ("1", "2") and 44 not in market

    def test_a_gtd_stop_limit_order_carries_stop_px_and_expire_time(self) -> None:
        fields = dict(new_order_fields(self.arguments(
            "new", "short", "10", "AAPL", "189", "--type", "stop-limit", "--stop", "189.5",
            "--tif", "gtd", "--expire", "20300101-20:00:00", "--account", "ACC1"), "A"))
        assert (fields[40], fields[99], fields[59], fields[126], fields[1], fields[54]) == (
            "4", "189.5", "6", "20300101-20:00:00", "ACC1", "5"
        )

    @pytest.mark.parametrize("wait", ["0", "-1", "nan", "inf", "soon"])
    def test_a_wait_that_is_not_above_0_seconds_is_refused(
        self, wait: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as exited:
            self.arguments("--wait", wait, "status", "X")
        assert exited.value.code == 2
        assert "argument --wait" in capsys.readouterr().err

    def test_a_cancel_given_side_and_symbol_asks_the_oms_nothing_first(self) -> None:
        class Silent:
            def send(self, *arguments: object) -> int:
                raise AssertionError("a status request was sent")

        args = self.arguments("cancel", "A1", "--side", "sell", "--symbol", "MSFT")
        terms = order_terms(Silent(), args, False)  # type: ignore[arg-type]
        assert terms == {54: "2", 55: "MSFT"}

    @pytest.mark.parametrize(
        ("words", "problem"),
        [(("new", "buy", "1", "AAPL", "--type", "limit"), "needs a price"),
         (("new", "buy", "1", "AAPL", "190", "--type", "market"), "takes no price"),
         (("new", "buy", "1", "AAPL", "--type", "stop"), "needs --stop"),
         (("new", "buy", "1", "AAPL", "190", "--tif", "gtd"), "needs --expire"),
         (("new", "buy", "1", "AAPL", "190", "--tif", "gtd", "--expire", "tomorrow"),
          "is not YYYYMMDD")],
    )
    def test_arguments_that_do_not_make_an_order_are_refused(
        self, words: tuple[str, ...], problem: str
    ) -> None:
        with pytest.raises(UsageError, match=problem):
            new_order_fields(self.arguments(*words), "A")


@pytest.fixture(scope="module")
def oms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOms]:
    with RunningOms(tmp_path_factory.mktemp("oms")) as running:
        yield running


def oms_order(port: int, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oms.cli", "order", "--port", str(port), "--wait", "5", *words],
        capture_output=True, text=True, timeout=30, cwd=REPOSITORY_ROOT,
    )


class TestCommand:
    def test_oms_order_new_prints_the_acknowledgement(self, oms: RunningOms) -> None:
        run = oms_order(oms.port, "new", "buy", "100", "AAPL", "185.00", "--cl-ord-id", "CLI-1")
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith(
            "ExecutionReport ClOrdID=CLI-1 OrderID=O"
        ), run.stdout
        assert "ExecType=New OrdStatus=New Side=Buy Symbol=AAPL OrderQty=100 Price=185.00 " \
               "CumQty=0 LeavesQty=100 AvgPx=0" in run.stdout

    def test_oms_order_replace_then_cancel_restate_the_order_and_print_only_their_answers(
        self, oms: RunningOms
    ) -> None:
        placed = oms_order(oms.port, "new", "buy", "50", "AAPL", "184.00", "--cl-ord-id", "CLI-2")
        assert placed.returncode == 0, placed.stderr
        replaced = oms_order(oms.port, "replace", "CLI-2", "40", "184.10", "--cl-ord-id",
                             "CLI-3")
        assert replaced.returncode == 0, replaced.stdout + replaced.stderr
        lines = replaced.stdout.splitlines()
        assert len(lines) == 2, replaced.stdout
        assert "ExecType=Pending Replace" in lines[0]
        assert "ExecType=Replaced" in lines[1] and "OrderQty=40 Price=184.10" in lines[1]

        canceled = oms_order(oms.port, "cancel", "CLI-3")
        assert canceled.returncode == 0, canceled.stdout + canceled.stderr
        assert "ExecType=Order Status" not in canceled.stdout
        assert "ExecType=Canceled OrdStatus=Canceled" in canceled.stdout.splitlines()[-1]

        again = oms_order(oms.port, "cancel", "CLI-3")
        assert again.returncode == 1
        assert "OrderCancelReject" in again.stdout and "Too late to cancel" in again.stdout

    @pytest.mark.parametrize(("words", "response_to"),
                             [(("cancel", "NOSUCH"), "Cancel"),
                              (("replace", "NOSUCH", "10", "185.00"), "Replace")])
    def test_oms_order_cancel_or_replace_of_an_unknown_order_sends_it_and_prints_the_reject(
        self, oms: RunningOms, words: tuple[str, ...], response_to: str
    ) -> None:
        run = oms_order(oms.port, *words, "--cl-ord-id", f"CLI-{response_to}")
        assert run.returncode == 1
        assert run.stdout == (
            f"OrderCancelReject ClOrdID=CLI-{response_to} OrigClOrdID=NOSUCH OrderID=NONE "
            f"OrdStatus=Rejected CxlRejResponseTo={response_to} CxlRejReason=Unknown order "
            "Text=unknown order\n"
        )

    def test_oms_order_cancel_with_side_and_symbol_given_looks_nothing_up(
        self, oms: RunningOms
    ) -> None:
        placed = oms_order(oms.port, "new", "sell", "5", "AAPL", "195.00", "--cl-ord-id", "CLI-4")
        assert placed.returncode == 0, placed.stderr
        canceled = oms_order(oms.port, "cancel", "CLI-4", "--side", "sell", "--symbol", "AAPL")
        assert canceled.returncode == 0, canceled.stdout + canceled.stderr
        assert "ExecType=Canceled" in canceled.stdout

    def test_oms_order_status_of_an_unknown_order_exits_1(self, oms: RunningOms) -> None:
        run = oms_order(oms.port, "status", "NO-SUCH-ORDER")
        assert run.returncode == 1
        assert "OrdStatus=Rejected" in run.stdout and "OrdRejReason=Unknown order" in run.stdout

    def test_oms_order_on_fix_4_2_speaks_fix_4_2(self, oms: RunningOms) -> None:
        run = subprocess.run(
            [sys.executable, "-m", "oms.cli", "order", "--port", str(oms.port), "--fix", "4.2",
             "--sender", "CLIENT3", "new", "buy", "10", "MSFT", "400.00"],
            capture_output=True, text=True, timeout=30, cwd=REPOSITORY_ROOT,
        )
        assert run.returncode == 0, run.stderr
        assert "ExecType=New OrdStatus=New" in run.stdout

    def test_oms_order_with_no_answer_in_time_names_the_cl_ord_id_it_sent(
        self, oms: RunningOms, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The OMS logs the client on, then never hears of its request.
        monkeypatch.setattr(oms.runtime, "submit", lambda command: None)
        run = subprocess.run(
            [sys.executable, "-m", "oms.cli", "order", "--port", str(oms.port), "--wait",
             "0.5", "new", "buy", "1", "AAPL", "185.00", "--cl-ord-id", "CLI-LOST"],
            capture_output=True, text=True, timeout=30, cwd=REPOSITORY_ROOT,
        )
        assert run.returncode == 2
        assert "no answer within 0.5 s to ClOrdID CLI-LOST (CLIENT1); ask later with: " \
               "oms order status CLI-LOST" in run.stderr

    def test_oms_order_as_a_fix_4_2_session_on_fix_4_4_hints_at_fix_4_2(
        self, oms: RunningOms
    ) -> None:
        run = subprocess.run(
            [sys.executable, "-m", "oms.cli", "order", "--port", str(oms.port), "--config",
             str(oms.config_path), "--sender", "CLIENT3", "status", "X"],
            capture_output=True, text=True, timeout=30, cwd=REPOSITORY_ROOT,
        )
        assert run.returncode == 2
        assert "no Logon answer" in run.stderr
        assert "hint: CLIENT3 is a FIX.4.2 session in " in run.stderr
        assert "add --fix 4.2" in run.stderr

    def test_oms_order_without_an_acceptor_exits_2(self) -> None:
        run = oms_order(free_port(), "status", "X")
        assert run.returncode == 2
        assert "cannot connect" in run.stderr
