"""reconcile: the fixture month's bill against the model, per usage type, with its errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcompare.bill import BillError, BillFilter, read_bill_duckdb
from costcompare.cli import app
from costcompare.jsoncontract import SCHEMA_VERSION
from costcompare.model import estimate
from costcompare.pricing import bundled_path, load_table
from costcompare.reconcile import reconcile
from costcompare.workload import load_profile
from tests import make_cur_fixture as cur
from tests.athena_moto import BILL_HEADER, queue_athena_rows

WORKLOAD = Path(__file__).parent / "fixtures" / "cur" / "workload-2026-10.yaml"
WHERE = BillFilter(cur.MONTH, cur.REGION, (cur.ACCOUNT,), cur.TAG_KEY, "true")


@pytest.fixture(scope="module")
def bill():
    return read_bill_duckdb(cur.FIXTURE, WHERE)


def by_usage(result):
    return {(c.service, c.usage_type): c for c in result.checks}


def test_billed_and_modelled_per_component(bill):
    workload = load_profile(WORKLOAD)
    result = reconcile(bill, workload, cur.MONTH)
    assert result.destination == "both"  # CloudWatch ingestion and S3 storage on the bill
    checks = by_usage(result)
    billed = {(b.service, b.usage_type): b for b in bill}
    for key, line in billed.items():
        assert checks[key].billed_usd == pytest.approx(line.unblended_cost, abs=0.005)
    assert result.billed_usd == pytest.approx(sum(b.unblended_cost for b in bill), abs=0.005)
    # The modelled side is the estimate's own lines for the month, usage type by usage type.
    est = estimate(workload, destinations=["both"], pricing_date=cur.MONTH)
    lines = {line.name: line for d in (*est.destinations, est.baseline) for line in d.lines}
    ingest = checks[("AmazonCloudWatch", "APN1-DataProcessing-Bytes")]
    assert ingest.modelled_usd == pytest.approx(
        float(lines["CloudWatch Logs ingestion (Standard)"].cost[-1])
    )
    assert ingest.modelled_quantity == pytest.approx(workload.monthly_ingest_gb)
    keys = checks[("awskms", "ap-northeast-1-KMS-Keys")]
    assert keys.modelled_quantity == 2  # the log group's key and the bucket's
    assert set(keys.model_lines) == {
        "KMS key for the log group",
        "KMS key for the bucket (SSE-KMS)",
    }
    hours = checks[("AmazonVPC", "APN1-VpcEndpoint-Hours")]
    assert hours.modelled_usd == pytest.approx(
        sum(float(line.cost[-1]) for line in lines.values() if line.price_key.endswith("hours"))
    )
    assert ingest.error_pct == pytest.approx(
        (ingest.modelled_usd - ingest.billed_usd) / ingest.billed_usd * 100
    )


def test_a_large_quantity_error_names_the_inputs_behind_it(bill):
    result = reconcile(bill, load_profile(WORKLOAD), cur.MONTH)
    checks = by_usage(result)
    ingest = checks[("AmazonCloudWatch", "APN1-DataProcessing-Bytes")]
    assert ingest.error_pct is not None and ingest.error_pct < -10  # 80 GB modelled, 96 billed
    assert "quantity" in ingest.explanation and "monthly_ingest_gb" in ingest.explanation
    scanned = checks[("AmazonCloudWatch", "APN1-DataScanned-Bytes")]
    assert "searches_per_month" in scanned.explanation
    storage = checks[("AmazonCloudWatch", "APN1-TimedStorage-ByteHrs")]
    assert abs(storage.error_pct) < 10 and storage.explanation is None
    live_tail = checks[("AmazonCloudWatch", "APN1-Logs-LiveTail")]
    assert live_tail.modelled_usd == 0 and live_tail.category == "not modelled"


def test_a_large_price_error_names_the_price(bill, tmp_path):
    """A table whose ingestion price is half the billed one: the price explains the error."""
    source = bundled_path("prices.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    rows = [
        line.replace(",GB,0,,0.76,", ",GB,0,,0.38,")
        if line.startswith("logs.ingestion.standard,AmazonCloudWatch,ap-northeast-1,")
        else line
        for line in source
    ]
    path = tmp_path / "prices.csv"
    path.write_text("".join(rows), encoding="utf-8")
    table = load_table(path)
    workload = load_profile(WORKLOAD).with_overrides(monthly_ingest_gb=96)
    result = reconcile(bill, workload, cur.MONTH, table=table)
    ingest = by_usage(result)[("AmazonCloudWatch", "APN1-DataProcessing-Bytes")]
    rate = table.resolve(cur.REGION, cur.MONTH)["logs.ingestion.standard"].first_rate
    assert ingest.modelled_usd == pytest.approx(96 * rate)
    assert ingest.explanation.startswith("price:")
    assert "logs.ingestion.standard" in ingest.explanation
    assert "quantity" not in ingest.explanation


def test_an_empty_bill_is_bad_input():
    with pytest.raises(BillError, match="no usage line"):
        reconcile([], load_profile(WORKLOAD), cur.MONTH)


def run(*args: str):
    result = CliRunner().invoke(app, ["reconcile", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


BASE = ["--cur", str(cur.FIXTURE), "--month", "2026-10", "-w", str(WORKLOAD)]
FILTERS = ["--account", cur.ACCOUNT, "--tag", f"{cur.TAG_KEY}=true"]


def test_cli_json_and_csv_agree_with_the_library(bill):
    data = json.loads(run(*BASE, *FILTERS, "-o", "json"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["month"] == "2026-10" and data["engine"] == "duckdb"
    assert data["billed_usd"] == pytest.approx(sum(b.unblended_cost for b in bill), abs=0.005)
    assert "FROM cur" in data["query"]
    rows = list(csv.DictReader(io.StringIO(run(*BASE, *FILTERS, "-o", "csv"))))
    assert {(r["service"], r["usage_type"]) for r in rows} == {
        (c["service"], c["usage_type"]) for c in data["components"]
    }


def test_the_cost_explorer_spelling_of_a_tag_on_cur_says_how_cur_spells_it():
    args = [*BASE, "--tag", "costcompare:managed=true"]
    result = CliRunner().invoke(app, ["reconcile", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "costcompare:managed=true" in result.stderr
    assert "--tag user_costcompare_managed=true" in result.stderr


def test_cli_table_flags_large_errors_and_writes_files(tmp_path):
    text = run(*BASE, *FILTERS)
    assert "APN1-DataProcessing-Bytes" in text and "total" in text
    assert "monthly_ingest_gb" in text
    out = tmp_path / "bill.json"
    run(*BASE, "-o", "json", "--out", str(out))
    assert json.loads(out.read_text())["destination"] == "both"


ATHENA_TABLE = "cur_db.session_logs"


def test_athena_gets_the_same_query_text_in_the_workgroup(bill):
    import boto3
    from moto import mock_aws
    from moto.athena.models import athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    from costcompare.bill import bill_query

    with mock_aws():
        athena = boto3.client("athena", region_name="us-east-1")
        athena.create_work_group(
            Name="billing",
            Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/"}},
        )
        rows = [
            (b.service, b.usage_type, b.usage_amount, b.unblended_cost, b.line_items) for b in bill
        ]
        queue_athena_rows("us-east-1", BILL_HEADER, rows)
        args = ["--engine", "athena", "--workgroup", "billing", "--table", ATHENA_TABLE]
        data = json.loads(run(*args, *BASE[2:], *FILTERS, "--region", "us-east-1", "-o", "json"))
        (execution,) = athena_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].executions.values()
    assert execution.query == bill_query(ATHENA_TABLE, WHERE) == data["query"]
    assert execution.workgroup.name == "billing"
    assert execution.context == {"Database": "cur_db"}
    assert data["engine"] == "athena"
    # The same rows as DuckDB read give the same reconciliation.
    local = json.loads(run(*BASE, *FILTERS, "--table", ATHENA_TABLE, "-o", "json"))
    assert local["query"] == data["query"]
    assert [c["billed_usd"] for c in local["components"]] == pytest.approx(
        [c["billed_usd"] for c in data["components"]], abs=1e-6
    )


def test_athena_needs_a_database_table():
    result = CliRunner().invoke(
        app, ["reconcile", "--engine", "athena", "--month", "2026-10", "--table", "cur"]
    )
    assert result.exit_code == 2 and "--table DB.TABLE" in result.stderr
