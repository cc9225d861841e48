"""`costcompare pricing show|refresh|diff` as a user meets them: output, files, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.stub import Stubber
from pricelist_shapes import BUNDLED, EXCERPTS, dim, filters, price_item, pricing_client, stub_query
from typer.testing import CliRunner

from costcompare import pricelist as lib
from costcompare.cli import app
from costcompare.jsoncontract import SCHEMA_VERSION
from costcompare.pricing import bundled_path

runner = CliRunner()
S3_EXCERPT = EXCERPTS / "AmazonS3-ap-northeast-1.json"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def copy_bundled(tmp_path: Path) -> Path:
    target = tmp_path / "prices.csv"
    target.write_bytes(bundled_path("prices.csv").read_bytes())
    return target


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for f in fragments:
        assert f in lines[0], lines[0]


class TestHelp:
    @pytest.mark.parametrize("command", ["show", "refresh", "diff"])
    def test_help_has_examples(self, command):
        result = run("pricing", command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.output and f"costcompare pricing {command}" in result.output

    def test_estimate_startup_does_not_import_boto3(self):
        code = "import sys, costcompare.cli; print('boto3' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "False", out.stderr


class TestShow:
    def test_table_lists_model_prices_with_source_and_date(self):
        result = run(
            "pricing", "show", "--region", "ap-northeast-1", "--pricing-date", "2026-08-01"
        )
        assert result.exit_code == 0, result.output
        assert "logs.ingestion.standard" in result.output and "0.76/GB" in result.output
        assert "2026-07-01" in result.output and "OLD" not in result.output
        assert "vpc.nat_gateway.hours" not in result.output  # not used by the model
        assert "vpc.nat_gateway.hours" in run("pricing", "show", "--all").output

    def test_rows_older_than_a_year_are_marked(self):
        result = run("pricing", "show", "--region", "us-east-1", "--pricing-date", "2027-05-01")
        assert result.exit_code == 0
        athena = next(ln for ln in result.output.splitlines() if "athena.scanned" in ln)
        kms = next(ln for ln in result.output.splitlines() if "kms.key" in ln)
        assert "OLD" in athena and "OLD" not in kms  # 2026-03-01 vs 2026-07-01
        assert "took effect before 2026-05-01" in result.output

    def test_json(self):
        result = run("pricing", "show", "--region", "us-east-1", "--output", "json")
        doc = json.loads(result.output)
        assert doc["schema_version"] == SCHEMA_VERSION
        row = next(p for p in doc["prices"] if p["price_key"] == "s3.storage.STANDARD")
        assert row["rate"].startswith("tiered per GB-Mo")
        assert row["confidence"] == "P" and "https://aws.amazon.com/s3/pricing/" in row["source"]
        assert doc["missing"] == {}

    def test_csv(self):
        result = run("pricing", "show", "--region", "us-east-1", "--output", "csv")
        assert result.output.splitlines()[0].startswith("region,price_key,rate,unit")

    def test_unknown_region(self):
        one_line_error(run("pricing", "show", "--region", "eu-west-1"), "pricing refresh")

    def test_show_validates_a_region_without_loading_boto3(self):
        code = (
            "import sys\nfrom costcompare.cli import app\n"
            "try: app(['pricing', 'show', '--region', 'ap-northeast1'])\n"
            "except SystemExit as exc: print(exc.code, 'boto3' in sys.modules, 'botocore' in "
            "sys.modules)"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.stdout.strip() == "2 False False", out.stderr
        assert "did you mean 'ap-northeast-1'" in out.stderr

    def test_bad_date(self):
        one_line_error(
            run("pricing", "show", "--pricing-date", "July"), "--pricing-date 'July'", "YYYY-MM-DD"
        )


class TestRefresh:
    def test_offer_file_appends_to_pricing_file_and_estimate_uses_it(self, tmp_path):
        target = copy_bundled(tmp_path)
        result = run(
            "pricing",
            "refresh",
            "--region",
            "ap-northeast-1",
            "--offer-file",
            S3_EXCERPT,
            "--pricing-file",
            target,
        )
        assert result.exit_code == 0, result.output
        assert "s3.storage.STANDARD" in result.output and "changed" in result.output
        # 3 tiers changed; SIA, PUT and two retrievals confirmed at the newer date
        assert "Appended 7 row(s)" in result.output
        assert "s3.storage.DEEP_ARCHIVE (ap-northeast-1)" in result.output.split("Not found")[1]
        assert "warning:" in result.output and "s3.storage.DEEP_ARCHIVE" in result.output
        est = run(
            "estimate", "--pricing-file", target, "--pricing-date", "2027-02-01", "--output", "json"
        )
        assert est.exit_code == 0, est.output
        s3 = next(d for d in json.loads(est.output)["destinations"] if d["name"] == "s3")
        line = next(c for c in s3["components"] if c["price_key"] == "s3.storage.STANDARD")
        assert line["unit_price_usd"] == pytest.approx(0.026)
        assert "publication 2027-01-15" in line["source"]

    def test_json_report(self, tmp_path):
        target = copy_bundled(tmp_path)
        result = run(
            "pricing",
            "refresh",
            "--region",
            "ap-northeast-1",
            "--offer-file",
            S3_EXCERPT,
            "--pricing-file",
            target,
            "--dry-run",
            "-o",
            "json",
        )
        doc = json.loads(result.stdout)
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["dry_run"] and not doc["written"] and doc["counts"]["changed"] == 1
        assert "s3.storage.DEEP_ARCHIVE" in [m["price_key"] for m in doc["missing"]]
        not_s3 = [s for s in lib.PRODUCT_MAP if s.service != "AmazonS3"]
        assert doc["counts"]["skipped"] == len(not_s3)  # no offer file for their services
        assert target.read_bytes() == bundled_path("prices.csv").read_bytes()

    def test_bundled_fixtures_change_nothing(self, tmp_path):
        target = copy_bundled(tmp_path)
        files = [x for f in sorted(BUNDLED.glob("*/*/index.json")) for x in ("--offer-file", f)]
        result = run(
            "pricing",
            "refresh",
            "--region",
            "ap-northeast-1",
            "--region",
            "us-east-1",
            *files,
            "--pricing-file",
            target,
        )
        assert result.exit_code == 0, result.output
        # prose wraps to the terminal (80 columns here); only a path alone may run over
        lines = result.output.splitlines()
        assert all(len(line) <= 80 or " " not in line.strip() for line in lines), result.output
        assert f"Nothing new: {target} left as it was." in " ".join(result.output.split())
        absent = tmp_path / "never.csv"
        again = run("pricing", "refresh", "--region", "ap-northeast-1", "--region", "us-east-1",
                    *files, "--pricing-file", absent)  # fmt: skip
        assert again.exit_code == 0, again.output
        assert f"Nothing new to append: {absent} was not created." in " ".join(again.output.split())
        assert not absent.exists()

    def test_query_api_with_profile_and_default_user_copy(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
        client = pricing_client()
        seen = {}

        def fake_client(**kwargs):
            seen.update(kwargs)
            return client

        monkeypatch.setattr(lib, "pricing_client", fake_client)
        item = price_item(
            "ATH",
            "AmazonAthena",
            "Athena Queries",
            "EU-DataScannedInTB",
            "eu-west-1",
            [dim("0", "Inf", "5.0000000000", "Terabytes")],
        )
        with Stubber(client) as stub:
            stub_query(stub, "AmazonAthena", filters("eu-west-1"), [[item]])
            result = run(
                "pricing",
                "refresh",
                "--region",
                "eu-west-1",
                "--key",
                "athena.scanned",
                "--profile",
                "billing",
            )
        assert result.exit_code == 0, result.output
        assert seen == {"profile": "billing", "api_region": None, "endpoint_url": None}
        target = tmp_path / "costcompare" / "prices.csv"
        assert f"Appended 1 row(s) to {target}" in " ".join(result.output.split())
        show = run("pricing", "show", "--region", "eu-west-1", "--all", "--pricing-file", target)
        assert "athena.scanned" in show.output
        assert "Missing in eu-west-1" in show.output

    def test_malformed_offer_file_one_line_and_untouched(self, tmp_path):
        target = copy_bundled(tmp_path)
        bad = tmp_path / "index.json"
        bad.write_text(S3_EXCERPT.read_text()[:2000])
        result = run(
            "pricing",
            "refresh",
            "--region",
            "ap-northeast-1",
            "--offer-file",
            bad,
            "--pricing-file",
            target,
        )
        one_line_error(result, "not a valid offer file", "nothing was written")
        assert target.read_bytes() == bundled_path("prices.csv").read_bytes()

    def test_bad_region(self):
        one_line_error(run("pricing", "refresh", "--region", "Tokyo"), "ap-northeast-1")

    def test_bad_api_region(self):
        result = run("pricing", "refresh", "--region", "us-east-1", "--api-region", "eu-west-1")
        one_line_error(result, "--api-region eu-west-1", "us-east-1")

    def test_unreadable_pricing_file(self, tmp_path):
        bad = tmp_path / "prices.csv"
        bad.write_text("not,a,price,table\n")
        result = run(
            "pricing",
            "refresh",
            "--region",
            "ap-northeast-1",
            "--offer-file",
            S3_EXCERPT,
            "--pricing-file",
            bad,
        )
        one_line_error(result, "header")
        assert bad.read_text() == "not,a,price,table\n"


class TestDiff:
    def test_change_and_its_cost_effect(self, tmp_path):
        target = copy_bundled(tmp_path)
        run(
            "pricing",
            "refresh",
            "--region",
            "ap-northeast-1",
            "--offer-file",
            S3_EXCERPT,
            "--pricing-file",
            target,
        )
        result = run(
            "pricing",
            "diff",
            "--from",
            "2026-07-01",
            "--to",
            "2027-02-01",
            "--pricing-file",
            target,
        )
        assert result.exit_code == 0, result.output
        assert "s3.storage.STANDARD" in result.output and "+4.0%" in result.output
        doc = json.loads(
            run(
                "pricing",
                "diff",
                "--from",
                "2026-07-01",
                "--to",
                "2027-02-01",
                "--pricing-file",
                target,
                "-o",
                "json",
            ).output
        )
        assert doc["schema_version"] == SCHEMA_VERSION
        assert [c["price_key"] for c in doc["price_changes"]] == ["s3.storage.STANDARD"]
        cost = {c["destination"]: c for c in doc["cost"]}
        assert cost["s3"]["monthly_delta_usd"] > 0 and cost["cloudwatch"]["total_delta_usd"] == 0

    def test_no_change(self):
        result = run("pricing", "diff", "--from", "2026-07-01", "--to", "2026-08-01")
        assert result.exit_code == 0 and "no price changed" in result.output

    def test_from_before_the_table(self):
        result = run("pricing", "diff", "--from", "2025-01-01", "--to", "2026-08-01")
        one_line_error(result, "--from 2025-01-01", "pass --from 2026-07-01 or later")

    def test_dates_swapped(self):
        result = run("pricing", "diff", "--from", "2026-09-01", "--to", "2026-08-01")
        one_line_error(result, "after --to", "swap them")
