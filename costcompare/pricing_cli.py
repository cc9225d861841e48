"""`costcompare pricing show|refresh|diff`: keep the prices the model multiplies by current.

Thin: parse options, call ``costcompare.pricelist`` (refresh), ``costcompare.pricediff`` (diff)
or ``costcompare.pricing`` (show), print. Domain errors propagate to the root app, which prints
one line and exits 2. boto3 is imported only when a refresh actually calls AWS, so `costcompare
estimate` starts fast and `pricing show` never loads it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare import jsoncontract
from costcompare import options as opt
from costcompare.errors import PricingError

app = typer.Typer(
    help="Prices: show the ones in use, refresh them from the AWS Price List, diff two dates.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _table(header: list[str], rows: list[list[str]], *, wide: bool = False, **kinds: str) -> str:
    """Through the one table renderer: text columns left, figures right; ``kinds`` maps a
    header to "figure" (right-aligned), "wrap" (may wrap), or "optional" (dropped first)."""
    from costcompare.tables import Column, render_table

    columns = []
    for number, name in enumerate(header):
        kind = kinds.get(name.replace(" ", "_"), "")
        columns.append(
            Column(
                name,
                "right" if "figure" in kind else "left",
                priority=10 + number if "optional" in kind else 0,
                wrap="wrap" in kind,
            )
        )
    return render_table(columns, rows, wide=wide) + "\n"


# -- show -------------------------------------------------------------------------------------

SHOW_EXAMPLES = opt.examples(
    """
    costcompare pricing show                    # every region, prices of today
    costcompare pricing show --region ap-northeast-1 --pricing-date 2026-07-01
    costcompare pricing show --region us-east-1 --all -o json
    costcompare pricing show --pricing-file ~/.local/share/costcompare/prices.csv
    """
)


@app.command(epilog=SHOW_EXAMPLES)
def show(
    region: Annotated[
        list[str] | None,
        typer.Option(
            metavar="REGION", help="AWS region code (repeatable; default: every one in the table)."
        ),
    ] = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    all_keys: Annotated[
        bool, typer.Option("--all", help="Include keys the cost model does not use.")
    ] = False,
    output: opt.output_option(
        opt.OutputFormat.table, opt.OutputFormat.json, opt.OutputFormat.csv
    ) = opt.OutputFormat.table,
    wide: opt.Wide = False,
    old_date: Annotated[
        str | None, typer.Option("--date", hidden=True, help="Old name of --pricing-date.")
    ] = None,
) -> None:
    """The prices the model will use: rate, effective date, confidence, source; flags old ones."""
    from costcompare.destinations import all_price_keys
    from costcompare.pricelist.products import check_region
    from costcompare.pricing import load_table, parse_date, prices_in_force, stale_cutoff

    date = opt.deprecated(pricing_date, old_date, "--date", "--pricing-date")
    table = load_table(pricing_file)
    when = parse_date(date, "--pricing-date")
    as_of = when or dt.date.today()
    cutoff = stale_cutoff(as_of)
    used = all_price_keys()
    regions = [check_region(r) for r in region] if region else table.regions()
    records, missing = prices_in_force(table, regions, when, used, cutoff, all_keys=all_keys)
    if output is opt.OutputFormat.json:
        doc = {
            "pricing_file": table.path,
            "as_of": as_of.isoformat(),
            "stale_before": cutoff.isoformat(),
            "prices": records,
            "missing": {r: k for r, k in missing.items() if k},
        }
        typer.echo(jsoncontract.dumps(doc), nl=False)
        return
    if output is opt.OutputFormat.csv:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(records[0]) if records else ["region"])
        writer.writeheader()
        writer.writerows(records)
        typer.echo(buf.getvalue(), nl=False)
        return
    _echo_price_table(records, table.path, as_of, cutoff, missing, wide)


def _echo_price_table(
    records: list[dict[str, Any]],
    path: str,
    as_of: dt.date,
    cutoff: dt.date,
    missing: dict[str, list[str]],
    wide: bool,
) -> None:
    """``pricing show``'s table: one row a price, OLD marks, and what the table lacks."""
    header = ["region", "price key", "rate", "effective", "age", "conf", "source"]
    rows = [
        [
            r["region"],
            r["price_key"],
            r["rate"],
            r["effective_date"],
            "OLD" if r["stale"] else "",
            r["confidence"],
            r["source"],
        ]
        for r in records
    ]
    typer.echo(f"Prices in force on {as_of.isoformat()} from {path}")
    kinds = {"rate": "wrap", "conf": "optional", "source": "optional wrap"}
    typer.echo(_table(header, rows, wide=wide, **kinds), nl=False)
    stale = [r for r in records if r["stale"]]
    if stale:
        typer.echo(
            f"\nOLD: {len(stale)} price(s) took effect before {cutoff.isoformat()} (over a year "
            "ago); run `costcompare pricing refresh --region R`."
        )
    for reg, keys in missing.items():
        if keys:
            typer.echo(f"Missing in {reg} (the model needs them): {', '.join(keys)}")
    typer.echo("Full sources: --wide or --output json.")


# -- refresh ----------------------------------------------------------------------------------

REFRESH_EXAMPLES = opt.examples(
    """
    costcompare pricing refresh --region ap-northeast-1 --region us-east-1
    costcompare pricing refresh --region eu-west-1 --profile billing --dry-run
    costcompare pricing refresh --region ap-northeast-1 \\
    --offer-file AmazonS3-apn1.json --offer-file AmazonCloudWatch-apn1.json
    costcompare pricing refresh --region us-east-1 --pricing-file p.csv -o json
    costcompare estimate --pricing-file ~/.local/share/costcompare/prices.csv
    """,
    """
Offer files, for OFFER in AmazonCloudWatch, AmazonS3, AmazonAthena, awskms,
AmazonVPC, AmazonEC2:
https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/OFFER/current/REGION/index.json
Rows are appended with the Price List's date and source; old rows stay.
""",
)


@app.command(epilog=REFRESH_EXAMPLES)
def refresh(
    region: Annotated[
        list[str],
        typer.Option(
            metavar="REGION",
            help="AWS region code whose prices to fetch, e.g. ap-northeast-1 (repeatable).",
        ),
    ],
    offer_file: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="FILE",
            help="A bulk offer file (index.json, or .json.gz) to read instead of the Query "
            "API; repeat for several services.",
        ),
    ] = None,
    pricing_file: opt.PricingFileTarget = None,
    key: Annotated[
        list[str] | None,
        typer.Option(metavar="PRICE_KEY", help="Only this price key (repeatable; default: all)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be appended; write nothing.")
    ] = False,
    profile: opt.AwsProfile = None,
    api_region: Annotated[
        str | None,
        typer.Option(
            metavar="REGION",
            help="Region of the Price List API endpoint: us-east-1 (default), eu-central-1 or "
            "ap-south-1; AWS_REGION is used when it is one of those.",
        ),
    ] = None,
    endpoint_url: opt.EndpointUrl = None,
    output: opt.output_option(opt.OutputFormat.table, opt.OutputFormat.json) = (
        opt.OutputFormat.table
    ),
) -> None:
    """Append current prices from the AWS Price List (Query API or offer files) to a table."""
    from costcompare import pricelist as lib

    if api_region is not None and api_region not in lib.PRICING_API_REGIONS:
        raise PricingError(
            f"--api-region {api_region} has no Price List API",
            f"use one of {', '.join(lib.PRICING_API_REGIONS)}",
        )

    def client():
        return lib.pricing_client(profile=profile, api_region=api_region, endpoint_url=endpoint_url)

    report = lib.refresh(
        region,
        pricing_file=pricing_file,
        offer_files=offer_file or (),
        client_factory=client,
        keys=key,
        dry_run=dry_run,
    )
    _print_refresh(report, output)


def _print_refresh(report, output: opt.OutputFormat) -> None:
    required_missing = [r for r in report.missing if r.required]
    if output is opt.OutputFormat.json:
        typer.echo(jsoncontract.dumps(report.as_dict()), nl=False)
    else:
        from costcompare.tables import fill

        def say(text: str) -> None:  # prose wraps to the terminal; a long path stays whole
            typer.echo("\n".join(fill(line, indent="  ") for line in text.splitlines()))

        say("Read: " + "; ".join(report.origins))
        rows = []
        for r in report.results:
            rate = ""
            if r.rows:
                rate = f"{r.rows[0].usd_per_unit}/{r.rows[0].unit}"
                rate += f" ({len(r.rows)} tiers)" if len(r.rows) > 1 else ""
            rows.append([r.region, r.price_key, r.status, rate, r.reason or r.previous])
        header = ["region", "price key", "status", "new rate", "note"]
        typer.echo(_table(header, rows, note="wrap", new_rate="wrap"), nl=False)
        n = len(report.new_rows)
        if report.dry_run:
            say(f"Dry run: would append {n} row(s) to {report.pricing_file}.")
        elif report.written:
            say(f"Appended {n} row(s) to {report.pricing_file}.")
            typer.echo(  # commands to paste: never wrapped
                f"Use them: costcompare estimate --pricing-file {report.pricing_file}\n"
                f"or for every command: export {opt.PRICING_FILE_ENV}={report.pricing_file}"
            )
        elif Path(report.pricing_file).exists():
            say(f"Nothing new: {report.pricing_file} left as it was.")
        else:
            say(f"Nothing new to append: {report.pricing_file} was not created.")
        if report.missing:
            names = ", ".join(f"{r.price_key} ({r.region})" for r in report.missing)
            say(f"Not found ({len(report.missing)}): {names}")
    if required_missing:
        typer.echo(
            "warning: the Price List had no match for "
            + ", ".join(f"{r.price_key} ({r.region})" for r in required_missing)
            + ", which the cost model needs; their older prices (if any) stay in use",
            err=True,
        )


# -- diff -------------------------------------------------------------------------------------

DIFF_EXAMPLES = opt.examples(
    """
    costcompare pricing diff --from 2026-07-01 --to 2026-12-01
    costcompare pricing diff --from 2026-07-01 --to 2027-01-15 \\
    --region us-east-1 -o json
    costcompare pricing diff --from 2026-07-01 --to 2026-12-01 -w measured.yaml
    """
)


@app.command(epilog=DIFF_EXAMPLES)
def diff(
    date_from: Annotated[
        str, typer.Option("--from", metavar="YYYY-MM-DD", help="Earlier pricing date.")
    ],
    date_to: Annotated[str, typer.Option("--to", metavar="YYYY-MM-DD", help="Later pricing date.")],
    region: opt.Region = None,
    workload: opt.Workload = None,
    pricing_file: opt.PricingFile = None,
    output: opt.output_option(opt.OutputFormat.table, opt.OutputFormat.json) = (
        opt.OutputFormat.table
    ),
) -> None:
    """What changed in prices between two dates, and its effect on the workload's cost."""
    from costcompare.destinations import all_price_keys
    from costcompare.pricediff import diff_cost, diff_prices, first_complete_date
    from costcompare.pricelist.products import check_region
    from costcompare.pricing import load_table, parse_date
    from costcompare.workload import load_profile

    start = parse_date(date_from, "--from")
    end = parse_date(date_to, "--to")
    if start > end:
        raise PricingError(
            f"--from {start.isoformat()} is after --to {end.isoformat()}",
            "swap them: --from is the earlier date",
        )
    table = load_table(pricing_file)
    load = load_profile(opt.find_workload(workload))
    if region:
        load = load.with_overrides(region=check_region(region))
    complete = first_complete_date(table, load.region, all_price_keys())
    if complete is not None and start < complete:
        raise PricingError(
            f"--from {start.isoformat()} is before the table prices every key the model uses in "
            f"{load.region} (from {complete.isoformat()})",
            f"pass --from {complete.isoformat()} or later",
        )
    changes = diff_prices(table.resolve(load.region, start), table.resolve(load.region, end))
    costs = diff_cost(table, load, start, end)
    if output is opt.OutputFormat.json:
        doc = {
            "region": load.region,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "price_changes": [c.as_dict() for c in changes],
            "cost": [c.as_dict() for c in costs],
        }
        typer.echo(jsoncontract.dumps(doc), nl=False)
        return
    typer.echo(f"Prices in {load.region}: {start.isoformat()} → {end.isoformat()}")
    if not changes:
        typer.echo("  no price changed")
    else:
        rows = []
        for c in changes:
            pct = "" if c.first_rate_change_pct is None else f"{c.first_rate_change_pct:+.1f}%"
            rows.append([c.price_key, c.status, c.before or "—", c.after or "—", pct])
        header = ["price key", "status", "before", "after", "change"]
        typer.echo(_table(header, rows, before="wrap", after="wrap", change="figure"), nl=False)
    typer.echo(f"\nCost of the workload ({load.horizon_months}-month horizon), USD:")
    rows = [
        [
            c.destination,
            f"{c.before_monthly_usd:,.2f}",
            f"{c.after_monthly_usd:,.2f}",
            f"{c.monthly_delta_usd:+,.2f}",
            f"{c.total_delta_usd:+,.2f}",
        ]
        for c in costs
    ]
    header = ["destination", "monthly before", "monthly after", "monthly Δ", "horizon Δ"]
    figures = dict.fromkeys(["monthly_before", "monthly_after", "monthly_Δ", "horizon_Δ"], "figure")
    typer.echo(_table(header, rows, **figures), nl=False)
