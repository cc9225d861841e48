"""The CloudWatch Logs log group that receives the streamed sessions: read, diff, check,
teardown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision import policies
from provision.aws import AwsContext
from provision.changes import CONFLICT, CREATE, REMOVE, UPDATE, Call, Change, FieldChange
from provision.resources import scanner_notes
from provision.resources.base import ERROR, WARNING, Finding, key_value_tags, true
from provision.spec import MANAGED_TAG, ProvisionSpec

MIN_RETENTION_DAYS = 365


@dataclass(frozen=True)
class LogGroupState:
    name: str
    arn: str  # without the trailing ":*"
    kms_key_arn: str | None
    retention_days: int | None
    log_class: str | None  # None when the endpoint does not report it (moto)
    tags: Mapping[str, str]
    stored_bytes: int
    has_streams: bool

    @property
    def holds_logs(self) -> bool:
        return self.stored_bytes > 0 or self.has_streams


def resource_name(name: str) -> str:
    return f"log group {name}"


def read(ctx: AwsContext, name: str) -> LogGroupState | None:
    logs = ctx.client("logs")
    found = None
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        found = next((g for g in page["logGroups"] if g["logGroupName"] == name), None)
        if found:
            break
    if found is None:
        return None
    arn = found.get("logGroupArn") or found["arn"].removesuffix(":*")
    tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
    streams = logs.describe_log_streams(logGroupName=name, limit=1).get("logStreams", [])
    return LogGroupState(
        name=name,
        arn=arn,
        kms_key_arn=found.get("kmsKeyId"),
        retention_days=found.get("retentionInDays"),
        log_class=found.get("logGroupClass"),
        tags=dict(tags),
        stored_bytes=int(found.get("storedBytes", 0) or 0),
        has_streams=bool(streams),
    )


# -- diff ----------------------------------------------------------------------------------------
def diff(spec: ProvisionSpec, state: LogGroupState | None, key_arn: str | None) -> list[Change]:
    want = spec.log_group
    assert want is not None
    resource = resource_name(want.name)
    key_arn = key_arn if want.key else None
    changes = [_create(want, key_arn)] if state is None else _update(want, state, key_arn)
    old = state.retention_days if state else None
    if want.retention_days != old and not (state is None and want.retention_days is None):
        if want.retention_days is None:  # only --retain-forever gets here (spec refuses 0)
            call = Call("logs", "delete_retention_policy", {"logGroupName": want.name})
        else:
            params = {"logGroupName": want.name, "retentionInDays": want.retention_days}
            call = Call("logs", "put_retention_policy", params)
        field = FieldChange("retention_days", old, want.retention_days)
        changes.append(Change(resource, UPDATE, "set retention", (field,), call))
    return changes


def _create(want, key_arn: str | None) -> Change:
    params: dict[str, Any] = {
        "logGroupName": want.name,
        "logGroupClass": want.log_class,
        "tags": {MANAGED_TAG[0]: MANAGED_TAG[1]},
    }
    if key_arn:
        params["kmsKeyId"] = key_arn
    return Change(
        resource_name(want.name),
        CREATE,
        "create the log group" + (" encrypted with the key" if key_arn else ""),
        (FieldChange("kms_key", None, key_arn), FieldChange("log_class", None, want.log_class)),
        Call("logs", "create_log_group", params),
    )


def _update(want, state: LogGroupState, key_arn: str | None) -> list[Change]:
    resource = resource_name(want.name)
    changes = []
    if state.log_class is not None and state.log_class != want.log_class:
        summary = (
            f"log class is {state.log_class}, wanted {want.log_class}; AWS cannot change "
            "it — pick another --log-group or --log-class"
        )
        changes.append(Change(resource, CONFLICT, summary))
    if key_arn and state.kms_key_arn != key_arn:
        changes.append(
            Change(
                resource,
                UPDATE,
                "encrypt the log group with the key (covers data ingested from now on)",
                (FieldChange("kms_key", state.kms_key_arn, key_arn),),
                Call("logs", "associate_kms_key", {"logGroupName": want.name, "kmsKeyId": key_arn}),
            )
        )
    if state.tags.get(MANAGED_TAG[0]) != MANAGED_TAG[1]:
        changes.append(
            Change(
                resource,
                UPDATE,
                "tag the log group as managed by costcompare",
                (FieldChange("tags", dict(state.tags), {MANAGED_TAG[0]: MANAGED_TAG[1]}),),
                Call(
                    "logs",
                    "tag_resource",
                    {"resourceArn": state.arn, "tags": {MANAGED_TAG[0]: MANAGED_TAG[1]}},
                ),
            )
        )
    return changes


# -- teardown ------------------------------------------------------------------------------------
def teardown(state: LogGroupState, force: bool) -> tuple[list[Change], str | None]:
    """(changes, refusal): a group holding log streams is kept unless ``force``."""
    resource = resource_name(state.name)
    # Not storedBytes alone: AWS updates it with a lag (and moto not at all).
    if state.holds_logs and not force:
        return [], f"{resource}: holds session log streams"
    call = Call(
        "logs",
        "delete_log_group",
        {"logGroupName": state.name},
        ok_codes=("ResourceNotFoundException",),
    )
    field = FieldChange("log_group", state.name, None)
    return [Change(resource, REMOVE, "delete it", (field,), call)], None


# -- check ---------------------------------------------------------------------------------------
def check(state: LogGroupState, inputs: Mapping[str, Any], doc_resource: str) -> list[Finding]:
    """Encryption matching the document's flag, and retention (CloudWatch.16, CKV_AWS_66/338)."""
    resource = resource_name(state.name)
    out: list[Finding] = []
    encrypted_flag = true(inputs.get("cloudWatchEncryptionEnabled"))
    if encrypted_flag and not state.kms_key_arn:
        out.append(
            Finding(
                ERROR,
                "log-group-not-encrypted",
                resource,
                "cloudWatchEncryptionEnabled is true but the log group has no KMS key: "
                "sessions fail to start",
                "associate a KMS key (costcompare provision apply --destination cloudwatch)",
            )
        )
    if not encrypted_flag:
        out.append(
            Finding(
                WARNING,
                "cloudwatch-encryption-off",
                doc_resource,
                "cloudWatchEncryptionEnabled is false (checkov CKV_AWS_113)",
                "encrypt the log group with a KMS key and set the flag",
            )
        )
    if state.retention_days is None:
        out.append(
            Finding(
                WARNING,
                "retention-not-set",
                resource,
                "no retention set: logs are kept and billed forever (checkov CKV_AWS_66)",
                "put-retention-policy --retention-in-days 365 (or longer)",
            )
        )
    elif state.retention_days < MIN_RETENTION_DAYS:
        out.append(
            Finding(
                WARNING,
                "retention-under-a-year",
                resource,
                f"retention is {state.retention_days} days, under {MIN_RETENTION_DAYS} days "
                "(Security Hub CloudWatch.16, checkov CKV_AWS_338)",
                "put-retention-policy --retention-in-days 365 (or longer)",
            )
        )
    return out


def group_arn(region: str, account: str, name: str) -> str:
    return policies.log_group_arn(region, account, name)


# -- CloudFormation ------------------------------------------------------------------------------
def render_cfn(spec: ProvisionSpec, key_arn: Any) -> dict[str, Any]:
    """The log group as ``_create`` plus the retention step make it; kept when the stack goes."""
    want = spec.log_group
    assert want is not None
    properties: dict[str, Any] = {
        "LogGroupName": want.name,
        "LogGroupClass": want.log_class,
        "Tags": key_value_tags(),
    }
    if want.retention_days is not None:
        properties["RetentionInDays"] = want.retention_days
    if want.key is not None and key_arn:
        properties["KmsKeyId"] = key_arn
    resource = {
        "Type": "AWS::Logs::LogGroup",
        **scanner_notes.log_group_metadata(spec),
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }
    return {"SessionLogGroup": resource}
