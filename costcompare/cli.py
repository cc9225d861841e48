"""The `costcompare` command line: parse arguments, call the library, print. Nothing else.

Domain errors (``CostCompareError``) become one line on stderr and their exit code here, in one
place, for every sub-command including the mounted ``provision`` app.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer ≥ 0.26 carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import NoArgsIsHelpError, UsageError

from costcompare import options as opt
from costcompare.errors import CostCompareError, WorkloadError

MAX_PROBLEM_CHARS = 300


def one_line(exc: CostCompareError) -> str:
    """The error as the promised single line, whatever it carries: whitespace (an endpoint's HTML
    page, a parser's report) folded to spaces, and a problem over 300 characters cut so the fix
    still shows."""
    problem = " ".join(exc.problem.split())
    if len(problem) > MAX_PROBLEM_CHARS:
        problem = problem[: MAX_PROBLEM_CHARS - 1] + "…"
    fix = " ".join(exc.fix.split()) if exc.fix else ""
    return f"{problem} — {fix}" if fix else problem


class _Group(TyperGroup):
    """The root group: maps domain errors to one line and an exit code for every command below
    it, and builds the sub-commands of ``LAZY_COMMANDS`` only when one of them is run.

    Importing and converting measure, pricing and provision (boto3 helpers, the price-list
    code, dozens of options) costs more than ``estimate`` itself, so ``costcompare estimate``
    and ``costcompare --help`` never load them: help lists them from their declared one-liner.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CostCompareError as exc:
            typer.echo(f"error: {one_line(exc)}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except UsageError as exc:  # a bad flag value: one line too, not click's four
            if isinstance(exc, NoArgsIsHelpError):
                raise
            command = exc.ctx.command_path if exc.ctx else ctx.command_path
            message = " ".join(exc.format_message().split())
            typer.echo(f"error: {message} — see `{command} --help`", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:  # a botocore error no command translated: still one line
            from costcompare.aws import aws_error, is_aws_exception

            if not is_aws_exception(exc):
                raise
            error = aws_error(exc)
            typer.echo(f"error: {one_line(error)}", err=True)
            raise typer.Exit(error.exit_code) from None

    def parse_args(self, ctx, args):
        _convert_only_when_needed(self, ctx)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = LAZY_COMMANDS[cmd_name].load()
            command.name = cmd_name
            self.commands[cmd_name] = command
        if command is not None:
            _convert_only_when_needed(command, ctx)
        return command

    def format_commands(self, ctx, formatter) -> None:
        """The commands section of ``--help``, without loading the lazy commands."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = [(name, self._short_help(name, limit)) for name in names]
        rows = [(name, text) for name, text in rows if text is not None]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def _short_help(self, name: str, limit: int) -> str | None:
        if name not in self.commands:
            return LAZY_COMMANDS[name].short_help(limit)
        command = self.commands[name]
        return None if command.hidden else command.get_short_help_str(limit)


# Plain decimal numbers, which every converter reads the same way (anything else: typer's).
_PLAIN_NUMBER = {
    int: re.compile(r"[+-]?[0-9]+"),
    float: re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"),
}


class _PlainValue:
    """Stands in for typer's converter of one option's value when there is nothing to convert.

    Typer (0.2x) converts every value, unset ones included, through a pydantic TypeAdapter;
    importing pydantic and building an adapter per option is a third of ``estimate``'s start-up.
    Unset options, values already of the option's type, plain decimal numbers for unbounded
    int/float options and exact enum values are read here; any other value goes through typer's
    own converter, so unusual input and error messages are typer's.
    """

    def __init__(self, param) -> None:
        self.param = param

    def coerce(self, value, param, ctx):
        annotation = param.type_descriptor.annotation
        info = param.type_descriptor.parameter_info
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        if annotation in (str, int, float) and type(value) is annotation:
            return value
        number = _PLAIN_NUMBER.get(annotation)
        unbounded = info.min is None and info.max is None and info.parser is None
        if number and unbounded and isinstance(value, str) and number.fullmatch(value):
            return annotation(value)
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            if isinstance(value, annotation):
                return value
            if value in {member.value for member in annotation}:
                return annotation(value)
        return type(param).get_runtime_param(param).coerce(value, param=param, ctx=ctx)


def _convert_only_when_needed(command, ctx) -> None:
    """Install ``_PlainValue`` on a command's typer parameters (help option included); a no-op
    on typer versions that convert without pydantic."""
    for param in command.get_params(ctx):
        if hasattr(param, "get_runtime_param") and hasattr(param, "type_descriptor"):
            param.get_runtime_param = functools.partial(_PlainValue, param)


@dataclass(frozen=True)
class LazyCommand:
    """A sub-command imported on first use: ``load`` returns its click command."""

    help: str
    load: Callable[[], Any]

    def short_help(self, limit: int) -> str:
        """Shortened exactly as the loaded command would shorten its own help."""
        return TyperCommand(name=None, help=self.help).get_short_help_str(limit)


def _measure_command():
    from costcompare.measure.cli import MEASURE_EXAMPLES, measure_command

    single = typer.Typer(rich_markup_mode=None)
    single.command("measure", epilog=MEASURE_EXAMPLES)(measure_command)
    return typer.main.get_command(single)


def _search_command():
    from costcompare.search.cli import SEARCH_EXAMPLES, search_command

    single = typer.Typer(rich_markup_mode=None)
    single.command("search", epilog=SEARCH_EXAMPLES)(search_command)
    return typer.main.get_command(single)


def _coverage_command():
    from costcompare.coverage_cli import COVERAGE_EXAMPLES, coverage_command

    single = typer.Typer(rich_markup_mode=None)
    single.command("coverage", epilog=COVERAGE_EXAMPLES)(coverage_command)
    return typer.main.get_command(single)


def _reconcile_command():
    from costcompare.reconcile_cli import RECONCILE_EXAMPLES, reconcile_command

    single = typer.Typer(rich_markup_mode=None)
    single.command("reconcile", epilog=RECONCILE_EXAMPLES)(reconcile_command)
    return typer.main.get_command(single)


def _pricing_group():
    from costcompare.pricing_cli import app as pricing_app

    return typer.main.get_command(pricing_app)


def _provision_group():
    from provision.cli import app as provision_app

    return typer.main.get_command(provision_app)


def _workflow_command(name: str):
    """``init`` or ``diff`` from costcompare.workflow_cli, built on first use."""

    def load():
        from costcompare import workflow_cli

        single = typer.Typer(rich_markup_mode=None)
        epilog = getattr(workflow_cli, f"{name.upper()}_EXAMPLES")
        single.command(name, epilog=epilog)(getattr(workflow_cli, f"{name}_command"))
        return typer.main.get_command(single)

    return load


# Help texts repeat each command's own first line (a test checks they agree).
LAZY_COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(
        "Write a workload file: every key, its default, and where that number comes from.",
        _workflow_command("init"),
    ),
    "diff": LazyCommand(
        "Compare two estimates: what each destination costs more or less, line by line.",
        _workflow_command("diff"),
    ),
    "measure": LazyCommand(
        "Measure real session volumes and write the workload profile that `estimate` reads.",
        _measure_command,
    ),
    "search": LazyCommand(
        "Search session logs for a command or text, and measure what the search cost.",
        _search_command,
    ),
    "coverage": LazyCommand(
        "Check that every session CloudTrail saw start was recorded, per account, instance, user.",
        _coverage_command,
    ),
    "reconcile": LazyCommand(
        "Compare a month of the bill (CUR 2.0) with the model on that month's measured volumes.",
        _reconcile_command,
    ),
    "pricing": LazyCommand(
        "Prices: show the ones in use, refresh them from the AWS Price List, diff two dates.",
        _pricing_group,
    ),
    "provision": LazyCommand(
        "Configure CloudWatch Logs, S3, or both as Session Manager log targets.",
        _provision_group,
    ),
}


app = typer.Typer(
    cls=_Group,
    help="Cost and searchability of AWS Session Manager log destinations: "
    "CloudWatch Logs, S3, or both — and their provisioning.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


ESTIMATE_EXAMPLES = opt.examples(
    """
    costcompare estimate                          # the bundled Tokyo default
    costcompare estimate -w measured.yaml --explain
    costcompare estimate --region us-east-1 --instances 1000 -o json
    costcompare estimate -d s3,both --months 12 -o markdown --out cost.md
    costcompare estimate --currency JPY --fx-rate 150
    costcompare estimate --logs-endpoint existing \\
    --s3-lifecycle none --athena-scope window
    """
)


def _print_version(value: bool) -> None:
    if value:
        from costcompare import __version__

        typer.echo(f"costcompare {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            "-V",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = None,
) -> None:
    """Cost and searchability of AWS Session Manager log destinations: CloudWatch Logs, S3, or
    both — and their provisioning."""


@app.command(epilog=ESTIMATE_EXAMPLES)
def estimate(
    workload_file: opt.Workload = None,
    region: opt.Region = None,
    destination: opt.Destinations = None,
    months: Annotated[
        int | None, typer.Option(metavar="N", help="Projection horizon in months.")
    ] = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    output: opt.output_option(*opt.OutputFormat) = opt.OutputFormat.table,
    out: opt.Out = None,
    explain: Annotated[
        bool, typer.Option(help="Show every line as quantity × unit price = cost, with source.")
    ] = False,
    wide: opt.Wide = False,
    currency: opt.Currency = "USD",
    fx_rate: opt.FxRate = None,
    weights: opt.Weights = None,
    weight: opt.Weight = None,
    instances: opt.Instances = None,
    sessions_per_instance_per_day: Annotated[
        float | None, typer.Option(metavar="N", help="Sessions per instance per day.")
    ] = None,
    searches_from: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A saved `costcompare search -o json` result: its measured cost and time per "
            "search replace the modelled ones.",
        ),
    ] = None,
    sessions_per_month: Annotated[
        float | None,
        typer.Option(metavar="N", help="Total sessions per month (overrides the two above)."),
    ] = None,
    session_bytes: Annotated[
        float | None, typer.Option(metavar="BYTES", help="Mean transcript bytes per session.")
    ] = None,
    monthly_ingest_gb: Annotated[
        float | None,
        typer.Option(metavar="GB", help="CloudWatch ingestion GB/month (overrides the estimate)."),
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option(metavar="DAYS", help="Days logs are kept.")
    ] = None,
    searches_per_month: Annotated[
        float | None, typer.Option(metavar="N", help="Searches auditors run per month.")
    ] = None,
    search_window_days: Annotated[
        float | None, typer.Option(metavar="DAYS", help="Days of logs each search covers.")
    ] = None,
    growth_pct_per_month: Annotated[
        float | None, typer.Option(metavar="PCT", help="Volume growth, % per month.")
    ] = None,
    compression_ratio: Annotated[
        float | None,
        typer.Option(metavar="RATIO", help="CloudWatch archived ÷ ingested bytes (AWS: 0.15)."),
    ] = None,
    cloudwatch_overhead_ratio: Annotated[
        float | None,
        typer.Option(metavar="RATIO", help="Streamed JSON bytes ÷ transcript bytes."),
    ] = None,
    availability_zones: Annotated[
        int | None,
        typer.Option("--azs", metavar="N", help="Availability Zones with interface endpoints."),
    ] = None,
    kms: Annotated[
        bool | None, typer.Option("--kms/--no-kms", help="Encrypt the logs with a KMS key.")
    ] = None,
    vpc_endpoints: Annotated[
        bool | None,
        typer.Option(
            "--vpc-endpoints/--no-vpc-endpoints", help="Instances reach AWS via VPC endpoints."
        ),
    ] = None,
    streaming: Annotated[
        bool | None,
        typer.Option(
            "--streaming/--no-streaming", help="Stream to CloudWatch (else at session end)."
        ),
    ] = None,
    free_tier: Annotated[
        bool | None,
        typer.Option("--free-tier/--no-free-tier", help="Apply the always-free tier."),
    ] = None,
    logs_endpoint: Annotated[
        str | None,
        typer.Option(
            metavar="new|existing|nat|public",
            help="How data reaches CloudWatch Logs: new (a logs endpoint per AZ), existing "
            "(data processing only), nat (per GB), public.",
        ),
    ] = None,
    s3_endpoint: Annotated[
        str | None,
        typer.Option(
            metavar="gateway|nat|interface",
            help="How uploads reach S3: gateway (free), nat (per GB), interface.",
        ),
    ] = None,
    kms_rotation: Annotated[
        bool | None,
        typer.Option(
            "--kms-rotation/--no-kms-rotation", help="Bill rotated key versions (on by default)."
        ),
    ] = None,
    kms_rotation_days: Annotated[
        int | None, typer.Option(metavar="DAYS", help="KMS rotation period, 90-2560 days.")
    ] = None,
    athena_scope: Annotated[
        str | None,
        typer.Option(
            metavar="prefix|window",
            help="What a search scans: prefix (every object) or window (date-keyed).",
        ),
    ] = None,
    s3_lifecycle: Annotated[
        str | None,
        typer.Option(
            metavar="none|CLASS:DAYS",
            help="S3 lifecycle: none, or CLASS:DAYS,… e.g. GLACIER_IR:90.",
        ),
    ] = None,
    draws: opt.Draws = None,
    seed: opt.Seed = None,
    old_profile: opt.WorkloadAsProfile = None,
    old_destinations: opt.DestinationsOld = None,
) -> None:
    """Compare the monthly and horizon cost of each log destination for a workload.

    The verdict names the assumptions that decide it and the value at which the cheapest
    destination changes; the bands give P10/P50/P90 cost and the chance each is cheapest.
    """
    from costcompare.comparison import estimate as run_estimate
    from costcompare.files import check_output_file, write_atomic
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import render
    from costcompare.searchability import load_weights
    from costcompare.workload import load_profile, parse_lifecycle

    workload_file = opt.deprecated(workload_file, old_profile, "--profile", "--workload")
    destination = opt.deprecated(destination, old_destinations, "--destinations", "--destination")
    if out:
        check_output_file(out, "--out")  # before any work: a bad --out fails fast
    money = opt.money(currency, fx_rate)
    search_weights = load_weights(weights, weight)
    workload = load_profile(opt.find_workload(workload_file)).with_overrides(
        logs_endpoint=logs_endpoint,
        s3_endpoint=s3_endpoint,
        kms_rotation=kms_rotation,
        kms_rotation_days=kms_rotation_days,
        athena_scan_scope=athena_scope,
        s3_lifecycle=None if s3_lifecycle is None else parse_lifecycle(s3_lifecycle),
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
        destinations=opt.split_names(destination),
        pricing_date=parse_date(pricing_date, "--pricing-date"),
        table=load_table(pricing_file),
        weights=search_weights,
    )
    if searches_from:
        _apply_searches(result, searches_from)
    _verdict_and_bands(result, draws, seed)
    text = render(result, output.value, money=money, explain=explain, wide=wide)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


CHART_EXAMPLES = opt.examples(
    """
    costcompare chart --out-dir charts/           # the bundled Tokyo default
    costcompare chart --report review.html        # one page, charts inline
    costcompare chart -w measured.yaml --out-dir review/ --report review/r.md
    costcompare chart --out-dir charts/ --format svg --weight alerting=4
    """
)


class ChartFormat(StrEnum):
    png = "png"
    svg = "svg"


@app.command(epilog=CHART_EXAMPLES)
def chart(
    out_dir: opt.OutDir = None,
    workload_file: opt.Workload = None,
    region: opt.Region = None,
    fmt: Annotated[
        ChartFormat, typer.Option("--format", metavar="png|svg", help="Image format.")
    ] = ChartFormat.png,
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also write a one-page report: .html (self-contained) or .md (links the charts).",
        ),
    ] = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    weights: opt.Weights = None,
    weight: opt.Weight = None,
    currency: opt.Currency = "USD",
    fx_rate: opt.FxRate = None,
    old_profile: opt.WorkloadAsProfile = None,
    old_out: Annotated[
        Path | None, typer.Option("--out", hidden=True, help="Old name of --out-dir.")
    ] = None,
    draws: opt.Draws = None,
    seed: opt.Seed = None,
) -> None:
    """Draw cost vs searchability, cost breakdown, cost over time, the break-even map and the
    cost bands."""
    import matplotlib

    matplotlib.use("Agg")
    from costcompare.charts import chart_drawers, write_charts
    from costcompare.comparison import estimate as run_estimate
    from costcompare.files import check_output_file, check_output_folder, write_atomic
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import design_review_markdown
    from costcompare.searchability import load_weights
    from costcompare.workload import load_profile

    workload_file = opt.deprecated(workload_file, old_profile, "--profile", "--workload")
    out = opt.deprecated(out_dir, old_out, "--out", "--out-dir")
    html_report = report is not None and report.suffix.lower() in (".html", ".htm")
    if out is None and not html_report:
        raise WorkloadError(
            "no folder for the charts", "pass --out-dir DIR (or --report FILE.html)"
        )
    if out is not None:
        check_output_folder(out, "--out-dir")  # every output target first: no work, nothing lost
    if report:
        check_output_file(report, "--report")
    money = opt.money(currency, fx_rate)
    search_weights = load_weights(weights, weight)
    workload = load_profile(opt.find_workload(workload_file)).with_overrides(region=region)
    result = run_estimate(
        workload,
        pricing_date=parse_date(pricing_date, "--pricing-date"),
        table=load_table(pricing_file),
        weights=search_weights,
    )
    _verdict_and_bands(result, draws, seed)
    drawers = chart_drawers(result, money)
    paths = write_charts(result, out, fmt=fmt.value, money=money, drawers=drawers) if out else {}
    for path in paths.values():
        typer.echo(f"wrote {path}")
    if html_report:
        from costcompare.html_report import design_review_html, svg_texts

        write_atomic(report, design_review_html(result, svg_texts(drawers), money), "--report")
        typer.echo(f"wrote {report}")
    elif report:
        write_atomic(report, design_review_markdown(result, paths, report, money), "--report")
        typer.echo(f"wrote {report}")


def _apply_searches(result, path: Path) -> None:
    """Measured searches (``--searches-from``) replace the modelled figures per search."""
    from costcompare.search.result import load_measured
    from costcompare.searchability import apply_measured

    measured = load_measured(path)
    changed = apply_measured(result.searchability, measured, result.workload.searches_per_month)
    if changed:
        result.notes.append(
            f"Cost and time per search of {', '.join(changed)} are measured ({path}); the "
            "cost lines still model searches over the workload's volumes."
        )


def _verdict_and_bands(result, draws: int | None, seed: int | None) -> None:
    """Attach the verdict's conditions and (unless ``draws`` is 0) the uncertainty bands."""
    from costcompare import bands, verdict

    draws = bands.DEFAULT_DRAWS if draws is None else draws
    seed = bands.DEFAULT_SEED if seed is None else seed
    if draws < 0:
        raise WorkloadError(f"--draws is {draws}", "use 0 (no bands) or more, e.g. --draws 10000")
    verdict.attach(result)
    if draws:
        bands.attach(result, draws=draws, seed=seed)


SCHEMA_EXAMPLES = opt.examples(
    """
    costcompare schema > estimate.schema.json
    costcompare estimate -o json --out estimate.json      # valid against it
    """
)


@app.command(epilog=SCHEMA_EXAMPLES)
def schema() -> None:
    """Print the JSON Schema of `estimate -o json` (the scripting contract)."""
    import json

    from costcompare.report import estimate_schema

    typer.echo(json.dumps(estimate_schema(), indent=2))


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    main()
