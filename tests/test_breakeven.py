"""The break-even map is the array engine over a grid, and agrees with `estimate` cell by cell."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from costcompare.breakeven import break_even_map, default_axes
from costcompare.comparison import estimate
from costcompare.errors import WorkloadError
from costcompare.workload import DAYS_PER_MONTH, load_profile


@pytest.fixture(scope="module")
def bemap():
    return break_even_map(load_profile())


def test_at_least_100_by_100(bemap):
    assert len(bemap.sessions_per_day) >= 100 and len(bemap.searches_per_month) >= 100
    ny, nx = len(bemap.searches_per_month), len(bemap.sessions_per_day)
    assert bemap.monthly_usd.shape == (4, ny, nx)


@pytest.mark.parametrize(("ix", "iy"), [(0, 0), (60, 40), (119, 119), (100, 5), (20, 110)])
def test_cells_agree_with_estimate(bemap, ix, iy):
    base = load_profile()
    wl = dataclasses.replace(
        base,
        sessions_per_month=float(bemap.sessions_per_day[ix]) * DAYS_PER_MONTH,
        searches_per_month=float(bemap.searches_per_month[iy]),
    )
    est = estimate(wl, searchability=False)
    for k, name in enumerate(bemap.destinations):
        assert bemap.monthly_usd[k, iy, ix] == pytest.approx(
            est.get(name).steady_state_monthly_usd, rel=1e-9
        )
    assert bemap.destinations[bemap.cheapest[iy, ix]] == est.by_cost()[0].name


def test_the_map_changes_winner(bemap):
    # few searches: S3 wins; heavy volume and searching: Athena's whole-prefix scans lose
    assert bemap.cheapest_at(300, 0) == "s3"
    assert bemap.cheapest_at(100_000, 1000) == "cloudwatch-ia"


def test_axes_span_the_workload():
    w = dataclasses.replace(load_profile(), sessions_per_month=1e7, searches_per_month=5000)
    xs, ys = default_axes(w)
    assert xs[0] <= 1e7 / DAYS_PER_MONTH <= xs[-1] and ys[0] == 0 and ys[-1] >= 5000


def test_bad_axes():
    with pytest.raises(WorkloadError, match="two 1-D axes"):
        break_even_map(load_profile(), np.array([1.0]), np.array([1.0, 2.0]))
