"""Pure diff: desired (spec) vs actual (observe) → an ordered list of changes.

Each change is one boto3 call, in dependency order: keys → log group / bucket → policies →
endpoints → preferences document. Values only known once an earlier step ran (a new key's ARN,
a new security group's id) appear as ``(known after apply: …)`` placeholders that apply fills in.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from provision import policies
from provision.errors import PlanError
from provision.observe import (
    ALIAS_TAG,
    PREVIOUS_VERSION_TAG,
    ActualState,
    EndpointState,
    NetworkState,
)
from provision.spec import (
    DOCUMENT_NAME,
    MANAGED_TAG,
    SECURITY_GROUP_NAME,
    KeySpec,
    ProvisionSpec,
)

LIFECYCLE_RULE_ID = "costcompare-session-logs"
SG_PLACEHOLDER = "security-group.id"
DOC_VERSION_PLACEHOLDER = "document.new-version"
WRITE_ACTIONS = ("create", "update")

BASE_DOCUMENT: dict[str, Any] = {
    "schemaVersion": "1.0",
    "description": "Document to hold regional settings for Session Manager",
    "sessionType": "Standard_Stream",
    "inputs": {
        "s3BucketName": "",
        "s3KeyPrefix": "",
        "s3EncryptionEnabled": True,
        "cloudWatchLogGroupName": "",
        "cloudWatchEncryptionEnabled": True,
        "cloudWatchStreamingEnabled": True,
        "kmsKeyId": "",
        "runAsEnabled": False,
        "runAsDefaultUser": "",
        "idleSessionTimeout": "20",
        "maxSessionDuration": "",
        "shellProfile": {"windows": "", "linux": ""},
    },
}


def known_after_apply(name: str) -> str:
    """A placeholder apply replaces with the value an earlier step returned."""
    return f"(known after apply: {name})"


def key_placeholder(purpose: str) -> str:
    return known_after_apply(f"kms-key.{purpose}.arn")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Call:
    """One boto3 call; ``produces`` names the placeholder its result at ``result_path`` fills."""

    service: str
    operation: str
    params: Mapping[str, Any]
    produces: str | None = None
    result_path: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass(frozen=True)
class Change:
    resource: str
    action: str  # create | update | unchanged | conflict
    summary: str = ""
    fields: tuple[FieldChange, ...] = ()
    call: Call | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "action": self.action,
            "summary": self.summary,
            "call": self.call.name if self.call else None,
            "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in self.fields],
        }


@dataclass(frozen=True)
class Plan:
    region: str
    account_id: str
    destination: str
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action in WRITE_ACTIONS)

    @property
    def conflicts(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action == "conflict")

    @property
    def empty(self) -> bool:
        return not self.pending and not self.conflicts

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "unchanged": 0, "conflict": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_id": self.account_id,
            "destination": self.destination,
            "empty": self.empty,
            "summary": self.summary(),
            "changes": [c.to_dict() for c in self.changes],
        }


def make_plan(spec: ProvisionSpec, actual: ActualState) -> Plan:
    """Every change needed to turn ``actual`` into ``spec``, in the order apply runs them."""
    changes: list[Change] = []
    key_arns = _keys(spec, actual, changes)
    if spec.log_group:
        _log_group(spec, actual, key_arns, changes)
    if spec.bucket:
        _bucket(spec, actual, key_arns, changes)
        _bucket_policy(spec, actual, changes)
    if spec.role_name:
        _role_core(spec, actual, changes)
        _role_policy(spec, actual, key_arns, changes)
    if spec.network:
        _network(spec, actual, changes)
    _document(spec, actual, changes)
    return Plan(
        region=spec.region,
        account_id=actual.account_id,
        destination=spec.destination,
        changes=tuple(_with_unchanged(changes, _resources(spec, actual))),
    )


def _resources(spec: ProvisionSpec, actual: ActualState) -> list[str]:
    """Every resource the spec manages, so untouched ones show as "unchanged"."""
    names = [_key_resource(k) for k in spec.keys]
    if spec.log_group:
        names.append(f"log group {spec.log_group.name}")
    if spec.bucket:
        names += [f"s3 bucket {spec.bucket.name}", f"bucket policy {spec.bucket.name}"]
    if spec.role_name:
        names += [
            f"iam role {spec.role_name}",
            f"iam policy {spec.policy_name} (role {spec.role_name})",
        ]
    if spec.network:
        names.append(f"vpc {spec.network.vpc_id}")
        if actual.network and actual.network.tool_security_group:
            names.append(f"security group {SECURITY_GROUP_NAME}")
        names += [f"vpc endpoint {s}" for s in spec.interface_services()]
        names += [f"vpc endpoint {s}" for s in spec.gateway_services()]
    names.append(f"preferences document {DOCUMENT_NAME}")
    return names


def _with_unchanged(changes: list[Change], resources: list[str]) -> list[Change]:
    """Writes keep their dependency order; resources needing none follow as "unchanged"."""
    touched = {c.resource for c in changes}
    return changes + [Change(name, "unchanged") for name in resources if name not in touched]


def _key_resource(key: KeySpec) -> str:
    return f"kms key {key.alias}" if key.managed else f"kms key {key.existing_arn}"


# -- KMS -----------------------------------------------------------------------------------------
def _keys(spec: ProvisionSpec, actual: ActualState, changes: list[Change]) -> dict[str, str]:
    arns: dict[str, str] = {}
    for key in spec.keys:
        state = actual.keys.get(key.purpose)
        resource = _key_resource(key)
        group = spec.log_group.name if key.purpose == "cloudwatch" and spec.log_group else None
        wanted = policies.key_policy(spec.region, actual.account_id, group)
        if not key.managed:
            if state is None:
                raise PlanError(
                    f"KMS key {key.existing_arn} not found in {spec.region}",
                    "check the ARN, or use 'create' to let the tool make one",
                )
            arns[key.purpose] = state.arn
            if group is not None:
                merged = policies.merge_owned_statements(state.policy, wanted)
                _put_key_policy(resource, state.arn, state.policy, merged, changes)
            continue
        if state is None:
            placeholder = key_placeholder(key.purpose)
            arns[key.purpose] = placeholder
            changes += [
                Change(
                    resource,
                    "create",
                    "create a symmetric key with the least-privilege key policy",
                    (FieldChange("policy", None, wanted),),
                    Call(
                        "kms",
                        "create_key",
                        {
                            "Description": f"costcompare: Session Manager logs ({key.purpose})",
                            "KeyUsage": "ENCRYPT_DECRYPT",
                            "KeySpec": "SYMMETRIC_DEFAULT",
                            "Policy": json.dumps(wanted),
                            "Tags": [
                                {"TagKey": MANAGED_TAG[0], "TagValue": MANAGED_TAG[1]},
                                {"TagKey": ALIAS_TAG, "TagValue": key.alias},
                            ],
                        },
                        produces=placeholder,
                        result_path=("KeyMetadata", "Arn"),
                    ),
                ),
                Change(
                    resource,
                    "create",
                    "name the key",
                    (FieldChange("alias", None, key.alias),),
                    Call(
                        "kms", "create_alias", {"AliasName": key.alias, "TargetKeyId": placeholder}
                    ),
                ),
                Change(
                    resource,
                    "update",
                    "enable yearly rotation",
                    (FieldChange("rotation", False, True),),
                    Call("kms", "enable_key_rotation", {"KeyId": placeholder}),
                ),
            ]
            continue
        arns[key.purpose] = state.arn
        if state.state not in ("Enabled",):
            changes.append(
                Change(
                    resource,
                    "conflict",
                    f"key {state.arn} is {state.state}; the tool will not re-enable it",
                )
            )
            continue
        if state.alias is None:
            changes.append(
                Change(
                    resource,
                    "create",
                    "name the key",
                    (FieldChange("alias", None, key.alias),),
                    Call("kms", "create_alias", {"AliasName": key.alias, "TargetKeyId": state.arn}),
                )
            )
        merged = policies.merge_owned_statements(state.policy, wanted)
        _put_key_policy(resource, state.arn, state.policy, merged, changes)
        if not state.rotation_enabled:
            changes.append(
                Change(
                    resource,
                    "update",
                    "enable yearly rotation",
                    (FieldChange("rotation", False, True),),
                    Call("kms", "enable_key_rotation", {"KeyId": state.arn}),
                )
            )
    return arns


def _put_key_policy(
    resource: str, arn: str, old: Mapping[str, Any], new: Mapping[str, Any], changes: list[Change]
) -> None:
    if policies.canonical(old) == policies.canonical(new):
        return
    changes.append(
        Change(
            resource,
            "update",
            "set the key policy (account root + logs service principal for one log group)",
            (FieldChange("policy", dict(old), dict(new)),),
            Call(
                "kms",
                "put_key_policy",
                {"KeyId": arn, "PolicyName": "default", "Policy": json.dumps(new)},
            ),
        )
    )


# -- CloudWatch Logs -----------------------------------------------------------------------------
def _log_group(
    spec: ProvisionSpec, actual: ActualState, key_arns: Mapping[str, str], changes: list[Change]
) -> None:
    want = spec.log_group
    assert want is not None
    resource = f"log group {want.name}"
    key_arn = key_arns.get("cloudwatch") if want.key else None
    state = actual.log_group
    if state is None:
        params: dict[str, Any] = {
            "logGroupName": want.name,
            "logGroupClass": want.log_class,
            "tags": {MANAGED_TAG[0]: MANAGED_TAG[1]},
        }
        if key_arn:
            params["kmsKeyId"] = key_arn
        changes.append(
            Change(
                resource,
                "create",
                "create the log group" + (" encrypted with the key" if key_arn else ""),
                (
                    FieldChange("kms_key", None, key_arn),
                    FieldChange("log_class", None, want.log_class),
                ),
                Call("logs", "create_log_group", params),
            )
        )
        old_retention = None
    else:
        if state.log_class is not None and state.log_class != want.log_class:
            changes.append(
                Change(
                    resource,
                    "conflict",
                    f"log class is {state.log_class}, wanted {want.log_class}; AWS cannot change "
                    "it — pick another --log-group or --log-class",
                )
            )
        if key_arn and state.kms_key_arn != key_arn:
            changes.append(
                Change(
                    resource,
                    "update",
                    "encrypt the log group with the key (covers data ingested from now on)",
                    (FieldChange("kms_key", state.kms_key_arn, key_arn),),
                    Call(
                        "logs",
                        "associate_kms_key",
                        {"logGroupName": want.name, "kmsKeyId": key_arn},
                    ),
                )
            )
        old_retention = state.retention_days
    if want.retention_days != old_retention and not (state is None and want.retention_days is None):
        if want.retention_days is None:
            call = Call("logs", "delete_retention_policy", {"logGroupName": want.name})
        else:
            call = Call(
                "logs",
                "put_retention_policy",
                {"logGroupName": want.name, "retentionInDays": want.retention_days},
            )
        changes.append(
            Change(
                resource,
                "update",
                "set retention",
                (FieldChange("retention_days", old_retention, want.retention_days),),
                call,
            )
        )


# -- S3 ------------------------------------------------------------------------------------------
def _bucket(
    spec: ProvisionSpec, actual: ActualState, key_arns: Mapping[str, str], changes: list[Change]
) -> None:
    want = spec.bucket
    assert want is not None
    resource = f"s3 bucket {want.name}"
    state = actual.bucket
    name = want.name

    def add(action: str, summary: str, fields: tuple[FieldChange, ...], call: Call) -> None:
        changes.append(Change(resource, action, summary, fields, call))

    if state is None:
        params: dict[str, Any] = {"Bucket": name, "ObjectOwnership": "BucketOwnerEnforced"}
        # Tags at creation make "created by the tool" atomic in AWS; moto ignores them, hence
        # the tagging step after it as well (a no-op rewrite of the same tag in AWS).
        configuration: dict[str, Any] = {"Tags": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}]}
        if spec.region != "us-east-1":
            configuration["LocationConstraint"] = spec.region
        params["CreateBucketConfiguration"] = configuration
        if want.object_lock_days:
            params["ObjectLockEnabledForBucket"] = True
        add(
            "create",
            "create the bucket (owner enforced"
            + (", Object Lock" if want.object_lock_days else "")
            + ")",
            (FieldChange("ownership", None, "BucketOwnerEnforced"),),
            Call("s3", "create_bucket", params),
        )
        add(
            "update",
            "tag the bucket as managed by costcompare",
            (FieldChange("tags", None, {MANAGED_TAG[0]: MANAGED_TAG[1]}),),
            Call(
                "s3",
                "put_bucket_tagging",
                {
                    "Bucket": name,
                    "Tagging": {"TagSet": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}]},
                },
            ),
        )
    elif state.region != spec.region:
        changes.append(
            Change(resource, "conflict", f"bucket is in {state.region}, not {spec.region}")
        )
        return

    key_arn = key_arns.get("s3") if want.key else None
    old_enc = (state.sse_algorithm, state.sse_key, state.bucket_key_enabled) if state else None
    new_enc = (want.sse_algorithm, key_arn, want.sse_algorithm == "aws:kms")
    if old_enc != new_enc:
        default: dict[str, Any] = {"SSEAlgorithm": want.sse_algorithm}
        if key_arn:
            default["KMSMasterKeyID"] = key_arn
        add(
            "update",
            "default encryption" + (" (SSE-KMS with a Bucket Key)" if key_arn else " (SSE-S3)"),
            (FieldChange("encryption", _enc_dict(old_enc), _enc_dict(new_enc)),),
            Call(
                "s3",
                "put_bucket_encryption",
                {
                    "Bucket": name,
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": default,
                                "BucketKeyEnabled": want.sse_algorithm == "aws:kms",
                            }
                        ]
                    },
                },
            ),
        )
    block = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    old_block = dict(state.public_access_block) if state and state.public_access_block else None
    if old_block != block:
        add(
            "update",
            "block all public access",
            (FieldChange("public_access_block", old_block, block),),
            Call(
                "s3",
                "put_public_access_block",
                {"Bucket": name, "PublicAccessBlockConfiguration": block},
            ),
        )
    if state is not None and state.ownership != "BucketOwnerEnforced":
        add(
            "update",
            "disable ACLs (bucket owner enforced)",
            (FieldChange("ownership", state.ownership, "BucketOwnerEnforced"),),
            Call(
                "s3",
                "put_bucket_ownership_controls",
                {
                    "Bucket": name,
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                },
            ),
        )
    if want.object_lock_days:
        if state is not None and state.versioning != "Enabled":
            add(
                "update",
                "enable versioning (Object Lock needs it)",
                (FieldChange("versioning", state.versioning, "Enabled"),),
                Call(
                    "s3",
                    "put_bucket_versioning",
                    {"Bucket": name, "VersioningConfiguration": {"Status": "Enabled"}},
                ),
            )
        old_lock = (
            {"mode": state.object_lock_mode, "days": state.object_lock_days} if state else None
        )
        new_lock = {"mode": "COMPLIANCE", "days": want.object_lock_days}
        if old_lock != new_lock:
            add(
                "update",
                "Object Lock default retention (compliance: nobody can delete early)",
                (FieldChange("object_lock", old_lock, new_lock),),
                Call(
                    "s3",
                    "put_object_lock_configuration",
                    {
                        "Bucket": name,
                        "ObjectLockConfiguration": {
                            "ObjectLockEnabled": "Enabled",
                            "Rule": {
                                "DefaultRetention": {
                                    "Mode": "COMPLIANCE",
                                    "Days": want.object_lock_days,
                                }
                            },
                        },
                    },
                ),
            )
    if want.lifecycle:
        rule = lifecycle_rule(spec)
        existing = list(state.lifecycle_rules) if state else []
        ours = next((r for r in existing if r.get("ID") == LIFECYCLE_RULE_ID), None)
        if ours is None or _normal_rule(ours) != _normal_rule(rule):
            others = [r for r in existing if r.get("ID") != LIFECYCLE_RULE_ID]
            add(
                "update",
                "lifecycle: transitions and expiration by age",
                (FieldChange("lifecycle_rule", _normal_rule(ours) if ours else None, rule),),
                Call(
                    "s3",
                    "put_bucket_lifecycle_configuration",
                    {"Bucket": name, "LifecycleConfiguration": {"Rules": [*others, rule]}},
                ),
            )


def _enc_dict(value: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if value is None or value[0] is None:
        return None
    return {"algorithm": value[0], "kms_key": value[1], "bucket_key": value[2]}


def lifecycle_rule(spec: ProvisionSpec) -> dict[str, Any]:
    """The tool's own lifecycle rule, scoped to the session-log prefix."""
    want = spec.bucket
    assert want is not None
    rule: dict[str, Any] = {
        "ID": LIFECYCLE_RULE_ID,
        "Filter": {"Prefix": f"{want.key_prefix}/" if want.key_prefix else ""},
        "Status": "Enabled",
    }
    if want.transitions:
        rule["Transitions"] = [
            {"Days": t.after_days, "StorageClass": t.storage_class} for t in want.transitions
        ]
    if want.expiration_days is not None:
        rule["Expiration"] = {"Days": want.expiration_days}
    return rule


def _normal_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
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
    }


def _bucket_policy(spec: ProvisionSpec, actual: ActualState, changes: list[Change]) -> None:
    want = spec.bucket
    assert want is not None
    state = actual.bucket
    if state is not None and state.region != spec.region:
        return
    old = dict(state.policy) if state and state.policy else None
    new = policies.bucket_policy(spec.region, want.name, old)
    if old is not None and policies.canonical(old) == policies.canonical(new):
        return
    removed = [
        s.get("Sid", "(no Sid)")
        for s in (old or {}).get("Statement", [])
        if policies.denies_uploads_without_sse_header(s)
    ]
    summary = "TLS-only bucket policy"
    if removed:
        summary += f"; drop statements that block the agent's uploads: {', '.join(removed)}"
    changes.append(
        Change(
            f"bucket policy {want.name}",
            "update" if old else "create",
            summary,
            (FieldChange("policy", old, new),),
            Call("s3", "put_bucket_policy", {"Bucket": want.name, "Policy": json.dumps(new)}),
        )
    )


# -- IAM -----------------------------------------------------------------------------------------
def _role_core(spec: ProvisionSpec, actual: ActualState, changes: list[Change]) -> None:
    """AmazonSSMManagedInstanceCore on the role: without it there is no session at all.

    AWS's own policy, so the tool only attaches it; destroy leaves it attached.
    """
    role = actual.role
    if role is None:
        raise PlanError(
            f"instance role {spec.role_name!r} not found",
            "create it (apply attaches AmazonSSMManagedInstanceCore) or drop --role",
        )
    core = policies.managed_instance_core_arn(spec.region)
    if core in role.attached_policy_arns:
        return
    changes.append(
        Change(
            f"iam role {role.name}",
            "update",
            f"attach the AWS managed {policies.MANAGED_INSTANCE_CORE} (the session channel)",
            (FieldChange("managed_policy", None, core),),
            Call("iam", "attach_role_policy", {"RoleName": role.name, "PolicyArn": core}),
        )
    )


def _role_policy(
    spec: ProvisionSpec, actual: ActualState, key_arns: Mapping[str, str], changes: list[Change]
) -> None:
    role = actual.role
    assert role is not None  # _role_core stops the plan first
    resource = f"iam policy {spec.policy_name} (role {spec.role_name})"
    document = policies.instance_role_policy(spec, actual.account_id, key_arns)
    arn = policies.policy_arn(spec.region, actual.account_id, spec.policy_name)
    state = actual.policy
    if state is None:
        changes.append(
            Change(
                resource,
                "create",
                "least-privilege policy for the chosen destination(s)",
                (FieldChange("document", None, document),),
                Call(
                    "iam",
                    "create_policy",
                    {
                        "PolicyName": spec.policy_name,
                        "PolicyDocument": json.dumps(document),
                        "Description": "costcompare: Session Manager session logging",
                        "Tags": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
                    },
                ),
            )
        )
    elif policies.canonical(state.document) != policies.canonical(document):
        if len(state.version_ids) >= 5:
            oldest = next(v for v in state.version_ids if v != state.default_version)
            changes.append(
                Change(
                    resource,
                    "update",
                    f"drop old policy version {oldest} (IAM keeps at most 5)",
                    (FieldChange("versions", len(state.version_ids), len(state.version_ids) - 1),),
                    Call("iam", "delete_policy_version", {"PolicyArn": arn, "VersionId": oldest}),
                )
            )
        changes.append(
            Change(
                resource,
                "update",
                "new default policy version",
                (FieldChange("document", dict(state.document), document),),
                Call(
                    "iam",
                    "create_policy_version",
                    {
                        "PolicyArn": arn,
                        "PolicyDocument": json.dumps(document),
                        "SetAsDefault": True,
                    },
                ),
            )
        )
    if arn not in role.attached_policy_arns:
        changes.append(
            Change(
                resource,
                "update",
                f"attach the policy to role {role.name}",
                (FieldChange("attached_to", None, role.name),),
                Call("iam", "attach_role_policy", {"RoleName": role.name, "PolicyArn": arn}),
            )
        )


# -- VPC -----------------------------------------------------------------------------------------
def _network(spec: ProvisionSpec, actual: ActualState, changes: list[Change]) -> None:
    want = spec.network
    state = actual.network
    assert want is not None and state is not None
    if not state.vpc_exists:
        raise PlanError(f"VPC {want.vpc_id} not found in {spec.region}", "check --vpc-id")
    if state.missing_subnets:
        raise PlanError(
            f"subnet(s) {', '.join(state.missing_subnets)} not found in {want.vpc_id}",
            "check --subnet: each must be in --vpc-id",
        )
    vpc = f"vpc {want.vpc_id}"
    for attr, on in (
        ("EnableDnsSupport", state.dns_support),
        ("EnableDnsHostnames", state.dns_hostnames),
    ):
        if not on:
            changes.append(
                Change(
                    vpc,
                    "update",
                    f"turn on {attr} (private DNS of interface endpoints needs it)",
                    (FieldChange(attr, False, True),),
                    Call(
                        "ec2", "modify_vpc_attribute", {"VpcId": want.vpc_id, attr: {"Value": True}}
                    ),
                )
            )
    per_az: dict[str, str] = {}
    for subnet in state.subnets:
        per_az.setdefault(subnet.az, subnet.id)
    cidrs = list(dict.fromkeys(s.cidr for s in state.subnets))

    needs_group = [
        service
        for service in spec.interface_services()
        if (ep := state.endpoint(service)) is None or blocked_cidrs(state, ep, cidrs)
    ]
    tool_group = state.tool_security_group
    group_id = tool_group.id if tool_group else known_after_apply(SG_PLACEHOLDER)
    sg_resource = f"security group {SECURITY_GROUP_NAME}"
    if needs_group and tool_group is None:
        changes.append(
            Change(
                sg_resource,
                "create",
                "security group for the interface endpoints",
                (FieldChange("vpc", None, want.vpc_id),),
                Call(
                    "ec2",
                    "create_security_group",
                    {
                        "GroupName": SECURITY_GROUP_NAME,
                        "Description": "costcompare: HTTPS from instance subnets to SSM endpoints",
                        "VpcId": want.vpc_id,
                        "TagSpecifications": [_tag_spec("security-group")],
                    },
                    produces=group_id,
                    result_path=("GroupId",),
                ),
            )
        )
    if needs_group or tool_group is not None:
        have = tool_group.ingress_443_cidrs if tool_group else ()
        missing = [c for c in cidrs if not cidr_covered(c, have)]
        if missing:
            changes.append(
                Change(
                    sg_resource,
                    "update",
                    "allow HTTPS (443) from the instance subnets",
                    (FieldChange("ingress_443", list(have), [*have, *missing]),),
                    Call(
                        "ec2",
                        "authorize_security_group_ingress",
                        {
                            "GroupId": group_id,
                            "IpPermissions": [
                                {
                                    "IpProtocol": "tcp",
                                    "FromPort": 443,
                                    "ToPort": 443,
                                    "IpRanges": [
                                        {"CidrIp": c, "Description": "instance subnet"}
                                        for c in missing
                                    ],
                                }
                            ],
                        },
                    ),
                )
            )

    for service in spec.interface_services():
        resource = f"vpc endpoint {service}"
        ep = state.endpoint(service)
        if ep is None:
            changes.append(
                Change(
                    resource,
                    "create",
                    "interface endpoint in each instance AZ, private DNS on",
                    (
                        FieldChange("subnets", None, list(per_az.values())),
                        FieldChange("private_dns", None, True),
                    ),
                    Call(
                        "ec2",
                        "create_vpc_endpoint",
                        {
                            "VpcEndpointType": "Interface",
                            "VpcId": want.vpc_id,
                            "ServiceName": service,
                            "SubnetIds": list(per_az.values()),
                            "SecurityGroupIds": [group_id],
                            "PrivateDnsEnabled": True,
                            "TagSpecifications": [_tag_spec("vpc-endpoint")],
                        },
                    ),
                )
            )
            continue
        covered = {state.subnet_azs.get(s) for s in ep.subnet_ids}
        add_subnets = [sid for az, sid in per_az.items() if az not in covered]
        params: dict[str, Any] = {"VpcEndpointId": ep.id}
        fields: list[FieldChange] = []
        if add_subnets:
            params["AddSubnetIds"] = add_subnets
            fields.append(
                FieldChange("subnets", list(ep.subnet_ids), [*ep.subnet_ids, *add_subnets])
            )
        if not ep.private_dns:
            params["PrivateDnsEnabled"] = True
            fields.append(FieldChange("private_dns", False, True))
        if service in needs_group and group_id not in ep.security_group_ids:
            params["AddSecurityGroupIds"] = [group_id]
            fields.append(
                FieldChange(
                    "security_groups",
                    list(ep.security_group_ids),
                    [*ep.security_group_ids, group_id],
                )
            )
        if fields:
            changes.append(
                Change(
                    resource,
                    "update",
                    "cover every instance AZ, private DNS on, HTTPS from the subnets",
                    tuple(fields),
                    Call("ec2", "modify_vpc_endpoint", params),
                )
            )

    tables = list(dict.fromkeys(s.route_table_id for s in state.subnets if s.route_table_id))
    for service in spec.gateway_services():
        resource = f"vpc endpoint {service}"
        ep = state.endpoint(service)
        if ep is None:
            changes.append(
                Change(
                    resource,
                    "create",
                    "S3 gateway endpoint on the subnets' route tables (free)",
                    (FieldChange("route_tables", None, tables),),
                    Call(
                        "ec2",
                        "create_vpc_endpoint",
                        {
                            "VpcEndpointType": "Gateway",
                            "VpcId": want.vpc_id,
                            "ServiceName": service,
                            "RouteTableIds": tables,
                            "TagSpecifications": [_tag_spec("vpc-endpoint")],
                        },
                    ),
                )
            )
            continue
        add_tables = [t for t in tables if t not in ep.route_table_ids]
        if add_tables:
            changes.append(
                Change(
                    resource,
                    "update",
                    "add the subnets' route tables",
                    (
                        FieldChange(
                            "route_tables",
                            list(ep.route_table_ids),
                            [*ep.route_table_ids, *add_tables],
                        ),
                    ),
                    Call(
                        "ec2",
                        "modify_vpc_endpoint",
                        {"VpcEndpointId": ep.id, "AddRouteTableIds": add_tables},
                    ),
                )
            )


def blocked_cidrs(state: NetworkState, ep: EndpointState, cidrs: list[str]) -> list[str]:
    """Subnet CIDRs the endpoint's security groups together do not admit on TCP 443."""
    have = [
        c
        for g in ep.security_group_ids
        if g in state.security_groups
        for c in state.security_groups[g].ingress_443_cidrs
    ]
    return [c for c in cidrs if not cidr_covered(c, have)]


def cidr_covered(cidr: str, allowed: tuple[str, ...] | list[str]) -> bool:
    net = ipaddress.ip_network(cidr, strict=False)
    for item in allowed:
        other = ipaddress.ip_network(item, strict=False)
        if net.version == other.version and net.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


def _tag_spec(resource_type: str) -> dict[str, Any]:
    return {
        "ResourceType": resource_type,
        "Tags": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
    }


# -- preferences document ------------------------------------------------------------------------
def desired_document(spec: ProvisionSpec, existing: Mapping[str, Any] | None) -> dict[str, Any]:
    """The existing content with only the inputs the options set changed (others are kept)."""
    content = copy.deepcopy(dict(existing)) if existing else copy.deepcopy(BASE_DOCUMENT)
    content.setdefault("schemaVersion", "1.0")
    content["sessionType"] = "Standard_Stream"
    inputs = content.setdefault("inputs", {})
    if spec.log_group:
        inputs["cloudWatchLogGroupName"] = spec.log_group.name
        inputs["cloudWatchEncryptionEnabled"] = spec.log_group.key is not None
        inputs["cloudWatchStreamingEnabled"] = spec.log_group.streaming
    if spec.bucket:
        inputs["s3BucketName"] = spec.bucket.name
        inputs["s3KeyPrefix"] = spec.bucket.key_prefix
        inputs["s3EncryptionEnabled"] = True
    session = spec.session
    if session.idle_timeout is not None:
        inputs["idleSessionTimeout"] = str(session.idle_timeout)
    if session.max_duration is not None:
        inputs["maxSessionDuration"] = str(session.max_duration)
    if session.run_as_enabled is not None:
        inputs["runAsEnabled"] = session.run_as_enabled
    if session.run_as_user is not None:
        inputs["runAsDefaultUser"] = session.run_as_user
    if session.shell_linux is not None or session.shell_windows is not None:
        shell = dict(inputs.get("shellProfile") or {"windows": "", "linux": ""})
        if session.shell_linux is not None:
            shell["linux"] = session.shell_linux
        if session.shell_windows is not None:
            shell["windows"] = session.shell_windows
        inputs["shellProfile"] = shell
    if session.kms_key_id is not None:
        inputs["kmsKeyId"] = session.kms_key_id
    return content


def _document(spec: ProvisionSpec, actual: ActualState, changes: list[Change]) -> None:
    resource = f"preferences document {DOCUMENT_NAME}"
    state = actual.document
    if state is None:
        content = desired_document(spec, None)
        changes.append(
            Change(
                resource,
                "create",
                "create the Session Manager preferences",
                tuple(FieldChange(k, None, v) for k, v in content["inputs"].items()),
                Call(
                    "ssm",
                    "create_document",
                    {
                        "Content": json.dumps(content, indent=2),
                        "Name": DOCUMENT_NAME,
                        "DocumentType": "Session",
                        "DocumentFormat": "JSON",
                        "Tags": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
                    },
                ),
            )
        )
        return
    content = desired_document(spec, state.latest_content)
    if content != state.latest_content:
        old_inputs = state.latest_content.get("inputs", {})
        fields = tuple(
            FieldChange(k, old_inputs.get(k), v)
            for k, v in content["inputs"].items()
            if old_inputs.get(k) != v
        )
        if state.latest_content.get("sessionType") != "Standard_Stream":
            fields += (
                FieldChange(
                    "sessionType", state.latest_content.get("sessionType"), "Standard_Stream"
                ),
            )
        if (
            PREVIOUS_VERSION_TAG not in state.tags
            and state.tags.get(MANAGED_TAG[0]) != MANAGED_TAG[1]
        ):
            changes.append(
                Change(
                    resource,
                    "update",
                    f"remember version {state.default_version} so destroy can restore it",
                    (FieldChange(PREVIOUS_VERSION_TAG, None, state.default_version),),
                    Call(
                        "ssm",
                        "add_tags_to_resource",
                        {
                            "ResourceType": "Document",
                            "ResourceId": DOCUMENT_NAME,
                            "Tags": [{"Key": PREVIOUS_VERSION_TAG, "Value": state.default_version}],
                        },
                    ),
                )
            )
        version = known_after_apply(DOC_VERSION_PLACEHOLDER)
        changes += [
            Change(
                resource,
                "update",
                "new version of the preferences (other inputs kept)",
                fields,
                Call(
                    "ssm",
                    "update_document",
                    {
                        "Content": json.dumps(content, indent=2),
                        "Name": DOCUMENT_NAME,
                        "DocumentVersion": "$LATEST",
                    },
                    produces=version,
                    result_path=("DocumentDescription", "DocumentVersion"),
                ),
            ),
            Change(
                resource,
                "update",
                "make the new version the default (the console and agent read the default)",
                (FieldChange("default_version", state.default_version, version),),
                Call(
                    "ssm",
                    "update_document_default_version",
                    {"Name": DOCUMENT_NAME, "DocumentVersion": version},
                ),
            ),
        ]
    elif state.default_version != state.latest_version:
        changes.append(
            Change(
                resource,
                "update",
                "make the latest version the default",
                (FieldChange("default_version", state.default_version, state.latest_version),),
                Call(
                    "ssm",
                    "update_document_default_version",
                    {"Name": DOCUMENT_NAME, "DocumentVersion": state.latest_version},
                ),
            )
        )


# -- rendering -----------------------------------------------------------------------------------
_SYMBOL = {"create": "+", "update": "~", "unchanged": "=", "conflict": "!"}


def render_plan(plan: Plan, width: int = 110) -> str:
    """The human diff: one block per resource, one line per changed field (values shortened)."""
    counts = plan.summary()
    lines = [
        f"Plan for account {plan.account_id} in {plan.region} (destination {plan.destination}): "
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['unchanged']} unchanged, {counts['conflict']} conflict(s)",
        "",
    ]
    current = None
    for change in plan.changes:
        if change.resource != current:
            current = change.resource
            lines.append(f"{_SYMBOL[change.action]} {change.resource}")
        if change.action == "unchanged":
            lines[-1] += "  (unchanged)"
            continue
        call = f" [{change.call.name}]" if change.call else ""
        lines.append(f"    {change.action}: {change.summary}{call}")
        for f in change.fields:
            text = f"        {f.field}: {_short(f.old)} → {_short(f.new)}"
            lines.append(text if len(text) <= width else text[: width - 1] + "…")
    if plan.empty:
        lines += ["", "Nothing to do: the account matches the options."]
    else:
        lines += [
            "",
            "Full values: --output json. Run 'costcompare provision apply' to make it so.",
        ]
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value or '""'
    return json.dumps(value, separators=(",", ":"))
