"""Fixtures of the audit log tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_logs import SmallLog, write_small_log


@pytest.fixture
def small_log(tmp_path: Path) -> SmallLog:
    """Three segments of three batches of three events each, in a fresh directory."""
    return write_small_log(tmp_path / "audit")
