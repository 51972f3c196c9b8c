"""The client acceptor over real quickfix sessions on loopback: orders, fills, cancels,
replaces, status, FIX 4.2 forms, session scoping, and bad input that must leave the session
logged on."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import quickfix
from fixclient import FixTestClient
from running_oms import RunningOms

from gateways.fix import codec
from gateways.fix.acceptor import quickfix_exception
from gateways.fix.codec import DecodeError

# One OMS and one session per client for the whole module: logging a quickfix initiator out
# and stopping it takes about two seconds. Tests keep out of each other's way by ClOrdID
# (every `expect` matches on it) and by prices that cross only where a test means them to.


@pytest.fixture(scope="module")
def oms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningOms]:
    with RunningOms(tmp_path_factory.mktemp("oms")) as running:
        yield running


def connected(oms: RunningOms, sender: str) -> Iterator[FixTestClient]:
    with oms.client(sender) as client:
        yield client


@pytest.fixture(scope="module")
def client1(oms: RunningOms) -> Iterator[FixTestClient]:
    yield from connected(oms, "CLIENT1")


@pytest.fixture(scope="module")
def client2(oms: RunningOms) -> Iterator[FixTestClient]:
    yield from connected(oms, "CLIENT2")


@pytest.fixture(scope="module")
def client3(oms: RunningOms) -> Iterator[FixTestClient]:
    yield from connected(oms, "CLIENT3")


def acknowledged(client: FixTestClient, **order: object) -> str:
    """Send a valid limit order and return its OrderID once it is acknowledged (New)."""
    cl_ord_id = client.new_order(**order)  # type: ignore[arg-type]
    ack = client.expect("8", {11: cl_ord_id, 150: "0"})
    assert ack[39] == "0"
    return ack[37]


class TestOrders:
    def test_a_limit_order_from_a_fix_4_4_client_is_acknowledged(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "175.00")
        ack = client1.expect("8", {11: cl_ord_id})
        assert (ack[150], ack[39]) == ("0", "0")
        assert ack[37].startswith("O") and ack[17]
        assert (ack[55], ack[54], ack[38], ack[44], ack[1]) == (
            "AAPL", "1", "100", "175.00", "ACC1"
        )
        assert (ack[14], ack[151], ack[6]) == ("0", "100", "0")

    def test_a_crossing_order_fills_both_sides_with_their_quantities_and_average_price(
        self, client1: FixTestClient, client2: FixTestClient
    ) -> None:
        # AMZN is this test's own: nothing else trades it.
        low = client2.new_order("2", "40", "AMZN", "184.50")
        high = client2.new_order("2", "60", "AMZN", "185.00")
        client2.expect("8", {11: low, 150: "0"})
        client2.expect("8", {11: high, 150: "0"})

        buy = client1.new_order("1", "100", "AMZN", "185.00")
        client1.expect("8", {11: buy, 150: "0"})
        first = client1.expect("8", {11: buy, 150: "F", 32: "40"})
        second = client1.expect("8", {11: buy, 150: "F", 32: "60"})
        assert (first[31], first[14], first[151], first[39]) == ("184.50", "40", "60", "1")
        assert (second[31], second[14], second[151], second[39]) == ("185.00", "100", "0", "2")
        assert Decimal(first[6]) == Decimal("184.50")
        assert Decimal(second[6]) == Decimal("184.80")

        sold_low = client2.expect("8", {11: low, 150: "F"})
        sold_high = client2.expect("8", {11: high, 150: "F"})
        assert (sold_low[32], sold_low[31], sold_low[14], sold_low[151], sold_low[39]) == (
            "40", "184.50", "40", "0", "2"
        )
        assert (sold_high[32], sold_high[14], sold_high[151], Decimal(sold_high[6])) == (
            "60", "60", "0", Decimal("185")
        )

    def test_a_cancel_is_pending_then_canceled(self, client1: FixTestClient) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "185.00")
        ack = client1.expect("8", {11: cl_ord_id, 150: "0"})
        cancel = client1.cancel(cl_ord_id)
        pending = client1.expect("8", {11: cancel, 150: "6"})
        canceled = client1.expect("8", {11: cancel, 150: "4"})
        assert (pending[39], pending[37], pending[41]) == ("6", ack[37], cl_ord_id)
        assert (canceled[39], canceled[151], canceled[41]) == ("4", "0", cl_ord_id)

    def test_a_replace_is_pending_then_replaced_with_the_new_terms(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "185.00")
        client1.expect("8", {11: cl_ord_id, 150: "0"})
        replace = client1.replace(cl_ord_id, "80", "186.00")
        pending = client1.expect("8", {11: replace, 150: "E"})
        replaced = client1.expect("8", {11: replace, 150: "5"})
        assert (pending[39], pending[41], pending[38]) == ("E", cl_ord_id, "100")
        assert (replaced[39], replaced[38], replaced[44], replaced[151]) == (
            "0", "80", "186.00", "80"
        )

    def test_a_replace_below_cum_qty_is_replaced_filled_with_order_qty_amended_to_cum_qty(
        self, client1: FixTestClient, client2: FixTestClient
    ) -> None:
        # GOOGL is this test's own: nothing else trades it.
        buy = client1.new_order("1", "100", "GOOGL", "170.00")
        client1.expect("8", {11: buy, 150: "0"})
        client2.new_order("2", "60", "GOOGL", "170.00")
        client1.expect("8", {11: buy, 150: "F", 14: "60"})
        replace = client1.replace(buy, "40", "170.00", symbol="GOOGL")
        pending = client1.expect("8", {11: replace, 150: "E"})
        assert (pending[38], pending[14], pending[151]) == ("100", "60", "40")
        replaced = client1.expect("8", {11: replace, 150: "5"})
        assert (replaced[39], replaced[14], replaced[151]) == ("2", "60", "0")
        assert replaced[38] == "60"

    def test_a_status_request_answers_with_the_orders_state(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "185.00")
        ack = client1.expect("8", {11: cl_ord_id, 150: "0"})
        client1.status(cl_ord_id)
        status = client1.expect("8", {11: cl_ord_id, 150: "I"})
        assert (status[39], status[37], status[151], status[14]) == ("0", ack[37], "100", "0")

    def test_a_status_request_for_an_unknown_order_answers_rejected_unknown_order(
        self, client1: FixTestClient
    ) -> None:
        client1.status("NO-SUCH-ORDER")
        status = client1.expect("8", {11: "NO-SUCH-ORDER"})
        assert (status[150], status[39], status[37], status[103]) == ("I", "8", "NONE", "5")


    def test_a_new_order_resent_with_poss_resend_is_answered_with_its_status(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "185.00")
        ack = client1.expect("8", {11: cl_ord_id, 150: "0"})
        client1.send("D", [(11, cl_ord_id), (21, "1"), (55, "AAPL"), (54, "1"),
                           (60, "20240603-13:30:00"), (38, "100"), (40, "2"), (44, "185.00")],
                     header=[(97, "Y")])
        status = client1.expect("8", {11: cl_ord_id, 150: "I"})
        assert (status[37], status[39]) == (ack[37], "0")


class TestFix42:
    def test_a_fix_4_2_session_gets_fix_4_2_forms(
        self, client3: FixTestClient, client1: FixTestClient
    ) -> None:
        buy = client3.new_order("1", "100", "MSFT", "420.00")
        ack = client3.expect("8", {11: buy, 150: "0"})
        assert ack[20] == "0" and ack[8] == "FIX.4.2"

        client1.new_order("2", "30", "MSFT", "420.00")
        partial = client3.expect("8", {11: buy, 39: "1"})
        assert (partial[20], partial[150], partial[32], partial[151]) == ("0", "1", "30", "70")
        client1.new_order("2", "70", "MSFT", "420.00")
        full = client3.expect("8", {11: buy, 39: "2"})
        assert (full[20], full[150], full[14], full[151]) == ("0", "2", "100", "0")

        client3.status(buy, symbol="MSFT")
        status = client3.expect("8", {11: buy, 20: "3"})
        assert (status[150], status[39], status[14], status[151]) == ("2", "2", "100", "0")

    def test_a_fix_4_2_status_answer_is_exec_trans_type_status_for_live_and_unknown_orders(
        self, client3: FixTestClient
    ) -> None:
        live = client3.new_order("1", "10", "MSFT", "405.00")
        client3.expect("8", {11: live, 150: "0"})
        client3.status(live, symbol="MSFT")
        status = client3.expect("8", {11: live, 20: "3"})
        assert (status[150], status[39], status[151]) == ("0", "0", "10")

        client3.status("NO-SUCH-ORDER-42", symbol="MSFT")
        unknown = client3.expect("8", {11: "NO-SUCH-ORDER-42"})
        assert (unknown[20], unknown[150], unknown[39], unknown[103]) == ("3", "8", "8", "5")

    def test_a_fix_4_2_cancel_reject_uses_a_fix_4_2_reason(
        self, client3: FixTestClient
    ) -> None:
        buy = client3.new_order("1", "10", "MSFT", "410.00")
        client3.expect("8", {11: buy, 150: "0"})
        # Reusing the order's own ClOrdID is a duplicate: 4.4 code 6, sent as 2 in 4.2.
        client3.cancel(buy, cl_ord_id=buy, symbol="MSFT")
        reject = client3.expect("9", {11: buy})
        assert (reject[102], reject[434]) == ("2", "1")


class TestSessionScoping:
    def test_a_session_cannot_cancel_another_sessions_order(
        self, client1: FixTestClient, client2: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "185.00")
        client1.expect("8", {11: cl_ord_id, 150: "0"})
        cancel = client2.cancel(cl_ord_id)
        reject = client2.expect("9", {11: cancel})
        assert (reject[102], reject[37], reject[41], reject[434]) == ("1", "NONE", cl_ord_id, "1")

        client1.status(cl_ord_id)
        assert client1.expect("8", {11: cl_ord_id, 150: "I"})[39] == "0"
        client1.expect_nothing("8", {150: "6"})


class TestBadInput:
    """Each bad message gets its reject, and the session then takes a valid order."""

    @pytest.fixture(autouse=True)
    def still_logged_on_after(self, client1: FixTestClient) -> Iterator[None]:
        yield
        assert client1.is_logged_on
        acknowledged(client1, price="180.00")

    def test_a_missing_required_tag_is_a_session_reject_naming_it(
        self, client1: FixTestClient
    ) -> None:
        seq_num = client1.send("D", [(11, client1.new_id()), (21, "1"), (55, "AAPL"),
                                     (60, "20240603-13:30:00"), (38, "10"), (40, "1")])
        reject = client1.expect("3")
        assert (reject[45], reject[371], reject[373], reject[372]) == (str(seq_num), "54", "1",
                                                                       "D")

    def test_a_quantity_that_is_not_a_number_is_a_session_reject(
        self, client1: FixTestClient
    ) -> None:
        client1.new_order(quantity="abc")
        reject = client1.expect("3")
        assert (reject[371], reject[373]) == ("38", "6")

    def test_a_transact_time_on_a_day_the_month_lacks_is_a_session_reject_from_our_codec(
        self, client1: FixTestClient
    ) -> None:
        # quickfix's check lets February 31 through; the codec's DecodeError is turned into
        # the quickfix exception that makes quickfix send the Reject.
        client1.new_order(omit=[60], extra=[(60, "20240231-13:30:00")])
        reject = client1.expect("3")
        assert (reject[371], reject[373], reject[372]) == ("60", "6", "D")

    def test_a_message_type_we_do_not_handle_is_a_business_reject(
        self, client1: FixTestClient
    ) -> None:
        seq_num = client1.send("c", [(320, "SD1"), (321, "3")])
        reject = client1.expect("j")
        assert (reject[45], reject[372], reject[380]) == (str(seq_num), "c", "3")

    def test_a_message_type_the_dictionary_does_not_define_is_a_session_reject(
        self, client1: FixTestClient
    ) -> None:
        client1.send("ZZ", [(58, "hello")])
        reject = client1.expect("3")
        assert (reject[372], reject[373]) == ("ZZ", "11")

    @pytest.mark.parametrize("account", ["ACC2", "NO-SUCH-ACCOUNT"])
    def test_an_account_the_session_may_not_trade_is_rejected_unknown_account(
        self, client1: FixTestClient, account: str
    ) -> None:
        cl_ord_id = client1.new_order(account=account)
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[39], rejected[103]) == ("8", "8", "15")
        assert f"Account(1) {account}" in rejected[58]

    def test_an_unknown_symbol_is_rejected_unknown_symbol(self, client1: FixTestClient) -> None:
        cl_ord_id = client1.new_order(symbol="ZZ#%9")
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[103]) == ("8", "1")
        assert "Symbol(55) ZZ#%9" in rejected[58]

    def test_an_unsupported_ord_type_is_rejected_naming_tag_40_and_the_value(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order(ord_type="P")
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[39], rejected[103], rejected[37]) == (
            "8", "8", "11", "NONE"
        )
        assert rejected[58].startswith("OrdType(40) P is not supported")

    def test_a_fractional_quantity_is_rejected_incorrect_quantity(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order(quantity="10.5")
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[103]) == ("8", "13")
        assert "OrderQty(38) 10.5" in rejected[58]

    def test_a_duplicate_cl_ord_id_is_rejected_duplicate_order(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order(price="180.00")
        client1.expect("8", {11: cl_ord_id, 150: "0"})
        client1.new_order(price="180.00", cl_ord_id=cl_ord_id)
        rejected = client1.expect("8", {11: cl_ord_id, 150: "8"})
        assert (rejected[103], rejected[37]) == ("6", "NONE")

    @pytest.mark.parametrize(
        ("extra", "text"),
        [((110, "50"), "MinQty(110) is not supported"),
         ((111, "20"), "MaxFloor(111) is not supported"),
         ((18, "G"), "ExecInst(18) is not supported"),
         ((15, "EUR"), "Currency(15) EUR is not the currency of AAPL (USD)"),
         ((100, "XNYS"), "ExDestination(100) XNYS names no configured venue (embedded)")],
    )
    def test_an_instruction_we_would_not_carry_out_rejects_the_order_naming_the_tag(
        self, client1: FixTestClient, extra: tuple[int, str], text: str
    ) -> None:
        cl_ord_id = client1.new_order(price="180.00", extra=[extra])
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[39], rejected[103], rejected[37]) == (
            "8", "8", "11", "NONE"
        )
        assert rejected[58] == text

    def test_handl_inst_3_is_rejected_and_1_and_2_are_taken(
        self, client1: FixTestClient
    ) -> None:
        manual = client1.new_order(price="180.00", omit=[21], extra=[(21, "3")])
        assert client1.expect("8", {11: manual})[58].startswith("HandlInst(21) 3 is not")
        public = client1.new_order(price="180.00", omit=[21], extra=[(21, "2")])
        assert client1.expect("8", {11: public})[150] == "0"

    def test_a_replace_with_an_instruction_is_refused_and_the_order_keeps_its_terms(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order("1", "100", "AAPL", "181.00")
        client1.expect("8", {11: cl_ord_id, 150: "0"})
        replace = client1.replace(cl_ord_id, "80", "181.00", extra=[(110, "40")])
        reject = client1.expect("9", {11: replace})
        assert (reject[41], reject[434], reject[102], reject[58]) == (
            cl_ord_id, "2", "99", "MinQty(110) is not supported"
        )
        client1.status(cl_ord_id)
        status = client1.expect("8", {11: cl_ord_id, 150: "I"})
        assert (status[39], status[38], status[151]) == ("0", "100", "100")

    def test_a_fix_4_2_order_with_an_instruction_gets_the_4_2_code_and_the_same_text(
        self, client3: FixTestClient
    ) -> None:
        cl_ord_id = client3.new_order("1", "10", "MSFT", "400.00", extra=[(111, "5")])
        rejected = client3.expect("8", {11: cl_ord_id})
        assert (rejected[20], rejected[150], rejected[39], rejected[103]) == (
            "0", "8", "8", "0"
        )
        assert rejected[58] == "MaxFloor(111) is not supported"

    def test_a_cl_ord_id_over_64_characters_is_rejected_naming_its_length_and_the_limit(
        self, client1: FixTestClient
    ) -> None:
        long_id = "L" * 65
        client1.new_order(price="180.00", cl_ord_id=long_id)
        rejected = client1.expect("8", {11: long_id})
        assert (rejected[150], rejected[39], rejected[103]) == ("8", "8", "99")
        assert rejected[58] == "ClOrdID(11) is 65 characters long; the limit is 64"
        taken = client1.new_order(price="180.00", cl_ord_id="K" * 64)
        assert client1.expect("8", {11: taken})[150] == "0"

    def test_an_orig_cl_ord_id_over_64_characters_is_a_cancel_reject_naming_it(
        self, client1: FixTestClient
    ) -> None:
        cancel = client1.cancel("O" * 200)
        reject = client1.expect("9", {11: cancel})
        assert (reject[434], reject[102]) == ("1", "99")
        assert reject[58] == "OrigClOrdID(41) is 200 characters long; the limit is 64"

    @pytest.mark.parametrize(
        ("order", "text"),
        [({"price": "190.000000000000000000000000001"},
          "Price(44) 190.000000000000000000000000001 is not on the tick grid"),
         ({"price": "190.0000000001"}, "Price(44) 190.0000000001 is not on the tick grid"),
         ({"price": "190.00", "ord_type": "4", "stop_price": "189.000000000000000000000000001"},
          "StopPx(99) 189.000000000000000000000000001 is not on the tick grid")],
    )
    def test_a_price_finer_than_eight_decimals_is_rejected_naming_the_tag_and_value(
        self, client1: FixTestClient, order: dict[str, str], text: str
    ) -> None:
        # 31 significant digits used to be rounded to 190.00 and the order taken.
        cl_ord_id = client1.new_order(quantity="10", **order)  # type: ignore[arg-type]
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[39]) == ("8", "8")
        assert rejected[58].startswith(text)

    def test_a_quantity_with_a_fraction_beyond_28_digits_is_rejected(
        self, client1: FixTestClient
    ) -> None:
        cl_ord_id = client1.new_order(quantity="100.000000000000000000000000001")
        rejected = client1.expect("8", {11: cl_ord_id})
        assert (rejected[150], rejected[103]) == ("8", "13")
        assert "OrderQty(38) 100.000000000000000000000000001" in rejected[58]

    def test_an_exception_in_our_code_answers_a_business_reject_and_the_process_lives(
        self, client1: FixTestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def broken(*arguments: object) -> object:
            raise RuntimeError("codec bug")

        with monkeypatch.context() as patch:
            patch.setattr(codec, "decode", broken)
            cl_ord_id = client1.new_order(price="180.00")
            reject = client1.expect("j")
        assert (reject[372], reject[379], reject[380]) == ("D", cl_ord_id, "0")
        assert "internal error" in reject[58] and "RuntimeError" in reject[58]



# DecodeError problem -> the quickfix exception the acceptor raises for it.
# "encoding" is answered by the acceptor's own Reject naming the tag (see
# test_fix_acceptor_encoding.py); the exception is the fallback for any other caller.
MAPPED = [("missing", quickfix.FieldNotFound), ("format", quickfix.IncorrectDataFormat),
          ("value", quickfix.IncorrectTagValue), ("encoding", quickfix.IncorrectDataFormat)]


def test_the_decode_problem_map_covers_every_problem() -> None:
    assert [problem for problem, _ in MAPPED] == list(DecodeError.PROBLEMS)


@pytest.mark.parametrize(("problem", "exception"), MAPPED)
def test_every_decode_problem_maps_to_the_quickfix_exception_that_answers_it(
    problem: str, exception: type[Exception]
) -> None:
    assert isinstance(quickfix_exception(DecodeError(38, problem, "text")), exception)
