"""Price levels: one side of one instrument's book, best price first, FIFO within a price.

Both the OMS order book and the embedded venue's matching engine keep their working
orders here. The structure sits behind this small class so that it can be changed by
measurement (see `bench/`) without touching either user.

A level is a plain dict used as a FIFO queue: dicts keep insertion order and delete by key
in O(1). Deleting from the front leaves dead slots that iteration has to skip, so a level
that has lost more entries than it holds is rebuilt (amortised O(1) per removal).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Hashable, TypeVar

from sortedcontainers import SortedDict

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_COMPACT_AFTER = 64


class PriceLevels(Generic[K, V]):
    """Price -> FIFO of (key, item), iterated best price first."""

    __slots__ = ("_levels", "_removed", "descending")

    def __init__(self, *, descending: bool) -> None:
        # Bids are kept under the negated price so that both sides iterate best first.
        self.descending = descending
        self._levels: SortedDict = SortedDict()
        self._removed: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._levels)

    def __bool__(self) -> bool:
        return bool(self._levels)

    def add(self, price: int, key: K, item: V) -> None:
        """Queue `item` at the back of its price level."""
        sort_key = -price if self.descending else price
        level = self._levels.get(sort_key)
        if level is None:
            self._levels[sort_key] = {key: item}
        else:
            level[key] = item

    def remove(self, price: int, key: K) -> V | None:
        """Take `key` out of its level; None if it is not there."""
        sort_key = -price if self.descending else price
        level = self._levels.get(sort_key)
        if level is None:
            return None
        item = level.pop(key, None)
        if item is None:
            return None
        if not level:
            del self._levels[sort_key]
            self._removed.pop(sort_key, None)
            return item
        removed = self._removed.get(sort_key, 0) + 1
        if removed > _COMPACT_AFTER and removed > len(level):
            self._levels[sort_key] = dict(level)
            removed = 0
        self._removed[sort_key] = removed
        return item

    def best_price(self) -> int | None:
        if not self._levels:
            return None
        sort_key = self._levels.peekitem(0)[0]
        return -sort_key if self.descending else sort_key

    def best(self) -> tuple[int, dict[K, V]] | None:
        """The best price and its FIFO (mutate it only through this class)."""
        if not self._levels:
            return None
        sort_key, level = self._levels.peekitem(0)
        return (-sort_key if self.descending else sort_key), level

    def level(self, price: int) -> dict[K, V] | None:
        return self._levels.get(-price if self.descending else price)

    def levels(self) -> Iterator[tuple[int, dict[K, V]]]:
        """Every level, best price first."""
        sign = -1 if self.descending else 1
        for sort_key, level in self._levels.items():
            yield sign * sort_key, level

    def items(self) -> Iterator[V]:
        """Every item, best price first, FIFO within a price."""
        for level in self._levels.values():
            yield from level.values()
