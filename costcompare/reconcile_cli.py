"""``costcompare reconcile``: read a month of the bill, run the model on that month, compare."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from costcompare import options as opt


class Engine(StrEnum):
    duckdb = "duckdb"
    athena = "athena"


RECONCILE_EXAMPLES = opt.examples(
    """
    costcompare reconcile --cur ./cur-export --month 2026-10 -w m-2026-10.yaml
    costcompare reconcile --engine athena --workgroup primary \\
    --table cur.session_logs --month 2026-10 -w m-2026-10.yaml
    costcompare reconcile --cur ./cur-export --month 2026-10 -w m.yaml \\
    --tag user_costcompare_managed=true --account 111111111111 -o json
    costcompare reconcile --cur ./cur-export --month 2026-10 -o csv
    """,
    """
The bill: a CUR 2.0 export in Parquet (aws s3 sync s3://BUCKET/PREFIX ./cur-export).
The workload: that month's `costcompare measure --write-workload FILE`.
""",
)


def reconcile_command(
    month: Annotated[
        str, typer.Option(metavar="YYYY-MM", help="The billing month to check (a past month).")
    ],
    cur: Annotated[
        Path | None,
        typer.Option(metavar="PATH", help="CUR 2.0 (Data Exports) Parquet: a folder or a file."),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            metavar="duckdb|athena",
            help="Where the SQL runs: duckdb on --cur (local), athena on --table (in the account).",
        ),
    ] = Engine.duckdb,
    workgroup: Annotated[
        str, typer.Option(metavar="NAME", help="Athena workgroup (--engine athena).")
    ] = "primary",
    table: Annotated[
        str | None,
        typer.Option(
            metavar="DB.TABLE",
            help="The CUR 2.0 table: required on Athena; on DuckDB, the name the query uses "
            "(default cur).",
        ),
    ] = None,
    query_output: Annotated[
        str | None,
        typer.Option(
            metavar="S3URI", help="Athena results location, if the workgroup does not set one."
        ),
    ] = None,
    workload_file: opt.Workload = None,
    destination: Annotated[
        str | None,
        typer.Option(
            "--destination",
            "-d",
            metavar="NAME",
            help=f"The destination in use ({opt.DESTINATION_NAMES}; default: read off the bill).",
        ),
    ] = None,
    account: Annotated[
        list[str] | None,
        typer.Option(metavar="ID[,ID]", help="Only these usage accounts (repeatable)."),
    ] = None,
    tag: Annotated[
        str | None,
        typer.Option(
            metavar="KEY=VALUE",
            help="Only lines with this cost-allocation tag, keyed as the export's resource_tags "
            "(e.g. user_costcompare_managed=true).",
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(metavar="PCT", help="Explain components whose error is this % or more."),
    ] = 10.0,
    pricing_file: opt.PricingFile = None,
    output: opt.output_option(
        opt.OutputFormat.table, opt.OutputFormat.json, opt.OutputFormat.csv
    ) = opt.OutputFormat.table,
    out: opt.Out = None,
    wide: opt.Wide = False,
    profile: opt.AwsProfile = None,
    region: opt.AwsRegion = None,
    endpoint_url: opt.EndpointUrl = None,
) -> None:
    """Compare a month of the bill (CUR 2.0) with the model on that month's measured volumes."""
    from costcompare.bill import (
        BillError,
        BillFilter,
        bill_query,
        check_accounts,
        check_table,
        parse_month,
        parse_tag,
        read_bill_duckdb,
    )
    from costcompare.destinations import resolve_names
    from costcompare.files import check_output_file, write_atomic
    from costcompare.pricing import load_table
    from costcompare.reconcile import reconcile
    from costcompare.reconcile_report import render
    from costcompare.workload import load_profile

    if out:
        check_output_file(out, "--out")
    when = parse_month(month)
    accounts = check_accounts(opt.split_names(account) or [])
    tag_key, tag_value = parse_tag(tag)
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise BillError(f"--tolerance {tolerance:g}", "give a percentage ≥ 0")
    if destination is not None:
        resolve_names([destination])  # an unknown name fails before the bill is read
    name = check_table(table or "cur")
    if engine is Engine.athena and (table is None or "." not in name):
        raise BillError("--engine athena needs --table DB.TABLE", "name the CUR 2.0 table")
    if engine is Engine.duckdb and cur is None:
        raise BillError("no bill to read", "give --cur PATH (a CUR 2.0 Parquet folder or file)")
    workload = load_profile(opt.find_workload(workload_file))
    prices = load_table(pricing_file)
    where = BillFilter(when, workload.region, accounts, tag_key, tag_value)
    if engine is Engine.athena:
        from costcompare.aws import AwsContext
        from costcompare.bill_athena import read_bill_athena

        aws = AwsContext(profile=profile, region=region, endpoint_url=endpoint_url)
        bill = read_bill_athena(aws, name, workgroup, where, output=query_output)
    else:
        bill = read_bill_duckdb(cur, where, name)  # type: ignore[arg-type]
    result = reconcile(
        bill,
        workload,
        when,
        destination=destination,
        table=prices,
        tolerance_pct=tolerance,
        engine=engine.value,
        query=bill_query(name, where),
    )
    text = render(result, output.value, wide=wide)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)
