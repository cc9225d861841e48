"""``verify --preset``: the log group and bucket in effect, judged against a compliance preset.

Reads nothing itself: verify has already read the stores the preferences document points to.
Each finding names the clause it fails, so an auditor sees why it matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from costcompare.presets import IMMEDIATE_CLASSES, Preset, get_preset
from provision.errors import SpecError
from provision.resources import bucket as bucket_resource
from provision.resources import log_group as log_group_resource
from provision.resources.base import ERROR, Finding
from provision.spec import DEFAULT_LOG_GROUP


def check(
    name: str,
    group: log_group_resource.LogGroupState | None,
    bucket: bucket_resource.BucketState | None,
    destination: str | None,
) -> list[Finding]:
    """Findings for every store that keeps logs shorter, archives them sooner or locks them
    less than the preset asks."""
    preset = get_preset(name, error=SpecError)
    design = destination or ("both" if group and bucket else "s3" if bucket else "cloudwatch")
    found = []
    if design not in preset.destinations:
        found.append(
            _finding(
                preset,
                "preset-destination",
                "session logging",
                f"logs go to {design}, which cannot meet the preset",
                f"send them to {' or '.join(preset.destinations)}",
            )
        )
    fix = apply_command(preset, design, group, bucket)
    if group is not None:
        found += _log_group(preset, group, design, fix)
    if bucket is not None:
        found += _bucket(preset, bucket, fix)
    return found


def apply_command(
    preset: Preset,
    design: str,
    group: log_group_resource.LogGroupState | None,
    bucket: bucket_resource.BucketState | None,
) -> str:
    """The apply that brings these stores in line, runnable as printed: without -d apply
    refuses, and without --bucket it would build a new default-named bucket instead."""
    words = ["costcompare provision apply", f"-d {design}"]
    if group is not None and group.name != DEFAULT_LOG_GROUP and design != "s3":
        words.append(f"--log-group {group.name}")
    if bucket is not None and design != "cloudwatch":
        words.append(f"--bucket {bucket.name}")
    return " ".join([*words, f"--preset {preset.name}"])


def _finding(preset: Preset, check: str, resource: str, problem: str, fix: str) -> Finding:
    return Finding(ERROR, check, resource, f"{problem} ({preset.name}: {preset.title})", fix)


def _log_group(
    preset: Preset, group: log_group_resource.LogGroupState, design: str, fix: str
) -> list[Finding]:
    short = preset.both_cloudwatch_retention_days if design == "both" else None
    need = short if short is not None else preset.retention_days
    if need is None or group.retention_days is None or group.retention_days >= need:
        return []
    return [
        _finding(
            preset,
            "preset-retention",
            log_group_resource.resource_name(group.name),
            f"retention is {group.retention_days} days, the preset needs {need}",
            f"{fix} (or put-retention-policy)",
        )
    ]


def _bucket(preset: Preset, state: bucket_resource.BucketState, fix: str) -> list[Finding]:
    resource = bucket_resource.resource_name(state.name)
    rules = [r for r in state.lifecycle_rules if r.get("Status") == "Enabled"]
    found = []
    expiry = _shortest_expiration(rules)
    if preset.retention_days is not None and expiry is not None and expiry < preset.retention_days:
        found.append(
            _finding(
                preset,
                "preset-expiration",
                resource,
                f"lifecycle expires transcripts after {expiry} days, the preset keeps them "
                f"{preset.retention_days}",
                fix,
            )
        )
    early = _early_archive(rules, preset.immediately_available_days)
    if early:
        found.append(
            _finding(
                preset,
                "preset-archived-early",
                resource,
                f"lifecycle moves transcripts to {early} before day "
                f"{preset.immediately_available_days}, which must stay immediately available",
                fix,
            )
        )
    if preset.object_lock:
        found += _lock(preset, state, resource, expiry, fix)
    return found


def _lock(
    preset: Preset, state: bucket_resource.BucketState, resource: str, expiry: int | None, fix: str
) -> list[Finding]:
    need = preset.retention_days or expiry
    days = state.object_lock_days or 0
    if state.object_lock_mode == "COMPLIANCE" and (need is None or days >= need):
        return []
    have = (
        f"Object Lock {state.object_lock_mode} for {days} days"
        if state.object_lock_mode
        else "no Object Lock default retention"
    )
    return [
        _finding(
            preset,
            "preset-object-lock",
            resource,
            f"the bucket has {have}; the preset needs COMPLIANCE mode"
            + (f" for {need} days" if need else ""),
            f"{fix} (versioning, then Object Lock, "
            "for good; objects already there stay unlocked) or a new bucket",
        )
    ]


def _shortest_expiration(rules: list[Mapping[str, Any]]) -> int | None:
    days = [r["Expiration"]["Days"] for r in rules if (r.get("Expiration") or {}).get("Days")]
    return min(days) if days else None


def _early_archive(rules: list[Mapping[str, Any]], immediate_days: int | None) -> str | None:
    if immediate_days is None:
        return None
    for rule in rules:
        for step in rule.get("Transitions") or ():
            cls, days = step.get("StorageClass"), step.get("Days")
            if cls not in IMMEDIATE_CLASSES and days is not None and days < immediate_days:
                return f"{cls} after {days} days"
    return None
