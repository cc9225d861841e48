"""The bucket's lifecycle rule (transitions, expiration), scoped to the session-log prefix.

Part of the bucket resource; its own module because rules are merged with the user's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from provision.changes import UPDATE, Call, Change, FieldChange
from provision.spec import BucketSpec

RULE_ID = "costcompare-session-logs"
NONCURRENT_DAYS = 1


def rule(want: BucketSpec) -> dict[str, Any]:
    """The tool's own lifecycle rule, scoped to the session-log prefix."""
    found: dict[str, Any] = {
        "ID": RULE_ID,
        "Filter": {"Prefix": f"{want.key_prefix}/" if want.key_prefix else ""},
        "Status": "Enabled",
    }
    if want.transitions:
        found["Transitions"] = [
            {"Days": t.after_days, "StorageClass": t.storage_class} for t in want.transitions
        ]
    if want.expiration_days is not None:
        found["Expiration"] = {"Days": want.expiration_days}
        if want.object_lock_days:
            # Object Lock means versioning: expiring a current version only hides it behind a
            # delete marker. Without this the expired transcripts are kept (and billed) forever;
            # with it, S3 deletes them a day later, once their lock has run out.
            found["NoncurrentVersionExpiration"] = {"NoncurrentDays": NONCURRENT_DAYS}
    return found


def normal(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the tool sets, so echoed extras (empty lists, defaults) do not look like drift."""
    return {
        "ID": rule.get("ID"),
        "Status": rule.get("Status"),
        "Prefix": (rule.get("Filter") or {}).get("Prefix", rule.get("Prefix", "")),
        "Transitions": [
            {"Days": t.get("Days"), "StorageClass": t.get("StorageClass")}
            for t in rule.get("Transitions") or []
        ],
        "Expiration": (rule.get("Expiration") or {}).get("Days"),
        "Noncurrent": (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"),
    }


def diff(want: BucketSpec, existing: Iterable[Mapping[str, Any]]) -> list[Change]:
    if not want.lifecycle:
        return []
    wanted = rule(want)
    existing = list(existing)
    ours = next((r for r in existing if r.get("ID") == RULE_ID), None)
    if ours is not None and normal(ours) == normal(wanted):
        return []
    others = [r for r in existing if r.get("ID") != RULE_ID]
    return [
        Change(
            f"s3 bucket {want.name}",
            UPDATE,
            "lifecycle: transitions and expiration by age",
            (FieldChange("lifecycle_rule", normal(ours) if ours else None, wanted),),
            Call(
                "s3",
                "put_bucket_lifecycle_configuration",
                {"Bucket": want.name, "LifecycleConfiguration": {"Rules": [*others, wanted]}},
            ),
        )
    ]


def render_cfn(want: BucketSpec) -> dict[str, Any]:
    """``rule(want)`` in the shape AWS::S3::Bucket's LifecycleConfiguration takes."""
    api = rule(want)
    found: dict[str, Any] = {"Id": api["ID"], "Status": api["Status"]}
    found["Prefix"] = api["Filter"]["Prefix"]
    if "Transitions" in api:
        found["Transitions"] = [
            {"TransitionInDays": t["Days"], "StorageClass": t["StorageClass"]}
            for t in api["Transitions"]
        ]
    if "Expiration" in api:
        found["ExpirationInDays"] = api["Expiration"]["Days"]
    if "NoncurrentVersionExpiration" in api:
        found["NoncurrentVersionExpiration"] = api["NoncurrentVersionExpiration"]
    return found
