"""`costcompare provision`: plan, apply, verify and destroy the AWS side (issue 4).

Thin on purpose: parse options, call the library, print. boto3 is imported inside the
commands only, so `costcompare estimate` (which mounts this app) starts fast. Domain errors are
turned into one line and an exit code by the root app.
"""

from __future__ import annotations

import functools
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from costcompare import jsoncontract
from costcompare import options as opt
from provision.cli_central import member_hint
from provision.cli_common import (
    Output,
    SharedOptions,
    aws_context,
    echo_progress,
    options_and_connection,
    read_translated,
    shared_options,
    spec_and_context,
)
from provision.rollout_cli import register as register_rollout

app = typer.Typer(
    help="Configure CloudWatch Logs, S3, or both as Session Manager log targets.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


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
@shared_options
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
    spec, ctx, options = spec_and_context(shared)
    result = read_translated("plan", lambda: make_plan(spec, observe(ctx, spec)))
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
@shared_options
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
        endpoint_url = options_and_connection(shared)[1]["endpoint_url"]
        ctx = aws_context(
            {"region": saved.region, "profile": shared.get("profile"), "endpoint_url": endpoint_url}
        )
        options = {k: v for k, v in saved_options.items() if k != "region"}
        spec = build_spec(options, ctx.region, account=ctx.account_id())
        planned = read_translated("apply", lambda: make_plan(spec, observe(ctx, spec)))
        check_still_current(saved, planned)
        planned, yes = saved, True  # the saved plan was the review
    else:
        spec, ctx, _ = spec_and_context(shared)
        planned = read_translated("apply", lambda: make_plan(spec, observe(ctx, spec)))
    _echo_plan(planned)
    if planned.empty:
        return member_hint(ctx, spec)
    if not yes and not typer.confirm(f"Apply {len(planned.pending)} change(s)?", default=False):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
    result = apply_plan(ctx, spec, planned, progress=echo_progress)
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
@shared_options
def verify(
    shared: SharedOptions,
    output: Output = opt.OutputFormat.table,
) -> None:
    """Check the account (tool-made or not) for the known logging pitfalls."""
    from provision.verify import ERROR, render_findings, target_from_options
    from provision.verify import verify as run_verify

    options, connection = options_and_connection(shared)
    ctx = aws_context(connection)
    target = target_from_options(options, ctx.region)
    findings = read_translated("verify", lambda: run_verify(ctx, target))
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
@shared_options
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

    _, connection = options_and_connection(shared)
    ctx = aws_context(connection)
    planned = read_translated("destroy", lambda: plan_destroy(ctx, force_delete_logs))
    typer.echo(planned.render(), nl=False)
    if not planned.steps:
        typer.echo("Nothing to remove.")
        return
    if not yes and not typer.confirm(f"Run {len(planned.steps)} step(s)?", default=False):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
    run_destroy(ctx, planned, progress=echo_progress)
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
@shared_options
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
    options, connection = options_and_connection(shared)
    ctx = aws_context(connection)
    read_account = functools.partial(read_translated, "export", ctx.account_id)
    read_vpc = functools.partial(read_network, ctx)
    text = export_text(
        options, ctx.region, account_id, read_account, stackset=stackset, out=out, read_vpc=read_vpc
    )
    if out is None:
        return typer.echo(text, nl=False)
    write_atomic(out, text, "--out")
    typer.echo(f"Wrote the {format.value} template to {out}.", err=True)


register_rollout(app)  # `rollout` lives in its own module, beside these commands
