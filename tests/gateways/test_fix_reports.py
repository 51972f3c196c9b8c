"""Events to ExecutionReport and OrderCancelReject in the FIX 4.4 and 4.2 forms, each checked
against quickfix's data dictionary of its version."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from engine_harness import CLIENT1, CLIENT2, EmbeddedHarness, ScriptedHarness

from gateways.fix import reports
from gateways.fix.codec import Refusal, decode
from gateways.fix.fields import MessageFields, data_dictionary, read_fields, read_message
from gateways.fix.wire import build_message
from oms.commands import FixContext, StatusRequest
from oms.events import Event
from oms.model import ClOrdID, CxlRejReason, OrdRejReason, SessionID, Side

FIX44, FIX42 = "FIX.4.4", "FIX.4.2"
SOH = "\x01"


def on_the_wire(msg_type: str, fields: reports.Fields, begin_string: str) -> Mapping[int, str]:
    """The message as a client receives it, after its dictionary has validated it."""
    message = build_message(msg_type, fields)
    header = message.getHeader()
    for tag, value in ((8, begin_string), (49, "OMS"), (56, "CLIENT1"), (34, "2"),
                       (52, "20240603-13:30:00.000")):
        header.setField(tag, value)
    received = read_message(message.toString(), begin_string)
    data_dictionary(begin_string).validate(received)
    return MessageFields(received)


def wire(event: Event, begin_string: str = FIX44) -> Mapping[int, str]:
    return on_the_wire(*reports.encode(event, begin_string), begin_string)


@pytest.fixture
def crossed() -> tuple[list[Event], list[Event]]:
    """CLIENT1 buys 100 at 190.00, CLIENT2 sells 40 at 189.00: (CLIENT1's, CLIENT2's)."""
    h = EmbeddedHarness()
    h.new("B1", 100, "190.00")
    h.new("S1", 40, "189.00", side=Side.SELL, session=CLIENT2)
    return h.messages(CLIENT1), h.messages(CLIENT2)


class TestExecutionReport44:
    def test_new_states_the_order_and_its_quantities(
        self, crossed: tuple[list[Event], ...]
    ) -> None:
        new = wire(crossed[0][0])
        assert new[35] == "8" and (new[150], new[39]) == ("0", "0")
        assert (new[11], new[37], new[1]) == ("B1", crossed[0][0].order_id, "ACC1")
        assert (new[55], new[54], new[38], new[40], new[44], new[59]) == (
            "AAPL", "1", "100", "2", "190.00", "0"
        )
        assert (new[14], new[151], new[6]) == ("0", "100", "0")
        assert 20 not in new and 32 not in new

    def test_a_partial_fill_is_trade_with_last_qty_and_avg_px(
        self, crossed: tuple[list[Event], ...]
    ) -> None:
        trade = wire(crossed[0][1])
        assert (trade[150], trade[39]) == ("F", "1")
        assert (trade[32], trade[31], trade[14], trade[151]) == ("40", "190.00", "40", "60")
        assert trade[6] == "190.000000"

    def test_the_filled_side_is_trade_filled_with_nothing_left(
        self, crossed: tuple[list[Event], ...]
    ) -> None:
        trade = wire(crossed[1][1])
        assert (trade[150], trade[39], trade[14], trade[151]) == ("F", "2", "40", "0")

    def test_a_status_answer_is_order_status(self) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        h.status("B1")
        status = wire(h.messages()[-1])
        assert (status[150], status[39], status[11]) == ("I", "0", "B1")

    def test_cancel_reports_carry_orig_cl_ord_id(self) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        h.cancel("C1", "B1")
        pending, canceled = (wire(e) for e in h.messages()[-2:])
        assert (pending[150], pending[39], pending[11], pending[41]) == ("6", "6", "C1", "B1")
        assert (canceled[150], canceled[39], canceled[151]) == ("4", "4", "0")

    def test_a_denied_order_names_its_reason_and_text(self) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00", account="ZZZ")
        denied = wire(h.messages()[-1])
        assert (denied[150], denied[39], denied[103]) == ("8", "8", "15")
        assert "ZZZ" in denied[58]

    def test_a_restatement_carries_exec_restatement_reason(self) -> None:
        h = ScriptedHarness()
        h.working("B1", 100)
        h.venue.restated(80, reason=3)
        restated = wire(h.messages()[-1])
        assert (restated[150], restated[378], restated[38]) == ("D", "3", "80")


class TestExecutionReport42:
    def test_every_report_but_a_status_answer_has_exec_trans_type_new(
        self, crossed: tuple[list[Event], ...]
    ) -> None:
        for event in crossed[0] + crossed[1]:
            assert wire(event, FIX42)[20] == "0"

    def test_a_fill_is_partial_fill_or_fill_by_leaves_qty(
        self, crossed: tuple[list[Event], ...]
    ) -> None:
        partial, full = wire(crossed[0][1], FIX42), wire(crossed[1][1], FIX42)
        assert (partial[150], partial[39], partial[151]) == ("1", "1", "60")
        assert (full[150], full[39], full[151]) == ("2", "2", "0")
        assert (partial[32], partial[31]) == ("40", "190.00")

    def test_a_status_answer_repeats_ord_status_as_exec_type(
        self, crossed: tuple[list[Event], ...]
    ) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        h.status("B1")
        status = wire(h.messages()[-1], FIX42)
        assert (status[20], status[150], status[39]) == ("3", "0", "0")

    @pytest.mark.parametrize(
        ("steps", "ord_status"),
        [("fill 40", "1"), ("fill 100", "2"), ("cancel", "4"), ("pending cancel", "6"),
         ("pending replace", "E")],
    )
    def test_a_status_answer_is_exec_trans_type_status_with_exec_type_equal_to_ord_status(
        self, steps: str, ord_status: str
    ) -> None:
        h = ScriptedHarness()
        h.new("B1", 100, "190.00")
        h.venue.ack()
        if steps.startswith("fill"):
            h.venue.fill(int(steps.split()[1]), "190.00")
        elif steps == "cancel":
            h.cancel("C1", "B1")
            h.venue.canceled()
        elif steps == "pending cancel":
            h.cancel("C1", "B1")
        else:
            h.replace("R1", "B1", 80, "190.00")
        h.status("B1")
        status = wire(h.messages()[-1], FIX42)
        assert (status[20], status[150], status[39]) == ("3", ord_status, ord_status)

    def test_a_4_4_only_reject_reason_is_sent_as_broker_option(self) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00", account="ZZZ")
        denied = wire(h.messages()[-1], FIX42)
        assert denied[103] == "0" and "ZZZ" in denied[58]

    def test_an_unknown_order_status_echoes_symbol_and_side_of_the_request(self) -> None:
        h = EmbeddedHarness()
        raw = SOH.join(["8=FIX.4.2", "35=H", "34=3", "49=CLIENT3", "56=OMS", "11=X9", "55=MSFT",
                        "54=2"]) + SOH
        context = FixContext("FIX.4.2", "CLIENT3", "OMS", 3, raw)
        h.engine.handle(StatusRequest(SessionID("CLIENT3"), ClOrdID("X9"), fix=context))
        unknown = wire(h.messages()[-1], FIX42)
        assert (unknown[37], unknown[39], unknown[103]) == ("NONE", "8", "5")
        assert (unknown[20], unknown[150]) == ("3", "8")
        assert (unknown[55], unknown[54]) == ("MSFT", "2")


class TestOrderCancelReject:
    def test_another_sessions_order_is_unknown_with_order_id_none(self) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        h.cancel("C1", "B1", session=CLIENT2)
        reject = wire(h.messages(CLIENT2)[-1])
        assert reject[35] == "9"
        assert (reject[37], reject[11], reject[41], reject[39]) == ("NONE", "C1", "B1", "8")
        assert (reject[434], reject[102]) == ("1", "1")

    @pytest.mark.parametrize(("begin_string", "code"), [(FIX44, "6"), (FIX42, "2")])
    def test_a_duplicate_cl_ord_id_maps_to_each_versions_code(
        self, begin_string: str, code: str
    ) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        h.cancel("B1", "B1")
        reject = wire(h.messages()[-1], begin_string)
        assert reject[102] == code and reject[37] != "NONE"

    def test_a_replace_denied_answers_cxl_rej_response_to_replace(self) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        h.replace("R1", "B1", 100, "190.00", side=Side.SELL)
        reject = wire(h.messages()[-1])
        assert (reject[434], reject[41], reject[39]) == ("2", "B1", "0")
        assert "Side(54)" in reject[58]


class TestCodeTables:
    @pytest.mark.parametrize("begin_string", [FIX44, FIX42])
    @pytest.mark.parametrize("reason", list(OrdRejReason))
    def test_every_ord_rej_reason_becomes_a_code_the_version_lists(
        self, begin_string: str, reason: OrdRejReason
    ) -> None:
        raw = SOH.join(["8=" + begin_string, "35=D", "34=1", "49=CLIENT1", "56=OMS", "11=A",
                        "21=1", "55=AAPL", "54=1", "60=20240603-13:30:00", "38=1", "40=2",
                        "44=1"]) + SOH
        refusal = Refusal("D", int(reason), "text", read_fields(raw, begin_string))
        sent = on_the_wire(*reports.refusal(refusal, begin_string, "G1", 0), begin_string)
        assert sent[103] == (str(int(reason)) if begin_string == FIX44 or reason <= 8 else "0")

    @pytest.mark.parametrize("begin_string", [FIX44, FIX42])
    @pytest.mark.parametrize("reason", list(CxlRejReason))
    def test_every_cxl_rej_reason_becomes_a_code_the_version_lists(
        self, begin_string: str, reason: CxlRejReason
    ) -> None:
        h = EmbeddedHarness()
        h.new("B1", 100, "190.00")
        event = h.messages()[-1]
        reject = event._replace(
            kind=event.kind.CANCEL_DENIED, exec_type=None, cxl_rej_reason=reason,
            cxl_rej_response_to=None,
        )
        sent = wire(reject, begin_string)
        assert sent[102] == (str(int(reason)) if begin_string == FIX44 or reason <= 3 else "2")


class TestRefusals:
    def test_an_unsupported_new_order_is_rejected_with_order_id_none(self) -> None:
        raw = SOH.join(["8=FIX.4.4", "35=D", "34=1", "49=CLIENT1", "56=OMS", "11=A1", "21=1",
                        "55=AAPL", "54=1", "60=20240603-13:30:00", "38=10", "40=P"]) + SOH
        refusal = decode(read_message(raw, FIX44), 0)
        assert isinstance(refusal, Refusal)
        sent = on_the_wire(*reports.refusal(refusal, FIX44, "G7", 0), FIX44)
        assert (sent[35], sent[37], sent[17], sent[150], sent[39], sent[103]) == (
            "8", "NONE", "G7", "8", "8", "11"
        )
        assert sent[58].startswith("OrdType(40) P")

    def test_an_unsupported_replace_is_a_cancel_reject_to_the_replace(self) -> None:
        raw = SOH.join(["8=FIX.4.2", "35=G", "34=1", "49=CLIENT3", "56=OMS", "41=A1",
                        "11=R1", "21=1", "55=MSFT", "54=8", "60=20240603-13:30:00", "38=10",
                        "40=2"]) + SOH
        refusal = decode(read_message(raw, FIX42), 0)
        assert isinstance(refusal, Refusal)
        sent = on_the_wire(*reports.refusal(refusal, FIX42, "G8", 0), FIX42)
        assert (sent[35], sent[41], sent[434], sent[102]) == ("9", "A1", "2", "2")

    @pytest.mark.parametrize(("begin_string", "sender", "exec_type"),
                             [(FIX44, "CLIENT1", "I"), (FIX42, "CLIENT3", "8")])
    def test_a_refused_status_request_is_a_status_answer_of_ord_status_rejected(
        self, begin_string: str, sender: str, exec_type: str
    ) -> None:
        too_long = "S" * 65
        raw = SOH.join([f"8={begin_string}", "35=H", "34=1", f"49={sender}", "56=OMS",
                        f"11={too_long}", "55=MSFT", "54=1"]) + SOH
        refusal = decode(read_message(raw, begin_string), 0)
        assert isinstance(refusal, Refusal)
        sent = on_the_wire(*reports.refusal(refusal, begin_string, "G9", 0), begin_string)
        assert (sent[35], sent[11], sent[150], sent[39]) == ("8", too_long, exec_type, "8")
        assert sent.get(20) == ("3" if begin_string == FIX42 else None)
        assert sent[58] == "ClOrdID(11) is 65 characters long; the limit is 64"

    def test_a_business_reject_refers_to_the_message_and_its_cl_ord_id(self) -> None:
        sent = on_the_wire(*reports.business_reject(9, "D", 0, "internal error", "A1"), FIX44)
        assert (sent[35], sent[45], sent[372], sent[379], sent[380]) == (
            "j", "9", "D", "A1", "0"
        )
