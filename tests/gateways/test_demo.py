"""`oms demo` end to end, in this process: the OMS with a durable audit log, FIX sessions
over loopback, the committed sample file and (when present) the first events of a real day.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from compliance.audit.reader import read_events
from gateways.demo.command import DemoOptions, DemoOutcome, run_demo
from gateways.demo.flow import CANCEL, EXECUTION, NEW, REPLACE, STALE_CANCEL
from gateways.demo.summary import latency_percentiles, summary_lines
from gateways.lobster import EventType
from oms.config import REPOSITORY_ROOT
from oms.events import EventKind

SAMPLE = REPOSITORY_ROOT / "config" / "SAMPLE_2024-01-02_message.csv"
AMZN = (
    REPOSITORY_ROOT.parent
    / "shared"
    / "data"
    / "lobster"
    / "AMZN_2012-06-21_34200000_57600000_message_1.csv"
)


def run(tmp_path: Path, lobster: Path, **options: object) -> DemoOutcome:
    return run_demo(
        DemoOptions(lobster=lobster, progress=False, directory=tmp_path / "run", **options)
    )  # type: ignore[arg-type]


def assert_consistent(outcome: DemoOutcome) -> None:
    """Every request answered, the file's executions traded as the exchange traded them."""
    plan, result = outcome.plan, outcome.result
    assert sum(result.sent.values()) == len(plan.requests) == len(result.latencies)
    assert result.sent[NEW] == plan.events[EventType.SUBMIT]
    assert result.received["ExecutionReport New"] == result.sent[NEW] + result.sent[EXECUTION]
    assert result.execution_fill_quantity == result.fill_quantity == plan.execution_quantity
    assert result.unfilled_executions == 0
    assert result.received["ExecutionReport Replaced"] == result.sent[REPLACE]
    cancels = result.sent[CANCEL] + result.sent[STALE_CANCEL]
    assert result.received["ExecutionReport Canceled"] == cancels
    assert not result.rejects


def test_demo_on_the_sample_answers_every_request_and_logs_every_event(tmp_path: Path) -> None:
    outcome = run(tmp_path, SAMPLE, sessions=2, in_flight=32)

    assert_consistent(outcome)
    result = outcome.result
    assert outcome.symbol == "SAMPLE"
    assert result.fills > 0 and result.sent[CANCEL] > 0 and result.sent[REPLACE] > 0

    events = list(read_events(outcome.config.audit.directory))
    assert len(events) == outcome.audit_events
    by_kind = Counter(event.kind for event in events)
    assert by_kind[EventKind.NEW_REQUESTED] == result.sent[NEW] + result.sent[EXECUTION]
    assert by_kind[EventKind.TRADE] == result.fills + result.execution_fills
    assert by_kind[EventKind.CANCELED] == result.received["ExecutionReport Canceled"]
    assert by_kind[EventKind.REPLACED] == result.sent[REPLACE]

    text = "\n".join(summary_lines(outcome))
    assert f"orders {result.sent[NEW]:,} (one per submit)" in text
    assert "Ack latency   p50" in text and "p99" in text


@pytest.mark.skipif(not AMZN.is_file(), reason=f"{AMZN} is not on this machine")
def test_demo_on_the_first_3000_events_of_a_real_day_trades_as_the_exchange(
    tmp_path: Path,
) -> None:
    outcome = run(tmp_path, AMZN, limit=3000)

    assert outcome.plan.event_count == 3000
    assert_consistent(outcome)
    assert outcome.result.execution_fills == outcome.plan.count(EXECUTION) > 250


def test_latency_percentiles_are_ordered() -> None:
    figures = latency_percentiles([0.001 * n for n in range(1, 101)])

    assert figures["p50"] <= figures["p90"] <= figures["p99"] <= figures["max"] == 0.1
    assert latency_percentiles([]) == {}
