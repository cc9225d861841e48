"""`chart --report report.html`: one self-contained page with the charts, tables and verdict."""

from __future__ import annotations

import collections
import html
import re

import matplotlib

matplotlib.use("Agg")

import pytest
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.comparison import estimate
from costcompare.money import Money
from costcompare.report import verdict
from costcompare.workload import load_profile


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("html")
    report = folder / "review.html"
    result = CliRunner().invoke(app, ["chart", "--report", str(report), "--draws", "0"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in folder.iterdir()] == ["review.html"], "no chart files without --out-dir"
    return report.read_text(encoding="utf-8")


def test_charts_are_inline_and_nothing_is_fetched(page):
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == 4  # no bands chart with --draws 0
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r'src="(?!data:)', page)
    ids = re.findall(r' id="([^"]+)"', page)
    assert not [i for i, n in collections.Counter(ids).items() if n > 1]


def test_verdict_once_and_every_line_explained_with_its_source(page):
    est = estimate(load_profile())
    assert page.count(html.escape(verdict(est, Money()))) == 1
    for dest in [*est.destinations, est.baseline]:
        for line in dest.lines:
            assert html.escape(line.name) in page
            assert html.escape(line.price.source).split("https://")[0] in page
    s3 = next(d for d in est.destinations if d.name == "s3")
    assert f'<td class="n">${s3.steady_state_monthly_usd:,.2f}</td>' in page
    with_baseline = s3.steady_state_monthly_usd + est.baseline.steady_state_monthly_usd
    assert f'<td class="n">${with_baseline:,.2f}</td>' in page


def test_markdown_report_needs_a_chart_folder(tmp_path):
    result = CliRunner().invoke(app, ["chart", "--report", str(tmp_path / "r.md")])
    assert result.exit_code == 2
    assert "pass --out-dir DIR" in result.stderr
