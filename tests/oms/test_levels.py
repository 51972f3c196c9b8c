"""Price levels: best price first on either side, FIFO within a price, and the same answers
whether the prices sit in a plain list or, past the list limit, in a SortedList."""

from __future__ import annotations

import random

import pytest

from oms import levels as levels_module
from oms.levels import PriceLevels


def prices_of(book: PriceLevels[str, int]) -> list[int]:
    return [price for price, _ in book.levels()]


@pytest.mark.parametrize(("descending", "best"), [(True, 102), (False, 100)])
def test_levels_iterate_best_price_first_on_either_side(descending: bool, best: int) -> None:
    book: PriceLevels[str, int] = PriceLevels(descending=descending)
    for n, price in enumerate((101, 100, 102, 101)):
        book.add(price, f"k{n}", n)
    assert book.best_price() == best
    assert prices_of(book) == sorted({100, 101, 102}, reverse=descending)
    assert len(book) == 3 and bool(book)


def test_items_within_a_price_come_out_in_arrival_order() -> None:
    book: PriceLevels[str, int] = PriceLevels(descending=False)
    for n in range(5):
        book.add(100, f"k{n}", n)
    book.add(99, "front", -1)
    assert list(book.items()) == [-1, 0, 1, 2, 3, 4]
    assert book.best() == (99, {"front": -1})


def test_removing_the_last_item_of_a_level_removes_the_level() -> None:
    book: PriceLevels[str, int] = PriceLevels(descending=True)
    book.add(100, "a", 1)
    book.add(99, "b", 2)
    assert book.remove(100, "a") == 1
    assert book.best_price() == 99 and book.level(100) is None
    assert book.remove(99, "b") == 2
    assert book.best() is None and book.best_price() is None and not book


def test_removing_what_is_not_there_returns_none() -> None:
    book: PriceLevels[str, int] = PriceLevels(descending=True)
    book.add(100, "a", 1)
    assert book.remove(100, "zzz") is None
    assert book.remove(101, "a") is None
    assert book.level(100) == {"a": 1}


def test_level_that_lost_most_of_its_entries_keeps_its_order_after_rebuild() -> None:
    book: PriceLevels[str, int] = PriceLevels(descending=False)
    for n in range(300):
        book.add(100, f"k{n}", n)
    for n in range(250):
        book.remove(100, f"k{n}")
    assert list(book.items()) == list(range(250, 300))


@pytest.mark.parametrize("descending", [True, False])
def test_many_levels_give_the_same_answers_past_the_list_limit(
    monkeypatch: pytest.MonkeyPatch, descending: bool
) -> None:
    monkeypatch.setattr(levels_module, "_LIST_LIMIT", 16)
    draw = random.Random(3)
    book: PriceLevels[str, int] = PriceLevels(descending=descending)
    shadow: dict[int, list[str]] = {}
    for step in range(2_000):
        price = draw.randrange(60)
        if draw.random() < 0.55 or not shadow.get(price):
            key = f"k{step}"
            book.add(price, key, step)
            shadow.setdefault(price, []).append(key)
        else:
            key = shadow[price].pop(draw.randrange(len(shadow[price])))
            assert book.remove(price, key) is not None
            if not shadow[price]:
                del shadow[price]
        expected = sorted(shadow, reverse=descending)
        assert prices_of(book) == expected
        assert book.best_price() == (expected[0] if expected else None)
        assert len(book) == len(shadow)
    for price, keys in shadow.items():
        level = book.level(price)
        assert level is not None and list(level) == keys
