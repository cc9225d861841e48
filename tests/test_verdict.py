"""The verdict's conditions: computed by the engine, and each one really flips the ranking."""

from __future__ import annotations

import dataclasses

import pytest

from costcompare.comparison import estimate
from costcompare.verdict import attach, find_conditions
from costcompare.workload import DAYS_PER_MONTH, load_profile


@pytest.fixture(scope="module")
def default_verdict():
    est = estimate(load_profile(), searchability=False)
    return est, find_conditions(est)


def cheapest(workload) -> str:
    return estimate(workload, searchability=False).by_cost()[0].name


def test_verdict_names_the_cheapest_and_its_margin(default_verdict):
    est, found = default_verdict
    ranked = est.by_cost()
    assert found.cheapest == ranked[0].name == "s3"
    assert found.margin_usd == pytest.approx(
        ranked[1].steady_state_monthly_usd - ranked[0].steady_state_monthly_usd
    )


def test_existing_logs_endpoint_is_a_stated_condition(default_verdict):
    _, found = default_verdict
    cond = next(c for c in found.conditions if c.key == "logs_endpoint" and c.value == "existing")
    names = [n for n, _ in cond.ranking]
    assert names.index("cloudwatch") < names.index("s3")  # CloudWatch beats S3 there
    assert "the logs endpoint already exists" in found.sentence()
    assert "logs_endpoint" in found.deciding


@pytest.mark.parametrize(
    "overrides", [{}, {"logs_endpoint": "existing"}], ids=["default", "existing-endpoint"]
)
def test_every_condition_flips_the_ranking_when_fed_back(overrides):
    base = load_profile().with_overrides(**overrides)
    found = find_conditions(estimate(base))
    assert len(found.conditions) >= 4
    for cond in found.conditions:
        if cond.key == "sessions_per_month":
            changed = dataclasses.replace(
                base, sessions_per_month=cond.value, monthly_ingest_gb=None
            )
        else:
            changed = dataclasses.replace(base, **{cond.key: cond.value})
        assert cheapest(changed) == cond.cheapest != found.cheapest, cond


def test_numeric_break_even_is_tight(default_verdict):
    """Just inside the reported value the ranking has not changed yet (bisection, not a guess)."""
    est, found = default_verdict
    cond = next(c for c in found.conditions if c.key == "sessions_per_month")
    assert cond.direction == "above"
    inside = dataclasses.replace(est.workload, sessions_per_month=cond.value * 0.999)
    assert cheapest(inside) == found.cheapest
    assert cond.shown_value == pytest.approx(cond.value / DAYS_PER_MONTH)


def test_json_carries_the_conditions():
    est = attach(estimate(load_profile(), searchability=False))
    data = est.as_dict()["verdict"]
    assert data["cheapest"] == "s3"
    assert {"logs_endpoint", "sessions_per_month"} <= set(data["deciding_inputs"])
    first = data["conditions"][0]
    assert {"input", "value", "direction", "cheapest", "ranking", "text"} <= first.keys()


def test_a_clear_winner_holds_everywhere_checked(plain_workload):
    # one destination only: nothing to flip
    est = estimate(plain_workload, destinations=["s3"], searchability=False)
    found = find_conditions(est)
    assert found.conditions == [] and "stays cheapest" in found.sentence()


class TestCommandLine:
    """`estimate` states the verdict's conditions and bands in every format."""

    @staticmethod
    def run(*args: str):
        from typer.testing import CliRunner

        from costcompare.cli import app

        return CliRunner().invoke(app, ["estimate", *args])

    def test_default_table_states_the_condition_in_words(self):
        result = self.run("--draws", "200")
        assert result.exit_code == 0, result.output
        assert "s3 stops being cheapest" in result.output
        assert "if the logs endpoint already exists: cloudwatch-ia" in result.output
        assert "Uncertainty bands (200 Monte Carlo draws" in result.output

    def test_existing_endpoint_flag_makes_cloudwatch_cheaper_than_s3(self):
        import json

        result = self.run("--logs-endpoint", "existing", "-o", "json", "--draws", "200")
        data = json.loads(result.output)
        cost = {d["name"]: d["steady_state_monthly_usd"] for d in data["destinations"]}
        assert cost["cloudwatch"] < cost["s3"]
        assert data["workload"]["logs_endpoint"] == "existing"
        assert data["verdict"]["conditions"] and data["bands"]["draws"] == 200

    def test_markdown_lists_conditions_and_bands(self):
        result = self.run("-o", "markdown", "--draws", "200")
        assert "- if the logs endpoint already exists" in result.output
        assert "| destination | P10/mo | P50/mo | P90/mo |" in result.output

    def test_no_bands_with_zero_draws_and_negative_is_an_input_error(self):
        import json

        data = json.loads(self.run("-o", "json", "--draws", "0").output)
        assert "bands" not in data and "verdict" in data
        bad = self.run("--draws", "-1")
        assert bad.exit_code == 2 and "--draws is -1" in bad.output


def test_a_measured_ingestion_total_scales_with_the_volume_searched():
    """A profile with monthly_ingest_gb (measured) keeps it proportional to sessions × bytes."""
    w = dataclasses.replace(load_profile(), monthly_ingest_gb=1.5)
    found = find_conditions(estimate(w, searchability=False))
    cond = next(c for c in found.conditions if c.key == "sessions_per_month")
    scaled = dataclasses.replace(
        w, sessions_per_month=cond.value, monthly_ingest_gb=1.5 * cond.value / cond.current
    )
    assert cheapest(scaled) == cond.cheapest != found.cheapest


def test_one_destination_states_no_conditions(plain_workload):
    from costcompare.report import condition_lines

    est = attach(estimate(plain_workload, destinations=["s3"]))
    assert est.verdict.runner_up is None and condition_lines(est) == []
