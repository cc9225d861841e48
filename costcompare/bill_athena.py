"""The bill on Athena: ``bill_query`` sent as it is to the CUR 2.0 table in the account.

For an organization's bill, too big to download: the same text DuckDB runs locally goes to the
Athena table Data Exports' Athena integration (or a Glue crawler) made over the export.
"""

from __future__ import annotations

from typing import Any

from costcompare.aws import AwsContext, translated
from costcompare.bill import BilledUsage, BillError, BillFilter, bill_query, rows_to_usage
from costcompare.search.awsutil import athena_state, wait

ATHENA_FIXES = {
    "InvalidRequestException": "check --table (database.table), --workgroup and --region",
    "AccessDeniedException": "the caller needs athena:StartQueryExecution, GetQueryExecution, "
    "GetQueryResults on the workgroup, glue:GetTable and s3:GetObject on the export",
}
DEFAULT_TIMEOUT_S = 300.0


def read_bill_athena(
    aws: AwsContext,
    table: str,
    workgroup: str,
    where: BillFilter,
    *,
    output: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[BilledUsage]:
    """Run ``bill_query(table, where)`` in ``workgroup`` and read its rows."""
    sql = bill_query(table, where)
    athena = aws.client("athena")
    doing = f"reading the bill on Athena (workgroup {workgroup})"
    with translated(doing, error=BillError, fixes=ATHENA_FIXES):
        kwargs: dict[str, Any] = {
            "QueryString": sql,
            "WorkGroup": workgroup,
            "QueryExecutionContext": {"Database": table.partition(".")[0]},
        }
        if output:
            kwargs["ResultConfiguration"] = {"OutputLocation": output}
        qid = athena.start_query_execution(**kwargs)["QueryExecutionId"]
        execution = wait(
            lambda: athena_state(athena, qid), timeout_s, "the Athena query of the bill"
        )
        status = execution["Status"]
        if status["State"] != "SUCCEEDED":
            raise BillError(
                f"the Athena query of the bill {status['State'].lower()}: "
                f"{status.get('StateChangeReason', status['State'])}",
                "check --table, --workgroup and the export's columns",
            )
        rows = []
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            rows += [
                [cell.get("VarCharValue") for cell in r["Data"]] for r in page["ResultSet"]["Rows"]
            ]
    return rows_to_usage(rows[1:])  # the first row is the header
