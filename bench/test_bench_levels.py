"""Micro-benchmarks of `oms.levels.PriceLevels`, beside a `SortedDict` keyed the same way.

`SortedDictLevels` is the structure `PriceLevels` used before (a `SortedDict` of sort key to
FIFO dict), reduced to the operations measured here, so that the choice in `oms.levels`
can be re-checked on any machine. Each benchmark times `OPERATIONS` calls on a book of
asks spread over `depth` levels; no figure is asserted.

- best: read the best price and its level.
- new level at the top: add an order one tick better than the best, then remove it.
- new level in the middle: the same at a price halfway down the book (the worst case of a
  plain sorted list, which has to move half of its elements).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sortedcontainers import SortedDict

from oms.levels import PriceLevels

OPERATIONS = 10_000
TICK = 100
BOTTOM = 1_000_000


class SortedDictLevels:
    """Asks in a SortedDict of price to FIFO dict: the baseline."""

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: SortedDict = SortedDict()

    def add(self, price: int, key: str, item: int) -> None:
        level = self._levels.get(price)
        if level is None:
            self._levels[price] = {key: item}
        else:
            level[key] = item

    def remove(self, price: int, key: str) -> int | None:
        level = self._levels.get(price)
        if level is None:
            return None
        item = level.pop(key, None)
        if not level:
            del self._levels[price]
        return item

    def best(self) -> tuple[int, dict[str, int]] | None:
        return self._levels.peekitem(0) if self._levels else None


def book(kind: str, depth: int) -> Any:
    levels: Any = PriceLevels(descending=False) if kind == "list" else SortedDictLevels()
    for n in range(depth):
        levels.add(BOTTOM + (1 + n) * TICK, f"k{n}", n)
    return levels


def repeat(operation: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        for _ in range(OPERATIONS):
            operation()

    return run


KINDS = ["list", "sorteddict"]
DEPTHS = [100, 10_000, 100_000]


@pytest.mark.parametrize("kind", KINDS)
def test_best_level(benchmark: Any, kind: str) -> None:
    levels = book(kind, 1_000)
    benchmark(repeat(levels.best))


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", KINDS)
def test_new_level_at_the_top(benchmark: Any, kind: str, depth: int) -> None:
    levels = book(kind, depth)
    price = BOTTOM

    def add_and_remove() -> None:
        levels.add(price, "new", 0)
        levels.remove(price, "new")

    benchmark(repeat(add_and_remove))


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("kind", KINDS)
def test_new_level_in_the_middle(benchmark: Any, kind: str, depth: int) -> None:
    levels = book(kind, depth)
    price = BOTTOM + (depth // 2) * TICK + TICK // 2

    def add_and_remove() -> None:
        levels.add(price, "new", 0)
        levels.remove(price, "new")

    benchmark(repeat(add_and_remove))
