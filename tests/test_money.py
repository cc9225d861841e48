"""Display money: currency and rate checked once, figures formatted one way."""

from __future__ import annotations

import math

import pytest

from costcompare.errors import WorkloadError
from costcompare.money import MAX_FX_RATE, Money


def test_usd_needs_no_rate_and_ignores_one():
    assert Money.parse(" usd ", None) == Money()
    assert Money.parse("USD", 150) == Money()


def test_a_currency_with_its_rate():
    money = Money.parse("jpy", 150)
    assert money == Money("JPY", 150)
    assert money(2.0) == "¥300"
    assert Money.parse("EUR", 0.5)(10) == "5.00 EUR"


@pytest.mark.parametrize(
    "rate", [None, 0, -1, math.inf, math.nan, 1e308, MAX_FX_RATE * 10], ids=repr
)
def test_a_rate_must_be_finite_positive_and_sane(rate):
    """Issue 18.8: --fx-rate 1e308 printed ¥inf in every cell."""
    with pytest.raises(WorkloadError, match=r"--currency JPY needs a positive --fx-rate") as err:
        Money.parse("JPY", rate)
    assert "\n" not in str(err.value)


def test_the_largest_sane_rate_keeps_totals_finite():
    money = Money.parse("XYZ", MAX_FX_RATE)
    assert math.isfinite(1e21 * money.fx_rate)


@pytest.mark.parametrize("code", ["yen!", "US", "DOLLARS", "", "x" * 10_000])
def test_a_currency_code_is_three_letters(code):
    with pytest.raises(WorkloadError, match="is not a currency code") as err:
        Money.parse(code, 150)
    assert len(str(err.value)) < 120
