"""`costcompare diff A B`: two workload files or saved estimates, line by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.comparison import estimate
from costcompare.estimate_diff import diff_estimates, to_text
from costcompare.money import Money
from costcompare.report import to_json
from costcompare.workload import load_profile


def _json(**overrides) -> dict:
    return json.loads(to_json(estimate(load_profile(None).with_overrides(**overrides))))


@pytest.fixture(scope="module")
def before_after():
    return _json(), _json(instances=1000)


def test_totals_and_lines_come_from_both_estimates(before_after):
    before, after = before_after
    diff = diff_estimates(before, after)
    s3 = next(d for d in diff.destinations if d.total.name == "s3")
    b = next(d for d in before["destinations"] if d["name"] == "s3")
    a = next(d for d in after["destinations"] if d["name"] == "s3")
    assert s3.total.before == b["steady_state_monthly_usd"]
    assert s3.total.after == a["steady_state_monthly_usd"]
    assert s3.total.mark == "~" and s3.total.delta > 0
    puts = next(c for c in s3.components if c.name == "S3 transcript uploads (PUT)")
    put_b = next(c for c in b["components"] if c["name"] == puts.name)["monthly_usd"]
    assert puts.after == pytest.approx(put_b * 1000 / 300)
    # A line that does not change (the KMS key) is not listed.
    assert all(c.mark != "=" for c in s3.components)
    assert not any(c.name.startswith("KMS key for") for c in s3.components)
    assert ("instances", 300, 1000) in diff.inputs
    assert diff.baseline.mark == "="


def test_text_is_infracost_shaped(before_after):
    before, after = before_after
    text = to_text(diff_estimates(before, after, ("a.yaml", "b.yaml")), Money())
    b = next(d for d in before["destinations"] if d["name"] == "s3")["steady_state_monthly_usd"]
    a = next(d for d in after["destinations"] if d["name"] == "s3")["steady_state_monthly_usd"]
    assert f"~ s3\n  +${a - b:,.2f} (${b:,.2f} → ${a:,.2f})" in text
    assert f"Percent: +{(a - b) / b * 100:.0f}%" in text
    assert "  ~ instances: 300 → 1000" in text


def test_added_and_removed_destinations():
    only_s3 = json.loads(to_json(estimate(load_profile(None), destinations=["s3"])))
    both = _json()
    diff = diff_estimates(only_s3, both)
    marks = {d.total.name: d.total.mark for d in diff.destinations}
    assert marks["s3"] == "=" and marks["cloudwatch"] == "+"
    assert {d.total.name: d.total.mark for d in diff_estimates(both, only_s3).destinations}[
        "cloudwatch"
    ] == "-"


def test_cli_workload_against_a_saved_estimate(tmp_path):
    runner = CliRunner()
    saved = tmp_path / "q1.json"
    assert runner.invoke(app, ["estimate", "-o", "json", "--out", str(saved)]).exit_code == 0
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text("instances: 1000\n")
    result = runner.invoke(app, ["diff", str(saved), str(bigger), "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"key": "instances", "before": 300, "after": 1000} in data["inputs"]
    assert data["schema_version"] == 1 and data["costcompare_version"]
    same = runner.invoke(app, ["diff", str(saved), str(saved)])
    assert "0 of 4 destination(s) changed." in same.stdout


def test_cli_bad_side_is_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    result = CliRunner().invoke(app, ["diff", str(bad), str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {bad} is not a saved estimate — give a file written by "
        "`costcompare estimate -o json --out FILE`"
    )


def test_text_fits_80_columns_with_long_paths(tmp_path, monkeypatch):
    """Two workload paths made a 119-column title; it wraps now, every word kept."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    folder = Path("workloads-measured-in-the-production-account")
    folder.mkdir()
    before, after = folder / "measured-2026-10.yaml", folder / "measured-2026-11.yaml"
    before.write_text("instances: 300\n")
    after.write_text(
        "instances: 1000\ns3_lifecycle:\n"
        + "".join(
            f"  - {{after_days: {days}, storage_class: {cls}}}\n"
            for days, cls in ((30, "STANDARD_IA"), (90, "GLACIER_IR"), (180, "DEEP_ARCHIVE"))
        )
    )
    result = CliRunner().invoke(app, ["diff", str(before), str(after)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    words = " ".join(result.stdout.split())
    assert f"Estimate diff: {before} → {after}" in words and "~ instances: 300 → 1000" in words
