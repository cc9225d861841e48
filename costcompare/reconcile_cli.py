"""``costcompare reconcile``: read a month of the bill, run the model on that month, compare."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from costcompare import options as opt

if TYPE_CHECKING:
    from costcompare.aws import AwsContext
    from costcompare.bill import BilledUsage, BillFilter
    from costcompare.pricing import PriceTable


Engine = opt.SqlEngine  # one engine choice for every same-query-text command (measure too)


class Source(StrEnum):
    cur = "cur"
    cost_explorer = "cost-explorer"


RECONCILE_EXAMPLES = opt.examples(
    """
    costcompare reconcile --cur ./cur-export --month 2026-10 -w m-2026-10.yaml
    costcompare reconcile --engine athena --workgroup primary \\
    --table cur.session_logs --month 2026-10 -w m-2026-10.yaml
    costcompare reconcile --cur ./cur-export --month 2026-10 -w m.yaml \\
    --tag user_costcompare_managed=true --account 111111111111 -o json
    costcompare reconcile --cur ./cur-export --month 2026-10 -o csv
    costcompare reconcile --source cost-explorer --month 2026-10 -w m.yaml \\
    --tag costcompare:managed=true
    """,
    """
The bill: a CUR 2.0 export in Parquet
(aws s3 sync s3://BUCKET/PREFIX ./cur-export), or Cost Explorer
(--source cost-explorer: ce:GetCostAndUsage in us-east-1, $0.01 per request,
each page one request; no per-resource lines: filter with --tag or --account).
The workload: that month's `costcompare measure --write-workload FILE`.
""",
)


def reconcile_command(
    month: Annotated[
        str, typer.Option(metavar="YYYY-MM", help="The billing month to check (a past month).")
    ],
    source: Annotated[
        Source,
        typer.Option(
            metavar="cur|cost-explorer",
            help="Where the bill comes from: cur (a CUR 2.0 export, per-resource lines) or "
            "cost-explorer (GetCostAndUsage, us-east-1, $0.01 per request page; it cannot "
            "group by resource: select with --tag/--account).",
        ),
    ] = Source.cur,
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
    workgroup: opt.AthenaWorkgroup = "primary",
    table: Annotated[
        str | None,
        typer.Option(
            metavar="DB.TABLE",
            help="The CUR 2.0 table: required on Athena; on DuckDB, the name the query uses "
            "(default cur).",
        ),
    ] = None,
    query_output: opt.AthenaQueryOutput = None,
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
            "(e.g. user_costcompare_managed=true); on Cost Explorer as on the resources "
            "(costcompare:managed=true).",
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
    """Compare a month of the bill (CUR 2.0, Cost Explorer) with the model on measured volumes."""
    from costcompare.athena import check_query_output
    from costcompare.aws import AwsContext
    from costcompare.bill import BillError, BillFilter, check_accounts, parse_month, parse_tag
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
    name = check_bill_options(source, engine, cur, table)
    check_query_output(query_output, BillError)
    workload = load_profile(opt.find_workload(workload_file))
    prices = load_table(pricing_file)
    where = BillFilter(when, workload.region, accounts, tag_key, tag_value)
    aws = AwsContext(profile=profile, region=region, endpoint_url=endpoint_url)
    read = read_bill(
        source,
        engine,
        where,
        aws,
        cur=cur,
        table=name,
        workgroup=workgroup,
        query_output=query_output,
        prices=prices,
    )
    result = reconcile(
        read.usage,
        workload,
        when,
        destination=destination,
        table=prices,
        tolerance_pct=tolerance,
        engine=read.label,
        query=read.query,
    )
    result.notes.extend(read.notes)
    result.reading_cost = read.reading_cost
    text = render(result, output.value, wide=wide)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


def check_bill_options(source: Source, engine: Engine, cur: Path | None, table: str | None) -> str:
    """The options of one bill source, checked before anything is read; returns the table name.

    Cost Explorer reads no export: options that name one are a mistake, said as such.
    """
    from costcompare.bill import BillError, check_table

    if source is Source.cost_explorer:
        given = [flag for flag, value in (("--cur", cur), ("--table", table)) if value is not None]
        if engine is Engine.athena:
            given.append("--engine athena")
        if given:
            raise BillError(
                f"{', '.join(given)} names a CUR 2.0 export, which --source cost-explorer "
                "does not read",
                "drop it, or use --source cur",
            )
        return "cost-explorer"
    name = check_table(table or "cur")
    if engine is Engine.athena and (table is None or "." not in name):
        raise BillError("--engine athena needs --table DB.TABLE", "name the CUR 2.0 table")
    if engine is Engine.duckdb and cur is None:
        raise BillError(
            "no bill to read",
            "give --cur PATH (a CUR 2.0 Parquet folder or file), or --source cost-explorer",
        )
    return name


@dataclass(frozen=True)
class BillRead:
    """The bill as one source read it: its lines, the engine's name, the query, notes."""

    usage: list[BilledUsage]
    label: str
    query: str
    notes: tuple[str, ...] = ()
    reading_cost: dict[str, Any] | None = None  # what the reading was billed, if anything


def read_bill(
    source: Source,
    engine: Engine,
    where: BillFilter,
    aws: AwsContext,
    *,
    cur: Path | None,
    table: str,
    workgroup: str,
    query_output: str | None,
    prices: PriceTable | None = None,
) -> BillRead:
    """Read the month's bill from the chosen source (AWS clients only for Athena and CE)."""
    from costcompare.bill import BillError, bill_query, read_bill_duckdb

    if source is Source.cost_explorer:
        from costcompare.bill_ce import read_bill_cost_explorer

        bill = read_bill_cost_explorer(aws, where, prices)
        return BillRead(
            bill.usage, source.value, bill.query, tuple(bill.notes()), bill.reading_cost()
        )
    if engine is Engine.athena:
        from costcompare.bill_athena import read_bill_athena

        usage = read_bill_athena(aws, table, workgroup, where, output=query_output)
    else:
        usage = read_bill_duckdb(cur, where, table)  # type: ignore[arg-type]
    if not usage and where.tag_key is not None and ":" in where.tag_key:
        raise BillError(
            f"no line of the CUR 2.0 bill carries the tag {where.tag_key}={where.tag_value}",
            "CUR 2.0 keys resource tags as user_KEY with ':' written '_' (e.g. --tag "
            "user_costcompare_managed=true): check one line of your export",
        )
    return BillRead(usage, engine.value, bill_query(table, where))
