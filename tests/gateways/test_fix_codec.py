"""Client requests to commands, FIX 4.2 and 4.4: values, decimals, refusals, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
import quickfix

from gateways.fix.codec import DecodeError, Refusal, decode
from gateways.fix.fields import read_message
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
