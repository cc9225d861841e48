"""Pricing table: loading, validation with file and row, resolution by region and date, tiers."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from costcompare.destinations import all_price_keys
from costcompare.errors import PricingError
from costcompare.pricecsv import PRICE_COLUMNS
from costcompare.pricing import PriceTable, bundled_path


def write_table(tmp_path: Path, rows: list[dict], name: str = "prices.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=PRICE_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def row(**over) -> dict:
    base = {
        "price_key": "logs.ingestion.standard",
        "service": "AmazonCloudWatch",
        "region": "us-east-1",
        "usage_type": "DataProcessing-Bytes",
        "unit": "GB",
        "tier_start": "0",
        "tier_end": "",
        "usd_per_unit": "0.5",
        "effective_date": "2026-07-01",
        "source": "test",
        "confidence": "A",
    }
    return {**base, **over}


class TestBundledTable:
    def test_every_row_is_traceable(self, table):
        assert len(table.rows) >= 80
        for r in table.rows:
            assert r.region and r.unit and r.source and r.effective_date
            assert r.confidence in ("A", "P", "T", "low")

    @pytest.mark.parametrize("region", ["ap-northeast-1", "us-east-1"])
    def test_every_model_price_key_resolves(self, table, region):
        book = table.resolve(region)
        book.require(all_price_keys())  # raises if any key is missing

    def test_reference_prices(self, table):
        tokyo = table.resolve("ap-northeast-1")
        use1 = table.resolve("us-east-1")
        assert tokyo["logs.ingestion.standard"].first_rate == 0.76
        assert use1["logs.ingestion.standard"].first_rate == 0.50
        assert tokyo["logs.storage"].first_rate == 0.033
        assert tokyo["vpc.interface_endpoint.hours"].first_rate == 0.014
        assert use1["athena.scanned"].first_rate == 5.0
        assert tokyo["s3.requests.put.STANDARD"].first_rate == pytest.approx(0.0047 / 1000)
        assert tokyo["kms.requests"].first_rate == pytest.approx(0.03 / 10000)
        assert use1["s3.requests.get.DEEP_ARCHIVE"].confidence == "low"

    def test_s3_standard_tiers(self, table):
        price = table.resolve("ap-northeast-1")["s3.storage.STANDARD"]
        assert [(r.tier_start, r.tier_end) for r in price.rows] == [
            (0, 51200), (51200, 512000), (512000, None)
        ]  # fmt: skip
        # 600 TB = 614,400 GB: 51,200 × 0.025 + 460,800 × 0.024 + 102,400 × 0.023
        assert float(price.cost(614_400)) == pytest.approx(1280 + 11059.2 + 2355.2)

    def test_cost_is_vectorised(self, table):
        price = table.resolve("us-east-1")["logs.ingestion.standard"]
        np.testing.assert_allclose(price.cost(np.array([[1.0, 2.0], [10.0, 0.0]])),
                                   [[0.5, 1.0], [5.0, 0.0]])  # fmt: skip

    def test_free_tier_only_when_asked(self, table):
        price = table.resolve("us-east-1")["logs.ingestion.standard"]
        assert float(price.cost(30)) == 15.0
        assert float(price.cost(30, free_tier=True)) == 12.5  # (30 - 5) × 0.50
        assert float(price.cost(3, free_tier=True)) == 0.0

    def test_loads_from_package_resources(self):
        assert bundled_path("prices.csv").is_file()


class TestResolution:
    def test_newest_row_on_or_before_the_date(self, tmp_path):
        path = write_table(
            tmp_path,
            [row(usd_per_unit="0.5"), row(usd_per_unit="0.45", effective_date="2027-01-01")],
        )
        table = PriceTable.load(path)
        assert table.resolve("us-east-1")["logs.ingestion.standard"].first_rate == 0.45
        old = table.resolve("us-east-1", dt.date(2026, 12, 31))
        assert old["logs.ingestion.standard"].first_rate == 0.5
        assert old.pricing_date == dt.date(2026, 12, 31)

    def test_date_before_any_price(self, tmp_path):
        table = PriceTable.load(write_table(tmp_path, [row()]))
        with pytest.raises(PricingError, match="earliest is 2026-07-01"):
            table.resolve("us-east-1", dt.date(2020, 1, 1))

    def test_region_not_in_table(self, table):
        with pytest.raises(PricingError, match="no prices for region eu-west-1"):
            table.resolve("eu-west-1")

    def test_missing_price_names_key_and_fix(self, tmp_path):
        table = PriceTable.load(write_table(tmp_path, [row()]))
        with pytest.raises(PricingError, match=r"no price for logs\.storage.*pricing refresh"):
            table.resolve("us-east-1").require(["logs.storage"])


class TestValidation:
    @pytest.mark.parametrize(
        ("bad", "message"),
        [
            ({"usd_per_unit": "cheap"}, r"prices\.csv:2: usd_per_unit is 'cheap'"),
            ({"usd_per_unit": "-1"}, r"prices\.csv:2: usd_per_unit is '-1'"),
            ({"effective_date": "July"}, r"prices\.csv:2: effective_date is 'July'"),
            ({"confidence": "high"}, r"prices\.csv:2: confidence is 'high'"),
            ({"source": ""}, r"prices\.csv:2: source is ''"),
            ({"tier_end": "0"}, r"prices\.csv:2: tier_end is '0'"),
            # issue 18.8: finite but huge prices used to print $inf and crash -o json
            ({"usd_per_unit": "1e308"}, r"prices\.csv:2: usd_per_unit is '1e308' — .* 1,000,000"),
            ({"usd_per_unit": "1000001"}, r"usd_per_unit is '1000001'"),
            ({"usd_per_unit": "inf"}, r"usd_per_unit is 'inf'"),
            ({"tier_end": "1e300"}, r"prices\.csv:2: tier_end is '1e300'"),
            ({"usd_per_unit": "9" * 500}, r"usd_per_unit is '9{39}…' —"),
        ],
    )
    def test_bad_field_names_file_and_row(self, tmp_path, bad, message):
        with pytest.raises(PricingError, match=message):
            PriceTable.load(write_table(tmp_path, [row(**bad)]))

    def test_duplicate_price(self, tmp_path):
        with pytest.raises(PricingError, match=r"prices\.csv:3: duplicate price"):
            PriceTable.load(write_table(tmp_path, [row(), row()]))

    def test_gap_between_tiers(self, tmp_path):
        rows = [row(tier_end="10"), row(tier_start="20", usd_per_unit="0.4")]
        with pytest.raises(PricingError, match="not contiguous"):
            PriceTable.load(write_table(tmp_path, rows))

    def test_first_tier_must_start_at_zero(self, tmp_path):
        with pytest.raises(PricingError, match="first tier"):
            PriceTable.load(write_table(tmp_path, [row(tier_start="5")]))

    def test_wrong_header(self, tmp_path):
        path = tmp_path / "prices.csv"
        path.write_text("key,price\na,1\n")
        with pytest.raises(PricingError, match="header"):
            PriceTable.load(path)

    def test_ragged_row(self, tmp_path):
        path = write_table(tmp_path, [row()])
        path.write_text(path.read_text() + "x,y\n")
        with pytest.raises(PricingError, match=r"prices\.csv:3: wrong number of fields"):
            PriceTable.load(path)

    def test_missing_file(self, tmp_path):
        with pytest.raises(PricingError, match="does not exist"):
            PriceTable.load(tmp_path / "nope.csv")

    def test_the_largest_sane_price_loads_and_costs_stay_finite(self, tmp_path):
        table = PriceTable.load(write_table(tmp_path, [row(usd_per_unit="1000000")]))
        price = table.resolve("us-east-1")["logs.ingestion.standard"]
        assert float(price.cost(1e15)) == 1e21

    @pytest.mark.parametrize("where", ["header", "row"])
    def test_a_field_over_128_kib_is_one_line(self, tmp_path, where):
        """Issue 18.11: csv's field limit used to escape as a traceback."""
        path = write_table(tmp_path, [row(source="x" * 140_000 if where == "row" else "s")])
        if where == "header":
            path.write_text("a," + "x" * 140_000 + "\n")
        with pytest.raises(PricingError) as caught:
            PriceTable.load(path)
        line = 2 if where == "row" else 1
        assert f"prices.csv:{line}: not a valid CSV row (field larger than field limit" in str(
            caught.value
        )
        assert len(str(caught.value)) < 300

    def test_a_fifo_is_refused_instead_of_blocking(self, tmp_path):
        import os

        os.mkfifo(tmp_path / "prices.csv")
        with pytest.raises(PricingError, match="is not a regular file"):
            PriceTable.load(tmp_path / "prices.csv")

    def test_quantity_beyond_last_tier(self, table):
        metric = table.resolve("us-east-1")["cloudwatch.metric"]
        with pytest.raises(PricingError, match="tiers only up to 10000"):
            metric.cost(20_000)


class TestStalePrices:
    """Issue 7: the estimate warns when a price it uses took effect over 12 months ago."""

    def test_cutoff_is_one_year_back(self):
        from costcompare.pricing import stale_cutoff

        assert stale_cutoff(dt.date(2027, 7, 2)) == dt.date(2026, 7, 2)
        assert stale_cutoff(dt.date(2028, 2, 29)) == dt.date(2027, 2, 28)
        # issue 18.11: `pricing show --date 0001-01-01` used to raise "year 0 is out of range"
        assert stale_cutoff(dt.date(1, 1, 1)) == dt.date.min

    def test_stale_prices_of_a_book(self, table):
        book = table.resolve("ap-northeast-1")
        assert book.stale_prices(dt.date(2027, 3, 1)) == []  # exactly a year: not yet
        stale = book.stale_prices(dt.date(2027, 3, 2))
        assert [p.key for p in stale] == ["athena.scanned"]  # effective 2026-03-01
        later = book.stale_prices(dt.date(2027, 7, 2), keys=["logs.storage", "athena.scanned"])
        assert [p.key for p in later] == ["athena.scanned", "logs.storage"]

    def test_note_names_keys_dates_and_the_fix(self, table):
        from costcompare.pricing import stale_note

        prices = table.resolve("us-east-1").prices.values()
        assert stale_note(prices, dt.date(2027, 1, 1)) is None
        note = stale_note(prices, dt.date(2027, 3, 2))
        assert "athena.scanned (2026-03-01)" in note and "logs.storage" not in note
        assert "costcompare pricing refresh --region us-east-1" in note

    def _shifted_table(self, tmp_path: Path, to: dt.date) -> PriceTable:
        """The bundled table with every effective date moved to ``to``."""
        text = bundled_path("prices.csv").read_text()
        text = text.replace("2026-07-01", to.isoformat()).replace("2026-03-01", to.isoformat())
        path = tmp_path / "prices.csv"
        path.write_text(text)
        return PriceTable.load(path)

    def test_estimate_notes_old_prices_and_only_them(self, tmp_path):
        from costcompare.model import estimate
        from costcompare.workload import load_profile

        today = dt.date.today()
        old = self._shifted_table(tmp_path, today - dt.timedelta(days=400))
        notes = estimate(load_profile(), table=old).notes
        assert any("older than 12 months" in n and "pricing refresh" in n for n in notes)
        fresh = self._shifted_table(tmp_path, today - dt.timedelta(days=30))
        assert not any(
            "older than 12 months" in n for n in estimate(load_profile(), table=fresh).notes
        )

    def test_cli_estimate_shows_the_warning(self, tmp_path):
        from typer.testing import CliRunner

        from costcompare.cli import app

        self._shifted_table(tmp_path, dt.date.today() - dt.timedelta(days=400))
        result = CliRunner().invoke(
            app, ["estimate", "--pricing-file", str(tmp_path / "prices.csv")]
        )
        assert result.exit_code == 0, result.output
        assert "older than 12 months" in result.output
