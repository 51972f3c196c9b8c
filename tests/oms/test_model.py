"""Exact prices: scaling to our integers is exact or refused, never rounded."""

from __future__ import annotations

import pytest

from oms.model import PRICE_SCALE, price_from_decimal


@pytest.mark.parametrize(
    ("text", "units"),
    [("190.00", 190 * PRICE_SCALE), ("0.00000001", 1), ("-3.5", -350_000_000),
     ("190.000000000000000000000000000", 190 * PRICE_SCALE)],
)
def test_a_price_with_at_most_eight_decimals_scales_exactly(text: str, units: int) -> None:
    assert price_from_decimal(text) == units


@pytest.mark.parametrize(
    "text",
    ["190.0000000001", "190.000000000000000000000000001",
     "123456789012345678901234567890.000000001", "NaN", "Infinity"],
)
def test_a_price_finer_than_eight_decimals_is_refused_not_rounded(text: str) -> None:
    # 190.000000000000000000000000001 has 31 digits: the default decimal context (28)
    # used to round it to 190.00.
    with pytest.raises(ValueError, match="at most 8 decimals"):
        price_from_decimal(text)


def test_a_price_of_many_whole_digits_keeps_every_one() -> None:
    text = "123456789012345678901234567890.12345678"
    assert price_from_decimal(text) == int(text.replace(".", ""))
