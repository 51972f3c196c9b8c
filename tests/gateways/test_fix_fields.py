"""Reading a message's fields through quickfix: the tag -> value view and text to Message."""

from __future__ import annotations

import pytest
import quickfix

from gateways.fix.fields import (
    MessageFields,
    data_dictionary,
    read_fields,
    read_message,
    tag_name,
)
from gateways.fix.session import FixSetupError

SOH = "\x01"


def fix(*fields: str) -> str:
    return SOH.join(fields) + SOH


def new_order(*body: str, begin_string: str = "FIX.4.4") -> str:
    """A NewOrderSingle's text (BodyLength and CheckSum are not checked when read)."""
    return fix(f"8={begin_string}", "9=0", "35=D", "34=7", "49=CLIENT1",
               "52=20240603-13:30:00", "56=OMS", "97=Y", "11=A1", "55=AAPL", "54=1",
               "60=20240603-13:30:00", "38=100", "40=2", *body, "10=000")


class TestMessageFields:
    def test_header_body_and_trailer_fields_are_read_by_tag(self) -> None:
        fields = read_fields(new_order(), "FIX.4.4")
        assert (fields[35], fields[49], fields[97]) == ("D", "CLIENT1", "Y")
        assert (fields[11], fields[38]) == ("A1", "100")
        assert fields[10] == "000"

    def test_an_absent_tag_raises_key_error_and_get_gives_the_default(self) -> None:
        fields = read_fields(new_order(), "FIX.4.4")
        with pytest.raises(KeyError):
            fields[44]
        assert fields.get(44) is None and fields.get(44, "none") == "none"
        assert 44 not in fields and 11 in fields and "11" not in fields

    def test_fields_inside_a_repeating_group_are_not_in_the_view(self) -> None:
        fields = read_fields(new_order("453=2", "448=P1", "447=D", "452=1", "448=P2", "447=D",
                                       "452=3"), "FIX.4.4")
        assert fields[453] == "2"
        assert 448 not in fields

    def test_a_data_field_containing_soh_is_read_whole_by_its_length(self) -> None:
        raw = fix("8=FIX.4.4", "9=0", "35=A", "34=1", "49=CLIENT1", "52=20240603-13:30:00",
                  "56=OMS", "98=0", "108=30", "95=5", f"96=a{SOH}b=c", "10=000")
        assert read_fields(raw, "FIX.4.4")[96] == f"a{SOH}b=c"

    def test_iteration_lists_the_tags_in_message_order(self) -> None:
        fields = read_fields(new_order(begin_string="FIX.4.2"), "FIX.4.2")
        assert list(fields)[:3] == [8, 9, 35]
        assert dict(fields)[55] == "AAPL" and len(fields) == len(dict(fields))

    def test_a_value_quickfix_cannot_write_as_xml_cannot_be_listed(self) -> None:
        fields = read_fields(new_order("58=a]]>b"), "FIX.4.4")
        assert fields[58] == "a]]>b"
        with pytest.raises(ValueError):
            list(fields)

    def test_a_copied_message_outlives_the_original(self) -> None:
        message = read_message(new_order(), "FIX.4.4")
        fields = MessageFields(quickfix.Message(message))
        message.setField(11, "changed")
        del message
        assert fields[11] == "A1"


class TestReadMessage:
    @pytest.mark.parametrize("text", ["not fix at all", fix("8=FIX.4.4", "x5=D")])
    def test_text_that_is_not_fix_raises_invalid_message(self, text: str) -> None:
        with pytest.raises(quickfix.InvalidMessage):
            read_message(text, "FIX.4.4")

    def test_a_version_without_a_dictionary_is_a_setup_error(self) -> None:
        with pytest.raises(FixSetupError):
            read_message(new_order(begin_string="FIXT.1.1"), "FIXT.1.1")

    def test_each_dictionary_is_loaded_once(self) -> None:
        assert data_dictionary("FIX.4.4") is data_dictionary("FIX.4.4")


class TestTagName:
    @pytest.mark.parametrize(
        ("tag", "begin_string", "name"),
        [(55, "FIX.4.4", "Symbol(55)"), (553, "FIX.4.4", "Username(553)"),
         (41, "FIX.4.2", "OrigClOrdID(41)"), (99999, "FIX.4.4", "tag 99999"),
         (55, "FIX.9.9", "tag 55")],
    )
    def test_a_tag_is_named_by_the_dictionary_of_its_version(
        self, tag: int, begin_string: str, name: str
    ) -> None:
        assert tag_name(tag, begin_string) == name
