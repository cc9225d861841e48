"""Sweeps and tornado: one grid evaluation each, equal to separate estimates."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import pytest

from costcompare.charts import plot_sweep, plot_tornado
from costcompare.comparison import estimate
from costcompare.sensitivity import cheapest_changes, sweep, tornado
from costcompare.workload import load_profile


@pytest.fixture(scope="module")
def base():
    return load_profile()


def test_sweep_matches_estimates(base):
    values = [0, 10, 100, 1000, 5000]
    frame = sweep(base, "searches_per_month", values)
    assert len(frame) == len(values) * 4
    for value in (10, 5000):
        est = estimate(dataclasses.replace(base, searches_per_month=value), searchability=False)
        rows = frame[frame["searches_per_month"] == value].set_index("destination")
        for dest in est.destinations:
            assert rows.loc[dest.name, "steady_state_monthly_usd"] == pytest.approx(
                dest.steady_state_monthly_usd
            )
        assert rows[rows["cheapest"]].index[0] == est.by_cost()[0].name


def test_cheapest_changes(base):
    frame = sweep(base, "searches_per_month", [0, 10, 100, 1000, 5000])
    assert cheapest_changes(frame, "searches_per_month") == [(1000.0, "s3", "cloudwatch-ia")]


def test_tornado_orders_by_swing_and_matches_estimates(base):
    result = tornado(base, "cloudwatch")
    swings = [b.swing for b in result.bars]
    assert swings == sorted(swings, reverse=True)
    assert result.bars[0].key == "availability_zones"  # the logs endpoint per AZ dominates
    assert result.base_usd == pytest.approx(
        estimate(base, searchability=False).get("cloudwatch").steady_state_monthly_usd
    )
    azs = result.bars[0]
    # 2 → 4 AZs: the logs endpoint costs 730 h × 0.014 USD per AZ
    assert azs.high_usd - azs.low_usd == pytest.approx(2 * 730 * 0.014)


def test_tornado_swings_measured_sessions(base):
    measured = dataclasses.replace(base, sessions_per_month=5000.0)
    keys = [b.key for b in tornado(measured, "s3").bars]
    assert "sessions_per_month" in keys and "sessions_per_instance_per_day" not in keys


def test_plots(base):
    ax = plot_tornado(tornado(base, "s3"))
    assert len(ax.patches) == 2 * 7
    ax = plot_sweep(sweep(base, "session_bytes", [1e4, 1e5, 1e6]), "session_bytes")
    assert len(ax.lines) == 4 and "session bytes" in ax.get_xlabel()


def test_tornado_keeps_a_measured_base(base):
    measured = dataclasses.replace(base, sessions_per_month=50_000.0)
    result = tornado(measured, "s3", swings={"instances": (0.5, 2)})
    expected = estimate(measured, searchability=False).get("s3").steady_state_monthly_usd
    assert result.base_usd == pytest.approx(expected)
    assert result.bars[0].key == "sessions_per_month"
