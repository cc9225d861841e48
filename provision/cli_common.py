"""The plumbing every `costcompare provision` command shares: the shared options (also the
--config YAML keys), the --config/flag merge, the AWS context, one-line read errors and the
progress echo.

Its own module so that each command module (provision/cli.py, provision/rollout_cli.py) uses it
publicly and provision/cli.py can register ``rollout`` without an import cycle.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare import options as opt
from costcompare.tables import fill
from provision.cli_central import CENTRAL_OPTIONS


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
SHARED_OPTIONS: list[tuple[str, Any, Any]] = [
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
SHARED_OPTIONS += CENTRAL_OPTIONS
_CONNECTION = ("config", "region", "profile", "endpoint_url")


@dataclass(frozen=True)
class SharedOptions:
    values: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.values.get(name)


def shared_options(func):
    """Add the shared options to a command; it receives them as ``shared: SharedOptions``."""
    signature = inspect.signature(func, eval_str=True)
    own = [p for name, p in signature.parameters.items() if name != "shared"]
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=ann)
        for name, ann, default in SHARED_OPTIONS
    ]

    @functools.wraps(func)
    def wrapper(**kwargs):
        shared = SharedOptions({name: kwargs.pop(name) for name, _, _ in SHARED_OPTIONS})
        return func(shared=shared, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *extra]}
    return wrapper


def options_and_connection(shared: SharedOptions) -> tuple[dict[str, Any], dict[str, Any]]:
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


def aws_context(connection: dict[str, Any]):
    from provision.aws import AwsContext, resolve_region
    from provision.spec import check_region

    region = check_region(resolve_region(connection["region"], connection["profile"]))
    return AwsContext(
        region, profile=connection["profile"], endpoint_url=connection["endpoint_url"]
    )


def spec_and_context(shared: SharedOptions):
    """Validate every option (no AWS call yet), then make the AWS context."""
    from provision.central import needs_account
    from provision.spec import build_spec

    options, connection = options_and_connection(shared)
    ctx = aws_context(connection)
    # Validate everything first with a stand-in account; ask AWS for the real one only when
    # the default bucket name (or a member's key prefix) needs it.
    account = "000000000000"
    spec = build_spec(options, ctx.region, account=account)
    if needs_account(spec, options):
        account = ctx.account_id()
        spec = build_spec(options, ctx.region, account=account)
    granted = _granted_prefix(spec, ctx, options)
    if granted is not None:
        options = {**options, "key_prefix": granted}  # saved with a plan --out, too
        spec = build_spec(options, ctx.region, account=account)
    return spec, ctx, options


def _granted_prefix(spec, ctx, options: dict[str, Any]) -> str | None:
    """A central archive's prefix as its own grant names it, when --key-prefix is not given and
    it differs from the default (an explicit --key-prefix wins; plan then shows the move)."""
    if spec.central is None or spec.bucket is None or options.get("key_prefix") is not None:
        return None
    from provision.resources.central_bucket import granted_prefix

    found = read_translated("plan", lambda: granted_prefix(ctx, spec.bucket.name))
    if found is None or found == spec.bucket.key_prefix:
        return None
    shown = f"{found}/" if found else "(none: the bucket's root)"
    typer.echo(f"Key prefix {shown} kept from the archive's organization grant.", err=True)
    return found


def read_translated(what: str, read):
    """Run an account read; AWS errors become one line (exit 2), worded as in every command."""
    from costcompare.aws import translated
    from provision.errors import ProvisionError

    with translated(f"reading the account for {what}", error=ProvisionError):
        return read()


def echo_progress(line: str) -> None:
    typer.echo(fill(line, indent="    "), err=True)  # a step per line, wrapped to the terminal
