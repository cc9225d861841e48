"""Run a plan: one boto3 call per change, in order, then re-read and insist nothing is left.

A failing step stops everything with one line that names the step and what was already done.
Every step is safe to repeat, and observe finds what an interrupted run made (a key by its tag,
endpoints by service), so running apply again converges without duplicates. Nothing here
deletes data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from provision.aws import AwsContext, error_code, error_text
from provision.errors import ApplyError
from provision.observe import observe
from provision.plan import Call, Plan, make_plan
from provision.spec import DOCUMENT_NAME, ProvisionSpec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ApplyResult:
    steps: tuple[str, ...]  # what ran, in order
    final: Plan  # the plan re-made after apply: empty


def apply_plan(
    ctx: AwsContext, spec: ProvisionSpec, plan: Plan, progress: Progress = lambda _: None
) -> ApplyResult:
    """Execute ``plan``, then re-observe; raise ApplyError unless the new plan is empty."""
    steps = execute(ctx, plan, progress)
    final = make_plan(spec, observe(ctx, spec))
    if not final.empty:
        left = sorted({c.resource for c in (*final.pending, *final.conflicts)})
        raise ApplyError(
            f"apply ran {len(steps)} step(s) but the account still differs: {', '.join(left)}",
            "run 'costcompare provision plan' to see what is left, then apply again",
        )
    return ApplyResult(steps=tuple(steps), final=final)


def execute(ctx: AwsContext, plan: Plan, progress: Progress = lambda _: None) -> list[str]:
    """Run each pending change's call; placeholders are filled from earlier results."""
    import botocore.exceptions

    if plan.conflicts:
        first = plan.conflicts[0]
        raise ApplyError(
            f"{first.resource}: {first.summary}", "resolve the conflict; nothing was changed"
        )
    pending = plan.pending
    values: dict[str, Any] = {}
    done: list[str] = []
    for number, change in enumerate(pending, start=1):
        call = change.call
        assert call is not None
        label = f"{change.resource}: {change.summary}"
        params = fill(call.params, values)
        try:
            response = _invoke(ctx, call, params)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            already = ", ".join(done) if done else "nothing"
            raise ApplyError(
                f"step {number}/{len(pending)} failed — {label} ({call.name}): "
                f"{error_text(exc)}; already done: {already}",
                "fix the cause and run apply again: it continues from here without duplicates",
            ) from None
        if call.produces:
            values[call.produces] = dig(response, call.result_path)
        done.append(call.name)
        progress(f"[{number}/{len(pending)}] {label} ({call.name}) done")
    return done


def _invoke(ctx: AwsContext, call: Call, params: Mapping[str, Any]) -> Any:
    """The single boto3 call of a change; a re-sent identical document is not an error."""
    client = ctx.client(call.service)
    try:
        return getattr(client, call.operation)(**params)
    except Exception as exc:
        if call.operation == "update_document" and error_code(exc) == "DuplicateDocumentContent":
            latest = client.describe_document(Name=DOCUMENT_NAME)["Document"]["LatestVersion"]
            return {"DocumentDescription": {"DocumentVersion": latest}}
        raise


def fill(value: Any, values: Mapping[str, Any]) -> Any:
    """Replace every placeholder (also inside JSON strings) by the value a step produced."""
    if isinstance(value, str):
        for placeholder, actual in values.items():
            value = value.replace(placeholder, str(actual))
        return value
    if isinstance(value, Mapping):
        return {k: fill(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [fill(v, values) for v in value]
    return value


def dig(response: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        response = response[part]
    return response
