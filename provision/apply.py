"""Apply: run a plan's changes, then re-read and insist nothing is left.

Every step is safe to repeat: observe finds what an interrupted run made (a key by its tag,
endpoints by service), ``Call.ok_codes`` accept "already exists" answers, strays and duplicate
endpoints are removed by the next plan, so running apply again converges. Nothing here deletes
data. A saved plan (``plan --out``) is applied only if planning again gives the same changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costcompare.files import read_json
from provision.aws import AwsContext
from provision.changes import REMOVE, Plan, Progress, execute
from provision.errors import ApplyError, SpecError
from provision.observe import observe
from provision.plan import make_plan
from provision.spec import ProvisionSpec

PLAN_FORMAT = "costcompare-provision-plan/1"


@dataclass(frozen=True)
class ApplyResult:
    steps: tuple[str, ...]  # what ran, in order
    final: Plan  # the plan re-made after apply: empty


def apply_plan(
    ctx: AwsContext, spec: ProvisionSpec, plan: Plan, progress: Progress = lambda _: None
) -> ApplyResult:
    """Execute ``plan``, then re-observe; raise ApplyError unless the new plan is empty."""
    if plan.conflicts:
        first = plan.conflicts[0]
        raise ApplyError(
            f"{first.resource}: {first.summary}", "resolve the conflict; nothing was changed"
        )
    steps = execute(ctx, plan.changes, ApplyError, "apply", progress)
    final = make_plan(spec, observe(ctx, spec))
    if final.pending and all(c.action == REMOVE for c in final.pending):
        # A retried call whose first response was lost left a stray key or a duplicate
        # endpoint behind during this very run: clean it up now rather than next time.
        steps += execute(ctx, final.changes, ApplyError, "apply", progress)
        final = make_plan(spec, observe(ctx, spec))
    if not final.empty:
        left = sorted({c.resource for c in (*final.pending, *final.conflicts)})
        raise ApplyError(
            f"apply ran {len(steps)} step(s) but the account still differs: {', '.join(left)}",
            "run 'costcompare provision plan' to see what is left, then apply again",
        )
    return ApplyResult(steps=tuple(steps), final=final)


# -- saved plans ---------------------------------------------------------------------------------
def save_plan(plan: Plan, options: Mapping[str, Any]) -> str:
    """The JSON text ``plan --out`` writes: the options (to re-plan) and every call."""
    return json.dumps(
        {"format": PLAN_FORMAT, "options": dict(options), "plan": plan.to_dict(full=True)},
        indent=2,
        default=str,
    )


def load_saved(path: Path) -> tuple[dict[str, Any], Plan]:
    """(options, plan) from a file ``plan --out`` wrote; anything else is a one-line error."""
    data = read_json(
        path, what="saved plan", error=SpecError, fix="write one with 'plan --out FILE'"
    )
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise SpecError(f"{path} is not a saved plan", "write one with 'plan --out FILE'")
    try:
        return dict(data["options"]), Plan.from_dict(data["plan"])
    except (KeyError, TypeError, AttributeError):
        raise SpecError(f"{path} is a damaged plan", "write it again with 'plan --out'") from None


def check_still_current(saved: Plan, now: Plan) -> None:
    """Refuse a saved plan when the account (or the account id) changed since it was made."""
    if (saved.account_id, saved.region) != (now.account_id, now.region):
        raise ApplyError(
            f"the plan was made for account {saved.account_id} in {saved.region}, "
            f"this is {now.account_id} in {now.region}",
            "use the credentials and region of the plan, or plan again",
        )
    if _comparable(saved) != _comparable(now):
        raise ApplyError(
            "the account changed since the plan was saved: its changes are no longer the ones "
            "planned",
            "run 'costcompare provision plan --out FILE' again, review it, and apply that",
        )


def _comparable(plan: Plan) -> list[str]:
    return [
        json.dumps(c.to_dict(), sort_keys=True, default=str)
        for c in plan.changes
        if c.action != "keep"
    ]
