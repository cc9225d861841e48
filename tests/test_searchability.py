"""Searchability metrics and score for hand-built workloads."""

from __future__ import annotations

import dataclasses
import json

import pytest

from costcompare.comparison import estimate
from costcompare.errors import WorkloadError
from costcompare.report import render
from costcompare.searchability import (
    DEFAULT_WEIGHTS,
    STREAMING_SECONDS,
    _log_scale,
    load_weights,
    validate_weights,
)
from costcompare.workload import GIB, Workload


@pytest.fixture
def w(plain_workload) -> Workload:
    return dataclasses.replace(
        plain_workload, sessions_per_month=10_000, session_bytes=GIB / 10_000, session_minutes=30
    )


def test_no_searches_means_no_monthly_search_cost_but_a_price_per_search(w):
    est = estimate(dataclasses.replace(w, searches_per_month=0, retention_days=365))
    s3 = est.searchability["s3"]
    assert s3.monthly_search_usd == 0
    # one search over 12 GB: 12/1024 TB × 5 USD + 120,000 GETs + 120 LISTs
    expected = 12 / 1024 * 5 + 120_000 * 0.0004 / 1000 + 120 * 0.005 / 1000
    assert s3.cost_per_search_usd == pytest.approx(expected)


def test_cost_per_search_matches_the_estimate(w):
    est = estimate(dataclasses.replace(w, searches_per_month=4, retention_days=30))
    cw = est.searchability["cloudwatch"]
    insights = next(ln for ln in est.get("cloudwatch").lines if "Insights" in ln.name)
    assert cw.monthly_search_usd == pytest.approx(float(insights.cost[-1]))
    assert cw.cost_per_search_usd == pytest.approx(float(insights.cost[-1]) / 4)


def test_streaming_off_time_to_searchable_is_the_session_length(w):
    est = estimate(dataclasses.replace(w, streaming=False))
    for name in ("cloudwatch", "cloudwatch-ia", "s3", "both"):
        assert est.searchability[name].time_to_searchable_s == 30 * 60
        assert est.searchability[name].loses_session_on_instance_stop


def test_streaming_on_only_cloudwatch_is_fast(w):
    est = estimate(dataclasses.replace(w, streaming=True))
    assert est.searchability["cloudwatch"].time_to_searchable_s == STREAMING_SECONDS
    assert est.searchability["both"].time_to_searchable_s == STREAMING_SECONDS
    assert est.searchability["s3"].time_to_searchable_s == 30 * 60
    assert not est.searchability["cloudwatch"].loses_session_on_instance_stop


def test_levels_follow_the_capability_facts(w):
    s = estimate(w).searchability
    assert (s["cloudwatch"].alerting, s["cloudwatch-ia"].alerting, s["s3"].alerting) == (2, 0, 1)
    # WORM is earned by Object Lock: an unlocked bucket scores like a log group
    assert s["s3"].immutability == 1 and s["cloudwatch"].immutability == 1
    assert s["both"].immutability == 1 and s["both"].alerting == 2
    locked = estimate(dataclasses.replace(w, s3_object_lock_days=365)).searchability
    assert locked["s3"].immutability == 3 and locked["both"].immutability == 3
    assert locked["cloudwatch"].immutability == 1
    assert s["cloudwatch"].expressiveness == 3 > s["cloudwatch-ia"].expressiveness


def test_score_is_the_weighted_mean(w):
    s = estimate(w).searchability["s3"]
    total = sum(DEFAULT_WEIGHTS.values())
    expected = 100 * sum(DEFAULT_WEIGHTS[d] * v for d, v in s.dimension_scores.items()) / total
    assert s.score == pytest.approx(expected)
    # S3 (session end, 30 min): time score = 1 - log10(1800/10)/log10(86400/10) - 0.25 penalty
    assert s.dimension_scores["time_to_searchable"] == pytest.approx(
        _log_scale(1800, 10, 86_400) - 0.25
    )


def test_default_verdict_cloudwatch_searches_better_than_s3():
    from costcompare.workload import load_profile

    s = estimate(load_profile()).searchability
    assert s["cloudwatch"].score > s["cloudwatch-ia"].score > s["s3"].score
    assert s["both"].score >= s["cloudwatch"].score


def test_weights_change_the_ranking(w):
    only_immutability = {d: 0 for d in DEFAULT_WEIGHTS} | {"immutability": 1}
    s = estimate(w, weights=only_immutability).searchability
    assert s["s3"].score == pytest.approx(100 / 3) == s["cloudwatch"].score
    s = estimate(dataclasses.replace(w, s3_object_lock_days=365), weights=only_immutability)
    assert s.searchability["s3"].score == 100
    assert s.searchability["cloudwatch"].score == pytest.approx(100 / 3)


def test_json_carries_searchability(w):
    data = json.loads(render(estimate(w), "json"))
    for dest in data["destinations"]:
        keys = dest["searchability"].keys()
        assert {"score", "time_to_searchable_s", "cost_per_search_usd"} <= keys


class TestWeights:
    def test_file_and_flags(self, tmp_path):
        path = tmp_path / "w.yaml"
        path.write_text("alerting: 5\nreach: 0\n")
        weights = load_weights(path, ["fidelity=4"])
        assert weights["alerting"] == 5 and weights["reach"] == 0 and weights["fidelity"] == 4
        assert weights["expressiveness"] == DEFAULT_WEIGHTS["expressiveness"]

    @pytest.mark.parametrize(
        ("weights", "message"),
        [
            ({"speed": 1}, "unknown searchability dimension 'speed'"),
            ({"alerting": -1}, "number ≥ 0"),
            ({"alerting": "lots"}, "number ≥ 0"),
            ({d: 0 for d in DEFAULT_WEIGHTS}, "every searchability weight is 0"),
        ],
    )
    def test_invalid(self, weights, message):
        with pytest.raises(WorkloadError, match=message):
            validate_weights(weights)

    def test_bad_flag(self):
        with pytest.raises(WorkloadError, match="NAME=VALUE"):
            load_weights(flags=["alerting"])


def test_cost_per_search_below_one_search_a_month(w):
    half = estimate(dataclasses.replace(w, searches_per_month=0.5)).searchability["s3"]
    two = estimate(dataclasses.replace(w, searches_per_month=2)).searchability["s3"]
    assert half.cost_per_search_usd == pytest.approx(two.cost_per_search_usd)


def test_measured_searches_replace_the_modelled_cost_and_rescore(table):
    """apply_measured: the cost per search of cloudwatch and both (auditors search CloudWatch)
    becomes the measured one, the monthly figure follows the workload's searches, the search-cost
    score is recomputed, and the figures say they are measured."""
    from types import SimpleNamespace

    from costcompare.comparison import estimate
    from costcompare.searchability import (
        SEARCH_COST_SCALE_USD,
        _log_scale,
        apply_measured,
    )
    from costcompare.workload import Workload

    est = estimate(Workload(searches_per_month=20), table=table)
    before = {name: s.score for name, s in est.searchability.items()}
    measured = SimpleNamespace(
        destination="cloudwatch", backend="cloudwatch-insights", cost_usd=2.5, seconds=7.0,
        source="log group /ssm/sessions",
    )  # fmt: skip
    changed = apply_measured(est.searchability, {"cloudwatch": measured}, 20)
    assert changed == ["cloudwatch", "both"]
    cw = est.searchability["cloudwatch"]
    assert cw.cost_per_search_usd == 2.5 and cw.monthly_search_usd == 50.0
    assert cw.search_seconds == 7.0 and "cost_per_search_usd" in cw.measured
    assert cw.dimension_scores["search_cost"] == _log_scale(2.5, *SEARCH_COST_SCALE_USD)
    assert cw.score < before["cloudwatch"]  # $2.50 a search is dearer than the model's
    assert est.searchability["s3"].measured == () and est.searchability["s3"].score == before["s3"]
    assert cw.as_dict()["measured_from"] == "cloudwatch-insights search of log group /ssm/sessions"
