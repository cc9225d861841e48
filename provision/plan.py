"""Plan: desired (spec) vs actual (observe) → the changes, resource by resource, in the order
apply runs them (keys → stores → IAM → network → document); and the Terraform-style text.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from costcompare.tables import fill
from provision.changes import CONFLICT, CREATE, KEEP, REMOVE, SYMBOL, UPDATE, Change, Plan
from provision.errors import PlanError
from provision.observe import ActualState
from provision.resources import (
    account_access,
    athena,
    bucket,
    document,
    kms_key,
    log_group,
    network,
    role,
)
from provision.spec import DOCUMENT_NAME, SECURITY_GROUP_NAME, ProvisionSpec


def make_plan(spec: ProvisionSpec, actual: ActualState) -> Plan:
    """Every change needed to turn ``actual`` into ``spec``, in the order apply runs them."""
    account = actual.account_id
    in_use = [
        arn
        for arn in (
            actual.log_group.kms_key_arn if actual.log_group else None,
            actual.bucket.sse_key if actual.bucket else None,
        )
        if arn
    ]
    org_id = actual.organization_id
    changes, arns = kms_key.diff(spec, account, actual.keys, actual.stray_keys, in_use, org_id)
    if spec.log_group:
        changes += log_group.diff(spec, actual.log_group, arns.get("cloudwatch"))
    member = spec.bucket.member if spec.bucket else None
    if member is not None:
        _check_member(member.account, account)
        arns["s3"] = member.key_arn or ""
        why = f"account {member.account}'s central bucket in {member.region}: used, not managed"
        changes.append(Change(bucket.resource_name(spec.bucket.name), KEEP, why))
    elif spec.bucket:
        changes += bucket.diff(spec, actual.bucket, arns.get("s3"))
        changes += bucket.diff_policy(spec, actual.bucket, org_id)
        changes += account_access.diff_account_public_access(account, actual.account_public_access)
    if spec.athena:
        assert actual.athena is not None
        changes += athena.diff(spec, actual.athena)
    if spec.role_name:
        changes += role.diff_role(spec, actual.role)
        changes += role.diff_policy(spec, account, actual.role, actual.policy, arns)
    if spec.network:
        assert actual.network is not None
        changes += network.diff(spec, actual.network)
    if spec.central is None:
        changes += document.diff(spec, actual.document, arns)
    touched = {c.resource for c in changes}
    changes += [Change(n, KEEP) for n in _resources(spec, actual) if n not in touched]
    changes += [Change(n, KEEP, why) for n, why in actual.former_stores.items()]
    return Plan(spec.region, account, spec.destination, tuple(changes))


def _check_member(bucket_account: str, account: str) -> None:
    if bucket_account == account:
        raise PlanError(
            f"--bucket-account {bucket_account} is this account",
            "drop --bucket-account (and --bucket-region) to manage the bucket here",
        )


def _resources(spec: ProvisionSpec, actual: ActualState) -> list[str]:
    """Every resource the spec manages, so untouched ones show as "=" (kept as they are)."""
    names = [kms_key.resource_name(k) for k in spec.keys]
    if spec.log_group:
        names.append(log_group.resource_name(spec.log_group.name))
    if spec.bucket and spec.bucket.member is None:
        names += [bucket.resource_name(spec.bucket.name), f"bucket policy {spec.bucket.name}"]
        names.append(account_access.account_resource_name(actual.account_id))
    if spec.athena:
        names += athena.resource_names(spec.athena)
    if spec.role_name:
        names += [f"iam role {spec.role_name}", role.policy_resource(spec)]
    if spec.network:
        names.append(f"vpc {spec.network.vpc_id}")
        if actual.network and actual.network.tool_security_group:
            names.append(f"security group {SECURITY_GROUP_NAME}")
        services = (*spec.interface_services(), *spec.gateway_services())
        names += [f"vpc endpoint {s}" for s in services]
    if spec.central is None:
        names.append(f"preferences document {DOCUMENT_NAME}")
    return names


# -- rendering -----------------------------------------------------------------------------------
_COLOUR = {CREATE: "32", UPDATE: "33", REMOVE: "31", KEEP: "2", CONFLICT: "1;31"}


def render_plan(
    plan: Plan, colour: bool = False, title: str | None = None, width: int | None = None
) -> str:
    """One line per resource (+ ~ - = !), attribute diffs below, the count at the end.

    Prose (resource notes, change summaries) wraps to ``width`` (the terminal's); values and
    JSON documents stay on their lines so they read and paste as they are.
    """

    def paint(action: str, text: str) -> str:
        return f"\033[{_COLOUR[action]}m{text}\033[0m" if colour else text

    heading = (
        title
        or f"Plan for account {plan.account_id} in {plan.region} (destination {plan.destination}):"
    )
    lines = [fill(heading, width, indent="  "), ""]
    by_resource: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_resource.setdefault(change.resource, []).append(change)
    for resource, action in plan.resources().items():
        notes = [c.summary for c in by_resource[resource] if c.action == KEEP and c.summary]
        head = f"  {SYMBOL[action]} {resource}" + (f"  ({'; '.join(notes)})" if notes else "")
        lines.append(paint(action, fill(head, width, indent="      ")))
        for change in by_resource[resource]:
            if change.action != KEEP:
                lines += _change_lines(change, paint, width)
    lines += ["", fill(_summary_line(plan), width)]
    return "\n".join(lines) + "\n"


def _change_lines(change: Change, paint, width: int | None = None) -> list[str]:
    summary = fill(f"      # {change.summary}", width, indent="        ")
    lines = summary.splitlines() if change.summary else []
    for f in change.fields:
        if f.old is None and f.new is not None:
            lines += _value_lines(paint(CREATE, "+"), f.field, "=", f.new)
        elif f.new is None and f.old is not None:
            lines += _value_lines(paint(REMOVE, "-"), f.field, "=", f.old)
        elif isinstance(f.old, dict | list) and isinstance(f.new, dict | list):
            lines.append(f"      {paint(UPDATE, '~')} {f.field}:")
            lines += [f"          {_diff_line(line, paint)}" for line in _json_diff(f.old, f.new)]
        else:
            lines.append(f"      {paint(UPDATE, '~')} {f.field}: {_short(f.old)} → {_short(f.new)}")
    return lines


def _value_lines(sign: str, name: str, op: str, value: Any) -> list[str]:
    if isinstance(value, dict | list):
        text = json.dumps(value, indent=2, default=str).splitlines()
        return [f"      {sign} {name} {op} {text[0]}"] + [f"          {t}" for t in text[1:]]
    return [f"      {sign} {name} {op} {_short(value)}"]


def _json_diff(old: Any, new: Any) -> list[str]:
    """A unified diff of the two documents pretty-printed (sorted keys, so order is no noise)."""
    a = json.dumps(old, indent=2, sort_keys=True, default=str).splitlines()
    b = json.dumps(new, indent=2, sort_keys=True, default=str).splitlines()
    return [line for line in difflib.unified_diff(a, b, n=2, lineterm="")][2:]


def _diff_line(line: str, paint) -> str:
    if line.startswith("+"):
        return paint(CREATE, line)
    if line.startswith("-"):
        return paint(REMOVE, line)
    return line


def _summary_line(plan: Plan) -> str:
    if plan.empty:
        return "No changes. The account matches the options."
    counts = plan.summary()
    text = (
        f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['remove']} to remove."
    )
    if counts["conflict"]:
        text += f" {counts['conflict']} conflict(s) to resolve first."
    return text


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), default=str)
