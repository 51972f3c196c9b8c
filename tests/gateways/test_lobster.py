"""The LOBSTER message file reader: each event type, prices, the ticker in the file name, and
lines that are not LOBSTER messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateways.lobster import (
    EventType,
    LobsterFormatError,
    read_messages,
    symbol_from_file_name,
)
from oms.model import PRICE_SCALE, Side

# One line of each event type the demo meets, as LOBSTER writes them.
LINES = """\
34200.017459617,5,0,1,2238200,-1
34200.18960767,1,11885113,21,2238100,1
34200.190226476,4,11885113,21,2238100,1
34200.2,1,11885200,300,2238500,-1
34200.3,2,11885200,100,2238500,-1
34200.4,3,11885200,200,2238500,-1
34201.5,7,0,0,-1,-1
"""


def write(tmp_path: Path, text: str, name: str = "AMZN_2012-06-21_message_1.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


def test_read_messages_gives_each_event_type_with_its_fields(tmp_path: Path) -> None:
    events = list(read_messages(write(tmp_path, LINES)))

    assert [e.event_type for e in events] == [
        EventType.HIDDEN_EXECUTION,
        EventType.SUBMIT,
        EventType.VISIBLE_EXECUTION,
        EventType.SUBMIT,
        EventType.PARTIAL_CANCEL,
        EventType.DELETE,
        EventType.HALT,
    ]
    submit = events[1]
    assert (submit.line, submit.order_id, submit.size, submit.price) == (2, 11885113, 21, 2238100)
    assert submit.side is Side.BUY
    assert events[3].side is Side.SELL
    assert submit.time_ns == 34_200_189_607_670
    assert events[0].order_id == 0
    assert events[-1].price == -1


def test_prices_in_oms_units_and_fix_text_are_exact(tmp_path: Path) -> None:
    submit = list(read_messages(write(tmp_path, LINES)))[1]

    assert submit.price_units == 22381 * PRICE_SCALE // 100
    assert submit.price_text == "223.8100"


def test_read_messages_with_a_limit_stops_after_that_many_lines(tmp_path: Path) -> None:
    assert len(list(read_messages(write(tmp_path, LINES), limit=3))) == 3


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("34200.1,1,5,100,2238100", "5 columns"),
        ("34200.1,9,5,100,2238100,1", "event type 9"),
        ("34200.1,1,5,lots,2238100,1", "size is not a whole number"),
        ("34200.1,1,5,100,2238100,0", "direction 0"),
        ("noon,1,5,100,2238100,1", "time is not a number"),
    ],
)
def test_read_messages_on_a_bad_line_names_the_line_and_the_problem(
    tmp_path: Path, line: str, complaint: str
) -> None:
    path = write(tmp_path, LINES + line + "\n")

    with pytest.raises(LobsterFormatError, match=complaint) as raised:
        list(read_messages(path))
    assert f"{path}:8" in str(raised.value)


def test_symbol_from_file_name_takes_the_ticker_before_the_first_underscore() -> None:
    name = Path("data/AMZN_2012-06-21_34200000_57600000_message_1.csv")

    assert symbol_from_file_name(name) == "AMZN"
    assert symbol_from_file_name(Path("sample-lobster.csv")) is None
