"""`costcompare provision`: plan, apply, verify and destroy the AWS side (issue 4).

Thin on purpose: parse options, call the library, print. boto3 is imported inside the
commands only, so `costcompare estimate` (which mounts this app) starts fast. Domain errors are
turned into one line and an exit code by the root app.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare import jsoncontract
from costcompare import options as opt
from costcompare.tables import fill
from provision.cli_central import CENTRAL_OPTIONS, member_hint

app = typer.Typer(
    help="Configure CloudWatch Logs, S3, or both as Session Manager log targets.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Destination(StrEnum):
    cloudwatch = "cloudwatch"
    s3 = "s3"
    both = "both"


Output = opt.output_option(opt.OutputFormat.table, opt.OutputFormat.json)


_METAVARS = {
    "log_group": "NAME", "bucket": "NAME", "role": "NAME", "key_prefix": "PREFIX",
    "run_as_user": "USER", "shell_profile_linux": "COMMANDS", "shell_profile_windows": "COMMANDS",
    "session_kms_key_id": "ARN", "vpc_id": "VPC_ID",
}  # fmt: skip


def _option(name: str, kind: Any, help: str, *decls: str, metavar: str | None = None):
    """One shared option: (parameter name, annotation, default None = "not given")."""
    if metavar is None and kind is not bool:
        metavar = _METAVARS.get(name) or {int: "N", Path: "FILE"}.get(kind, "TEXT")
    return (name, Annotated[kind | None, typer.Option(*decls, help=help, metavar=metavar)], None)


# Options every command takes; the same names (underscored) work as keys in --config YAML.
_SHARED: list[tuple[str, Any, Any]] = [
    _option(
        "destination",
        Destination,
        "Where session logs go: cloudwatch, s3 or both.",
        "--destination",
        "-d",
        metavar="cloudwatch|s3|both",
    ),
    _option("config", Path, "YAML file with any of these options (flags win)."),
    ("region", opt.AwsRegionCheckedByCommand, None),
    ("profile", opt.AwsProfile, None),
    ("endpoint_url", opt.EndpointUrl, None),
    ("preset", opt.Preset, None),
    _option("log_group", str, "CloudWatch log group name [/ssm/session-manager]."),
    _option("retention_days", int, "Log group retention, one of CloudWatch's values [365]."),
    _option(
        "retain_forever",
        bool,
        "Keep logs forever (no retention; verify flags it).",
        "--retain-forever",
    ),
    _option(
        "log_class",
        str,
        "STANDARD or INFREQUENT_ACCESS [STANDARD].",
        metavar="STANDARD|INFREQUENT_ACCESS",
    ),
    _option(
        "kms_key",
        str,
        "Log group key: 'create', an existing key ARN, or 'none' [create].",
        metavar="create|ARN|none",
    ),
    _option(
        "streaming", bool, "Stream to CloudWatch every second [on].", "--streaming/--no-streaming"
    ),
    _option(
        "bucket", str, "S3 bucket name (no dots, lowercase) [ssm-session-logs-ACCOUNT-REGION]."
    ),
    _option("key_prefix", str, "S3 key prefix [session-logs]."),
    _option("bucket_encryption", str, "sse-kms or sse-s3 [sse-kms].", metavar="sse-kms|sse-s3"),
    _option(
        "bucket_kms_key",
        str,
        "Bucket key: 'create' or an existing key ARN [create].",
        metavar="create|ARN",
    ),
    _option(
        "transition",
        list[str],
        "Lifecycle transition DAYS:CLASS, repeatable, e.g. 30:STANDARD_IA.",
        metavar="DAYS:CLASS",
    ),
    _option("expiration_days", int, "Delete transcripts after this many days."),
    _option("object_lock_days", int, "Object Lock compliance retention in days (new buckets)."),
    _option("idle_timeout", int, "Idle session timeout, minutes 1-60."),
    _option("max_duration", int, "Maximum session duration, minutes 1-1440."),
    _option("run_as", bool, "Run Linux sessions as another user.", "--run-as/--no-run-as"),
    _option("run_as_user", str, "Default run-as user (implies --run-as)."),
    _option("shell_profile_linux", str, "Commands run at Linux session start."),
    _option("shell_profile_windows", str, "Commands run at Windows session start."),
    _option(
        "session_kms_key_id",
        str,
        "Session data key (kmsKeyId): 'create', an existing key ARN, or 'none' [create].",
        metavar="create|ARN|none",
    ),
    _option("role", str, "Existing instance role to receive the least-privilege policy."),
    _option(
        "create_role",
        str,
        "Create this instance role and its instance profile (when missing), then as --role.",
        metavar="NAME",
    ),
    _option(
        "athena",
        bool,
        "Also create the Glue table of transcript lines and an Athena workgroup "
        "(costcompare search --athena-table).",
        "--athena/--no-athena",
    ),
    _option(
        "athena_database", str, "Glue database for the table [ssm_session_logs].", metavar="NAME"
    ),
    _option("athena_workgroup", str, "Athena workgroup [costcompare].", metavar="NAME"),
    _option(
        "athena_cutoff_mb",
        int,
        "Workgroup bytes-scanned cutoff per query, MB (at least 10) [1024].",
        metavar="MB",
    ),
    _option("vpc_id", str, "VPC of the instances, for the endpoints."),
    _option(
        "subnet",
        list[str],
        "Instance subnet id, repeatable (or comma-separated).",
        metavar="SUBNET_ID",
    ),
]
_SHARED += CENTRAL_OPTIONS
_CONNECTION = ("config", "region", "profile", "endpoint_url")


@dataclass(frozen=True)
class SharedOptions:
    values: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.values.get(name)


def _shared_options(func):
    """Add the shared options to a command; it receives them as ``shared: SharedOptions``."""
    signature = inspect.signature(func, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "shared"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        for name, ann, default in _SHARED
    ]

    @functools.wraps(func)
    def wrapper(**kwargs):
        shared = SharedOptions({name: kwargs.pop(name) for name, _, _ in _SHARED})
        return func(shared=shared, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
    return wrapper


def _connection(shared: SharedOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """(options, connection): the --config file under the flags; region etc. from either."""
    from provision.config import CONNECTION_NAMES, check_endpoint_url, load_options, merge_options

    cli_values = {k: v for k, v in shared.values.items() if k not in _CONNECTION}
    if isinstance(cli_values.get("destination"), StrEnum):
        cli_values["destination"] = cli_values["destination"].value
    from_file = load_options(shared.get("config"))
    options = merge_options(
        {k: v for k, v in from_file.items() if k not in CONNECTION_NAMES}, cli_values
    )
    connection = {name: shared.get(name) or from_file.get(name) for name in CONNECTION_NAMES}
    connection["endpoint_url"] = check_endpoint_url(connection["endpoint_url"])
    return options, connection


def _context(connection: dict[str, Any]):
    from provision.aws import AwsContext, resolve_region
    from provision.spec import check_region

    region = check_region(resolve_region(connection["region"], connection["profile"]))
    return AwsContext(
        region, profile=connection["profile"], endpoint_url=connection["endpoint_url"]
    )


def _spec_and_context(shared: SharedOptions):
    """Validate every option (no AWS call yet), then make the AWS context."""
    from provision.central import needs_account
    from provision.spec import build_spec

    options, connection = _connection(shared)
    ctx = _context(connection)
    # Validate everything first with a stand-in account; ask AWS for the real one only when
    # the default bucket name (or a member's key prefix) needs it.
    spec = build_spec(options, ctx.region, account="000000000000")
    if needs_account(spec, options):
        spec = build_spec(options, ctx.region, account=ctx.account_id())
    return spec, ctx, options


def _read(what: str, read):
    """Run an account read; AWS errors become one line (exit 2), worded as in every command."""
    from costcompare.aws import translated
    from provision.errors import ProvisionError

    with translated(f"reading the account for {what}", error=ProvisionError):
        return read()


def _echo_progress(line: str) -> None:
    typer.echo(fill(line, indent="    "), err=True)  # a step per line, wrapped to the terminal


PLAN_EXAMPLES = """
Examples:

\b
  costcompare provision plan --destination cloudwatch --region ap-northeast-1
  costcompare provision plan -d both --role ssm-instance -o json
  costcompare provision plan -d s3 --bucket acme-logs --out plan.json
  costcompare provision plan --config provision.yaml --detailed-exitcode

With --detailed-exitcode (a drift check in CI): 0 nothing to do, 2 changes pending, 1 error.
"""


@app.command(epilog=PLAN_EXAMPLES)
@_shared_options
def plan(
    shared: SharedOptions,
    output: Output = opt.OutputFormat.table,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan for 'apply FILE'.", metavar="FILE")
    ] = None,
    detailed_exitcode: Annotated[
        bool,
        typer.Option(
            "--detailed-exitcode", help="Exit 0 when nothing to do, 2 when changes, 1 on error."
        ),
    ] = False,
) -> None:
    """Show what apply would create, change or remove (reads only; writes nothing)."""
    try:
        result = _plan(shared, output, out)
    except typer.Exit:
        raise
    except Exception as exc:
        if not detailed_exitcode:
            raise
        from costcompare.errors import CostCompareError

        if not isinstance(exc, CostCompareError):
            raise
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if detailed_exitcode and not result.empty:
        raise typer.Exit(2)


def _plan(shared: SharedOptions, output: Output, out: Path | None):
    from costcompare.files import check_output_file, write_atomic
    from provision.apply import save_plan
    from provision.observe import observe
    from provision.plan import make_plan

    if out is not None:
        check_output_file(out, "--out")  # before any AWS call
    spec, ctx, options = _spec_and_context(shared)
    result = _read("plan", lambda: make_plan(spec, observe(ctx, spec)))
    if output == opt.OutputFormat.json:
        typer.echo(jsoncontract.dumps(result.to_dict(), default=str), nl=False)
    else:
        _echo_plan(result)
    if out is not None:
        write_atomic(out, save_plan(result, {**options, "region": ctx.region}), "--out")
        typer.echo(f"Saved the plan to {out}; run 'costcompare provision apply {out}'.", err=True)
    return result


def _echo_plan(result, title: str | None = None) -> None:
    import sys

    from provision.plan import render_plan

    typer.echo(render_plan(result, colour=sys.stdout.isatty(), title=title), nl=False)


APPLY_EXAMPLES = """
Examples:

\b
  costcompare provision apply -d cloudwatch --retention-days 731 --yes
  costcompare provision apply -d both --create-role ssm-instance --yes
  costcompare provision apply -d s3 --transition 30:GLACIER_IR --yes
  costcompare provision apply plan.json   # exactly what 'plan --out' saved
  costcompare provision apply --central-bucket --yes   # org's log archive
"""


@app.command(epilog=APPLY_EXAMPLES)
@_shared_options
def apply(
    shared: SharedOptions,
    plan_file: Annotated[
        Path | None,
        typer.Argument(
            help="A plan saved by 'plan --out'; refused if the account changed.",
            metavar="[PLAN_FILE]",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Make the account match the options: plan, confirm, run step by step, re-check."""
    from provision.apply import apply_plan, check_still_current, load_saved
    from provision.errors import SpecError
    from provision.observe import observe
    from provision.plan import make_plan
    from provision.spec import build_spec

    if plan_file is not None:
        given = [k for k, v in shared.values.items() if v and k not in ("profile", "endpoint_url")]
        if given:
            raise SpecError(
                f"--{given[0].replace('_', '-')} cannot change a saved plan",
                "apply the file alone, or plan again with the new options",
            )
        saved_options, saved = load_saved(plan_file)
        ctx = _context({"region": saved.region, "profile": shared.get("profile"),
                        "endpoint_url": _connection(shared)[1]["endpoint_url"]})  # fmt: skip
        options = {k: v for k, v in saved_options.items() if k != "region"}
        spec = build_spec(options, ctx.region, account=ctx.account_id())
        planned = _read("apply", lambda: make_plan(spec, observe(ctx, spec)))
        check_still_current(saved, planned)
        planned, yes = saved, True  # the saved plan was the review
    else:
        spec, ctx, _ = _spec_and_context(shared)
        planned = _read("apply", lambda: make_plan(spec, observe(ctx, spec)))
    _echo_plan(planned)
    if planned.empty:
        return member_hint(ctx, spec)
    if not yes and not typer.confirm(f"Apply {len(planned.pending)} change(s)?", default=False):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
    result = apply_plan(ctx, spec, planned, progress=_echo_progress)
    typer.echo(f"Applied {len(result.steps)} change(s); the account now matches the plan.")
    member_hint(ctx, spec)


VERIFY_EXAMPLES = """
Examples:

\b
  costcompare provision verify --region ap-northeast-1
  costcompare provision verify --role ssm-instance -o json
  costcompare provision verify --vpc-id vpc-0abc1234 --subnet subnet-0aaa1111

Exit code 1 when any finding is an error, 0 otherwise.
"""


@app.command(epilog=VERIFY_EXAMPLES)
@_shared_options
def verify(
    shared: SharedOptions,
    output: Output = opt.OutputFormat.table,
) -> None:
    """Check the account (tool-made or not) for the known logging pitfalls."""
    from provision.verify import ERROR, render_findings, target_from_options
    from provision.verify import verify as run_verify

    options, connection = _connection(shared)
    ctx = _context(connection)
    target = target_from_options(options, ctx.region)
    findings = _read("verify", lambda: run_verify(ctx, target))
    if output == opt.OutputFormat.json:
        typer.echo(jsoncontract.dumps({"findings": [f.to_dict() for f in findings]}), nl=False)
    else:
        typer.echo(render_findings(findings), nl=False)
    if any(f.severity == ERROR for f in findings):
        raise typer.Exit(1)


DESTROY_EXAMPLES = """
Examples:

\b
  costcompare provision destroy --region ap-northeast-1
  costcompare provision destroy --force-delete-logs --yes

Removes what the tool manages — found by the tag costcompare:managed=true, whatever options
made it — and gives the preferences document its previous content back. A bucket or log
group holding logs is kept (and its key) unless --force-delete-logs.
"""


@app.command(epilog=DESTROY_EXAMPLES)
@_shared_options
def destroy(
    shared: SharedOptions,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force_delete_logs: Annotated[
        bool, typer.Option(help="Also delete a tool-made bucket or log group that holds logs.")
    ] = False,
) -> None:
    """Remove what the tool manages (found by tag); restore the previous preferences."""
    from provision.destroy import destroy as run_destroy
    from provision.destroy import plan_destroy

    _, connection = _connection(shared)
    ctx = _context(connection)
    planned = _read("destroy", lambda: plan_destroy(ctx, force_delete_logs))
    typer.echo(planned.render(), nl=False)
    if not planned.steps:
        typer.echo("Nothing to remove.")
        return
    if not yes and not typer.confirm(f"Run {len(planned.steps)} step(s)?", default=False):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
    run_destroy(ctx, planned, progress=_echo_progress)
    typer.echo(f"Removed what the tool manages ({len(planned.steps)} step(s)).")


class ExportFormat(StrEnum):
    cloudformation = "cloudformation"


EXPORT_EXAMPLES = """
Examples:

\b
  costcompare provision export -d cloudwatch --account-id 123456789012
  costcompare provision export -d both --create-role ssm-role --out stack.yaml
  costcompare provision export --config provision.yaml --out stack.yaml
  costcompare provision export -d s3 --vpc-id vpc-0abc1234 \\
      --subnet subnet-0a1b2c3d --out stack.yaml
  costcompare provision export -d cloudwatch --stackset --out member.yaml

The setup 'plan' would build from the same options, as a CloudFormation template (YAML);
with --stackset, the member template 'rollout' deploys.
Reads only the account (STS, unless --account-id) and, with --vpc-id, the subnets.
"""


@app.command("export", epilog=EXPORT_EXAMPLES)
@_shared_options
def export(
    shared: SharedOptions,
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="File format.", metavar="cloudformation")
    ] = ExportFormat.cloudformation,
    out: opt.Out = None,
    account_id: Annotated[
        str | None, typer.Option(help="Account the ARNs name [from STS].", metavar="ID")
    ] = None,
    stackset: opt.StackSet = False,
) -> None:
    """Write the setup plan/apply would build as a CloudFormation template (stdout or --out)."""
    from costcompare.files import check_output_file, write_atomic
    from provision.export import read_network
    from provision.stackset import export_text

    if out is not None:
        check_output_file(out, "--out")  # before any AWS call
    options, connection = _connection(shared)
    ctx = _context(connection)
    read_account = functools.partial(_read, "export", ctx.account_id)
    read_vpc = functools.partial(read_network, ctx)
    text = export_text(
        options, ctx.region, account_id, read_account, stackset=stackset, out=out, read_vpc=read_vpc
    )
    if out is None:
        return typer.echo(text, nl=False)
    write_atomic(out, text, "--out")
    typer.echo(f"Wrote the {format.value} template to {out}.", err=True)
