"""Fixtures of the engine tests: a fresh engine on the shipped configuration per test."""

from __future__ import annotations

import pytest
from engine_harness import EmbeddedHarness, ScriptedHarness


@pytest.fixture
def h() -> ScriptedHarness:
    """The engine routing to a scripted venue, with a fake clock."""
    return ScriptedHarness()


@pytest.fixture
def embedded() -> EmbeddedHarness:
    """The engine routing to the real embedded venue, with a fake clock."""
    return EmbeddedHarness()
