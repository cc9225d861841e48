"""The bill on Athena (costcompare/bill_athena.py): the query names the export's partition, so
Athena reads the asked month's BILLING_PERIOD=YYYY-MM folder and not the whole export."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from costcompare.aws import AwsContext
from costcompare.bill import BillError, BillFilter, bill_query, parse_month
from costcompare.bill_athena import read_bill_athena
from tests import make_cur_fixture as cur
from tests.athena_moto import BILL_HEADER, StubbedContext, queue_athena_rows

REGION = "ap-northeast-1"
TABLE = "cur_db.cur_table"


def test_the_query_athena_gets_prunes_to_the_asked_month():
    from moto.athena.models import athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    where = BillFilter(parse_month("2026-09"), cur.REGION, (cur.ACCOUNT,))
    with mock_aws():
        athena = boto3.client("athena", region_name=REGION)
        athena.create_work_group(
            Name="billing",
            Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/"}},
        )
        queue_athena_rows(
            REGION, BILL_HEADER, [("AmazonCloudWatch", "APN1-DataProcessing-Bytes", 2, 1.5, 3)]
        )
        got = read_bill_athena(AwsContext(region=REGION), TABLE, "billing", where)
        (execution,) = athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()
    assert execution.query == bill_query(TABLE, where)
    where_clause = execution.query.split("WHERE ", 1)[1]
    assert where_clause.startswith("billing_period = '2026-09'\n")
    assert "TIMESTAMP '2026-09-01 00:00:00'" in where_clause  # the month, twice over
    assert [(b.usage_amount, b.unblended_cost, b.line_items) for b in got] == [(2.0, 1.5, 3)]


def test_a_table_without_the_partition_column_says_how_to_partition_it():
    client = boto3.client(
        "athena", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    reason = "COLUMN_NOT_FOUND: line 7:7: Column 'billing_period' cannot be resolved"
    stub = Stubber(client)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stub.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {"State": "FAILED",
                                                                    "StateChangeReason": reason}}},
    )  # fmt: skip
    where = BillFilter(cur.MONTH, cur.REGION)
    with stub, pytest.raises(BillError) as error:
        read_bill_athena(StubbedContext(client), TABLE, "billing", where)
    assert reason in str(error.value)
    assert "partitioned by billing_period" in str(error.value)
    assert "BILLING_PERIOD=YYYY-MM" in str(error.value)
