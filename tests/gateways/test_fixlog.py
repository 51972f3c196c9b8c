"""Reading other engines' FIX logs (delimiters, line prefixes, unreadable lines, the client
side) and preparing their requests for our session (stripping, symbol map, Account)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixlog_text import LogWriter, log_lines

from gateways.fix.fixlog import (
    STRIPPED_NOT_IN_MESSAGE,
    STRIPPED_UNKNOWN,
    Dictionaries,
    FixLogError,
    LoggedMessage,
    prepare,
    read_fix_log,
)

DICTIONARIES = Dictionaries()


def new_order(writer: LogWriter, cl_ord_id: str = "A1", *extra: tuple[int, str]) -> str:
    fields = [
        (1, "BROKERACC"),
        (11, cl_ord_id),
        (21, "1"),
        (55, "AAPL"),
        (54, "1"),
        (60, "20240102-14:30:00"),
        (38, "100"),
        (40, "2"),
        (44, "190.00"),
        *extra,
    ]
    return writer.message("D", fields)


def conversation(writer: LogWriter) -> list[str]:
    """A Logon each way, a new order, its ExecutionReport, a cancel, a heartbeat."""
    return [
        writer.message("A", [(98, "0"), (108, "30")]),
        writer.message("A", [(98, "0"), (108, "30")], from_client=False),
        new_order(writer),
        writer.message(
            "8",
            [
                (37, "1"),
                (11, "A1"),
                (17, "E1"),
                (150, "0"),
                (39, "0"),
                (55, "AAPL"),
                (54, "1"),
                (151, "100"),
                (14, "0"),
                (6, "0"),
            ],
            from_client=False,
        ),
        writer.message(
            "F", [(41, "A1"), (11, "A2"), (55, "AAPL"), (54, "1"), (60, "20240102-14:30:01")]
        ),
        writer.message("0", []),
    ]


@pytest.mark.parametrize(
    ("delimiter", "prefix", "shown"),
    [
        ("\x01", "20240102-14:30:00.123456789 : ", "SOH"),
        ("|", "2024/01/02-09:30:00,123 INFO :: TracingIncomingMessage[X]: ", "|"),
        (";", "", ";"),
        ("^A", "2024-01-02 14:30:00 ", "SOH"),
    ],
)
def test_read_fix_log_reads_each_delimiter_behind_any_prefix(
    tmp_path: Path, delimiter: str, prefix: str, shown: str
) -> None:
    writer = LogWriter()
    path = tmp_path / "session.log"
    path.write_text(log_lines(conversation(writer), delimiter, prefix), encoding="utf-8")

    fix_log = read_fix_log(path, DICTIONARIES)

    assert [m.msg_type for m in fix_log.messages] == ["A", "A", "D", "8", "F", "0"]
    assert fix_log.delimiters == {shown: 6}
    assert fix_log.client_comp_id == "TRADER"
    assert [(m.msg_type, m.line) for m in fix_log.requests()] == [("D", 3), ("F", 5)]
    assert fix_log.unreadable == []


def test_read_fix_log_counts_cut_short_lines_and_skips_lines_without_a_message(
    tmp_path: Path,
) -> None:
    writer = LogWriter()
    text = "session started\n" + log_lines([new_order(writer)], "|")
    text += "8=FIX.4.4|9=70|35=D|34=2|49=TRADER\n"
    path = tmp_path / "session.log"
    path.write_text(text, encoding="utf-8")

    fix_log = read_fix_log(path, DICTIONARIES)

    assert len(fix_log.messages) == 1
    assert [line for line, _ in fix_log.unreadable] == [3]
    assert "CheckSum(10)" in fix_log.unreadable[0][1]


def test_a_log_without_a_new_order_has_no_client_side(tmp_path: Path) -> None:
    writer = LogWriter()
    path = tmp_path / "session.log"
    path.write_text(log_lines([writer.message("0", [])]), encoding="utf-8")

    with pytest.raises(FixLogError, match="no NewOrderSingle"):
        read_fix_log(path, DICTIONARIES).client_comp_id  # noqa: B018


def logged_new_order(tmp_path: Path, *extra: tuple[int, str]) -> LoggedMessage:
    writer = LogWriter()
    path = tmp_path / "session.log"
    retransmitted = [(43, "Y"), (122, "20240102-14:29:59.000"), (115, "END_CLIENT")]
    message = writer.message(
        "D",
        [
            (1, "BROKERACC"),
            (11, "A1"),
            (21, "1"),
            (55, "DEMO"),
            (54, "1"),
            (60, "20240102-14:30:00"),
            (38, "100"),
            (40, "2"),
            (44, "99"),
            *extra,
        ],
        header=retransmitted,
    )
    path.write_text(log_lines([message], "|"), encoding="utf-8")
    (request,) = read_fix_log(path, DICTIONARIES).requests()
    return request


def test_prepare_strips_unknown_and_misplaced_tags_and_names_why(tmp_path: Path) -> None:
    request = logged_new_order(tmp_path, (9999, "broker algo"), (150, "0"))

    prepared = prepare(request, DICTIONARIES.get("FIX.4.4"))

    assert sorted(prepared.stripped) == [(150, STRIPPED_NOT_IN_MESSAGE), (9999, STRIPPED_UNKNOWN)]
    message = prepared.message
    assert not message.isSetField(9999) and not message.isSetField(150)
    assert message.getField(11) == "A1" and message.getField(44) == "99"


def test_prepare_with_a_prefix_renames_cl_ord_id_and_orig_cl_ord_id(tmp_path: Path) -> None:
    prepared = prepare(logged_new_order(tmp_path, (41, "A0")), DICTIONARIES.get("FIX.4.4"),
                       strip=False, id_prefix="run2-")

    assert prepared.message.getField(11) == "run2-A1"
    assert prepared.message.getField(41) == "run2-A0"


def test_prepare_drops_the_old_connection_and_account_and_keeps_other_header_fields(
    tmp_path: Path,
) -> None:
    prepared = prepare(logged_new_order(tmp_path), DICTIONARIES.get("FIX.4.4"))

    header = prepared.message.getHeader()
    assert not header.isSetField(43) and not header.isSetField(122)
    assert header.getField(115) == "END_CLIENT"
    assert prepared.account_left_out == "BROKERACC"
    assert not prepared.message.isSetField(1)


def test_prepare_maps_symbols_and_keeps_what_it_is_told_to(tmp_path: Path) -> None:
    request = logged_new_order(tmp_path, (9999, "broker algo"))

    prepared = prepare(
        request,
        DICTIONARIES.get("FIX.4.4"),
        strip=False,
        symbol_map={"DEMO": "AAPL"},
        keep_account=True,
    )

    message = prepared.message
    assert message.getField(55) == "AAPL" and prepared.mapped_symbol == ("DEMO", "AAPL")
    assert message.getField(9999) == "broker algo" and prepared.stripped == []
    assert message.getField(1) == "BROKERACC" and prepared.account_left_out is None


def test_prepare_leaves_the_logs_currency_out_with_a_mapped_symbol_only(
    tmp_path: Path,
) -> None:
    mapped = prepare(logged_new_order(tmp_path, (15, "GBp")), DICTIONARIES.get("FIX.4.4"),
                     symbol_map={"DEMO": "AAPL"})
    kept = prepare(logged_new_order(tmp_path, (15, "GBp")), DICTIONARIES.get("FIX.4.4"))

    assert mapped.currency_left_out == "GBp" and not mapped.message.isSetField(15)
    assert kept.currency_left_out is None and kept.message.getField(15) == "GBp"
