"""The one Athena runner: a query text in a workgroup, waited for, its rows read page by page.

The same SQL runs locally on DuckDB and in the account on Athena (the bill, the S3 Inventory),
so what differs between engines is only how the text is sent and the rows come back. This module
is that part for Athena, shared by ``bill_athena`` and ``measure.inventory_athena``: one way of
starting a query (WorkGroup, the table's database as context, an optional results location),
one way of waiting, of reading a failed query's reason and of translating AWS errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costcompare.aws import AwsContext, translated
from costcompare.errors import CostCompareError
from costcompare.search.awsutil import athena_state, wait
from costcompare.search.query import SearchError

DEFAULT_TIMEOUT_S = 300.0
ATHENA_FIXES = {
    "InvalidRequestException": "check --table (database.table), --workgroup and --region",
    "AccessDeniedException": "the caller needs athena:StartQueryExecution, GetQueryExecution, "
    "GetQueryResults on the workgroup, glue:GetTable on the table, s3:GetObject on its data "
    "and s3:PutObject on the results location",
}


def check_query_output(output: str | None, error: type[CostCompareError]) -> str | None:
    """``--query-output``: an S3 URI with a bucket, checked before any query is started (Athena
    would refuse anything else only after the command had done its other work)."""
    if output is not None and not (output.startswith("s3://") and output[5:].split("/")[0]):
        raise error(
            f"--query-output {output!r} is not an S3 URI",
            "write it as s3://BUCKET/PREFIX/, e.g. s3://my-athena-results/",
        )
    return output


@dataclass(frozen=True)
class AthenaResult:
    """The rows of a finished query (as Athena gives them: text or None), header removed."""

    query_id: str
    columns: list[str]
    rows: list[list[str | None]]
    bytes_scanned: int


def run_athena_query(
    aws: AwsContext,
    sql: str,
    *,
    workgroup: str,
    table: str,
    purpose: str,
    error: type[CostCompareError],
    output: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    fixes: Mapping[str, str] | None = None,
    failed_fix: str = "check --table, --workgroup and the table's columns",
) -> AthenaResult:
    """Run ``sql`` in ``workgroup`` with ``table``'s database as context; ``purpose`` names the
    query in errors ("the Athena query of the bill"). Raises ``error`` with one line if AWS
    refuses (``fixes`` by error code, over ``ATHENA_FIXES``), the query fails (Athena's reason,
    then ``failed_fix``) or it does not finish within ``timeout_s``."""
    check_query_output(output, error)
    athena = aws.client("athena")
    with translated(
        f"{purpose} (workgroup {workgroup})", error=error, fixes={**ATHENA_FIXES, **(fixes or {})}
    ):
        kwargs: dict[str, Any] = {
            "QueryString": sql,
            "WorkGroup": workgroup,
            "QueryExecutionContext": {"Database": table.partition(".")[0]},
        }
        if output:
            kwargs["ResultConfiguration"] = {"OutputLocation": output}
        query_id = athena.start_query_execution(**kwargs)["QueryExecutionId"]
        execution = _wait_or_stop(athena, query_id, timeout_s, purpose, error)
        status = execution["Status"]
        if status["State"] != "SUCCEEDED":
            raise error(
                f"{purpose} {status['State'].lower()}: "
                f"{status.get('StateChangeReason', status['State'])}",
                failed_fix,
            )
        rows: list[list[str | None]] = []
        for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            rows += [[c.get("VarCharValue") for c in r["Data"]] for r in page["ResultSet"]["Rows"]]
    scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0) or 0)
    header = [str(c) for c in rows[0]] if rows else []
    return AthenaResult(query_id, header, rows[1:], scanned)


def _wait_or_stop(
    athena: Any, query_id: str, timeout_s: float, purpose: str, error: type[CostCompareError]
) -> dict[str, Any]:
    """The finished query's execution; past ``timeout_s`` the query is stopped (Athena would
    keep scanning, and billing, a query nobody reads) and ``error`` says so."""
    try:
        return wait(lambda: athena_state(athena, query_id), timeout_s, purpose)
    except SearchError:  # wait's timeout, in search's words (whose --timeout others lack)
        athena.stop_query_execution(QueryExecutionId=query_id)
        raise error(
            f"{purpose} did not finish in {timeout_s:g} s: query {query_id} was stopped",
            "run it again when the workgroup is less busy, or query a smaller table "
            "(one report, Parquet)",
        ) from None
