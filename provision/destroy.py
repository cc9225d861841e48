"""Destroy: remove what the tool manages — found by its tag, not by today's options.

The preferences document goes back to the content it had before the tool first changed it (or
away, if the tool created it). A bucket or log group that still holds logs is never deleted
unless ``force_delete_logs``: it is kept, and said so, and the rest is removed. An
organization's central log archive (its policy carries the organization grants) is never
emptied, even forced: its transcripts are other accounts' audit records. Keys
are only scheduled for deletion (30-day window) and only when no remaining store is encrypted
with them. A role the tool did not create keeps AmazonSSMManagedInstanceCore (sessions need it).
The ``--athena`` workgroup, Glue table and database go (they hold metadata, never a transcript;
see ``athena.teardown`` for what is kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from provision.aws import AwsContext
from provision.changes import Change, Plan, Progress, execute, is_managed
from provision.errors import DestroyError
from provision.observe import Discovered, discover
from provision.policies import MANAGED_INSTANCE_CORE, has_org_statements
from provision.resources import athena, bucket, document, kms_key, log_group, network, role
from provision.spec import policy_name_for


@dataclass(frozen=True)
class DestroyPlan:
    plan: Plan  # the changes, in the one change model apply executes
    kept: tuple[str, ...]  # "resource: why", for the report
    held: tuple[str, ...]  # stores kept because they hold logs (no --force-delete-logs)
    locked: tuple[str, ...] = ()  # those of ``held`` --force-delete-logs cannot delete either

    @property
    def steps(self) -> tuple[Change, ...]:
        return self.plan.pending

    def render(self, width: int | None = None) -> str:
        """The plan, then what stays and why: each reason a paragraph wrapped to the terminal."""
        from costcompare.tables import fill
        from provision.plan import render_plan

        title = f"Destroy in account {self.plan.account_id}, {self.plan.region}:"
        text = render_plan(self.plan, title=title) if self.plan.changes else title + "\n"
        lines = [text.rstrip("\n")]
        forceable = [r for r in self.held if r not in self.locked]
        for heading, reasons in (
            ("Left alone:", self.kept),
            ("Kept because they hold logs (--force-delete-logs deletes them):", forceable),
            # a central archive, an Object Lock: saying otherwise would mislead
            ("Kept for good (--force-delete-logs does not delete them):", self.locked),
        ):
            if reasons:
                lines += ["", heading]
                lines += [fill(f"  {r}", width, indent="      ") for r in reasons]
        return "\n".join(lines) + "\n"


def plan_destroy(ctx: AwsContext, force_delete_logs: bool) -> DestroyPlan:
    """What destroy would do, from a fresh read of everything the tool manages (reads only)."""
    found = discover(ctx, policy_name_for(ctx.region))
    changes, kept = [], []
    if found.document is not None:
        more, notes = document.teardown(ctx, found.document)
        changes, kept = changes + more, kept + notes
    for state in found.networks:
        more, notes = network.teardown(state)
        changes, kept = changes + more, kept + notes
    more, notes = athena.teardown(found.athena)
    changes, kept = changes + more, kept + notes
    changes += _iam(found, kept)
    stores, held, removed = _stores(ctx, found, force_delete_logs)
    changes += stores
    changes += _keys(found, removed, kept)
    plan = Plan(found.region, found.account_id, "(everything managed)", tuple(changes))
    locked = [bucket.resource_name(s.name) for s in found.buckets if _kept_for_good(s)]
    return DestroyPlan(
        plan, tuple(kept), tuple(held), tuple(h for h in held if h.split(":")[0] in locked)
    )


def _kept_for_good(state: bucket.BucketState) -> bool:
    """A bucket even --force-delete-logs leaves: the org's archive, or logs under a lock."""
    return state.holds_logs and (
        state.object_lock_mode == "COMPLIANCE" or has_org_statements(state.policy)
    )


def _iam(found: Discovered, kept: list[str]) -> list[Change]:
    changes = []
    policy = found.policy
    if policy is not None and is_managed(policy.tags):
        changes += role.teardown_policy(
            policy, list(found.policy_roles), policy_name_for(found.region)
        )
    elif policy is not None:
        kept.append(f"iam policy {policy_name_for(found.region)}: not tagged")
    for state in found.roles:
        changes += role.teardown_role(state)
    for name in found.policy_roles:
        if name not in {r.name for r in found.roles}:
            kept.append(
                f"iam role {name}: not created by the tool; "
                f"{MANAGED_INSTANCE_CORE} stays attached (sessions need it)"
            )
    return changes


def _stores(ctx: AwsContext, found: Discovered, force: bool):
    changes: list[Change] = []
    refused: list[str] = []
    removed: set[str] = set()
    for state in found.buckets:
        versions = bucket.object_versions(ctx, state.name) if force and state.holds_logs else []
        more, refusal = bucket.teardown(state, force, versions)
        changes += more
        if refusal and not state.object_lock_mode and not has_org_statements(state.policy):
            count = bucket.count_objects(ctx, state.name)
            refusal = f"{bucket.resource_name(state.name)}: holds {count:,} transcripts"
        refused += [refusal] if refusal else []
        if more:
            removed.add(state.sse_key or "")
    for group in found.log_groups:
        more, refusal = log_group.teardown(group, force)
        changes += more
        refused += [refusal] if refusal else []
        if more:
            removed.add(group.kms_key_arn or "")
    return changes, refused, removed - {""}


def _keys(found: Discovered, removed: set[str], kept: list[str]) -> list[Change]:
    """Keys last, and only when nothing left behind is encrypted with them."""
    users = {}
    for state in found.buckets:
        if state.sse_key:
            users[state.sse_key] = bucket.resource_name(state.name)
    for group in found.log_groups:
        if group.kms_key_arn:
            users[group.kms_key_arn] = log_group.resource_name(group.name)
    changes = []
    for key in found.keys:
        user = next(
            (u for ref, u in users.items() if _names(ref, key) and ref not in removed), None
        )
        more, notes = kms_key.teardown(key, user)
        changes += more
        kept += notes
    return changes


def _names(ref: str, key: kms_key.KeyState) -> bool:
    """Whether a store's key reference (key ARN, key id, or alias name or ARN: bucket
    encryption keeps what it was given) is ``key``."""
    if ref in (key.arn, key.key_id):
        return True
    return bool(key.alias) and (ref == key.alias or ref.endswith(f":{key.alias}"))


def destroy(ctx: AwsContext, plan: DestroyPlan, progress: Progress = lambda _: None) -> list[str]:
    """Run the removals in order (stores holding logs are not among them unless forced)."""
    return execute(ctx, plan.plan.changes, DestroyError, "destroy", progress)
