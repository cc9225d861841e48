"""The one Athena runner (costcompare/athena.py): what it sends, how it waits, how it fails."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from costcompare.athena import run_athena_query
from costcompare.errors import MeasureError
from tests.athena_moto import StubbedContext

REGION = "ap-northeast-1"


def stubbed_athena(state: str, reason: str = "", output: str | None = None, scanned: int = 0):
    """An Athena client that expects one query from workgroup audit, database inv_db."""
    client = boto3.client(
        "athena", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    expected = {
        "QueryString": "SELECT 1",
        "WorkGroup": "audit",
        "QueryExecutionContext": {"Database": "inv_db"},
    }
    if output:
        expected["ResultConfiguration"] = {"OutputLocation": output}
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, expected)
    execution = {"QueryExecutionId": "q-1", "Status": {"State": state}}
    if reason:
        execution["Status"]["StateChangeReason"] = reason
    if scanned:
        execution["Statistics"] = {"DataScannedInBytes": scanned}
    stub.add_response("get_query_execution", {"QueryExecution": execution})
    return client, stub


def test_a_failed_query_is_one_line_with_athenas_reason():
    reason = "COLUMN_NOT_FOUND: line 9:40: Column 'is_latest' cannot be resolved"
    client, stub = stubbed_athena("FAILED", reason)
    with stub, pytest.raises(MeasureError, match="the Athena query of the inventory failed") as e:
        run_athena_query(
            StubbedContext(client), "SELECT 1", workgroup="audit", table="inv_db.t",
            purpose="the Athena query of the inventory", error=MeasureError,
        )  # fmt: skip
    assert reason in str(e.value)
    stub.assert_no_pending_responses()


def test_rows_come_back_without_the_header_and_with_bytes_scanned():
    client, stub = stubbed_athena("SUCCEEDED", output="s3://results/", scanned=12345)
    rows = [{"Data": [{"VarCharValue": "n"}]}, {"Data": [{"VarCharValue": "7"}]}, {"Data": [{}]}]
    stub.add_response("get_query_results", {"ResultSet": {"Rows": rows}})
    with stub:
        result = run_athena_query(
            StubbedContext(client), "SELECT 1", workgroup="audit", table="inv_db.t",
            purpose="a query", error=MeasureError, output="s3://results/",
        )  # fmt: skip
    assert (result.columns, result.rows, result.bytes_scanned) == (["n"], [["7"], [None]], 12345)


def test_an_unknown_workgroup_is_one_line_naming_the_flags():
    from typer.testing import CliRunner

    from costcompare.cli import app

    with mock_aws():
        result = CliRunner().invoke(
            app,
            ["measure", "--engine", "athena", "--workgroup", "nope", "--table", "inv_db.t",
             "--region", REGION],
        )  # fmt: skip
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert "workgroup nope" in line and "Traceback" not in result.output


def test_a_query_past_the_timeout_is_stopped_and_named_in_the_commands_own_error():
    """Athena keeps scanning (and billing) a query nobody waits for: the runner stops it, and
    says so with the command's error type, not search's advice to raise a --timeout that
    measure and reconcile do not have."""
    client, stub = stubbed_athena("RUNNING")
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": "q-1"})
    with stub, pytest.raises(MeasureError) as e:
        run_athena_query(
            StubbedContext(client), "SELECT 1", workgroup="audit", table="inv_db.t",
            purpose="the Athena query of the inventory", error=MeasureError, timeout_s=0,
        )  # fmt: skip
    stub.assert_no_pending_responses()
    message = str(e.value)
    assert "q-1" in message and "stopped" in message and "--timeout" not in message
