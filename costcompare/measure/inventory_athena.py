"""The S3 Inventory on Athena: ``inventory_sql``'s queries sent as they are to a table in the
account, for inventories too big to download (an organization's log bucket).

The table is the one AWS documents over an inventory (columns ``key``, ``size``,
``last_modified_date`` as a timestamp, ``is_latest``, ``is_delete_marker``), holding one
report: a table whose LOCATION is one ``hive/dt=…`` folder, or a view that picks one ``dt``.
"""

from __future__ import annotations

import re

from costcompare.athena import DEFAULT_TIMEOUT_S, run_athena_query
from costcompare.errors import MeasureError
from costcompare.measure.aws import AwsOptions
from costcompare.measure.inventory_sql import measure_with
from costcompare.measure.measurement import Measurement
from costcompare.progress import NoProgress, Progress

_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")


def check_table(table: str) -> str:
    """``database.table``: the name goes into the query text, so nothing else is allowed."""
    if not _TABLE.fullmatch(table):
        raise MeasureError(
            f"--table {table!r} is not an Athena table name",
            "write it as database.table, e.g. s3_inventory.ssm_logs",
        )
    return table


def measure_inventory_athena(
    table: str,
    workgroup: str,
    aws: AwsOptions | None = None,
    *,
    prefix: str = "",
    suffix: str = ".log",
    output: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: Progress | None = None,
) -> Measurement:
    """Sessions (objects ending ``suffix`` under ``prefix``) from the inventory table ``table``
    (database.table), queried in ``workgroup``; the same figures DuckDB gives on the files."""
    check_table(table)
    aws = aws or AwsOptions()
    progress = progress or NoProgress()

    scanned: list[int] = []

    def run(sql: str) -> list[list[str | None]]:
        progress.start(f"Athena query of {table}", None)
        result = run_athena_query(
            aws,
            sql,
            workgroup=workgroup,
            table=table,
            purpose="the Athena query of the inventory",
            error=MeasureError,
            output=output,
            timeout_s=timeout_s,
        )
        scanned.append(result.bytes_scanned)
        return result.rows

    where = f"S3 Inventory table {table} (Athena, workgroup {workgroup})"
    where += f", keys under {prefix}" if prefix else ""
    m = measure_with(run, table, where, prefix=prefix, suffix=suffix)
    m.api_calls = dict(aws.calls)
    # What the measurement cost on the bill: Athena charges the bytes its queries scanned.
    m.notes.append(f"Athena scanned {sum(scanned):,} bytes in {len(scanned)} queries")
    return m
