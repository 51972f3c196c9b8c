"""Shared by every test folder: the plain helper modules in this folder are importable.

Test folders have no `__init__.py`, so a helper such as `scripted_venue` is imported by its
bare name; putting this folder on `sys.path` makes that work from any test folder and under
any pytest import mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
