"""`costcompare provision rollout`: the member template to OUs × regions with StackSets.

Thin: parse, call ``provision.rollout``, print. It takes the same options as plan/apply (the
template is rendered as ``export --stackset`` renders it) or a ready ``--template`` file.
provision/cli.py adds the command to the provision app with ``register``; both take their
shared options and plumbing from provision/cli_common.py.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare import jsoncontract
from costcompare import options as opt
from provision.cli_common import (
    Output,
    SharedOptions,
    aws_context,
    echo_progress,
    options_and_connection,
    shared_options,
)
from provision.stackset import (
    DEFAULT_STACK_SET_NAME,
    FAILURE_TOLERANCE_PERCENTAGE,
    MAX_CONCURRENT_PERCENTAGE,
)


class CallAs(StrEnum):
    self = "self"
    delegated_admin = "delegated-admin"


ROLLOUT_EXAMPLES = """
Examples:

\b
  costcompare provision rollout -d cloudwatch --ou ou-ab12-cdef3456 \\
      --regions ap-northeast-1,us-east-1 --plan
  costcompare provision rollout -d both --role ssm-instance \\
      --ou ou-ab12-cdef3456 --regions us-east-1 --yes
  costcompare provision export -d cloudwatch --stackset --out member.yaml
  costcompare provision rollout --template member.yaml \\
      --stack-set-name ssm-logging --ou ou-ab12-cdef3456,ou-ab12-99998888 \\
      --regions eu-west-1 -o json --yes

Deploys the member-account template ('export --stackset') to every account of the OUs (and
their child OUs) in every region, with CloudFormation StackSets and service-managed permissions:
automatic deployment to accounts that join later, at most --max-concurrent-percent of an OU's
accounts at once. Run it from the management account or a StackSets delegated administrator
(--call-as, detected by default). Running it again adds what is missing, updates a changed
template, and is a no-op otherwise.
"""


def register(app: typer.Typer) -> None:
    """Add ``rollout`` to the provision app (provision/cli.py calls this once, on import)."""
    app.command("rollout", epilog=ROLLOUT_EXAMPLES)(rollout)


@shared_options
def rollout(
    shared: SharedOptions,
    ou: Annotated[
        list[str] | None,
        typer.Option(
            metavar="OU_ID", help="Organizational unit to deploy to; repeatable or comma-separated."
        ),
    ] = None,
    regions: Annotated[
        list[str] | None,
        typer.Option(metavar="R[,R]", help="Regions to deploy to; repeatable or comma-separated."),
    ] = None,
    stack_set_name: Annotated[
        str, typer.Option(metavar="NAME", help="The stack set to create or update.")
    ] = DEFAULT_STACK_SET_NAME,
    template: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Deploy this template ('export --stackset --out FILE') instead of rendering one.",
        ),
    ] = None,
    call_as: Annotated[
        CallAs | None,
        typer.Option(
            metavar="self|delegated-admin",
            help="Management account or StackSets delegated admin [detected].",
        ),
    ] = None,
    max_concurrent_percent: Annotated[
        int, typer.Option(metavar="PCT", help="Share of an OU's accounts deployed at once.")
    ] = MAX_CONCURRENT_PERCENTAGE,
    failure_tolerance_percent: Annotated[
        int, typer.Option(metavar="PCT", help="Share of accounts that may fail per region.")
    ] = FAILURE_TOLERANCE_PERCENTAGE,
    plan_only: Annotated[
        bool, typer.Option("--plan", help="Show what would be done and stop (reads only).")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    output: Output = opt.OutputFormat.table,
) -> None:
    """Deploy the logging setup to every account of OUs × regions with CloudFormation StackSets."""
    from provision.rollout import RolloutRequest, check_request

    ous, names = opt.split_names(ou) or [], opt.split_names(regions) or []
    check_request(
        stack_set_name, ous, names, max_concurrent_percentage=max_concurrent_percent,
        failure_tolerance_percentage=failure_tolerance_percent,
    )  # fmt: skip
    options, connection = options_and_connection(shared)
    ctx = aws_context(connection)
    request = RolloutRequest(
        stack_set_name, tuple(ous), tuple(names), _template_body(template, options, ctx.region),
        call_as={"self": "SELF", "delegated-admin": "DELEGATED_ADMIN"}.get(call_as or ""),
        max_concurrent_percentage=max_concurrent_percent,
        failure_tolerance_percentage=failure_tolerance_percent,
    )  # fmt: skip
    _run(ctx, request, output, plan_only=plan_only, yes=yes)


def _template_body(template: Path | None, options: dict[str, Any], region: str) -> str:
    """The --template file's text, or the member template the options give (checked either way)."""
    from costcompare.yamlio import load_yaml_mapping
    from provision.errors import SpecError
    from provision.rollout import check_template_body
    from provision.stackset import render_member_yaml

    if template is None:
        return check_template_body(render_member_yaml(options, region), "the member template")
    given = sorted(name for name, value in options.items() if value not in (None, [], False))
    if given:
        raise SpecError(
            f"--{given[0].replace('_', '-')} with --template: the file already is the template",
            "give --template alone, or the options without it",
        )
    load_yaml_mapping(template, what="--template file", error=SpecError,
                      shape="a CloudFormation template")  # fmt: skip
    return check_template_body(template.read_text(encoding="utf-8"), f"--template {template}")


def _run(ctx, request, output: opt.OutputFormat, *, plan_only: bool, yes: bool) -> None:
    """Plan; print; confirm; apply; print every instance's status. A failure is one line."""
    from costcompare.aws import translated
    from provision.errors import ApplyError, ProvisionError
    from provision.rollout import make_rollout_plan, observe_rollout, render_instances, render_plan
    from provision.rollout_apply import apply_rollout, wait_for_running

    as_json = output == opt.OutputFormat.json
    with translated("reading the stack set and the OUs", error=ProvisionError):
        plan = make_rollout_plan(request, observe_rollout(ctx, request))
    if plan.observed.running and not plan_only:
        typer.echo(render_plan(plan), nl=False, err=True)
        with translated(f"waiting for stack set {request.stack_set_name}", error=ApplyError):
            wait_for_running(ctx, plan, progress=echo_progress)
            plan = make_rollout_plan(request, observe_rollout(ctx, request))
    if plan_only or plan.empty:
        if as_json:
            return typer.echo(jsoncontract.dumps({"plan": plan.to_dict()}), nl=False)
        typer.echo(render_plan(plan) + render_instances(plan.observed.instances), nl=False)
        return None
    typer.echo(render_plan(plan), nl=False, err=as_json)
    if not yes and not typer.confirm(f"Run {len(plan.steps)} step(s)?", default=False):
        typer.echo("Nothing changed.", err=True)
        raise typer.Exit(1)
    with translated(f"rolling out stack set {request.stack_set_name}", error=ApplyError):
        result = apply_rollout(ctx, plan, progress=echo_progress)
    if as_json:
        document = {"plan": plan.to_dict(), "result": result.to_dict()}
        typer.echo(jsoncontract.dumps(document), nl=False)
    else:
        typer.echo(render_instances(result.instances), nl=False)
    if not result.succeeded:
        raise ApplyError(*_failure(result))
    return None


def _failure(result) -> tuple[str, str]:
    """(what failed, how to go on) in one line: the failed operation and the first instance
    left behind, with AWS's reason."""
    failed = [f"{op['action']} operation {op['operation_id']} {op['status']}"
              for op in result.operations if op["status"] != "SUCCEEDED"]  # fmt: skip
    problem = failed[0] if failed else "the rollout"
    bad = [i for i in result.instances if i.status != "CURRENT"]
    if bad:
        first = bad[0]
        problem += f": {len(bad)} instance(s) not CURRENT, e.g. {first.account} {first.region} "
        problem += f"{first.status} {first.reason}".rstrip()
    return problem, "fix the cause shown, then run the same rollout again"
