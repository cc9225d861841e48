"""The bill from Cost Explorer: the exact GetCostAndUsage request, its pages, its errors, and the
same month as the CUR fixture giving the same reconciliation to the cent."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from typer.testing import CliRunner

from costcompare.aws import AwsContext, aws_error
from costcompare.bill import BILLED_SERVICES, BillError, BillFilter, read_bill_duckdb
from costcompare.bill_ce import (
    CE_FIXES,
    CE_SERVICES,
    ce_request,
    read_bill_cost_explorer,
)
from costcompare.cli import app
from costcompare.pricing import PriceTable, default_table
from tests import make_cur_fixture as cur

WORKLOAD = Path(__file__).parent / "fixtures" / "cur" / "workload-2026-10.yaml"
CE_TAG = "costcompare:managed"  # Cost Explorer filters on the key as written on the resource
WHERE = BillFilter(cur.MONTH, cur.REGION, (cur.ACCOUNT,), CE_TAG, "true")
# How Cost Explorer's SERVICE dimension spells the fixture's product codes (written out here,
# not taken from the module under test).
SERVICE_NAMES = {
    "AmazonCloudWatch": "AmazonCloudWatch",
    "AmazonS3": "Amazon Simple Storage Service",
    "awskms": "AWS Key Management Service",
    "AmazonVPC": "Amazon Virtual Private Cloud",
}
EXPECTED_REQUEST = {
    "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
    "Granularity": "MONTHLY",
    "Filter": {
        "And": [
            {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}},
            {"Dimensions": {"Key": "REGION", "Values": ["ap-northeast-1"]}},
            {
                "Dimensions": {
                    "Key": "SERVICE",
                    "Values": [
                        "AmazonCloudWatch",
                        "Amazon Simple Storage Service",
                        "AWS Key Management Service",
                        "Amazon Virtual Private Cloud",
                        "Amazon Athena",
                    ],
                }
            },
            {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111111111111"]}},
            {"Tags": {"Key": CE_TAG, "Values": ["true"], "MatchOptions": ["EQUALS"]}},
        ]
    },
    "Metrics": ["UnblendedCost", "UsageQuantity"],
    "GroupBy": [
        {"Type": "DIMENSION", "Key": "SERVICE"},
        {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
    ],
}


def fixture_groups() -> list[dict]:
    """The CUR fixture's tagged month in the account, as Cost Explorer groups it (rounded to
    10 decimals, as Cost Explorer writes amounts)."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in cur.fixture_lines():
        if cur.in_month(row, tagged=True) and row["line_item_usage_account_id"] == cur.ACCOUNT:
            key = (SERVICE_NAMES[row["line_item_product_code"]], row["line_item_usage_type"])
            totals[key][0] += row["line_item_usage_amount"]
            totals[key][1] += row["line_item_unblended_cost"]
    return [
        {
            "Keys": list(key),
            "Metrics": {
                "UnblendedCost": {"Amount": f"{cost:.10f}", "Unit": "USD"},
                "UsageQuantity": {"Amount": f"{amount:.10f}", "Unit": "N/A"},
            },
        }
        for key, (amount, cost) in sorted(totals.items())
    ]


def page(groups: list[dict], token: str | None = None, estimated: bool = False) -> dict:
    result = {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": k} for k in ("SERVICE", "USAGE_TYPE")],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
                "Total": {},
                "Groups": groups,
                "Estimated": estimated,
            }
        ],
        "DimensionValueAttributes": [],
    }
    if token:
        result["NextPageToken"] = token
    return result


def stubbed() -> tuple[AwsContext, Stubber]:
    """A context whose Cost Explorer client answers from a Stubber (nothing is sent)."""
    aws = AwsContext(region="ap-northeast-1")
    stub = Stubber(aws.client("ce", region="us-east-1"))
    stub.activate()
    return aws, stub


def test_the_request_is_the_month_grouped_by_service_and_usage_type():
    assert ce_request(WHERE) == EXPECTED_REQUEST
    december = ce_request(BillFilter(cur.MONTH.replace(month=12), cur.REGION))
    assert december["TimePeriod"] == {"Start": "2026-12-01", "End": "2027-01-01"}
    filters = december["Filter"]["And"]
    assert [f["Dimensions"]["Key"] for f in filters] == ["RECORD_TYPE", "REGION", "SERVICE"]
    assert sorted(CE_SERVICES.values()) == sorted(BILLED_SERVICES)


def test_every_page_is_read_with_its_token_and_counted():
    groups = fixture_groups()
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page(groups[:4], token="page-2"), EXPECTED_REQUEST)
    second = {**EXPECTED_REQUEST, "NextPageToken": "page-2"}
    stub.add_response("get_cost_and_usage", page(groups[4:], estimated=True), second)
    bill = read_bill_cost_explorer(aws, WHERE)
    stub.assert_no_pending_responses()
    price = default_table().resolve("us-east-1").prices["ce.requests"]  # the table's row
    assert bill.price == price and price.unit == "Requests"
    assert bill.requests == 2 and bill.request_usd == pytest.approx(2 * price.first_rate)
    assert bill.estimated and any("estimated" in note for note in bill.notes())
    assert any("$0.02" in note for note in bill.notes())
    assert len(bill.usage) == len(groups)
    assert json.loads(bill.query) == EXPECTED_REQUEST


def test_requests_are_priced_from_the_table_in_use(tmp_path):
    bundled = default_table()
    table_file = tmp_path / "prices.csv"
    lines = Path(bundled.path).read_text().splitlines()
    ce_row = next(line for line in lines if line.startswith("ce.requests,"))
    newer = ce_row.replace(",0.01,2026-07-01,", ",0.02,2026-08-01,")
    table_file.write_text("\n".join([*lines, newer]) + "\n")
    groups = fixture_groups()
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page(groups), EXPECTED_REQUEST)
    bill = read_bill_cost_explorer(aws, WHERE, PriceTable.load(table_file))
    assert bill.price.first_rate == 0.02 and bill.request_usd == pytest.approx(1 * 0.02)
    # A table without the row (refreshed before it existed, or Tokyo only) falls back to the
    # bundled one rather than failing the reconciliation.
    tokyo = [line for line in lines if ",us-east-1," not in line]
    table_file.write_text("\n".join(tokyo) + "\n")
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page(groups), EXPECTED_REQUEST)
    bill = read_bill_cost_explorer(aws, WHERE, PriceTable.load(table_file))
    assert bill.price == bundled.resolve("us-east-1").prices["ce.requests"]


def test_the_same_month_as_cur_to_the_cent():
    """Cost Explorer's groups of the fixture month match CUR's per-usage-type sums."""
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page(fixture_groups()), EXPECTED_REQUEST)
    from_ce = {(b.service, b.usage_type): b for b in read_bill_cost_explorer(aws, WHERE).usage}
    cur_where = BillFilter(cur.MONTH, cur.REGION, (cur.ACCOUNT,), cur.TAG_KEY, "true")
    from_cur = {(b.service, b.usage_type): b for b in read_bill_duckdb(cur.FIXTURE, cur_where)}
    assert from_ce.keys() == from_cur.keys()
    assert ("AmazonS3", "APN1-TimedStorage-ByteHrs") in from_ce  # S3 and CloudWatch kept apart
    assert ("AmazonCloudWatch", "APN1-TimedStorage-ByteHrs") in from_ce
    for key, line in from_cur.items():
        assert round(from_ce[key].unblended_cost, 2) == round(line.unblended_cost, 2), key
        assert from_ce[key].usage_amount == pytest.approx(line.usage_amount, rel=1e-9), key


def test_an_empty_answer_to_an_inactive_tag_says_to_activate_it():
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page([]), EXPECTED_REQUEST)
    tags = {"CostAllocationTags": [{"TagKey": CE_TAG, "Type": "UserDefined", "Status": "Inactive"}]}
    stub.add_response("list_cost_allocation_tags", tags, {"TagKeys": [CE_TAG]})
    with pytest.raises(BillError, match="not activated") as err:
        read_bill_cost_explorer(aws, WHERE)
    assert "update-cost-allocation-tags-status" in str(err.value)
    assert "TagKey=costcompare:managed,Status=Active" in str(err.value)


def test_the_cur_spelling_of_the_tag_gets_a_hint():
    where = BillFilter(cur.MONTH, cur.REGION, (), cur.TAG_KEY, "true")
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page([]), ce_request(where))
    stub.add_response(
        "list_cost_allocation_tags", {"CostAllocationTags": []}, {"TagKeys": [cur.TAG_KEY]}
    )
    with pytest.raises(BillError, match="knows no cost-allocation tag") as err:
        read_bill_cost_explorer(aws, where)
    assert "costcompare:managed, not the CUR column's user_costcompare_managed" in str(err.value)


def test_an_active_tag_with_no_cost_is_an_empty_bill():
    aws, stub = stubbed()
    stub.add_response("get_cost_and_usage", page([]), EXPECTED_REQUEST)
    tags = {"CostAllocationTags": [{"TagKey": CE_TAG, "Type": "UserDefined", "Status": "Active"}]}
    stub.add_response("list_cost_allocation_tags", tags, {"TagKeys": [CE_TAG]})
    bill = read_bill_cost_explorer(aws, WHERE)
    assert bill.usage == [] and bill.requests == 2


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        ("AccessDeniedException", "ce:GetCostAndUsage"),
        ("DataUnavailableException", "--source cur"),
        ("BillExpirationException", "--source cur"),
        ("ValidationException", "costcompare:managed=true"),
    ],
)
def test_cost_explorer_errors_are_one_line_with_the_fix(code, fix):
    aws, stub = stubbed()
    stub.add_client_error("get_cost_and_usage", code, "nope", expected_params=EXPECTED_REQUEST)
    with pytest.raises(BillError) as err:
        read_bill_cost_explorer(aws, WHERE)
    text = str(err.value)
    assert "ce:GetCostAndUsage" in text and code in text and fix in text
    assert "\n" not in text


def test_throttling_after_the_retries_says_to_wait():
    """The retry policy retries LimitExceededException itself; what is left is one line."""
    exc = ClientError(
        {"Error": {"Code": "LimitExceededException", "Message": "Rate exceeded"}},
        "GetCostAndUsage",
    )
    text = str(aws_error(exc, "reading", error=BillError, fixes=CE_FIXES))
    assert "LimitExceededException: Rate exceeded" in text and "wait" in text


def queue_ce_results(*results: dict) -> None:
    """moto answers the next GetCostAndUsage requests (one new request body each) with these."""
    from moto.ce.models import ce_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    ce_backends[DEFAULT_ACCOUNT_ID]["aws"].cost_usage_results_queue.extend(results)


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["reconcile", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_cost_explorer_and_cur_reconcile_the_same_month_alike():
    from moto import mock_aws

    groups = fixture_groups()
    common = ["--month", "2026-10", "-w", str(WORKLOAD), "--account", cur.ACCOUNT, "-o", "json"]
    with mock_aws():
        queue_ce_results(page(groups[:5], token="next"), page(groups[5:]))
        args = ["--source", "cost-explorer", "--tag", f"{CE_TAG}=true", *common]
        from_ce = json.loads(run(*args))
    from_cur = json.loads(run("--cur", str(cur.FIXTURE), "--tag", f"{cur.TAG_KEY}=true", *common))
    assert from_ce["engine"] == "cost-explorer" and from_cur["engine"] == "duckdb"
    assert json.loads(from_ce["query"]) == EXPECTED_REQUEST
    assert from_ce["destination"] == from_cur["destination"] == "both"
    assert round(from_ce["billed_usd"], 2) == round(from_cur["billed_usd"], 2)
    assert from_ce["modelled_usd"] == pytest.approx(from_cur["modelled_usd"])
    ce_lines = {(c["service"], c["usage_type"]): c for c in from_ce["components"]}
    for line in from_cur["components"]:
        other = ce_lines[(line["service"], line["usage_type"])]
        assert round(other["billed_usd"], 2) == round(line["billed_usd"], 2)
        assert other["explanation"] == line["explanation"]
    assert any("2 API request(s) at $0.01 each = $0.02" in n for n in from_ce["notes"])
    cost = from_ce["bill_reading_cost"]
    row = default_table().resolve("us-east-1").prices["ce.requests"]
    assert cost["quantity"] == 2 and cost["unit_price_usd"] == row.first_rate
    assert cost["price_key"] == "ce.requests" and cost["source"] == row.source
    assert cost["usd"] == pytest.approx(cost["quantity"] * cost["unit_price_usd"])
    assert from_cur["bill_reading_cost"] is None  # not priced for --source cur
    assert any("cannot group by resource" in n for n in from_ce["notes"])


def test_cli_table_names_the_source():
    from moto import mock_aws

    with mock_aws():
        queue_ce_results(page(fixture_groups()))
        text = run("--source", "cost-explorer", "--month", "2026-10", "-w", str(WORKLOAD))
    assert "Bill 2026-10 (cost-explorer)" in text and "APN1-DataProcessing-Bytes" in text
    assert "$0.01" in text


def test_help_says_what_cost_explorer_costs_and_lacks_within_80_columns():
    result = CliRunner().invoke(app, ["reconcile", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "$0.01 per request" in result.stdout and "per-resource" in result.stdout
    assert "--source cost-explorer" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
