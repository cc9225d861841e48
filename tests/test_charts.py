"""Chart functions return Axes with the expected series and labels; the CLI writes every file."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

from costcompare.breakeven import break_even_map
from costcompare.charts import (
    DESTINATION_COLOURS,
    pareto_frontier,
    plot_break_even,
    plot_cost_breakdown,
    plot_cost_over_time,
    plot_cost_vs_searchability,
)
from costcompare.cli import app
from costcompare.comparison import estimate
from costcompare.money import Money
from costcompare.workload import load_profile


@pytest.fixture(scope="module")
def est():
    return estimate(load_profile())


def test_pareto_frontier():
    # costs, scores: B is dearer than A and scores lower → off the frontier
    assert pareto_frontier([1, 5, 3, 10], [40, 30, 60, 90]) == [0, 2, 3]


def test_cost_vs_searchability(est):
    ax = plot_cost_vs_searchability(est)
    points = [c for c in ax.collections if len(c.get_offsets()) == 1]
    assert len(points) == 4
    xy = {tuple(np.round(p.get_offsets()[0], 6)) for p in points}
    for dest in est.destinations:
        assert (round(dest.steady_state_monthly_usd, 6),
                round(est.searchability[dest.name].score, 6)) in xy  # fmt: skip
    assert ax.get_ylabel() == "search score (0–100)"
    # without Object Lock the S3 copy adds no immutability: both ties with cloudwatch, dearer
    assert "s3 is cheapest" in ax.get_title() and "cloudwatch searches best" in ax.get_title()
    labels = [t.get_text() for t in ax.texts]
    s3_label = f"s3: \\${est.get('s3').steady_state_monthly_usd:,.2f}/mo"
    assert any(text.startswith(s3_label) for text in labels)
    frontier = [ln for ln in ax.lines if ln.get_label() == "cheapest for its score"]
    assert len(frontier) == 1
    footer = " ".join(t.get_text() for t in ax.figure.texts)
    assert "ap-northeast-1" in footer and "2026-07-01" in footer and "weights" in footer


def test_cost_breakdown_bars_sum_to_the_totals(est):
    ax = plot_cost_breakdown(est)
    tops = {}
    for patch in ax.patches:
        x = round(patch.get_x() + patch.get_width() / 2)
        tops[x] = max(tops.get(x, 0), patch.get_y() + patch.get_height())
    ranked = est.by_cost()
    assert [t.get_text() for t in ax.get_xticklabels()] == [d.name for d in ranked]
    for i, dest in enumerate(ranked):
        assert tops[i] == pytest.approx(dest.steady_state_monthly_usd)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"network", "encryption", "storage"} <= set(legend)


def test_cost_over_time(est):
    ax = plot_cost_over_time(est, ax=Figure().subplots())
    lines = [ln for ln in ax.lines if ln.get_label().split(":")[0] in DESTINATION_COLOURS]
    assert len(lines) == 4
    for line in lines:
        name = line.get_label().split(":")[0]
        assert line.get_ydata()[-1] == pytest.approx(est.get(name).total_usd)
        assert len(line.get_xdata()) == 36
    retention = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert retention and retention[0].get_xdata()[0] == pytest.approx(12.0)


def test_break_even(est):
    bemap = break_even_map(est.workload)
    ax = plot_break_even(bemap, estimate=est)
    mesh = ax.collections[0]
    assert mesh.get_array().size == bemap.cheapest.size >= 10_000
    assert "s3 at your workload" in ax.get_title()
    assert ax.get_xscale() == "log"


def test_yen_labels(est):
    ax = plot_cost_breakdown(est, money=Money("JPY", 150))
    assert any(t.get_text().startswith("¥") for t in ax.texts)


def test_cli_writes_every_chart_and_report(tmp_path):
    out = tmp_path / "charts"
    report = tmp_path / "report.md"
    result = CliRunner().invoke(app, ["chart", "--out-dir", str(out), "--report", str(report)])
    assert result.exit_code == 0, result.output
    for name in ("cost_vs_searchability", "cost_breakdown", "cost_over_time", "break_even"):
        data = (out / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000
        assert f"](charts/{name}.png)" in report.read_text()
    text = report.read_text()
    assert "## Searchability" in text and "| s3 |" in text
    assert text.count("Cheapest: ") == 1  # the verdict, stated once
    assert not list(out.glob(".*tmp*"))


def test_cli_report_inside_the_out_dir_it_creates(tmp_path):
    """The README's own example on a fresh machine: the report goes into the new chart folder."""
    out = tmp_path / "charts"
    report = out / "report.md"
    args = ["chart", "--out-dir", str(out), "--report", str(report), "--draws", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "](cost_breakdown.png)" in report.read_text()
    # A report in some other missing folder is still refused before any chart is drawn.
    elsewhere = ["chart", "--out-dir", str(tmp_path / "c2"), "--report", str(tmp_path / "x/r.md")]
    refused = CliRunner().invoke(app, elsewhere)
    assert refused.exit_code == 2 and "does not exist" in refused.stderr
    assert not (tmp_path / "c2").exists()


def test_cli_svg(tmp_path):
    result = CliRunner().invoke(app, ["chart", "--out-dir", str(tmp_path), "--format", "svg"])
    assert result.exit_code == 0
    assert (tmp_path / "break_even.svg").read_text().lstrip().startswith("<?xml")
    # The 120 × 120 map is one embedded image, not 14,400 vector cells (it was 2.8 MB).
    assert (tmp_path / "break_even.svg").stat().st_size < 400_000


def test_cli_out_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = CliRunner().invoke(app, ["chart", "--out-dir", str(target)])
    assert result.exit_code == 2 and "is a file" in result.stderr


def test_money_ticks_have_no_idle_cents(est):
    ax = plot_cost_breakdown(est)
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels[0] in ("$0", r"\$0") and not any(label.endswith(".00") for label in labels)


def test_footer_names_the_shared_baseline(est):
    ax = plot_cost_breakdown(est)
    footer = ax.figure.texts[-1].get_text()
    assert f"{est.baseline.steady_state_monthly_usd:,.2f}/mo" in footer
    assert "not in these figures" in footer


def test_workload_label_is_in_the_legend_not_over_the_map(est):
    ax = plot_break_even(break_even_map(est.workload), estimate=est)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(text.startswith("your workload: 300 sessions/day") for text in legend)
    assert not any("your workload" in t.get_text() for t in ax.texts)


def test_yen_has_no_minor_unit():
    yen = Money("JPY", 150)
    assert yen(0.0709) == "¥11" and yen(0.0709, digits=4) == "¥11"
    assert yen(0.001) == "<¥1" and yen(0) == "¥0"
    assert yen(1234.5) == "¥185,175"
    assert Money()(0.0709, digits=4) == "$0.0709"


@pytest.mark.parametrize(
    "overrides",
    [{}, {"region": "us-east-1"}, {"logs_endpoint": "existing"}, {"vpc_endpoints": False}],
    ids=["default", "us-east-1", "logs-endpoint-exists", "no-endpoints"],
)
def test_point_labels_stay_inside_the_axes(overrides):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    est = estimate(load_profile().with_overrides(**overrides))
    fig = Figure(figsize=(9.0, 5.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = plot_cost_vs_searchability(est, fig.subplots())
    fig.canvas.draw()
    box = ax.get_window_extent()
    for label in ax.texts:
        extent = label.get_window_extent()
        assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, label.get_text()
