"""Command-line options shared by several commands: one declaration each, so a name means one thing.

Every command takes its repeated options from here (``Annotated`` aliases for typer), and
``SHARED_NAMES`` is the table a test checks every command's options against: ``--profile`` is the
AWS named profile everywhere (as in the AWS CLI), the workload file is ``--workload/-w``
everywhere, ``--out`` is always a file and ``--out-dir`` a folder. Old spellings stay for one
release as hidden aliases that warn (``deprecated``).
"""

# No ``from __future__ import annotations``: typer evaluates the annotations of the callbacks
# declared here on every start-up, and as strings it must compile each one (issue 13).
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare.errors import WorkloadError

WORKLOAD_ENV = "COSTCOMPARE_WORKLOAD"
PRICING_FILE_ENV = "COSTCOMPARE_PRICING_FILE"
DISCOVERED_WORKLOAD = "costcompare.yaml"

# The one table of names: an option spelt like this means this, in every command that has it.
# Names with an alias below must use it; the others may word their help for the command (a
# different default), never change the meaning.
SHARED_NAMES: dict[str, str] = {
    "--workload": "workload profile YAML (-w; COSTCOMPARE_WORKLOAD; ./costcompare.yaml)",
    "--profile": "AWS named profile (default: AWS_PROFILE)",
    "--region": "AWS region code",
    "--endpoint-url": "AWS-compatible endpoint URL",
    "--destination": "log destination(s) (-d)",
    "--pricing-file": "pricing table CSV (COSTCOMPARE_PRICING_FILE)",
    "--pricing-date": "prices in force on YYYY-MM-DD",
    "--currency": "display currency",
    "--fx-rate": "units of --currency per USD",
    "--weights": "searchability weights YAML",
    "--weight": "one searchability weight NAME=VALUE",
    "--output": "output format (-o)",
    "--out": "output file, written atomically",
    "--format": "file format of what --out writes (chart: png|svg; provision export: template)",
    "--out-dir": "output folder",
    "--instances": "EC2 instances in the fleet",
    "--retention-days": "days logs are kept (CloudWatch retention value)",
    "--streaming": "stream session output to CloudWatch Logs (--no-streaming: at session end)",
    "--no-streaming": "the negation of --streaming",
    "--log-group": "CloudWatch Logs log group name",
    "--path": "local folder of transcripts and CloudWatch exports",
    "--s3": "S3 prefix of transcripts, s3://bucket/prefix",
    "--seed": "random seed: the same seed gives the same result",
    "--draws": "Monte Carlo draws of the cost bands",
    "--file-times": "date local transcripts by file time",
    "--since": "sessions from this time",
    "--until": "sessions before this time",
    "--user": "only sessions of this user",
    "--instance": "only sessions on this instance",
    "--wide": "every column, whatever the terminal width",
    "--preset": "compliance preset: retention, lifecycle, Object Lock (`costcompare presets`)",
    "--help": "help (-h)",
    "--engine": "where the SQL runs: duckdb on local files, athena on --table in the account",
    "--workgroup": "Athena workgroup (--engine athena)",
    "--table": "the table the SQL reads (DB.TABLE on Athena)",
    "--query-output": "Athena results location (S3 URI)",
    "--regions": "AWS region codes, comma-separated or repeated",
}

# Old spellings kept for one release; each warns and names its replacement.
DEPRECATED_NAMES: dict[str, str] = {
    "--destinations": "--destination",
    "--date": "--pricing-date",
    "--base-profile": "--workload",
    "--write-profile": "--write-workload",
}


class SqlEngine(StrEnum):
    """Where a query text runs: DuckDB on local files, or Athena on a table in the account."""

    duckdb = "duckdb"
    athena = "athena"


class OutputFormat(StrEnum):
    """Every output format of every command; each command accepts the subset it can render."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


def output_option(*formats: OutputFormat) -> Any:
    """``-o/--output`` restricted to ``formats`` (the first is the default shown in help)."""
    allowed = formats or tuple(OutputFormat)
    names = "|".join(f.value for f in allowed)

    def check(value: OutputFormat | None) -> OutputFormat | None:
        if value is not None and value not in allowed:
            raise WorkloadError(
                f"--output {value.value} is not available here", f"use one of {names}"
            )
        return value

    return Annotated[
        OutputFormat,
        typer.Option(
            "--output", "-o", metavar=names, callback=check, help=f"Output format: {names}."
        ),
    ]


def warn(message: str) -> None:
    """A warning line on stderr (never on stdout, which may be piped into a JSON parser)."""
    typer.echo(f"warning: {message}", err=True)


def deprecated(new_value: Any, old_value: Any, old: str, new: str) -> Any:
    """The value of ``new``, or of its old spelling ``old`` (with a warning); never both."""
    if old_value is None or old_value == [] or old_value is False:
        return new_value
    given_new = not (new_value is None or new_value == [] or new_value is False)
    if given_new:
        raise WorkloadError(
            f"{old} and {new} given together", f"{old} is {new}'s old name: drop it"
        )
    _notice(f"{old} is deprecated and goes in the next release; use {new}")
    return old_value


_NOTICES = "costcompare.deprecation_notices"


def _current_context() -> Any:
    try:  # typer ≥ 0.26 keeps its context stack in its own copy of click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click.globals import get_current_context
    return get_current_context(silent=True)


def _notice(message: str) -> None:
    """A deprecation warning, printed when the command ends, not now: if the old spelling's
    value turns out bad, the error line alone is the promised one line (``drop_notices``)."""
    ctx = _current_context()
    if ctx is None:  # called outside a command (a notebook, a test of the function): now
        warn(message)
        return
    root = ctx.find_root()
    pending = root.meta.get(_NOTICES)
    if pending is None:
        pending = root.meta[_NOTICES] = []
        root.call_on_close(lambda: [warn(line) for line in pending])
    pending.append(message)


def drop_notices() -> None:
    """Forget pending deprecation warnings: the command failed, its error is the one line."""
    ctx = _current_context()
    if ctx is not None:
        ctx.find_root().meta.get(_NOTICES, []).clear()


def _pricing_file_exists(ctx: typer.Context, value: Path | None) -> Path | None:
    """Fail early, naming where the path came from (the flag or COSTCOMPARE_PRICING_FILE)."""
    if value is None or value.is_file():
        return value
    problem = "does not exist" if not value.exists() else "is not a file"
    source = ctx.get_parameter_source("pricing_file")
    if getattr(source, "name", None) == "ENVIRONMENT":
        raise WorkloadError(
            f"{PRICING_FILE_ENV}={value} {problem}",
            f"fix or unset {PRICING_FILE_ENV} (export {PRICING_FILE_ENV}=PATH)",
        )
    raise WorkloadError(f"--pricing-file {value} {problem}", "check the path")


def find_workload(path: Path | None, *, announce: bool = True) -> Path | None:
    """The workload file to read: ``path`` (flag or COSTCOMPARE_WORKLOAD), else a
    ``./costcompare.yaml`` in the working folder (as `costcompare init` writes), else None (the
    bundled default)."""
    if path is not None:
        return path
    local = Path(DISCOVERED_WORKLOAD)
    if local.is_file():
        if announce:
            typer.echo(f"using workload {local} (found in the working folder)", err=True)
        return local
    return None


Workload = Annotated[
    Path | None,
    typer.Option(
        "--workload",
        "-w",
        metavar="FILE",
        envvar=WORKLOAD_ENV,
        help="Workload profile YAML (default: ./costcompare.yaml if present, else the bundled "
        "Tokyo one; write one with `costcompare init`).",
    ),
]
WorkloadAsProfile = Annotated[
    Path | None,
    typer.Option(
        "--profile",
        metavar="FILE",
        hidden=True,
        help="Old name of --workload (the workload file); --profile will be the AWS profile.",
    ),
]
Region = Annotated[
    str | None,
    typer.Option(metavar="REGION", help="AWS region code to price, e.g. ap-northeast-1."),
]


def _aws_region(value: str | None) -> str | None:
    """An unknown --region is refused while parsing, before any work or AWS call."""
    if value is None:  # not given: AwsContext checks the environment's region when it is used
        return None
    from costcompare.aws import aws_region

    return aws_region(value)


AWS_REGION_HELP = "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's)."
AwsRegion = Annotated[
    str | None, typer.Option(metavar="REGION", callback=_aws_region, help=AWS_REGION_HELP)
]
# provision checks --region with the rest of its desired state (flag or --config alike) inside
# the command, where `plan --detailed-exitcode` turns every error into exit 1 (2 = changes).
AwsRegionCheckedByCommand = Annotated[
    str | None, typer.Option(metavar="REGION", help=AWS_REGION_HELP)
]
AwsProfile = Annotated[
    str | None,
    typer.Option(metavar="NAME", help="AWS named profile (default: AWS_PROFILE)."),
]
EndpointUrl = Annotated[
    str | None,
    typer.Option(metavar="URL", help="Any AWS-compatible endpoint, e.g. a local moto server."),
]
PricingFile = Annotated[
    Path | None,
    typer.Option(
        metavar="CSV",
        envvar=PRICING_FILE_ENV,
        callback=_pricing_file_exists,
        help="Pricing table CSV instead of the bundled one (e.g. the one `costcompare pricing "
        "refresh` wrote).",
    ),
]
PricingFileTarget = Annotated[
    Path | None,
    typer.Option(
        metavar="CSV",
        envvar=PRICING_FILE_ENV,
        help="Pricing table CSV to append to (made from the bundled one if absent). Default: "
        "$XDG_DATA_HOME/costcompare/prices.csv (~/.local/share/costcompare/prices.csv).",
    ),
]
PricingDate = Annotated[
    str | None,
    typer.Option(
        metavar="YYYY-MM-DD", help="Use the prices in force on this date (default: today)."
    ),
]
Currency = Annotated[
    str, typer.Option(metavar="CODE", help="Display currency: USD, or e.g. JPY with --fx-rate.")
]
FxRate = Annotated[
    float | None,
    typer.Option(metavar="RATE", help="Units of --currency per USD (needed unless USD)."),
]
Weights = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="Searchability weights YAML (dimension: weight)."),
]
Weight = Annotated[
    list[str] | None,
    typer.Option(
        metavar="NAME=VALUE", help="One searchability weight (repeatable), e.g. alerting=4."
    ),
]
# Athena, for the commands that send one query text to DuckDB or Athena (measure, reconcile).
AthenaWorkgroup = Annotated[
    str, typer.Option("--workgroup", metavar="NAME", help="Athena workgroup (--engine athena).")
]
AthenaQueryOutput = Annotated[
    str | None,
    typer.Option(
        "--query-output",
        metavar="S3URI",
        help="Athena results location, if the workgroup does not set one.",
    ),
]
Out = Annotated[
    Path | None,
    typer.Option(metavar="FILE", help="Write the output to this file (atomically)."),
]
OutDir = Annotated[
    Path | None,
    typer.Option(metavar="DIR", help="Folder to write into (created if missing)."),
]
StackSet = Annotated[
    bool,
    typer.Option(
        "--stackset",
        help="A member-account template for a service-managed StackSet: no account or region "
        "names, deploy commands in its header (see 'provision rollout').",
    ),
]
Wide = Annotated[
    bool,
    typer.Option(help="Show every column, however wide (default: fit the terminal)."),
]
Preset = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="Compliance preset (pci-dss-10.5.1, worm, iso27001, fisc): sets retention, S3 "
        "lifecycle and Object Lock; explicit flags may exceed it, never undercut it. "
        "`costcompare presets` lists them with their clauses.",
    ),
]
Instances = Annotated[
    int | None,
    typer.Option(metavar="N", help="EC2 instances in the fleet (the ones the sessions came from)."),
]
Progress = Annotated[
    bool | None,
    typer.Option(
        "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
    ),
]
Draws = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="Monte Carlo draws for the P10/P50/P90 cost bands (default 2000; 0: none).",
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        metavar="N", help="Random seed of the bands (default 2026; same seed: same bands)."
    ),
]
FileTimes = Annotated[
    bool,
    typer.Option(
        "--file-times",
        help="Local: date transcripts by file time (right only for `aws s3 sync` copies).",
    ),
]
# Where session logs are read from (measure, search, coverage): repeatable, any mix of them.
Paths = Annotated[
    list[Path] | None,
    typer.Option(
        "--path",
        metavar="DIR",
        help="Folder (recursive) of transcripts (.log, .gz) and CloudWatch exports; repeatable.",
    ),
]
S3Prefixes = Annotated[
    list[str] | None,
    typer.Option(
        "--s3", metavar="S3URI", help="S3 prefix of transcripts: s3://bucket/prefix; repeatable."
    ),
]
LogGroups = Annotated[
    list[str] | None,
    typer.Option(
        "--log-group", metavar="NAME", help="CloudWatch Logs log group of the sessions; repeatable."
    ),
]
Since = Annotated[
    str | None,
    typer.Option(
        metavar="TIME", help="Sessions from this time: YYYY-MM-DD[THH:MM:SSZ], or 12h, 7d ago."
    ),
]
Until = Annotated[
    str | None, typer.Option(metavar="TIME", help="Sessions before this time (same forms).")
]
User = Annotated[str | None, typer.Option(metavar="NAME", help="Only sessions of this user.")]
Instance = Annotated[str | None, typer.Option(metavar="ID", help="Only sessions on this instance.")]
DESTINATION_NAMES = "cloudwatch, cloudwatch-ia, s3, both"
Destinations = Annotated[
    list[str] | None,
    typer.Option(
        "--destination",
        "-d",
        metavar="NAME[,NAME]",
        help=f"Only these destinations, comma-separated or repeated: {DESTINATION_NAMES}.",
    ),
]
DestinationsOld = Annotated[
    list[str] | None,
    typer.Option("--destinations", hidden=True, help="Old name of --destination."),
]


def split_names(values: list[str] | None) -> list[str] | None:
    """``["s3,both", "cloudwatch"]`` → ``["s3", "both", "cloudwatch"]``; None when none given."""
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _keep_hyphenated_words_whole() -> None:
    """Help text wraps at spaces only: `ap-northeast-1` or `--fx-rate` must never be split over
    two lines (click's wrapper, and typer's vendored copy of it, break on hyphens, which makes
    examples unpastable)."""
    import importlib

    # The wrapper typer formats help with: its own copy of click (typer ≥ 0.26), else click.
    # Only one: importing click beside typer's copy would cost start-up for nothing (issue 13).
    for name in ("typer._click._textwrap", "click._textwrap"):
        try:
            module = importlib.import_module(name)
        except ImportError:  # another click/typer layout: wrapping stays theirs
            continue
        base = module.TextWrapper
        if getattr(base, "keeps_hyphenated_words", False):
            break

        class _Wrapper(base):  # type: ignore[misc, valid-type]
            keeps_hyphenated_words = True

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                kwargs["break_on_hyphens"] = False
                kwargs["break_long_words"] = False
                super().__init__(*args, **kwargs)

        module.TextWrapper = _Wrapper
        break


_keep_hyphenated_words_whole()


def examples(commands: str, note: str = "") -> str:
    """A help epilog whose example lines are printed as written (click's ``\\b`` marker), so they
    paste into a shell; blank lines between examples are dropped. ``note`` lines are printed as
    written too (a URL must not be cut)."""
    lines = [line.strip() for line in commands.strip().splitlines() if line.strip()]
    text = "Examples:\n\n\b\n" + "\n".join(
        ("    " if line.startswith("--") else "") + line for line in lines
    )
    return f"{text}\n\n\b\n{note.strip()}" if note else text


def money(currency: str, fx_rate: float | None) -> Any:
    """The Money of --currency and --fx-rate (USD needs no rate), or a one-line error."""
    from costcompare.money import Money

    return Money.parse(currency, fx_rate)
