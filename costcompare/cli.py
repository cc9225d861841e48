"""The `costcompare` command line: parse arguments, call the library, print. Nothing else.

Domain errors (``CostCompareError``) become one line on stderr and their exit code here, in one
place, for every sub-command including the mounted ``provision`` app.
"""

# No ``from __future__ import annotations``: typer evaluates the root callback's annotations on
# every start-up, and as strings it must compile each one (issue 13).
import functools
import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer ≥ 0.26 carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer uses click itself
    from click.exceptions import NoArgsIsHelpError, UsageError

from costcompare import estimate_cli
from costcompare.errors import CostCompareError
from costcompare.options import drop_notices

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
            drop_notices()
            typer.echo(f"error: {one_line(exc)}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except UsageError as exc:  # a bad flag value: one line too, not click's four
            if isinstance(exc, NoArgsIsHelpError):
                raise
            drop_notices()
            command = exc.ctx.command_path if exc.ctx else ctx.command_path
            message = " ".join(exc.format_message().split())
            typer.echo(f"error: {message} — see `{command} --help`", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:  # a botocore error no command translated: still one line
            from costcompare.aws import aws_error, is_aws_exception

            if not is_aws_exception(exc):
                raise
            error = aws_error(exc)
            drop_notices()
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


def _pricing_group():
    from costcompare.pricing_cli import app as pricing_app

    return typer.main.get_command(pricing_app)


def _provision_group():
    from provision.cli import app as provision_app

    return typer.main.get_command(provision_app)


def _single_command(module: str, name: str):
    """A one-command loader: ``module`` holds ``<name>_command`` and ``<NAME>_EXAMPLES``.

    The module is imported only when the command runs (or its help is shown).
    """

    def load():
        source = importlib.import_module(module)
        single = typer.Typer(rich_markup_mode=None)
        epilog = getattr(source, f"{name.upper()}_EXAMPLES")
        single.command(name, epilog=epilog)(getattr(source, f"{name}_command"))
        return typer.main.get_command(single)

    return load


# Help texts repeat each command's own first line (a test checks they agree).
LAZY_COMMANDS: dict[str, LazyCommand] = {
    "init": LazyCommand(
        "Write a workload file: every key, its default, and where that number comes from.",
        _single_command("costcompare.workflow_cli", "init"),
    ),
    "diff": LazyCommand(
        "Compare two estimates: what each destination costs more or less, line by line.",
        _single_command("costcompare.workflow_cli", "diff"),
    ),
    "measure": LazyCommand(
        "Measure real session volumes and write the workload profile that `estimate` reads.",
        _single_command("costcompare.measure.cli", "measure"),
    ),
    "search": LazyCommand(
        "Search session logs for a command or text, and measure what the search cost.",
        _single_command("costcompare.search.cli", "search"),
    ),
    "coverage": LazyCommand(
        "Check that every session CloudTrail saw start was recorded, per account, instance, user.",
        _single_command("costcompare.coverage_cli", "coverage"),
    ),
    "reconcile": LazyCommand(
        "Compare a month of the bill (CUR 2.0, Cost Explorer) with the model on measured volumes.",
        _single_command("costcompare.reconcile_cli", "reconcile"),
    ),
    "presets": LazyCommand(
        "List the compliance presets: the clause each follows, its source and what it sets.",
        _single_command("costcompare.presets_cli", "presets"),
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


# estimate, chart and schema: the commands over an Estimate, loaded with the root (they are the
# ones a first run uses, and import nothing heavy until they run).
app.command(epilog=estimate_cli.ESTIMATE_EXAMPLES)(estimate_cli.estimate)
app.command(epilog=estimate_cli.CHART_EXAMPLES)(estimate_cli.chart)
app.command(epilog=estimate_cli.SCHEMA_EXAMPLES)(estimate_cli.schema)


# The young-generation threshold of the cyclic garbage collector while the CLI runs (Python's
# default is 700): start-up allocates ~10⁵ objects that live as long as the process (modules,
# classes, typer's parameters, numpy's docstrings), and the default made the collector walk
# them ~65 times in `costcompare estimate`, ~10 ms of its start-up (issue 13). Long commands
# still collect, every 50,000 allocations.
GC_YOUNG_THRESHOLD = 50_000


def _tune_for_a_short_process() -> None:
    """Process-wide settings for the command line only (not for notebooks or tests).

    OpenBLAS starts a thread per core when numpy is imported, though no command does linear
    algebra (the engine is element-wise): one thread unless the user chose otherwise.
    """
    import gc
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _leave_without_collecting() -> None:
    """The command has finished and closed what it wrote; interpreter shutdown would still walk
    every object (~10⁵, from the imports) in its garbage collections, ~8 ms of `estimate`
    (issue 13). Frozen objects are left out of those collections; memory goes with the process.
    """
    import gc

    gc.freeze()


def main() -> None:
    """Console-script entry point."""
    _tune_for_a_short_process()
    try:
        sys.exit(app())
    finally:
        _leave_without_collecting()


if __name__ == "__main__":  # pragma: no cover
    main()
