"""`costcompare provision`: plan, apply, verify and destroy the AWS side (built in issue 4)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Configure CloudWatch Logs, S3, or both as Session Manager log targets.",
    no_args_is_help=True,
)
