"""KMS keys for the stores: read, diff, check, teardown.

A managed key is found by its alias, else by the ``costcompare:alias`` tag it is created with
(its alias step may have failed). Every other enabled key carrying that tag is a stray — left
by a lost CreateKey response or a concurrent apply — and is scheduled for deletion unless a
store is encrypted with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from provision import policies
from provision.aws import AwsContext, error_code
from provision.changes import CONFLICT, CREATE, REMOVE, UPDATE, Call, Change, FieldChange
from provision.changes import known_after_apply as _placeholder
from provision.errors import PlanError
from provision.resources import scanner_notes
from provision.resources.base import (
    ALIAS_TAG,
    ERROR,
    NOT_FOUND,
    WARNING,
    Finding,
    try_read,
)
from provision.spec import MANAGED_TAG, KeySpec, ProvisionSpec

DELETION_DAYS = 30
_GONE = ("PendingDeletion", "PendingReplicaDeletion")


@dataclass(frozen=True)
class KeyState:
    arn: str
    key_id: str
    alias: str | None  # the tool's alias when it points here
    policy: Mapping[str, Any]
    rotation_enabled: bool
    tags: Mapping[str, str]
    state: str


def key_placeholder(purpose: str) -> str:
    return _placeholder(f"kms-key.{purpose}.arn")


def resource_name(key: KeySpec) -> str:
    return f"kms key {key.alias}" if key.managed else f"kms key {key.existing_arn}"


# -- read ----------------------------------------------------------------------------------------
def tagged_keys(ctx: AwsContext) -> list[KeyState]:
    """Every key in the region carrying the tool's alias tag and not already being deleted."""
    kms = ctx.client("kms")
    found = []
    for page in kms.get_paginator("list_keys").paginate():
        for entry in page["Keys"]:
            tags = _kms_tags(kms, entry["KeyId"])
            if ALIAS_TAG in tags:
                state = read_key(ctx, entry["KeyId"], tags=tags)
                if state is not None and state.state not in _GONE:
                    found.append(state)
    return found


def alias_targets(ctx: AwsContext) -> dict[str, str]:
    """The tool's aliases → the key id each points to."""
    targets = {}
    for page in ctx.client("kms").get_paginator("list_aliases").paginate():
        for entry in page["Aliases"]:
            if entry["AliasName"].startswith("alias/costcompare/") and entry.get("TargetKeyId"):
                targets[entry["AliasName"]] = entry["TargetKeyId"]
    return targets


def find_managed_key(
    ctx: AwsContext, alias: str, tagged: list[KeyState] | None = None
) -> tuple[KeyState | None, tuple[KeyState, ...]]:
    """(the key behind ``alias`` — else the first tagged with it —, the strays tagged with it)."""
    tagged = tagged_keys(ctx) if tagged is None else tagged
    mine = [k for k in tagged if k.tags.get(ALIAS_TAG) == alias]
    target = alias_targets(ctx).get(alias)
    chosen = None
    if target is not None:
        chosen = next((k for k in mine if k.key_id == target), None)
        chosen = chosen or read_key(ctx, target)
    elif mine:
        chosen = next((k for k in mine if k.state == "Enabled"), mine[0])
    if chosen is not None and target is not None:
        chosen = _with_alias(chosen, alias)
    strays = tuple(k for k in mine if chosen is None or k.key_id != chosen.key_id)
    return chosen, strays


def _with_alias(key: KeyState, alias: str) -> KeyState:
    return KeyState(
        key.arn, key.key_id, alias, key.policy, key.rotation_enabled, key.tags, key.state
    )


def read_key(
    ctx: AwsContext,
    key_id: str | None,
    alias: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> KeyState | None:
    if not key_id:
        return None
    kms = ctx.client("kms")
    meta = try_read(lambda: kms.describe_key(KeyId=key_id)["KeyMetadata"])
    if meta is None:
        return None
    arn = meta["Arn"]
    policy = try_read(
        lambda: json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
    )
    rotation = try_read(lambda: kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"])
    return KeyState(
        arn=arn,
        key_id=meta["KeyId"],
        alias=alias,
        policy=policy or {},
        rotation_enabled=bool(rotation),
        tags=dict(tags) if tags is not None else _kms_tags(kms, arn),
        state=meta.get("KeyState", "Enabled"),
    )


def _kms_tags(kms: Any, key_id: str) -> dict[str, str]:
    try:
        return {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
    except Exception as exc:
        if error_code(exc) in ("AccessDeniedException", *NOT_FOUND):
            return {}  # AWS managed keys refuse tag reads in real accounts
        raise


# -- diff ----------------------------------------------------------------------------------------
def diff(
    spec: ProvisionSpec,
    account: str,
    keys: Mapping[str, KeyState | None],
    strays: Iterable[KeyState],
    in_use: Iterable[str],
    org_id: str | None = None,
) -> tuple[list[Change], dict[str, str]]:
    """(changes, purpose → key ARN or placeholder) for every key the spec uses."""
    changes: list[Change] = []
    arns: dict[str, str] = {}
    for key in spec.keys:
        state = keys.get(key.purpose)
        group = spec.log_group.name if key.purpose == "cloudwatch" and spec.log_group else None
        wanted = wanted_policy(spec, account, key, org_id)
        if not key.managed:
            changes += _existing_key(key, state, group, wanted, spec.region)
            arns[key.purpose] = state.arn if state else ""
        elif state is None:
            arns[key.purpose] = key_placeholder(key.purpose)
            changes += _new_key(key, wanted)
        else:
            arns[key.purpose] = state.arn
            changes += _managed_key(key, state, wanted)
    used = set(in_use)
    for stray in strays:
        if stray.arn not in used and stray.key_id not in used:
            changes.append(_schedule_deletion(stray, "stray key (interrupted or concurrent apply)"))
    return changes, arns


def wanted_policy(
    spec: ProvisionSpec, account: str, key: KeySpec, org_id: str | None
) -> dict[str, Any]:
    """The key policy: account root, the logs principal for the log group's key, and for a
    central bucket's key the organization's uploads through S3."""
    group = spec.log_group.name if key.purpose == "cloudwatch" and spec.log_group else None
    wanted = policies.key_policy(spec.region, account, group)
    if key.purpose == "s3" and spec.central is not None and org_id and spec.bucket:
        grant = policies.org_key_statement(spec.region, spec.bucket.name, org_id)
        wanted["Statement"].append(grant)
    return wanted


def _existing_key(key: KeySpec, state, group, wanted, region) -> list[Change]:
    if state is None:
        raise PlanError(
            f"KMS key {key.existing_arn} not found in {region}",
            "check the ARN, or use 'create' to let the tool make one",
        )
    if group is None and not policies.has_org_statements(wanted):
        return []
    merged = policies.merge_owned_statements(state.policy, wanted)
    return _put_key_policy(resource_name(key), state.arn, state.policy, merged)


def _new_key(key: KeySpec, wanted: Mapping[str, Any]) -> list[Change]:
    resource, placeholder = resource_name(key), key_placeholder(key.purpose)
    params = {
        "Description": f"costcompare: Session Manager logs ({key.purpose})",
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "Policy": json.dumps(wanted),
        "Tags": [
            {"TagKey": MANAGED_TAG[0], "TagValue": MANAGED_TAG[1]},
            {"TagKey": ALIAS_TAG, "TagValue": key.alias},
        ],
    }
    return [
        Change(
            resource,
            CREATE,
            "create a symmetric key with the least-privilege key policy",
            (FieldChange("policy", None, dict(wanted)),),
            Call("kms", "create_key", params, placeholder, ("KeyMetadata", "Arn")),
        ),
        _alias_change(key, placeholder),
        _rotation_change(resource, placeholder),
    ]


def _managed_key(key: KeySpec, state: KeyState, wanted) -> list[Change]:
    resource = resource_name(key)
    if state.state != "Enabled":
        summary = f"key {state.arn} is {state.state}; the tool will not re-enable it"
        return [Change(resource, CONFLICT, summary)]
    changes = [] if state.alias is not None else [_alias_change(key, state.arn)]
    merged = policies.merge_owned_statements(state.policy, wanted)
    changes += _put_key_policy(resource, state.arn, state.policy, merged)
    if state.tags.get(MANAGED_TAG[0]) != MANAGED_TAG[1]:
        changes.append(
            Change(
                resource,
                UPDATE,
                "tag the key as managed by costcompare",
                (FieldChange("tags", dict(state.tags), {MANAGED_TAG[0]: MANAGED_TAG[1]}),),
                Call(
                    "kms",
                    "tag_resource",
                    {
                        "KeyId": state.arn,
                        "Tags": [{"TagKey": MANAGED_TAG[0], "TagValue": MANAGED_TAG[1]}],
                    },
                ),
            )
        )
    if not state.rotation_enabled:
        changes.append(_rotation_change(resource, state.arn))
    return changes


def _alias_change(key: KeySpec, target: str) -> Change:
    return Change(
        resource_name(key),
        CREATE,
        "name the key",
        (FieldChange("alias", None, key.alias),),
        Call("kms", "create_alias", {"AliasName": key.alias, "TargetKeyId": target}),
    )


def _rotation_change(resource: str, key: str) -> Change:
    return Change(
        resource,
        UPDATE,
        "enable yearly rotation",
        (FieldChange("rotation", False, True),),
        Call("kms", "enable_key_rotation", {"KeyId": key}),
    )


def _put_key_policy(resource: str, arn: str, old, new) -> list[Change]:
    if policies.canonical(old) == policies.canonical(new):
        return []
    return [
        Change(
            resource,
            UPDATE,
            "set the key policy (account root + the service grants this setup needs)",
            (FieldChange("policy", dict(old), dict(new)),),
            Call(
                "kms",
                "put_key_policy",
                {"KeyId": arn, "PolicyName": "default", "Policy": json.dumps(new)},
            ),
        )
    ]


def _schedule_deletion(key: KeyState, why: str) -> Change:
    # The bare key id: moto 5.2 looks ARNs up as ids here (AWS accepts both).
    return Change(
        f"kms key {key.arn}" if key.alias is None else f"kms key {key.alias}",
        REMOVE,
        f"{why}: schedule deletion in {DELETION_DAYS} days",
        (FieldChange("state", key.state, "PendingDeletion"),),
        Call(
            "kms",
            "schedule_key_deletion",
            {"KeyId": key.key_id, "PendingWindowInDays": DELETION_DAYS},
            ok_codes=("KMSInvalidStateException",),
        ),
    )


# -- teardown ------------------------------------------------------------------------------------
def teardown(key: KeyState, still_encrypts: str | None) -> tuple[list[Change], list[str]]:
    """Remove the alias and schedule deletion — unless a store left behind still uses the key."""
    name = key.alias or key.tags.get(ALIAS_TAG) or key.arn
    if still_encrypts:
        return [], [f"kms key {name}: still encrypts {still_encrypts}"]
    changes = []
    if key.alias:
        changes.append(
            Change(
                f"kms key {key.alias}",
                REMOVE,
                "remove the alias",
                (FieldChange("alias", key.alias, None),),
                Call(
                    "kms", "delete_alias", {"AliasName": key.alias}, ok_codes=("NotFoundException",)
                ),
            )
        )
    changes.append(_schedule_deletion(key, "the tool's key, no longer used"))
    return changes, []


# -- check ---------------------------------------------------------------------------------------
def rotation_finding(key: KeyState) -> Finding:
    return Finding(
        WARNING,
        "key-rotation-off",
        f"kms key {key.arn}",
        "automatic key rotation is off (Security Hub KMS.4)",
        f"aws kms enable-key-rotation --key-id {key.key_id}",
    )


def check_strays(tagged: Iterable[KeyState], targets: Mapping[str, str], in_use: set[str]):
    """Enabled tagged keys no alias points to and no store uses: left by a lost response."""
    pointed = set(targets.values())
    return [
        Finding(
            WARNING,
            "stray-key",
            f"kms key {k.arn}",
            f"a key tagged {ALIAS_TAG}={k.tags.get(ALIAS_TAG)} that nothing uses "
            "(left by an interrupted or concurrent apply); it costs $1/month",
            "run costcompare provision apply (it schedules strays for deletion)",
        )
        for k in tagged
        if k.key_id not in pointed and k.arn not in in_use and k.key_id not in in_use
    ]


def check_log_group_key(key: KeyState | None, arn: str, region: str, group_arn: str):
    """The log group's key: exists, enabled, lets the logs principal in for this group only."""
    resource = f"kms key {arn}"
    if key is None:
        return [
            Finding(
                ERROR,
                "log-group-key-missing",
                resource,
                "the log group's KMS key cannot be found",
                "associate an existing key",
            )
        ]
    out: list[Finding] = []
    if key.state != "Enabled":
        out.append(
            Finding(
                ERROR,
                "log-group-key-disabled",
                resource,
                f"the key is {key.state}: CloudWatch cannot write",
                "enable the key or associate another",
            )
        )
    out += _check_logs_grant(key, resource, region, group_arn)
    if not key.rotation_enabled:
        out.append(rotation_finding(key))
    return out


def _check_logs_grant(key: KeyState, resource: str, region: str, group_arn: str):
    principal = f"logs.{region}.amazonaws.com"
    grants = [
        s
        for s in policies.statements_of(key.policy)
        if s.get("Effect") == "Allow"
        and isinstance(s.get("Principal"), dict)
        and principal in policies.as_list(s["Principal"].get("Service"))
    ]
    if not grants:
        return [
            Finding(
                ERROR,
                "key-policy-no-logs-principal",
                resource,
                f"the key policy does not allow {principal}: CloudWatch Logs cannot use the key",
                "add the logs service principal with the encryption-context condition "
                "(costcompare provision apply does)",
            )
        ]
    contexts = [
        policies.condition_value(s.get("Condition"), "kms:EncryptionContext:aws:logs:arn")
        for s in grants
    ]
    if any(c is None for c in contexts):
        return [
            Finding(
                WARNING,
                "key-policy-no-encryption-context",
                resource,
                "the logs principal is not limited by kms:EncryptionContext:aws:logs:arn: "
                "any log group in the region may use the key",
                f"add Condition ArnEquals kms:EncryptionContext:aws:logs:arn = {group_arn}",
            )
        ]
    if not any(policies.arn_matches(group_arn, c) for c in contexts if c is not None):
        return [
            Finding(
                ERROR,
                "key-policy-wrong-log-group",
                resource,
                "the encryption-context condition does not name this log group "
                f"({group_arn}, without ':*')",
                "fix the ARN in the kms:EncryptionContext:aws:logs:arn condition",
            )
        ]
    return []


# -- CloudFormation ------------------------------------------------------------------------------
def logical_id(purpose: str) -> str:
    return f"SessionLogsKey{purpose.capitalize()}"


def render_cfn(spec: ProvisionSpec, account: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template resources, purpose → key ARN or its Fn::GetAtt) for every key the spec uses.

    The same key policy and tags ``_new_key`` gives a key apply creates; an existing key stays
    outside the template (its policy is the account owner's to merge, as apply does).
    """
    resources: dict[str, Any] = {}
    arns: dict[str, Any] = {}
    org_id = spec.central.org_id if spec.central else None
    for key in spec.keys:
        if not key.managed:
            arns[key.purpose] = key.existing_arn
            continue
        name = logical_id(key.purpose)
        policy = wanted_policy(spec, account, key, org_id)
        resources[name] = {
            "Type": "AWS::KMS::Key",
            **scanner_notes.key_metadata(policy),
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"costcompare: Session Manager logs ({key.purpose})",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "EnableKeyRotation": True,
                "KeyPolicy": policy,
                "Tags": [
                    {"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]},
                    {"Key": ALIAS_TAG, "Value": key.alias},
                ],
            },
        }
        resources[f"{name}Alias"] = {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": key.alias, "TargetKeyId": {"Ref": name}},
        }
        arns[key.purpose] = {"Fn::GetAtt": [name, "Arn"]}
    return resources, arns
