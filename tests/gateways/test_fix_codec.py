"""Client requests to commands, FIX 4.2 and 4.4: values, decimals, refusals, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
import quickfix

from gateways.fix.codec import MAX_ID_LENGTH, DecodeError, Refusal, check_encoding, decode
from gateways.fix.fields import data_dictionary, read_message
from gateways.fix.instructions import UNSUPPORTED_TAGS, Listing, Listings
from oms.commands import CancelOrder, FixContext, NewOrder, ReplaceOrder, StatusRequest
from oms.model import (
    PRICE_SCALE,
    CxlRejReason,
    OrdRejReason,
    OrdType,
    Side,
    TimeInForce,
)

SOH = "\x01"
T0_TEXT = "20240603-13:30:00.250"
T0 = 1_717_421_400_250_000_000


def request(msg_type: str, *body: tuple[int, str], begin: str = "FIX.4.4",
            header: tuple[tuple[int, str], ...] = ()) -> quickfix.Message:
    """The request as the acceptor's callback holds it: a quickfix Message."""
    fields = [(8, begin), (9, "0"), (35, msg_type), (34, "7"), (49, "CLIENT1"),
              (52, T0_TEXT), (56, "OMS"), *header, *body, (10, "000")]
    return read_message(SOH.join(f"{tag}={value}" for tag, value in fields) + SOH, begin)


def new_order(*extra: tuple[int, str], omit: tuple[int, ...] = (),
              **kwargs: object) -> quickfix.Message:
    body = [(11, "A1"), (21, "1"), (55, "AAPL"), (54, "1"), (60, T0_TEXT), (38, "100"),
            (40, "2"), (44, "190.25")]
    body = [(t, v) for t, v in body if t not in omit] + list(extra)
    return request("D", *body, **kwargs)  # type: ignore[arg-type]


class TestNewOrder:
    def test_a_limit_order_becomes_a_new_order_command(self) -> None:
        raw = new_order((1, "ACC1"), (59, "1"))
        command = decode(raw, received_ns=42)
        assert isinstance(command, NewOrder)
        assert command.session == "CLIENT1"
        assert command.cl_ord_id == "A1"
        assert command.account == "ACC1"
        assert command.symbol == "AAPL"
        assert command.side is Side.BUY
        assert command.ord_type is OrdType.LIMIT
        assert command.time_in_force is TimeInForce.GTC
        assert command.quantity == 100 and type(command.quantity) is int
        assert command.price == 19_025_000_000
        assert command.stop_price is None
        assert command.transact_time_ns == T0
        assert command.received_ns == 42
        assert command.poss_resend is False
        assert command.fix == FixContext("FIX.4.4", "CLIENT1", "OMS", 7, raw.toString())

    def test_time_in_force_left_out_is_day_and_account_left_out_is_none(self) -> None:
        command = decode(new_order(), 0)
        assert isinstance(command, NewOrder)
        assert command.time_in_force is TimeInForce.DAY
        assert command.account is None

    def test_poss_resend_is_read_from_the_header(self) -> None:
        command = decode(new_order(header=((97, "Y"),)), 0)
        assert isinstance(command, NewOrder) and command.poss_resend is True

    def test_stop_limit_with_expire_time_reads_both_prices_and_the_time(self) -> None:
        raw = new_order((40, "4"), (99, "191"), (59, "6"), (126, "20240603-20:00:00"),
                        omit=(40,))
        command = decode(raw, 0)
        assert isinstance(command, NewOrder)
        assert command.ord_type is OrdType.STOP_LIMIT
        assert command.stop_price == 191 * PRICE_SCALE
        assert command.expire_time_ns == T0 - 250_000_000 + 6 * 3600 * 1_000_000_000 + (
            30 * 60 * 1_000_000_000
        )

    @pytest.mark.parametrize(("text", "value"), [("100.0", 100), ("1e3", 1000), ("-5", -5)])
    def test_a_whole_quantity_becomes_an_int(self, text: str, value: int) -> None:
        command = decode(new_order((38, text), omit=(38,)), 0)
        assert isinstance(command, NewOrder)
        assert command.quantity == value and type(command.quantity) is int

    def test_a_fractional_quantity_stays_a_decimal_for_the_engine_to_deny(self) -> None:
        command = decode(new_order((38, "10.5"), omit=(38,)), 0)
        assert isinstance(command, NewOrder) and command.quantity == Decimal("10.5")

    def test_a_price_finer_than_the_price_scale_stays_a_decimal(self) -> None:
        command = decode(new_order((44, "190.123456789"), omit=(44,)), 0)
        assert isinstance(command, NewOrder)
        assert command.price == Decimal("190.123456789")

    @pytest.mark.parametrize(
        ("tag", "value", "name"),
        [(40, "P", "OrdType(40) P"), (54, "8", "Side(54) 8"), (59, "2", "TimeInForce(59) 2")],
    )
    def test_an_unsupported_value_is_refused_naming_tag_and_value(
        self, tag: int, value: str, name: str
    ) -> None:
        refusal = decode(new_order((tag, value), omit=(tag,)), 0)
        assert isinstance(refusal, Refusal)
        assert refusal.msg_type == "D"
        assert refusal.reason == OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC
        assert refusal.text.startswith(f"{name} is not supported")
        assert refusal.fields[11] == "A1"

    def test_a_4_4_order_without_symbol_is_refused_as_unknown_symbol(self) -> None:
        refusal = decode(new_order((48, "US0378331005"), (22, "4"), omit=(55,)), 0)
        assert isinstance(refusal, Refusal)
        assert refusal.reason == OrdRejReason.UNKNOWN_SYMBOL
        assert "Symbol(55)" in refusal.text

    def test_a_4_4_order_with_cash_quantity_is_refused_as_incorrect_quantity(self) -> None:
        refusal = decode(new_order((152, "10000"), omit=(38,)), 0)
        assert isinstance(refusal, Refusal)
        assert refusal.reason == OrdRejReason.INCORRECT_QUANTITY
        assert "OrderQty(38)" in refusal.text

    def test_a_fix_4_2_order_decodes_like_a_4_4_one(self) -> None:
        command = decode(new_order(begin="FIX.4.2"), 0)
        assert isinstance(command, NewOrder)
        assert command.fix is not None and command.fix.begin_string == "FIX.4.2"
        assert command.price == 19_025_000_000


class TestCancelReplaceStatus:
    def test_a_cancel_names_the_order_by_orig_cl_ord_id_and_order_id(self) -> None:
        raw = request("F", (41, "A1"), (37, "O2"), (11, "C1"), (55, "AAPL"), (54, "1"),
                      (60, T0_TEXT))
        command = decode(raw, 5)
        assert isinstance(command, CancelOrder)
        assert (command.cl_ord_id, command.orig_cl_ord_id, command.order_id) == ("C1", "A1", "O2")
        assert command.transact_time_ns == T0 and command.received_ns == 5

    def test_a_replace_carries_the_new_terms_and_leaves_out_what_it_does_not_restate(self) -> None:
        raw = request("G", (41, "A1"), (11, "R1"), (21, "1"), (55, "AAPL"), (54, "1"),
                      (60, T0_TEXT), (38, "80"), (40, "2"), (44, "190.10"))
        command = decode(raw, 0)
        assert isinstance(command, ReplaceOrder)
        assert command.quantity == 80 and command.price == 19_010_000_000
        assert command.ord_type is OrdType.LIMIT and command.side is Side.BUY
        assert command.time_in_force is None and command.stop_price is None
        assert command.symbol == "AAPL"

    def test_a_replace_to_an_unsupported_ord_type_is_refused_as_a_cancel_reject(self) -> None:
        raw = request("G", (41, "A1"), (11, "R1"), (21, "1"), (55, "AAPL"), (54, "1"),
                      (60, T0_TEXT), (38, "80"), (40, "P"))
        refusal = decode(raw, 0)
        assert isinstance(refusal, Refusal)
        assert refusal.msg_type == "G" and refusal.reason == CxlRejReason.OTHER
        assert refusal.text.startswith("OrdType(40) P is not supported")

    def test_a_status_request_names_the_order(self) -> None:
        command = decode(request("H", (11, "A1"), (54, "1"), (55, "AAPL")), 0)
        assert isinstance(command, StatusRequest)
        assert command.cl_ord_id == "A1" and command.order_id is None


# AAPL (USD) routes to the embedded venue; a second venue exists that it does not use.
LISTINGS = Listings({"AAPL": Listing("USD", "embedded")}, frozenset({"embedded", "external"}))


def replace_request(*extra: tuple[int, str]) -> quickfix.Message:
    return request("G", (41, "A1"), (11, "R1"), (21, "1"), (55, "AAPL"), (54, "1"),
                   (60, T0_TEXT), (38, "80"), (40, "2"), (44, "190.10"), *extra)


class TestInstructions:
    """Tags that would change how the order is worked are refused, never ignored."""

    @pytest.mark.parametrize(
        ("tag", "value", "text"),
        [(110, "50", "MinQty(110) is not supported"),
         (111, "20", "MaxFloor(111) is not supported"),
         (18, "G", "ExecInst(18) is not supported"),
         (210, "20", "MaxShow(210) is not supported"),
         (168, T0_TEXT, "EffectiveTime(168) is not supported"),
         (847, "1", "TargetStrategy(847) is not supported"),
         (388, "0", "DiscretionInst(388) is not supported"),
         (152, "1000", "CashOrderQty(152) is not supported (OrderQty(38) only)"),
         (21, "3", "HandlInst(21) 3 is not supported (supported: 1 or 2, automated "
                   "execution)"),
         (423, "1", "PriceType(423) 1 is not supported (supported: 2, per unit)"),
         (854, "1", "QtyType(854) 1 is not supported (supported: 0, units)"),
         (15, "EUR", "Currency(15) EUR is not the currency of AAPL (USD)"),
         (100, "XNYS", "ExDestination(100) XNYS names no configured venue (embedded, "
                       "external)"),
         (100, "external", "ExDestination(100) external is not supported for AAPL: its "
                           "orders go to venue embedded")],
    )
    def test_a_new_order_carrying_one_is_refused_naming_the_tag(
        self, tag: int, value: str, text: str
    ) -> None:
        refusal = decode(new_order((tag, value), omit=(tag,)), 0, LISTINGS)
        assert isinstance(refusal, Refusal)
        assert (refusal.msg_type, refusal.text) == ("D", text)
        assert refusal.reason == OrdRejReason.UNSUPPORTED_ORDER_CHARACTERISTIC

    @pytest.mark.parametrize(
        "extra", [(21, "1"), (21, "2"), (15, "USD"), (100, "embedded"), (423, "2"), (854, "0")]
    )
    def test_a_new_order_carrying_a_value_we_carry_out_is_taken(
        self, extra: tuple[int, str]
    ) -> None:
        command = decode(new_order(extra, omit=(extra[0],)), 0, LISTINGS)
        assert isinstance(command, NewOrder)

    def test_the_currency_of_an_unknown_symbol_is_left_to_the_engine_to_reject_it(
        self,
    ) -> None:
        command = decode(new_order((55, "ZZZZ"), (15, "EUR"), omit=(55,)), 0, LISTINGS)
        assert isinstance(command, NewOrder) and command.symbol == "ZZZZ"

    def test_without_listings_currency_and_destination_are_refused_not_ignored(self) -> None:
        for extra, text in (((15, "USD"), "Currency(15) USD cannot be checked"),
                            ((100, "embedded"), "ExDestination(100) embedded cannot be")):
            refusal = decode(new_order(extra), 0)
            assert isinstance(refusal, Refusal) and refusal.text.startswith(text)

    def test_a_fix_4_2_order_is_told_the_fix_4_2_name_of_the_tag(self) -> None:
        refusal = decode(new_order((211, "0.05"), begin="FIX.4.2"), 0, LISTINGS)
        assert isinstance(refusal, Refusal)
        assert refusal.text == "PegDifference(211) is not supported"

    @pytest.mark.parametrize(("tag", "value"), [(110, "50"), (18, "1"), (15, "GBP")])
    def test_a_replace_carrying_one_is_refused_as_a_cancel_reject(
        self, tag: int, value: str
    ) -> None:
        refusal = decode(replace_request((tag, value)), 0, LISTINGS)
        assert isinstance(refusal, Refusal)
        assert (refusal.msg_type, refusal.reason) == ("G", CxlRejReason.OTHER)
        assert f"({tag}) " in refusal.text

    @pytest.mark.parametrize("msg_type", ["D", "G"])
    def test_every_refused_tag_is_one_the_4_4_request_defines(self, msg_type: str) -> None:
        dictionary = data_dictionary("FIX.4.4")
        assert [t for t in UNSUPPORTED_TAGS if not dictionary.isMsgField(msg_type, t)] == []


class TestIdentifierLength:
    @pytest.mark.parametrize("tag", [11, 41])
    def test_a_cancel_with_an_id_over_the_limit_is_refused_naming_tag_length_and_limit(
        self, tag: int
    ) -> None:
        ids = {11: "C1", 41: "A1", tag: "X" * (MAX_ID_LENGTH + 1)}
        raw = request("F", (41, ids[41]), (11, ids[11]), (55, "AAPL"), (54, "1"),
                      (60, T0_TEXT))
        refusal = decode(raw, 0)
        assert isinstance(refusal, Refusal)
        assert (refusal.msg_type, refusal.reason) == ("F", CxlRejReason.OTHER)
        name = "ClOrdID" if tag == 11 else "OrigClOrdID"
        assert refusal.text == f"{name}({tag}) is 65 characters long; the limit is 64"

    def test_a_new_order_at_the_limit_is_taken_and_one_over_it_is_refused(self) -> None:
        taken = decode(new_order((11, "N" * MAX_ID_LENGTH), omit=(11,)), 0)
        refused = decode(new_order((11, "N" * (MAX_ID_LENGTH + 1)), omit=(11,)), 0)
        assert isinstance(taken, NewOrder)
        assert isinstance(refused, Refusal) and refused.reason == OrdRejReason.OTHER
        assert refused.text == "ClOrdID(11) is 65 characters long; the limit is 64"


class TestDecodeErrors:
    def test_a_transact_time_quickfix_let_through_but_unreadable_is_a_format_error(
        self,
    ) -> None:
        with pytest.raises(DecodeError) as caught:
            decode(new_order((60, "20241341-13:30:00"), omit=(60,)), 0)
        assert (caught.value.tag, caught.value.problem) == (60, "format")

    def test_a_number_that_is_not_one_is_a_format_error_naming_the_tag(self) -> None:
        with pytest.raises(DecodeError) as caught:
            decode(new_order((38, "abc"), omit=(38,)), 0)
        assert (caught.value.tag, caught.value.problem) == (38, "format")

    @pytest.mark.parametrize("tag", [54, 40])
    def test_a_required_field_quickfix_would_have_refused_is_a_missing_error(
        self, tag: int
    ) -> None:
        with pytest.raises(DecodeError) as caught:
            decode(new_order(omit=(tag,)), 0)
        assert (caught.value.tag, caught.value.problem) == (tag, "missing")

    def test_a_message_type_that_is_not_a_request_is_a_value_error_on_msg_type(self) -> None:
        with pytest.raises(DecodeError) as caught:
            decode(request("R", (131, "Q1")), 0)
        assert (caught.value.tag, caught.value.problem) == (35, "value")

    def test_text_that_is_not_utf8_is_an_encoding_error_naming_the_tag(self) -> None:
        # The text as quickfix's binding gives it: the byte 0xE9 as the surrogate U+DCE9.
        text = SOH.join(["8=FIX.4.4", "35=D", "11=W2é", "55=AAPL\udce9", ""])
        with pytest.raises(DecodeError) as caught:
            check_encoding(text, "FIX.4.4")
        assert (caught.value.tag, caught.value.problem) == (55, "encoding")
        assert caught.value.text == "Symbol(55) is not valid UTF-8"

    def test_valid_utf8_passes(self) -> None:
        check_encoding(SOH.join(["8=FIX.4.4", "11=W2é", ""]), "FIX.4.4")
