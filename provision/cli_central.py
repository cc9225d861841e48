"""The options of an organization's central log-archive bucket, shared by plan, apply,
verify, destroy and export (``provision.cli`` adds them to its shared options; the same names,
underscored, work as --config YAML keys). Validated in ``provision.central``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

CENTRAL_OPTIONS: list[tuple[str, Any, Any]] = [
    (
        "central_bucket",
        Annotated[
            bool | None,
            typer.Option(
                "--central-bucket",
                help="Log-archive account: the organization's central bucket, its key and a "
                "policy letting every account of the organization upload (aws:PrincipalOrgID).",
            ),
        ],
        None,
    ),
    (
        "org_id",
        Annotated[
            str | None,
            typer.Option(
                help="Organization allowed by --central-bucket [read with DescribeOrganization].",
                metavar="o-ID",
            ),
        ],
        None,
    ),
    (
        "bucket_account",
        Annotated[
            str | None,
            typer.Option(
                help="Member account: --bucket is this account's central bucket; use it, never "
                "create it (with --bucket-kms-key ARN of its key).",
                metavar="ID",
            ),
        ],
        None,
    ),
    (
        "bucket_region",
        Annotated[
            str | None,
            typer.Option(
                help="Home region of the --bucket-account bucket [the key's region].",
                metavar="REGION",
            ),
        ],
        None,
    ),
]


def member_hint(ctx: Any, spec: Any) -> None:
    """After ``apply --central-bucket``: the command each member account runs, with the key's
    ARN (known only once apply created it) — so nobody has to look it up."""
    if spec.central is None or spec.bucket is None:
        return
    from provision.resources.base import try_read

    key = spec.bucket.key
    arn = key.existing_arn if key and key.existing_arn else None
    if key is not None and arn is None:
        described = try_read(lambda: ctx.client("kms").describe_key(KeyId=key.alias))
        arn = described["KeyMetadata"]["Arn"] if described else "ARN"
    options = f"-d s3 --bucket {spec.bucket.name} --bucket-account {ctx.account_id()}"
    options += f" --bucket-kms-key {arn}" if key is not None else " --bucket-encryption sse-s3"
    from provision.spec import DEFAULT_KEY_PREFIX

    prefix = spec.bucket.key_prefix
    if prefix != DEFAULT_KEY_PREFIX:  # members default to session-logs/<account>: say ours
        options += f" --key-prefix {prefix + '/' if prefix else ''}MEMBER_ACCOUNT_ID"
    from costcompare.tables import terminal_width
    from provision.stackset import fold_command

    command = f"costcompare provision apply {options} --role ROLE --region {ctx.region}"
    lines = fold_command(command, terminal_width() - 2)  # backslashes: it still pastes whole
    typer.echo("Each member account of the organization logs here with:")
    typer.echo("\n".join(f"  {line}" for line in lines))
