"""Bounded-memory accumulators give the figures numpy gives on the whole data."""

from __future__ import annotations

import datetime as dt

import numpy as np

from costcompare.measure import stats
from costcompare.measure.stats import DayCounts, SizeStats


def test_exact_quantiles_match_numpy():
    rng = np.random.default_rng(1)
    data = rng.lognormal(10, 1.5, 5000).astype(np.int64) + 1
    s = SizeStats()
    for x in data[:100]:
        s.add(int(x))
    s.add_many(data[100:])
    assert s.count == data.size and s.total == int(data.sum())
    assert s.quantile(0.5) == np.quantile(data, 0.5)
    assert s.quantile(0.95) == np.quantile(data, 0.95)
    assert (s.minimum, s.maximum) == (int(data.min()), int(data.max()))
    hist = s.histogram()
    assert sum(h["count"] for h in hist) == data.size
    assert hist[0]["count"] == int((data <= 1024).sum())


def test_sketch_quantiles_within_one_percent(monkeypatch):
    monkeypatch.setattr(stats, "EXACT_LIMIT", 1000)
    data = np.random.default_rng(2).integers(1, 5_000_000, 20_000)
    s = SizeStats()
    s.add_many(data)
    assert not s.exact
    for q in (0.5, 0.95):
        assert abs(s.quantile(q) / np.quantile(data, q) - 1) < 0.011


def test_day_counts():
    d = DayCounts()
    base = dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp()
    d.add_many(np.array([base + 10, base + 86_400 * 4 + 5, base + 20]))
    assert d.sessions == 3 and d.span_days == 5
    assert d.first == dt.date(2025, 3, 1) and d.last == dt.date(2025, 3, 5)
    assert d.busiest() == (dt.date(2025, 3, 1), 2)


def test_day_to_day_variation_needs_a_week_and_counts_empty_days():
    days = DayCounts()
    for day, n in enumerate([4, 4, 4, 4, 4, 4]):
        for _ in range(n):
            days.add(day * 86_400 + 60)
    assert days.variation() is None  # six days: too few
    for _ in range(4):
        days.add(7 * 86_400 + 60)  # day 7 has 4 sessions, day 6 none
    counts = np.array([4, 4, 4, 4, 4, 4, 0, 4], dtype=float)
    assert np.isclose(days.variation(), counts.std() / counts.mean())
