"""Collects each benchmark's throughput and prints the table with the ratios to the floor
at the end of the session (after pytest-benchmark's own tables)."""

from __future__ import annotations

import pytest

from bench.support import ThroughputTable

_TABLE = pytest.StashKey[ThroughputTable]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TABLE] = ThroughputTable()


@pytest.fixture
def throughput(request: pytest.FixtureRequest) -> ThroughputTable:
    return request.config.stash[_TABLE]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    table = terminalreporter.config.stash.get(_TABLE, None)
    if not table:
        return
    terminalreporter.section("engine throughput beside the floor (orders per second)")
    for line in table.lines():
        terminalreporter.write_line(line)
