"""Monte Carlo bands: reproducible, centred on the workload, and consistent with the engine."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from costcompare.bands import attach, input_spreads, simulate
from costcompare.comparison import estimate
from costcompare.workload import load_profile


@pytest.fixture(scope="module")
def book():
    from costcompare.pricing import default_table

    return default_table().resolve("ap-northeast-1")


def test_same_seed_same_bands_other_seed_differs(book):
    w = load_profile()
    a = simulate(w, book, draws=500, seed=7)
    b = simulate(w, book, draws=500, seed=7)
    c = simulate(w, book, draws=500, seed=8)
    assert a.as_dict() == b.as_dict()
    assert a.as_dict() != c.as_dict()


def test_percentiles_ordered_and_probabilities_sum_to_one(book):
    bands = simulate(load_profile(), book, draws=1000)
    for band in bands.bands:
        assert band.monthly[0] <= band.monthly[1] <= band.monthly[2]
        assert band.total[0] <= band.total[1] <= band.total[2]
    assert sum(b.p_cheapest for b in bands.bands) == pytest.approx(1.0)


def test_zero_spread_reproduces_the_estimate(book):
    """With every spread 0 and no uncertain price, every draw is the workload itself."""
    w = dataclasses.replace(load_profile(), searches_per_month=0)
    spreads = [dataclasses.replace(s, sigma=0.0) for s in input_spreads(w)]
    result = simulate(w, book, ["s3"], draws=50, spreads=spreads, price_uncertainty=False)
    expected = estimate(w, destinations=["s3"], searchability=False).get("s3")
    band = result.get("s3")
    assert band.monthly == pytest.approx((expected.steady_state_monthly_usd,) * 3)
    assert band.total == pytest.approx((expected.total_usd,) * 3)


def test_measured_spread_sets_the_width():
    w = dataclasses.replace(load_profile(), session_bytes_p50=50_000, session_bytes_p95=200_000)
    spread = next(s for s in input_spreads(w) if s.key == "session_bytes")
    assert spread.sigma == pytest.approx(math.log(4) / 1.6448536269514722)
    assert "measured" in spread.basis
    cv = dataclasses.replace(w, sessions_per_day_cv=0.5)
    sessions = next(s for s in input_spreads(cv) if s.key == "sessions_per_month")
    assert sessions.sigma == pytest.approx(math.sqrt(math.log(1.25)))


def test_median_draw_is_near_the_workload(book):
    w = load_profile()
    bands = simulate(w, book, ["s3"], draws=4000)
    expected = estimate(w, destinations=["s3"], searchability=False).get("s3")
    # the median input gives (nearly) the median cost: costs rise with every varied input
    assert bands.get("s3").monthly_p50 == pytest.approx(expected.steady_state_monthly_usd, rel=0.1)
    assert np.all(bands.samples["s3"] > 0)


def test_json_bands_block():
    est = attach(estimate(load_profile(), searchability=False), draws=300)
    data = est.as_dict()["bands"]
    assert data["draws"] == 300 and data["percentiles"] == [10, 50, 90]
    names = {d["name"] for d in data["destinations"]}
    assert names == {d.name for d in est.destinations}
    first = data["destinations"][0]
    assert set(first["monthly_usd"]) == {"p10", "p50", "p90"} and "p_cheapest" in first
    assert {i["input"] for i in data["inputs"]} >= {"sessions_per_month", "session_bytes"}


def test_bands_chart_one_violin_per_destination(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from costcompare.charts import plot_cost_bands, write_charts

    est = attach(estimate(load_profile()), draws=300)
    ax = plot_cost_bands(est)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        b.destination for b in est.bands.by_median()
    ]
    best = max(est.bands.bands, key=lambda b: b.p_cheapest)
    assert ax.get_title().startswith(f"{best.destination} is cheapest in")
    # a log-cost axis: the P50 dot of each destination sits at log10 of its P50
    dots = [ln for ln in ax.lines if ln.get_marker() == "o"]
    p50 = sorted(10 ** ln.get_xdata()[0] for ln in dots)
    assert p50 == pytest.approx(sorted(b.monthly_p50 for b in est.bands.bands))
    paths = write_charts(est, tmp_path)
    assert paths["cost_bands"].stat().st_size > 0


@pytest.mark.parametrize("key", ["searches_per_month", "session_bytes"])
def test_an_input_at_its_bound_draws_within_it(book, key):
    """A value the workload accepts (1e15, its bound) used to fail in the bands with an error
    naming a drawn value the user never gave (1059253725177289.8)."""
    from costcompare.workload import MAX_INPUT

    workload = dataclasses.replace(load_profile(), **{key: MAX_INPUT})
    bands = simulate(workload, book, draws=200, seed=1)
    assert all(math.isfinite(v) for b in bands.bands for v in b.monthly)


@pytest.mark.parametrize("size", [1, 2, 3, 10, 2_000, 2_001])
def test_percentiles_are_numpys_to_the_last_bit(size):
    """bands.percentiles replaces np.percentile (start-up, issue 13): same numbers exactly."""
    from costcompare.bands import PERCENTILES, percentiles

    rng = np.random.default_rng(size)
    for values in (rng.lognormal(2, 1.5, size), rng.integers(0, 4, size).astype(float)):
        for points in (PERCENTILES, (0, 100), (1, 33.3, 66.7, 99.9)):
            assert np.array_equal(percentiles(values, points), np.percentile(values, points))
