"""`oms replay` end to end: other engines' logs replayed into the OMS running in this process
over a loopback FIX session; every request is answered and the session stays up."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixlog_text import LogWriter, log_lines
from running_oms import RunningOms, free_port

from gateways.fix.replay import (
    ReplayError,
    ReplayOptions,
    ReplayResult,
    prefix,
    replay,
    symbol_map,
)
from oms.config import REPOSITORY_ROOT

FIXLOGS = REPOSITORY_ROOT.parent / "shared" / "data" / "fixlogs"
KOD_BON = FIXLOGS / "FIX.4.2-KOD-BON.messages.current.log"
IREACH = FIXLOGS / "FIX.4.4-IREACH-MLPT_UAT_2020-03-02_04.sanitized.log"
EXECUTOR = FIXLOGS / "FIX.4.2-CLIENT1-EXECUTOR.messages.current.sanitized.log"


def run(oms: RunningOms, fixlog: Path, **options: object) -> tuple[ReplayResult, list[str]]:
    lines: list[str] = []
    result = replay(
        ReplayOptions(fixlog=fixlog, port=oms.port, **options),  # type: ignore[arg-type]
        emit=lines.append,
    )
    return result, lines


def assert_answered(result: ReplayResult, lines: list[str]) -> None:
    assert result.every_request_answered
    assert result.logged_on
    assert len(lines) == len(result.outcomes) == sum(result.tally.requests.values())
    assert not [line for line in lines if line.endswith("-> no answer")]


@pytest.mark.parametrize(
    ("fixlog", "sender", "requests"),
    [
        (KOD_BON, "CLIENT3", {"D": 602, "F": 602}),
        (IREACH, "CLIENT1", {"D": 40, "G": 62, "F": 11, "H": 2}),
        (EXECUTOR, "CLIENT3", {"D": 21}),
    ],
    ids=["kod-bon-fix42", "ireach-fix44-semicolons", "executor-fix42"],
)
def test_replay_of_a_real_log_answers_every_request_and_keeps_the_session(
    tmp_path: Path, fixlog: Path, sender: str, requests: dict[str, int]
) -> None:
    if not fixlog.is_file():
        pytest.skip(f"{fixlog} is not on this machine")
    with RunningOms(tmp_path) as oms:
        result, lines = run(oms, fixlog)

    assert_answered(result, lines)
    assert result.sender == sender
    assert result.tally.requests == requests
    # The logs' symbols are not ours: every new order is rejected as an unknown symbol.
    new_orders = [o for o in result.outcomes if o.logged.msg_type == "D" and o.answer]
    assert {o.answer.get(103) for o in new_orders if o.answer.get(35) == "8"} == {"1"}


@pytest.mark.skipif(not IREACH.is_file(), reason=f"{IREACH} is not on this machine")
def test_replay_strips_broker_tags_and_maps_symbols_onto_the_order_path(tmp_path: Path) -> None:
    mapping = symbol_map(["LLOYLN=KO", "ABIBB=WMT", "ALCSW=CSCO", "ISSDC=AMD", "ACFP=BAC"])
    with RunningOms(tmp_path) as oms:
        result, lines = run(oms, IREACH, symbol_map=mapping)

    assert_answered(result, lines)
    answers = result.tally.answers
    assert answers["D -> ExecutionReport New/New"] > 0
    assert answers["G -> ExecutionReport Replaced/New"] > 0
    assert answers["F -> ExecutionReport Canceled/Canceled"] + answers[
        "F -> OrderCancelReject Canceled CxlRejReason=0"
    ] > 0
    # A cancel naming a replace the OMS refused (MaxFloor(111), below) names a ClOrdID the
    # order never went by: refused, naming the one it goes by.
    assert all(
        "is not the order's current ClOrdID(11)" in line
        for line in lines if " F " in line and "CxlRejReason=99" in line
    )
    assert result.tally.stripped_messages == 114
    assert any(line.startswith("Stripped    1,087 tags") for line in result.summary)
    # The log's currencies belonged to its European listings, not to the mapped symbols.
    assert result.tally.currencies_left_out["EUR"] > 0
    assert any(line.startswith("Currency(15) left out of") for line in result.summary)
    # Replaces that ask for a shown quantity are refused, naming the tag.
    refused = [line for line in lines if "MaxFloor(111) is not supported" in line]
    assert refused and all(" G " in line and "OrderCancelReject" in line for line in refused)


@pytest.mark.skipif(not EXECUTOR.is_file(), reason=f"{EXECUTOR} is not on this machine")
def test_replay_onto_a_known_symbol_meets_the_price_band(tmp_path: Path) -> None:
    with RunningOms(tmp_path) as oms:
        result, lines = run(oms, EXECUTOR, symbol_map={"AAPl": "AAPL"})

    assert_answered(result, lines)
    assert all("OrdRejReason=3: price_band: 100" in line for line in lines)


@pytest.mark.skipif(not KOD_BON.is_file(), reason=f"{KOD_BON} is not on this machine")
def test_the_readmes_replay_of_kod_bon_onto_dis_rests_and_cancels_every_order_twice(
    tmp_path: Path,
) -> None:
    # The log's prices are 99.0 and 101.0; DIS's reference price is 100.00 (config/
    # instruments.csv), well inside the shipped 10% price band.
    with RunningOms(tmp_path, audit_mode="durable") as oms:
        first, lines = run(oms, KOD_BON, symbol_map={"DEMO": "DIS"})
        again, _ = run(oms, KOD_BON, symbol_map={"DEMO": "DIS"})
        prefixed, _ = run(oms, KOD_BON, symbol_map={"DEMO": "DIS"}, id_prefix="run2-")

    assert_answered(first, lines)
    expected = {"D -> ExecutionReport New/New": 602,
                "F -> ExecutionReport Canceled/Canceled": 602}
    assert first.tally.answers == expected
    # The same ClOrdIDs again are duplicates; under a prefix they are new ones.
    assert again.tally.answers["D -> ExecutionReport Rejected/Rejected OrdRejReason=6"] == 602
    assert prefixed.tally.answers == expected
    assert all(o.cl_ord_id.startswith("run2-") for o in prefixed.outcomes)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("x" * 33, "33 characters long; the limit is 32"), ("run 2", "whitespace"),
     ("a=b", "'='"), ("a\x01", "control character")],
)
def test_a_prefix_no_cl_ord_id_could_carry_is_refused(text: str, problem: str) -> None:
    assert prefix("run2-") == "run2-"
    with pytest.raises(ReplayError, match=problem):
        prefix(text)


def test_replay_of_a_pipe_delimited_log_with_a_prefix_takes_the_whole_order_path(
    tmp_path: Path,
) -> None:
    writer = LogWriter("FIX.4.4", client="TRADER", broker="BROKER")
    order = [
        (11, "A1"),
        (21, "1"),
        (55, "AAPL"),
        (54, "1"),
        (60, "20240102-14:30:00"),
        (38, "100"),
        (40, "2"),
        (44, "190.00"),
    ]
    messages = [
        writer.message("A", [(98, "0"), (108, "30")]),
        writer.message("D", [*order, (6401, "broker algo")]),
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
            "G",
            [
                (41, "A1"),
                (11, "A2"),
                (21, "1"),
                (55, "AAPL"),
                (54, "1"),
                (60, "20240102-14:30:01"),
                (38, "200"),
                (40, "2"),
                (44, "190.00"),
            ],
        ),
        writer.message("H", [(11, "A2"), (55, "AAPL"), (54, "1")]),
        writer.message(
            "F", [(41, "A2"), (11, "A3"), (55, "AAPL"), (54, "1"), (60, "20240102-14:30:02")]
        ),
        writer.message(
            "D",
            [
                (11, "B1"),
                (21, "1"),
                (55, "NOPE"),
                (54, "2"),
                (60, "20240102-14:30:03"),
                (38, "5"),
                (40, "1"),
            ],
        ),
    ]
    path = tmp_path / "trader.log"
    path.write_text(
        log_lines(messages, "|", "2024-01-02 14:30:00,001 INFO fix.out "), encoding="utf-8"
    )

    with RunningOms(tmp_path) as oms:
        result, lines = run(oms, path)

    assert_answered(result, lines)
    assert result.sender == "CLIENT1"
    assert [line.split(" -> ")[1] for line in lines] == [
        "ExecutionReport New/New",
        "ExecutionReport Replaced/New",
        "ExecutionReport Order Status/New",
        "ExecutionReport Canceled/Canceled: canceled on request",
        "ExecutionReport Rejected/Rejected OrdRejReason=1: Symbol(55) NOPE is not known",
    ]
    assert result.tally.stripped == {(6401, "not in the data dictionary"): 1}


def test_replay_without_an_oms_to_talk_to_says_so(tmp_path: Path) -> None:
    writer = LogWriter()
    path = tmp_path / "trader.log"
    path.write_text(log_lines([writer.message("D", [(11, "A1"), (55, "AAPL")])]), "utf-8")

    with pytest.raises(ReplayError, match="could not log on"):
        replay(ReplayOptions(fixlog=path, port=free_port(), wait=1.0), emit=lambda _: None)


def test_symbol_map_refuses_a_pair_without_its_equals_sign() -> None:
    assert symbol_map(["DEMO=AAPL", "X=Y"]) == {"DEMO": "AAPL", "X": "Y"}
    with pytest.raises(ReplayError, match="not FROM=TO"):
        symbol_map(["DEMO"])
