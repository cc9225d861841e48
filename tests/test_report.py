"""Renderers: every format carries the same numbers; the JSON contract of DESIGN.md holds."""

from __future__ import annotations

import csv
import io
import json

import pytest

from costcompare.comparison import estimate
from costcompare.money import Money
from costcompare.report import render
from costcompare.workload import load_profile


@pytest.fixture(scope="module")
def est():
    return estimate(load_profile())


def test_json_contract(est):
    data = json.loads(render(est, "json"))
    assert {"region", "currency", "pricing_date", "horizon_months", "workload", "baseline",
            "destinations"} <= data.keys()  # fmt: skip
    assert data["currency"] == "USD" and data["region"] == "ap-northeast-1"
    assert data["pricing_date"] == "2026-07-01" and data["horizon_months"] == 36
    assert {"monthly_usd", "components"} <= data["baseline"].keys()
    names = [d["name"] for d in data["destinations"]]
    assert names == ["cloudwatch", "cloudwatch-ia", "s3", "both"]
    for dest in data["destinations"]:
        assert len(dest["monthly_usd"]) == 36
        assert dest["steady_state_monthly_usd"] == pytest.approx(dest["monthly_usd"][-1])
        assert dest["total_usd"] == pytest.approx(sum(dest["monthly_usd"]))
        assert dest["steady_state_monthly_usd"] == pytest.approx(
            sum(c["monthly_usd"] for c in dest["components"])
        )
        for comp in dest["components"]:
            assert {"name", "category", "quantity", "unit", "unit_price_usd", "monthly_usd",
                    "price_key", "source"} <= comp.keys()  # fmt: skip
            # every line explains itself: quantity × unit price = cost
            assert comp["quantity"] * comp["unit_price_usd"] == pytest.approx(comp["monthly_usd"])


def test_csv_rows_sum_to_the_totals(est):
    rows = list(csv.DictReader(io.StringIO(render(est, "csv"))))
    for dest in est.destinations:
        total = sum(float(r["monthly_usd"]) for r in rows if r["destination"] == dest.name)
        assert total == pytest.approx(dest.total_usd)
    assert {r["month"] for r in rows} == {str(m) for m in range(1, 37)}


def test_table_is_cheapest_first_with_shares(est):
    text = render(est, "table")
    order = [text.index(f"\n{name} ") for name in ("s3", "cloudwatch-ia", "cloudwatch", "both")]
    assert order == sorted(order)
    assert "network %" in text and "Cheapest: s3" in text
    assert "Shared baseline" in text


def test_explain_shows_every_line_with_source(est):
    text = render(est, "table", explain=True, wide=True)
    for dest in est.destinations:
        for line in dest.lines:
            assert line.name in text
            assert line.price.source in text
    hours = next(line for line in est.baseline.lines if line.unit == "Hrs")
    row = next(r for r in text.splitlines() if r.lstrip().startswith(hours.name))
    cells = row.split()
    quantity, rate = float(hours.quantity[-1]), hours.unit_price()
    assert f"{quantity:,.0f}" in cells and f"{rate:g}" in cells
    assert f"${quantity * rate:,.4f}" in cells


def test_explain_at_80_columns_cites_every_price(est):
    text = render(est, "table", explain=True, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    cited = text.split("\nPrices [n]:\n", 1)[1]
    keys = {line.price_key for d in [*est.destinations, est.baseline] for line in d.lines}
    for key in keys:
        assert f"] {key}, effective" in cited


def test_markdown_table(est):
    text = render(est, "markdown", explain=True)
    assert "| destination | per month (steady) |" in text
    assert "| S3 transcript uploads (PUT) |" in text


def test_jpy_display(est):
    text = render(est, "table", money=Money("JPY", 150))
    s3 = est.get("s3").steady_state_monthly_usd
    assert f"¥{s3 * 150:,.0f}" in text
    data = json.loads(render(est, "json", money=Money("JPY", 150)))
    assert data["currency"] == "USD" and data["display"] == {"currency": "JPY", "fx_rate": 150}


@pytest.mark.parametrize("draws", [0, 200])
def test_one_destination_has_no_verdict_and_no_blank_gap(draws):
    """With one destination there is nothing to be cheapest against: no verdict line, and no
    run of empty lines where it would have stood (a newcomer saw three)."""
    from costcompare import bands, verdict

    one = estimate(load_profile(), destinations=["both"])
    verdict.attach(one)
    if draws:
        bands.attach(one, draws=draws)
    text = render(one, "table", width=80)
    assert "Cheapest" not in text
    assert "\n\n\n" not in text
    assert ("Monte Carlo draws" in text) == bool(draws)


def test_price_count_is_singular_for_one_price():
    from costcompare import bands

    one = estimate(load_profile(), destinations=["both"])
    bands.attach(one, draws=50)
    spreads = len(one.bands.price_spreads)
    text = one.bands.inputs_text()
    assert text.endswith(f"{spreads} lower-confidence price{'' if spreads == 1 else 's'}")
    assert not text.endswith("1 lower-confidence prices")
