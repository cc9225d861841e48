"""The one change model: what plan prints, apply executes (for apply and destroy alike) and
``plan --out`` saves.

A ``Change`` is one boto3 call on one resource (or, with no call, a note such as "this S3
target is switched off in the document"). Values only known once an earlier call ran (a new
key's ARN, a new security group's id) appear as ``(known after apply: …)`` placeholders that
``execute`` fills in from the earlier responses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from provision.aws import AwsContext, error_code, error_text
from provision.errors import ProvisionError
from provision.spec import MANAGED_TAG

CREATE, UPDATE, REMOVE, KEEP, CONFLICT = "create", "update", "remove", "keep", "conflict"
WRITE_ACTIONS = (CREATE, UPDATE, REMOVE)
SYMBOL = {CREATE: "+", UPDATE: "~", REMOVE: "-", KEEP: "=", CONFLICT: "!"}

Progress = Callable[[str], None]


def known_after_apply(name: str) -> str:
    """A placeholder apply replaces with the value an earlier step returned."""
    return f"(known after apply: {name})"


def is_managed(tags: Mapping[str, str] | None) -> bool:
    return (tags or {}).get(MANAGED_TAG[0]) == MANAGED_TAG[1]


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Call:
    """One boto3 call; ``produces`` names the placeholder its result at ``result_path`` fills.

    ``ok_codes`` are AWS error codes that mean "already so" for this call (a re-run after a
    lost response must not fail on what the lost call already did).
    """

    service: str
    operation: str
    params: Mapping[str, Any]
    produces: str | None = None
    result_path: tuple[str, ...] = ()
    ok_codes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "params": self.params,
            "produces": self.produces,
            "result_path": list(self.result_path),
            "ok_codes": list(self.ok_codes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Call:
        return cls(
            service=data["service"],
            operation=data["operation"],
            params=data["params"],
            produces=data.get("produces"),
            result_path=tuple(data.get("result_path") or ()),
            ok_codes=tuple(data.get("ok_codes") or ()),
        )


@dataclass(frozen=True)
class Change:
    resource: str
    action: str  # create | update | remove | keep | conflict
    summary: str = ""
    fields: tuple[FieldChange, ...] = ()
    call: Call | None = None

    @property
    def pending(self) -> bool:
        return self.action in WRITE_ACTIONS and self.call is not None

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resource": self.resource,
            "action": self.action,
            "summary": self.summary,
            "call": self.call.name if self.call else None,
            "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in self.fields],
        }
        if full and self.call is not None:
            data["request"] = self.call.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        request = data.get("request")
        return cls(
            resource=data["resource"],
            action=data["action"],
            summary=data.get("summary", ""),
            fields=tuple(FieldChange(f["field"], f["old"], f["new"]) for f in data["fields"]),
            call=Call.from_dict(request) if request else None,
        )


@dataclass(frozen=True)
class Plan:
    region: str
    account_id: str
    destination: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.pending)

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == CONFLICT)

    @property
    def empty(self) -> bool:
        return not self.pending and not self.conflicts

    def resources(self) -> dict[str, str]:
        """Each resource once, in plan order, with its overall action (+ wins over ~ etc.)."""
        rank = (CONFLICT, CREATE, REMOVE, UPDATE, KEEP)
        actions: dict[str, str] = {}
        for change in self.changes:
            now = actions.get(change.resource, KEEP)
            actions[change.resource] = min(now, change.action, key=rank.index)
        return actions

    def summary(self) -> dict[str, int]:
        """Resources (not calls) to add, change, remove, keep; conflicts."""
        counts = {"add": 0, "change": 0, "remove": 0, "keep": 0, "conflict": 0}
        names = {CREATE: "add", UPDATE: "change", REMOVE: "remove", KEEP: "keep"}
        for action in self.resources().values():
            counts[names.get(action, "conflict")] += 1
        return counts

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_id": self.account_id,
            "destination": self.destination,
            "empty": self.empty,
            "summary": self.summary(),
            "changes": [c.to_dict(full) for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            region=data["region"],
            account_id=data["account_id"],
            destination=data["destination"],
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
        )


def execute(
    ctx: AwsContext,
    changes: tuple[Change, ...],
    error: type[ProvisionError],
    verb: str,
    progress: Progress = lambda _: None,
) -> list[str]:
    """Run each pending change's call in order; placeholders are filled from earlier results.

    A failing step stops everything with one line naming the step and what was already done.
    """
    import botocore.exceptions

    pending = [c for c in changes if c.pending]
    values: dict[str, Any] = {}
    done: list[str] = []
    for number, change in enumerate(pending, start=1):
        call = change.call
        assert call is not None
        label = f"{change.resource}: {change.summary}"
        try:
            response = invoke(ctx, call, fill(call.params, values))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            already = ", ".join(done) if done else "nothing"
            raise error(
                f"step {number}/{len(pending)} failed — {label} ({call.name}): "
                f"{error_text(exc)}; already done: {already}",
                f"fix the cause and run {verb} again: it continues from here without duplicates",
            ) from None
        if call.produces:
            values[call.produces] = dig(response, call.result_path)
        done.append(call.name)
        progress(f"[{number}/{len(pending)}] {label} ({call.name}) done")
    return done


def invoke(ctx: AwsContext, call: Call, params: Mapping[str, Any]) -> Any:
    """The single boto3 call of a change; an error code in ``ok_codes`` means "already so"."""
    client = ctx.client(call.service)
    try:
        return getattr(client, call.operation)(**params)
    except Exception as exc:
        if error_code(exc) in call.ok_codes:
            return {}
        if call.operation == "update_document" and error_code(exc) == "DuplicateDocumentContent":
            latest = client.describe_document(Name=params["Name"])["Document"]["LatestVersion"]
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
