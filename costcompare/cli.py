"""The `costcompare` command line: parse arguments, call the library, print. Nothing else.

Domain errors (``CostCompareError``) become one line on stderr and their exit code here, in one
place, for every sub-command including the mounted ``provision`` app.
"""

from __future__ import annotations

import math
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from costcompare.errors import CostCompareError, WorkloadError


class _Group(TyperGroup):
    """Maps domain errors to one line and an exit code, for every command below the root."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CostCompareError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_Group,
    help="Cost and searchability of AWS Session Manager log destinations: "
    "CloudWatch Logs, S3, or both — and their provisioning.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _mount_subapps() -> None:
    """Sub-apps whose modules keep heavy imports (boto3, matplotlib) inside their commands."""
    from costcompare.measure.cli import MEASURE_EXAMPLES, measure_command

    app.command("measure", epilog=MEASURE_EXAMPLES)(measure_command)
    from costcompare.pricing_cli import app as pricing_app

    app.add_typer(pricing_app, name="pricing")
    try:
        from provision.cli import app as provision_app
    except ImportError:  # pragma: no cover - provision is part of the distribution
        return
    app.add_typer(provision_app, name="provision")


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def _destinations(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


ESTIMATE_EXAMPLES = """
Examples:

  costcompare estimate                                  # the bundled Tokyo default

  costcompare estimate --profile measured.yaml --explain

  costcompare estimate --region us-east-1 --instances 1000 --output json

  costcompare estimate --destinations s3,both --months 12 --output markdown --out cost.md

  costcompare estimate --currency JPY --fx-rate 150
"""


@app.command(epilog=ESTIMATE_EXAMPLES)
def estimate(
    profile: Annotated[
        Path | None, typer.Option(help="Workload profile YAML (default: the bundled Tokyo one).")
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="AWS region code, e.g. ap-northeast-1.")
    ] = None,
    destinations: Annotated[
        list[str] | None,
        typer.Option(
            "--destinations",
            "-d",
            help="Comma-separated subset of cloudwatch, cloudwatch-ia, s3, both.",
        ),
    ] = None,
    months: Annotated[int | None, typer.Option(help="Projection horizon in months.")] = None,
    pricing_date: Annotated[
        str | None, typer.Option(help="Use the prices in force on this date (YYYY-MM-DD).")
    ] = None,
    pricing_file: Annotated[
        Path | None,
        typer.Option(
            help="A pricing table CSV instead of the bundled one (e.g. the one `pricing "
            "refresh` wrote).",
            envvar="COSTCOMPARE_PRICING_FILE",
        ),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o")] = OutputFormat.table,
    out: Annotated[
        Path | None, typer.Option(help="Write the output to this file (atomically).")
    ] = None,
    explain: Annotated[
        bool, typer.Option(help="Show every line as quantity × unit price = cost, with source.")
    ] = False,
    currency: Annotated[str, typer.Option(help="Display currency (USD, or e.g. JPY).")] = "USD",
    fx_rate: Annotated[
        float | None, typer.Option(help="Units of --currency per USD (needed unless USD).")
    ] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Searchability weights YAML (dimension: weight).")
    ] = None,
    weight: Annotated[
        list[str] | None,
        typer.Option(help="One searchability weight, NAME=VALUE (repeatable), e.g. alerting=3."),
    ] = None,
    instances: Annotated[int | None, typer.Option(help="EC2 instances in the fleet.")] = None,
    sessions_per_instance_per_day: Annotated[float | None, typer.Option()] = None,
    sessions_per_month: Annotated[
        float | None, typer.Option(help="Total sessions per month (overrides the two above).")
    ] = None,
    session_bytes: Annotated[
        float | None, typer.Option(help="Mean transcript bytes per session.")
    ] = None,
    monthly_ingest_gb: Annotated[
        float | None, typer.Option(help="CloudWatch ingestion GB/month (overrides the estimate).")
    ] = None,
    retention_days: Annotated[int | None, typer.Option(help="Days logs are kept.")] = None,
    searches_per_month: Annotated[float | None, typer.Option()] = None,
    search_window_days: Annotated[float | None, typer.Option()] = None,
    growth_pct_per_month: Annotated[float | None, typer.Option()] = None,
    compression_ratio: Annotated[float | None, typer.Option()] = None,
    cloudwatch_overhead_ratio: Annotated[float | None, typer.Option()] = None,
    availability_zones: Annotated[int | None, typer.Option("--azs")] = None,
    kms: Annotated[bool | None, typer.Option("--kms/--no-kms")] = None,
    vpc_endpoints: Annotated[
        bool | None, typer.Option("--vpc-endpoints/--no-vpc-endpoints")
    ] = None,
    streaming: Annotated[bool | None, typer.Option("--streaming/--no-streaming")] = None,
    free_tier: Annotated[bool | None, typer.Option("--free-tier/--no-free-tier")] = None,
) -> None:
    """Compare the monthly and horizon cost of each log destination for a workload."""
    from costcompare.model import estimate as run_estimate
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import render, write_atomic
    from costcompare.searchability import load_weights
    from costcompare.workload import load_profile

    money = _money(currency, fx_rate)
    search_weights = load_weights(weights, weight)
    workload = load_profile(profile).with_overrides(
        region=region,
        horizon_months=months,
        instances=instances,
        sessions_per_instance_per_day=sessions_per_instance_per_day,
        sessions_per_month=sessions_per_month,
        session_bytes=session_bytes,
        monthly_ingest_gb=monthly_ingest_gb,
        retention_days=retention_days,
        searches_per_month=searches_per_month,
        search_window_days=search_window_days,
        growth_pct_per_month=growth_pct_per_month,
        compression_ratio=compression_ratio,
        cloudwatch_overhead_ratio=cloudwatch_overhead_ratio,
        availability_zones=availability_zones,
        kms=kms,
        vpc_endpoints=vpc_endpoints,
        streaming=streaming,
        free_tier=free_tier,
    )
    result = run_estimate(
        workload,
        destinations=_destinations(destinations),
        pricing_date=parse_date(pricing_date, "--pricing-date"),
        table=load_table(pricing_file),
        weights=search_weights,
    )
    text = render(result, output.value, money=money, explain=explain)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


CHART_EXAMPLES = """
Examples:

  costcompare chart --out charts/                        # the bundled Tokyo default

  costcompare chart --profile measured.yaml --out review/ --report review/report.md

  costcompare chart --out charts/ --format svg --weight alerting=4 --weight search_cost=1
"""


class ChartFormat(StrEnum):
    png = "png"
    svg = "svg"


@app.command(epilog=CHART_EXAMPLES)
def chart(
    out: Annotated[Path, typer.Option(help="Folder to write the charts into.")],
    profile: Annotated[
        Path | None, typer.Option(help="Workload profile YAML (default: the bundled Tokyo one).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region code.")] = None,
    fmt: Annotated[ChartFormat, typer.Option("--format")] = ChartFormat.png,
    report: Annotated[
        Path | None, typer.Option(help="Also write a one-page Markdown report embedding them.")
    ] = None,
    pricing_date: Annotated[str | None, typer.Option(help="Prices in force on YYYY-MM-DD.")] = None,
    pricing_file: Annotated[
        Path | None,
        typer.Option(help="Another pricing table CSV.", envvar="COSTCOMPARE_PRICING_FILE"),
    ] = None,
    weights: Annotated[
        Path | None, typer.Option(help="Searchability weights YAML (dimension: weight).")
    ] = None,
    weight: Annotated[
        list[str] | None, typer.Option(help="One searchability weight, NAME=VALUE (repeatable).")
    ] = None,
    currency: Annotated[str, typer.Option(help="Display currency.")] = "USD",
    fx_rate: Annotated[float | None, typer.Option(help="Units of --currency per USD.")] = None,
) -> None:
    """Draw cost vs searchability, cost breakdown, cost over time and the break-even map."""
    import matplotlib

    matplotlib.use("Agg")
    from costcompare.charts import write_charts
    from costcompare.model import estimate as run_estimate
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import design_review_markdown, write_atomic
    from costcompare.searchability import load_weights
    from costcompare.workload import load_profile

    if out.exists() and not out.is_dir():
        raise WorkloadError(f"--out {out} is a file", "give a folder for the charts")
    money = _money(currency, fx_rate)
    search_weights = load_weights(weights, weight)
    workload = load_profile(profile).with_overrides(region=region)
    result = run_estimate(
        workload,
        pricing_date=parse_date(pricing_date, "--pricing-date"),
        table=load_table(pricing_file),
        weights=search_weights,
    )
    paths = write_charts(result, out, fmt=fmt.value, money=money)
    for path in paths.values():
        typer.echo(f"wrote {path}")
    if report:
        write_atomic(report, design_review_markdown(result, paths, report, money))
        typer.echo(f"wrote {report}")


def _money(currency: str, fx_rate: float | None):
    from costcompare.report import Money

    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise WorkloadError(
            f"--currency {currency!r} is not a currency code", "use e.g. USD or JPY"
        )
    if code == "USD":
        return Money()
    if fx_rate is None or not math.isfinite(fx_rate) or fx_rate <= 0:
        raise WorkloadError(
            f"--currency {code} needs a positive --fx-rate",
            f"pass --fx-rate with {code} per USD, e.g. --fx-rate 150",
        )
    return Money(code, fx_rate)


_mount_subapps()


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
