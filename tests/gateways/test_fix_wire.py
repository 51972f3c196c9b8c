"""FIX message text: fields, secrets masked, timestamps, decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateways.fix.wire import (
    MalformedText,
    build_message,
    decimal_text,
    format_utc_timestamp,
    mask_secrets,
    parse_fields,
    parse_utc_timestamp,
    printable,
)

SOH = "\x01"


def fix(*fields: str) -> str:
    return SOH.join(fields) + SOH


class TestFields:
    def test_parse_fields_reads_each_tag_keeping_the_first_of_a_repeated_one(self) -> None:
        fields = parse_fields(fix("8=FIX.4.4", "35=D", "448=A", "448=B", "11=X"))
        assert fields == {8: "FIX.4.4", 35: "D", 448: "A", 11: "X"}

    def test_parse_fields_reads_a_data_field_containing_soh_by_its_length(self) -> None:
        raw = fix("8=FIX.4.4", "35=A", "95=5", f"96=a{SOH}b=c", "98=0")
        assert parse_fields(raw) == {8: "FIX.4.4", 35: "A", 95: "5", 96: f"a{SOH}b=c", 98: "0"}

    def test_parse_fields_on_text_without_tags_raises_malformed_text(self) -> None:
        with pytest.raises(MalformedText):
            parse_fields("not fix at all")
        with pytest.raises(MalformedText):
            parse_fields(fix("8=FIX.4.4", "x5=D"))

    def test_printable_shows_soh_as_bar(self) -> None:
        assert printable(fix("8=FIX.4.4", "35=0")) == "8=FIX.4.4|35=0|"


class TestMaskSecrets:
    def test_passwords_are_masked_and_other_fields_kept(self) -> None:
        raw = fix("8=FIX.4.4", "35=A", "553=trader", "554=hunter2", "925=hunter3", "98=0")
        masked = mask_secrets(raw)
        assert "hunter" not in masked
        assert masked == fix("8=FIX.4.4", "35=A", "553=trader", "554=***", "925=***", "98=0")

    def test_raw_data_containing_soh_is_masked_whole(self) -> None:
        raw = fix("8=FIX.4.4", "35=A", "95=10", f"96=pw{SOH}secret1", "98=0")
        masked = mask_secrets(raw)
        assert "secret" not in masked and "pw" not in masked
        assert masked.endswith(fix("96=***", "98=0"))

    def test_a_message_without_secrets_is_returned_as_it_is(self) -> None:
        raw = fix("8=FIX.4.4", "35=D", "11=X")
        assert mask_secrets(raw) is raw

    def test_unreadable_text_with_a_secret_is_cut_before_the_secret(self) -> None:
        raw = "8=FIX.4.4" + SOH + "zz" + SOH + "554=hunter2" + SOH
        assert "hunter2" not in mask_secrets(raw)


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
                 "20240603-13:30:00.", "20240603-13:30:00.1234567890", "2024O603-13:30:00"]
    )
    def test_parse_refuses_what_is_not_a_utc_timestamp(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_utc_timestamp(text)

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
        assert parse_fields(message.toString())[58] == "a=b"
