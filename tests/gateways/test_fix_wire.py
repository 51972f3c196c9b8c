"""FIX message text: secrets masked, timestamps, decimals, building messages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateways.fix.fields import MessageFields, read_message
from gateways.fix.wire import (
    build_message,
    decimal_text,
    escaped,
    format_utc_timestamp,
    invalid_utf8_tag,
    masked_text,
    parse_utc_timestamp,
    printable,
)

SOH = "\x01"


def fix(*fields: str) -> str:
    return SOH.join(fields) + SOH


def logon(*body: str) -> str:
    """A Logon's text with the header quickfix needs (BodyLength and CheckSum unchecked)."""
    return fix("8=FIX.4.4", "9=0", "35=A", "34=1", "49=CLIENT1", "52=20240603-13:30:00",
               "56=OMS", "98=0", "108=30", *body, "10=000")


class TestPrintable:
    def test_printable_shows_soh_as_bar(self) -> None:
        assert printable(fix("8=FIX.4.4", "35=0")) == "8=FIX.4.4|35=0|"


    def test_printable_shows_bytes_that_are_not_utf8_escaped(self) -> None:
        # quickfix's binding hands the byte 0xE9 over as the lone surrogate U+DCE9.
        assert printable(fix("55=AAPL\udce9", "58=café")) == "55=AAPL\\xe9|58=café|"


class TestTextThatIsNotUtf8:
    def test_valid_text_names_no_tag_and_is_not_escaped(self) -> None:
        text = fix("8=FIX.4.4", "11=W2é", "58=日本")
        assert invalid_utf8_tag(text) is None and escaped(text) == text

    def test_the_first_field_holding_such_bytes_is_named(self) -> None:
        text = fix("8=FIX.4.4", "35=D", "11=W2é", "55=AAPL\udce9", "58=\udcff")
        assert invalid_utf8_tag(text) == 55

    def test_a_data_field_holding_soh_is_named_by_its_own_tag(self) -> None:
        assert invalid_utf8_tag(fix("8=FIX.4.4", "95=4", "96=a\x01b\udce9c")) == 96

    def test_escaping_writes_each_byte_as_hex(self) -> None:
        assert escaped("AAPL\udce9\udcff é") == "AAPL\\xe9\\xff é"

    def test_a_surrogate_quickfix_did_not_make_is_escaped_as_a_code_point(self) -> None:
        assert escaped("a\ud800") == "a\\ud800"

    def test_build_message_sends_such_a_value_escaped_instead_of_failing(self) -> None:
        message = build_message("8", [(58, "Symbol AAPL\udce9 is not known")])
        assert MessageFields(message)[58] == "Symbol AAPL\\xe9 is not known"


class TestMaskedText:
    def test_passwords_are_masked_and_other_fields_kept(self) -> None:
        message = read_message(logon("553=trader", "554=hunter2", "925=hunter3"), "FIX.4.4")
        masked = masked_text(message)
        assert "hunter" not in masked
        assert f"{SOH}553=trader{SOH}" in masked
        assert f"{SOH}554=***{SOH}" in masked and f"{SOH}925=***{SOH}" in masked

    def test_raw_data_containing_soh_is_masked_whole_with_its_length(self) -> None:
        message = read_message(logon("95=10", f"96=pw{SOH}secret1"), "FIX.4.4")
        masked = masked_text(message)
        assert "secret" not in masked and "pw" not in masked
        assert f"{SOH}95=3{SOH}96=***{SOH}" in masked

    def test_the_message_itself_keeps_its_secrets(self) -> None:
        message = read_message(logon("554=hunter2"), "FIX.4.4")
        masked_text(message)
        assert message.getField(554) == "hunter2"

    def test_a_message_without_secrets_is_its_own_text(self) -> None:
        message = read_message(logon(), "FIX.4.4")
        assert masked_text(message) == message.toString()


class TestTimestamps:
    @pytest.mark.parametrize(
        ("text", "nanos"),
        [
            ("20240603-13:30:00", 0),
            ("20240603-13:30:00.123", 123_000_000),
            ("20240603-13:30:00.123456", 123_456_000),
            ("20240603-13:30:00.123456789", 123_456_789),
        ],
    )
    def test_parse_reads_every_precision(self, text: str, nanos: int) -> None:
        assert parse_utc_timestamp(text) == 1_717_421_400_000_000_000 + nanos

    @pytest.mark.parametrize(
        "text", ["2024060313:30:00", "20241303-13:30:00", "20240603-25:30:00", "20240231-13:30:00",
                 "20240603-13:30:00.", "20240603-13:30:00.1234567890", "2024O603-13:30:00",
                 " 0240603-13:30:00", "+0240603-13:30:00", "20240603-13:30:0 ", ""]
    )
    def test_parse_refuses_what_is_not_a_utc_timestamp(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_utc_timestamp(text)

    def test_a_leap_second_reads_as_the_next_minute(self) -> None:
        assert parse_utc_timestamp("20241231-23:59:60") == parse_utc_timestamp(
            "20250101-00:00:00"
        )

    def test_format_writes_milliseconds_and_reads_back(self) -> None:
        ns = 1_717_421_400_123_456_789
        assert format_utc_timestamp(ns) == "20240603-13:30:00.123"
        assert parse_utc_timestamp(format_utc_timestamp(ns)) == 1_717_421_400_123_000_000


class TestNumbersAndMessages:
    @pytest.mark.parametrize(
        ("value", "text"),
        [(Decimal("1E-8"), "0.00000001"), (Decimal("1E+2"), "100"), (Decimal("190.50"), "190.50")],
    )
    def test_decimal_text_never_writes_an_exponent(self, value: Decimal, text: str) -> None:
        assert decimal_text(value) == text

    def test_build_message_sets_msg_type_and_body_fields(self) -> None:
        message = build_message("8", [(11, "X"), (58, "a=b")])
        assert message.getHeader().getField(35) == "8"
        assert MessageFields(message)[58] == "a=b"
