"""The writer given the end of one trading day and the start of the next in one commit."""

from __future__ import annotations

from pathlib import Path

from compliance.audit.reader import read_events, verify
from compliance.audit.samples import DAY_NS, MARKET_OPEN_NS, order_flow
from compliance.audit.writer import AuditLog
from oms.config import AuditConfig


def test_one_commit_across_midnight_writes_each_day_to_its_own_segment(tmp_path: Path) -> None:
    late = order_flow(3, start_ns=MARKET_OPEN_NS)
    early = order_flow(3, first_seq=4, start_ns=MARKET_OPEN_NS + DAY_NS)
    # A long window: events wait for `flush`, so the second commit holds both days.
    config = AuditConfig(directory=tmp_path, batch_events=64, batch_window_ms=10_000.0)
    with AuditLog(config) as log:
        log.append(late[0])
        log.flush()
        for event in [*late[1:], *early]:
            log.append(event)
        log.flush()

    assert [p.name[:8] for p in sorted(tmp_path.iterdir())] == ["20260302", "20260303"]
    assert [e.seq for e in read_events(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert verify(tmp_path).ok
