"""Org-wide rollout: the member template deployed by CloudFormation StackSets (issue 15).

StackSets with service-managed permissions is AWS's own engine for "this template in every
account of these OUs, in these regions": it assumes the roles, orders and bounds the work,
retries, and (with automatic deployment) covers accounts that join an OU later. This module
plans and drives it, the same way plan/apply do for one account:

- ``observe_rollout`` reads the stack set (if any), its instances and the OUs' accounts;
- ``make_rollout_plan`` says what to do: create the stack set, update it (template changed,
  automatic deployment off, instances left OUTDATED), add the missing account × region
  instances;
- ``provision.rollout_apply`` runs each step, waits for its operation and reads every
  instance's status back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from costcompare.awsfacts import check_region
from provision.aws import AwsContext, error_code
from provision.errors import PlanError, SpecError
from provision.stackset import (
    FAILURE_TOLERANCE_PERCENTAGE,
    MAX_CONCURRENT_PERCENTAGE,
    REGION_CONCURRENCY,
)

STACK_SET_NAME = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]{0,127}$")
OU_OR_ROOT = re.compile(r"^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")
MAX_OUS_PER_OPERATION = 50  # CreateStackInstances / UpdateStackInstances API reference
TEMPLATE_BODY_LIMIT = 51_200  # bytes; larger templates must come from S3 (TemplateURL)
CALL_AS = ("SELF", "DELEGATED_ADMIN")
SERVICE_MANAGED = "SERVICE_MANAGED"
AUTO_DEPLOYMENT = {"Enabled": True, "RetainStacksOnAccountRemoval": True}
RUNNING_STATUSES = ("RUNNING", "QUEUED", "STOPPING")


@dataclass(frozen=True)
class RolloutRequest:
    """What the user asked for: this template, as this stack set, in these OUs × regions."""

    stack_set_name: str
    ous: tuple[str, ...]
    regions: tuple[str, ...]
    template_body: str
    call_as: str | None = None  # None: SELF from the management account, else DELEGATED_ADMIN
    max_concurrent_percentage: int = MAX_CONCURRENT_PERCENTAGE
    failure_tolerance_percentage: int = FAILURE_TOLERANCE_PERCENTAGE

    @property
    def preferences(self) -> dict[str, Any]:
        """OperationPreferences: regions in parallel, a bounded share of accounts at once."""
        return {
            "RegionConcurrencyType": REGION_CONCURRENCY,
            "MaxConcurrentPercentage": self.max_concurrent_percentage,
            "FailureTolerancePercentage": self.failure_tolerance_percentage,
        }


def check_request(
    stack_set_name: str,
    ous: Sequence[str],
    regions: Sequence[str],
    *,
    max_concurrent_percentage: int = MAX_CONCURRENT_PERCENTAGE,
    failure_tolerance_percentage: int = FAILURE_TOLERANCE_PERCENTAGE,
) -> None:
    """Every rollout option AWS would reject, as one line, before any AWS call."""
    if not STACK_SET_NAME.match(stack_set_name):
        raise SpecError(
            f"--stack-set-name {stack_set_name!r} is not a stack set name",
            "start with a letter; letters, digits and hyphens only, at most 128",
        )
    if not ous:
        raise SpecError("no --ou given", "name the OUs to deploy to, e.g. --ou ou-ab12-cdef3456")
    if len(set(ous)) > MAX_OUS_PER_OPERATION:
        raise SpecError(
            f"{len(set(ous))} --ou values; one StackSets operation takes at most "
            f"{MAX_OUS_PER_OPERATION}",
            "target a parent OU: StackSets deploys to its child OUs as well",
        )
    for ou in ous:
        if not OU_OR_ROOT.match(ou):
            raise SpecError(
                f"--ou {ou!r} is not an organizational unit id",
                "give ou-xxxx-xxxxxxxx (or the root r-xxxx); aws organizations "
                "list-organizational-units-for-parent lists them",
            )
    if not regions:
        raise SpecError("no --regions given", "name the regions, e.g. --regions ap-northeast-1")
    for region in regions:
        check_region(region, error=SpecError)
    if not 1 <= max_concurrent_percentage <= 100:
        raise SpecError(f"--max-concurrent-percent {max_concurrent_percentage}", "give 1 to 100")
    if not 0 <= failure_tolerance_percentage <= 100:
        raise SpecError(
            f"--failure-tolerance-percent {failure_tolerance_percentage}", "give 0 to 100"
        )


def check_template_body(body: str, source: str) -> str:
    """A template StackSets can take inline: a mapping with Resources, at most 51,200 bytes."""
    import yaml

    size = len(body.encode("utf-8"))
    if size > TEMPLATE_BODY_LIMIT:
        raise SpecError(
            f"{source} is {size:,} bytes; a stack set template given inline may be "
            f"{TEMPLATE_BODY_LIMIT:,}",
            "drop options to shrink it, or create the stack set from S3 (--template-url)",
        )
    try:
        parsed = yaml.safe_load(body)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("Resources"), dict):
        raise SpecError(
            f"{source} is not a CloudFormation template with Resources",
            "write one with 'costcompare provision export --stackset --out FILE' "
            "(long-form Fn:: functions, no !Sub tags)",
        )
    return body


@dataclass(frozen=True)
class Instance:
    """One stack instance: an account in a region, and how its last operation went."""

    account: str
    region: str
    status: str = "MISSING"  # CURRENT | OUTDATED | INOPERABLE, or MISSING (not created yet)
    detailed: str = ""  # PENDING | RUNNING | SUCCEEDED | FAILED | CANCELLED | INOPERABLE …
    reason: str = ""
    ou: str = ""


@dataclass
class ObservedStackSet:
    """The stack set as AWS has it, and the accounts the OUs hold now."""

    call_as: str
    exists: bool = False
    permission_model: str = ""
    auto_deployment: bool = False
    template_body: str = ""
    instances: list[Instance] = field(default_factory=list)
    ou_accounts: dict[str, list[str]] = field(default_factory=dict)
    running: list[str] = field(default_factory=list)  # operations not ended yet (one at a time)
    operation_ids: list[str] = field(default_factory=list)  # every operation so far


def observe_rollout(ctx: AwsContext, request: RolloutRequest) -> ObservedStackSet:
    """Read the stack set, its instances and the target OUs' accounts (reads only)."""
    organizations = ctx.client("organizations")
    management = organizations.describe_organization()["Organization"]["MasterAccountId"]
    call_as = request.call_as or call_as_for(ctx.account_id(), management)
    observed = ObservedStackSet(call_as=call_as)
    # Service-managed stack sets never deploy to the management account, even from the root.
    observed.ou_accounts = {
        ou: sorted(set(_accounts_under(organizations, ou)) - {management}) for ou in request.ous
    }
    cfn = ctx.client("cloudformation")
    try:
        found = cfn.describe_stack_set(StackSetName=request.stack_set_name, CallAs=call_as)
    except Exception as exc:
        if error_code(exc) == "StackSetNotFoundException":
            return observed
        raise
    stack_set = found["StackSet"]
    observed.exists = True
    observed.permission_model = stack_set.get("PermissionModel", "SELF_MANAGED")
    # Only an explicit Enabled: false is a reason to update (moto 5.2 omits AutoDeployment).
    observed.auto_deployment = stack_set.get("AutoDeployment", {}).get("Enabled", True) is True
    observed.template_body = stack_set.get("TemplateBody", "")
    observed.instances = list_instances(ctx, request.stack_set_name, call_as)
    pages = cfn.get_paginator("list_stack_set_operations").paginate(
        StackSetName=request.stack_set_name, CallAs=call_as
    )
    operations = [op for page in pages for op in page.get("Summaries", [])]
    observed.operation_ids = sorted(op["OperationId"] for op in operations)
    observed.running = [o["OperationId"] for o in operations if o.get("Status") in RUNNING_STATUSES]
    return observed


def call_as_for(caller: str, management: str) -> str:
    """StackSets' CallAs: SELF in the management account, else as its delegated administrator
    (the only other account that can manage service-managed stack sets)."""
    return "SELF" if caller == management else "DELEGATED_ADMIN"


def _accounts_under(organizations: Any, parent: str) -> Iterable[str]:
    """Every account in ``parent`` and its child OUs, at any depth (as StackSets deploys)."""
    for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
        yield from (a["Id"] for a in page["Accounts"] if a.get("Status", "ACTIVE") == "ACTIVE")
    units = organizations.get_paginator("list_organizational_units_for_parent")
    for page in units.paginate(ParentId=parent):
        for unit in page["OrganizationalUnits"]:
            yield from _accounts_under(organizations, unit["Id"])


def list_instances(ctx: AwsContext, name: str, call_as: str) -> list[Instance]:
    """Every stack instance of ``name`` with its status, sorted by account then region."""
    pages = ctx.client("cloudformation").get_paginator("list_stack_instances")
    found = [
        Instance(
            account=item["Account"],
            region=item["Region"],
            status=item.get("Status", ""),
            detailed=item.get("StackInstanceStatus", {}).get("DetailedStatus", ""),
            reason=item.get("StatusReason", ""),
            ou=item.get("OrganizationalUnitId", ""),
        )
        for page in pages.paginate(StackSetName=name, CallAs=call_as)
        for item in page.get("Summaries", [])
    ]
    return sorted(found, key=lambda i: (i.account, i.region))


@dataclass(frozen=True)
class RolloutStep:
    """One StackSets call: create-stack-set, update-stack-set or create-stack-instances."""

    action: str
    why: str
    ous: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass
class RolloutPlan:
    request: RolloutRequest
    observed: ObservedStackSet
    steps: list[RolloutStep]
    missing: list[Instance]  # account × region pairs the OUs hold and the stack set lacks

    @property
    def empty(self) -> bool:
        return not self.steps

    def expected(self) -> list[tuple[str, str]]:
        """Every (account, region) the request covers, in account then region order."""
        accounts = sorted({a for found in self.observed.ou_accounts.values() for a in found})
        return [(a, r) for a in accounts for r in self.request.regions]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack_set_name": self.request.stack_set_name,
            "call_as": self.observed.call_as,
            "exists": self.observed.exists,
            "organizational_units": self.observed.ou_accounts,
            "regions": list(self.request.regions),
            "operation_preferences": self.request.preferences,
            "steps": [asdict(step) for step in self.steps],
            "missing_instances": [asdict(i) for i in self.missing],
            "instances": [asdict(i) for i in self.observed.instances],
        }


def make_rollout_plan(request: RolloutRequest, observed: ObservedStackSet) -> RolloutPlan:
    """What apply would do to make the stack set match ``request`` (pure: no AWS call)."""
    if observed.exists and observed.permission_model != SERVICE_MANAGED:
        raise PlanError(
            f"stack set {request.stack_set_name} uses {observed.permission_model} permissions; "
            "an org-wide rollout needs SERVICE_MANAGED (it cannot be changed)",
            "pick another --stack-set-name, or delete that stack set first",
        )
    empty = [ou for ou, accounts in observed.ou_accounts.items() if not accounts]
    if empty:
        raise PlanError(
            f"--ou {empty[0]} holds no member account (the management account is never a target)",
            "check the OU id (aws organizations list-accounts-for-parent --parent-id OU)",
        )
    steps: list[RolloutStep] = []
    if not observed.exists:
        steps.append(RolloutStep("create-stack-set", "the stack set does not exist"))
    else:
        why = _update_reasons(request, observed)
        if why:
            steps.append(RolloutStep("update-stack-set", "; ".join(why)))
    plan = RolloutPlan(request, observed, steps, [])
    have = {(i.account, i.region) for i in observed.instances}
    plan.missing = [Instance(a, r) for a, r in plan.expected() if (a, r) not in have]
    if plan.missing:
        ous = tuple(
            ou
            for ou, accounts in observed.ou_accounts.items()
            if any(i.account in accounts for i in plan.missing)
        )
        regions = tuple(r for r in request.regions if any(i.region == r for i in plan.missing))
        why = f"{len(plan.missing)} account × region instance(s) missing"
        steps.append(RolloutStep("create-stack-instances", why, ous, regions))
    return plan


def _update_reasons(request: RolloutRequest, observed: ObservedStackSet) -> list[str]:
    why = []
    if not _same_template(request.template_body, observed.template_body):
        why.append("the template changed")
    if not observed.auto_deployment:
        why.append("automatic deployment to new OU accounts is off")
    outdated = [i for i in observed.instances if i.status == "OUTDATED"]
    if outdated:
        why.append(f"{len(outdated)} instance(s) OUTDATED (a failed or stopped operation)")
    return why


def _same_template(wanted: str, found: str) -> bool:
    """Equal as data (key order and formatting aside); unparseable text compares as text."""
    import yaml

    try:
        return yaml.safe_load(wanted) == yaml.safe_load(found)
    except yaml.YAMLError:
        return wanted == found


def render_plan(plan: RolloutPlan, width: int | None = None) -> str:
    """The plan as text: the targets, then one paragraph per step (+ create, ~ update), each
    wrapped to the terminal (OU and region lists grow with the request)."""
    from costcompare.tables import fill

    return (
        "\n".join(
            fill(line, width, indent="      " if line.startswith("  ") else "  ")
            for line in _plan_lines(plan)
        )
        + "\n"
    )


def _plan_lines(plan: RolloutPlan) -> list[str]:
    request = plan.request
    accounts = len({a for found in plan.observed.ou_accounts.values() for a in found})
    lines = [
        f"Stack set {request.stack_set_name} (service-managed, as {plan.observed.call_as}): "
        f"{accounts} account(s) in {', '.join(request.ous)} × {len(request.regions)} "
        f"region(s) ({', '.join(request.regions)}) = {len(plan.expected())} instance(s); "
        f"{len(plan.observed.instances)} exist.",
    ]
    marks = {"create-stack-set": "+", "update-stack-set": "~", "create-stack-instances": "+"}
    lines += [f"  ! operation {op} is still running: apply waits for it, then plans again"
              for op in plan.observed.running]  # fmt: skip
    for step in plan.steps:
        where = f" in {', '.join(step.ous)} × {', '.join(step.regions)}" if step.ous else ""
        lines.append(f"  {marks[step.action]} {step.action}{where}: {step.why}")
    expected = set(plan.expected())
    kept = [i for i in plan.observed.instances if (i.account, i.region) not in expected]
    if kept:
        lines.append(f"  = {len(kept)} instance(s) outside these OUs × regions are kept "
                     "(rollout never removes; delete-stack-instances does)")  # fmt: skip
    if plan.empty:
        lines.append("  = nothing to do: every instance exists and the template is current.")
    return lines


def render_instances(instances: Sequence[Instance], width: int | None = None) -> str:
    """One row per stack instance: account, region, status, detail, reason (the one renderer)."""
    from costcompare.tables import Column, render_table

    if not instances:
        return "No stack instances.\n"
    columns = [Column("ACCOUNT", "left"), Column("REGION", "left"), Column("STATUS", "left"),
               Column("DETAIL", "left", 1), Column("REASON", "left", 2, wrap=True)]  # fmt: skip
    rows = [(i.account, i.region, i.status, i.detailed, i.reason) for i in instances]
    return render_table(columns, rows, width=width) + "\n"
