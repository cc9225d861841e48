"""The bill on Athena: ``bill_query`` sent as it is to the CUR 2.0 table in the account.

For an organization's bill, too big to download: the same text DuckDB runs locally goes to the
Athena table Data Exports' Athena integration (or a Glue crawler) made over the export. Sending,
waiting and reading the rows is the shared runner's (``costcompare.athena``).
"""

from __future__ import annotations

from costcompare.athena import ATHENA_FIXES, DEFAULT_TIMEOUT_S, run_athena_query
from costcompare.aws import AwsContext
from costcompare.bill import BilledUsage, BillError, BillFilter, bill_query, rows_to_usage

__all__ = ["ATHENA_FIXES", "DEFAULT_TIMEOUT_S", "read_bill_athena"]

# The query filters on the export's partition so Athena reads one month, not all of them: a table
# made without it (no BILLING_PERIOD=YYYY-MM folders as partitions) fails on that column.
PARTITION_FIX = (
    "check --table, --workgroup and the table's columns: the CUR 2.0 table must be partitioned by "
    "billing_period, the export's BILLING_PERIOD=YYYY-MM folders (a Glue crawler or partition "
    "projection adds each new month)"
)


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
    result = run_athena_query(
        aws,
        bill_query(table, where),
        workgroup=workgroup,
        table=table,
        purpose="the Athena query of the bill",
        error=BillError,
        output=output,
        timeout_s=timeout_s,
        failed_fix=PARTITION_FIX,
    )
    return rows_to_usage(result.rows)
