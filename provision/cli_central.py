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
