"""The S3 bucket that receives the transcripts: read, diff, check, teardown.

Its policy is diffed in ``bucket_policy.py``'s sibling function ``diff_policy`` below, as its
own resource line, because it is a separate document people edit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision import policies
from provision.aws import AwsContext, error_code
from provision.changes import CONFLICT, CREATE, REMOVE, UPDATE, Call, Change, FieldChange
from provision.errors import PlanError
from provision.resources import lifecycle, object_lock, scanner_notes
from provision.resources.base import ERROR, WARNING, Finding, key_value_tags, true, try_read
from provision.spec import MANAGED_TAG, BucketSpec, ProvisionSpec

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
OWNER_ENFORCED = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


@dataclass(frozen=True)
class BucketState:
    name: str
    region: str
    tags: Mapping[str, str]
    sse_algorithm: str | None
    sse_key: str | None
    bucket_key_enabled: bool
    public_access_block: Mapping[str, bool] | None
    ownership: str | None
    policy: Mapping[str, Any] | None
    lifecycle_rules: tuple[Mapping[str, Any], ...]
    versioning: str | None
    object_lock_enabled: bool
    object_lock_mode: str | None
    object_lock_days: int | None
    holds_logs: bool


def resource_name(name: str) -> str:
    return f"s3 bucket {name}"


def read(ctx: AwsContext, name: str) -> BucketState | None:
    s3 = ctx.client("s3")
    try:
        s3.head_bucket(Bucket=name)
    except Exception as exc:
        code = error_code(exc)
        if code in ("NoSuchBucket", "NotFound", "404"):
            return None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise PlanError(
                f"bucket {name!r} exists but this account cannot read it",
                "bucket names are global: choose another --bucket",
            ) from None
        raise
    location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    tags = try_read(
        lambda: {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    )
    enc = try_read(lambda: s3.get_bucket_encryption(Bucket=name))
    rule = (enc or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [{}])[0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    bpa = try_read(lambda: s3.get_public_access_block(Bucket=name))
    own = try_read(lambda: s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"])
    policy = try_read(lambda: json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]))
    rules = try_read(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"])
    lock = try_read(lambda: s3.get_object_lock_configuration(Bucket=name))
    lock = (lock or {}).get("ObjectLockConfiguration", {})
    retention = lock.get("Rule", {}).get("DefaultRetention", {})
    listing = s3.list_object_versions(Bucket=name, MaxKeys=1)
    bpa = (bpa or {}).get("PublicAccessBlockConfiguration")
    return BucketState(
        name=name,
        region=location,
        tags=tags or {},
        sse_algorithm=default.get("SSEAlgorithm"),
        sse_key=default.get("KMSMasterKeyID"),
        bucket_key_enabled=bool(rule.get("BucketKeyEnabled", False)),
        public_access_block={k: bool(v) for k, v in bpa.items()} if bpa else None,
        ownership=(own or {}).get("Rules", [{}])[0].get("ObjectOwnership"),
        policy=policy,
        lifecycle_rules=tuple(rules or ()),
        versioning=s3.get_bucket_versioning(Bucket=name).get("Status"),
        object_lock_enabled=lock.get("ObjectLockEnabled") == "Enabled",
        object_lock_mode=retention.get("Mode"),
        # Days or Years, never both (moto echoes the other as 0); a year holds at least 365.
        object_lock_days=retention.get("Days") or 365 * (retention.get("Years") or 0) or None,
        holds_logs=bool(listing.get("Versions") or listing.get("DeleteMarkers")),
    )


def count_objects(ctx: AwsContext, name: str, limit: int = 100_000) -> int:
    """How many transcripts the bucket holds (counting stops at ``limit``)."""
    total = 0
    for page in ctx.client("s3").get_paginator("list_objects_v2").paginate(Bucket=name):
        total += page.get("KeyCount", len(page.get("Contents", [])))
        if total >= limit:
            break
    return total


def object_versions(ctx: AwsContext, name: str) -> list[dict[str, str]]:
    """Every object version and delete marker: what a forced teardown has to delete."""
    found = []
    for page in ctx.client("s3").get_paginator("list_object_versions").paginate(Bucket=name):
        for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append({"Key": v["Key"], "VersionId": v["VersionId"]})
    return found


# -- diff ----------------------------------------------------------------------------------------
def diff(spec: ProvisionSpec, state: BucketState | None, key_arn: str | None) -> list[Change]:
    want = spec.bucket
    assert want is not None
    resource = resource_name(want.name)
    if state is not None and state.region != spec.region:
        summary = f"bucket is in {state.region}, not {spec.region}"
        return [Change(resource, CONFLICT, summary)]
    changes = [_create(spec, want)] if state is None else []
    changes += _tags(want, state)
    changes += _encryption(want, state, key_arn if want.key else None)
    changes += _public_access(want, state)
    changes += _ownership(want, state)
    changes += _object_lock(want, state)
    changes += lifecycle.diff(want, state.lifecycle_rules if state else ())
    return changes


def _create(spec: ProvisionSpec, want: BucketSpec) -> Change:
    # Tags at creation make "created by the tool" atomic in AWS; moto ignores them, and a lost
    # response can skip them, hence the tag is also desired state (``_tags``).
    configuration: dict[str, Any] = {"Tags": key_value_tags()}
    if spec.region != "us-east-1":
        configuration["LocationConstraint"] = spec.region
    params: dict[str, Any] = {
        "Bucket": want.name,
        "ObjectOwnership": "BucketOwnerEnforced",
        "CreateBucketConfiguration": configuration,
    }
    if want.object_lock_days:
        params["ObjectLockEnabledForBucket"] = True
    # Object Lock is switched on with the bucket and brings versioning; neither can be undone.
    lock = ", Object Lock + versioning, never turned off" if want.object_lock_days else ""
    return Change(
        resource_name(want.name),
        CREATE,
        f"create the bucket (owner enforced{lock})",
        (FieldChange("ownership", None, "BucketOwnerEnforced"),),
        Call("s3", "create_bucket", params, ok_codes=("BucketAlreadyOwnedByYou",)),
    )


def _tags(want: BucketSpec, state: BucketState | None) -> list[Change]:
    """The managed tag is desired state: repaired whenever it is missing (issue 18.5)."""
    old = dict(state.tags) if state else {}
    if old.get(MANAGED_TAG[0]) == MANAGED_TAG[1]:
        return []
    new = {**old, MANAGED_TAG[0]: MANAGED_TAG[1]}
    return [
        Change(
            resource_name(want.name),
            UPDATE,
            "tag the bucket as managed by costcompare",
            (FieldChange("tags", old or None, new),),
            Call(
                "s3",
                "put_bucket_tagging",
                {"Bucket": want.name, "Tagging": {"TagSet": key_value_tags(old)}},
            ),
        )
    ]


def _encryption(want: BucketSpec, state: BucketState | None, key_arn: str | None) -> list[Change]:
    old = (state.sse_algorithm, state.sse_key, state.bucket_key_enabled) if state else None
    new = (want.sse_algorithm, key_arn, want.sse_algorithm == "aws:kms")
    if old == new:
        return []
    default: dict[str, Any] = {"SSEAlgorithm": want.sse_algorithm}
    if key_arn:
        default["KMSMasterKeyID"] = key_arn
    rule = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": new[2]}
    return [
        Change(
            resource_name(want.name),
            UPDATE,
            "default encryption" + (" (SSE-KMS with a Bucket Key)" if key_arn else " (SSE-S3)"),
            (FieldChange("encryption", _enc_dict(old), _enc_dict(new)),),
            Call(
                "s3",
                "put_bucket_encryption",
                {"Bucket": want.name, "ServerSideEncryptionConfiguration": {"Rules": [rule]}},
            ),
        )
    ]


def _enc_dict(value: tuple[Any, ...] | None) -> dict[str, Any] | None:
    if value is None or value[0] is None:
        return None
    return {"algorithm": value[0], "kms_key": value[1], "bucket_key": value[2]}


def _public_access(want: BucketSpec, state: BucketState | None) -> list[Change]:
    old = dict(state.public_access_block) if state and state.public_access_block else None
    if old == BLOCK_ALL:
        return []
    params = {"Bucket": want.name, "PublicAccessBlockConfiguration": BLOCK_ALL}
    return [
        Change(
            resource_name(want.name),
            UPDATE,
            "block all public access",
            (FieldChange("public_access_block", old, BLOCK_ALL),),
            Call("s3", "put_public_access_block", params),
        )
    ]


def _ownership(want: BucketSpec, state: BucketState | None) -> list[Change]:
    if state is None or state.ownership == "BucketOwnerEnforced":
        return []
    params = {"Bucket": want.name, "OwnershipControls": OWNER_ENFORCED}
    return [
        Change(
            resource_name(want.name),
            UPDATE,
            "disable ACLs (bucket owner enforced)",
            (FieldChange("ownership", state.ownership, "BucketOwnerEnforced"),),
            Call("s3", "put_bucket_ownership_controls", params),
        )
    ]


def _object_lock(want: BucketSpec, state: BucketState | None) -> list[Change]:
    if not want.object_lock_days:
        return []
    resource = resource_name(want.name)
    changes = []
    if state is not None and state.versioning != "Enabled":
        changes.append(
            Change(
                resource,
                UPDATE,
                "enable versioning (Object Lock needs it)",
                (FieldChange("versioning", state.versioning, "Enabled"),),
                Call(
                    "s3",
                    "put_bucket_versioning",
                    {"Bucket": want.name, "VersioningConfiguration": {"Status": "Enabled"}},
                ),
            )
        )
    have = (state.object_lock_mode, state.object_lock_days) if state else None
    changes += object_lock.diff(resource, want.name, want.object_lock_days, have)
    return changes


def diff_policy(
    spec: ProvisionSpec, state: BucketState | None, org_id: str | None = None
) -> list[Change]:
    """The TLS-only bucket policy (+ a central bucket's organization grants), keeping others'
    statements (minus agent-breaking denies)."""
    want = spec.bucket
    assert want is not None
    if state is not None and state.region != spec.region:
        return []
    old = dict(state.policy) if state and state.policy else None
    extra = policies.central_bucket_statements(spec, org_id)
    new = policies.bucket_policy(spec.region, want.name, old, extra)
    if old is not None and policies.canonical(old) == policies.canonical(new):
        return []
    removed = [
        s.get("Sid", "(no Sid)")
        for s in (old or {}).get("Statement", [])
        if policies.denies_uploads_without_sse_header(s)
    ]
    summary = "TLS-only bucket policy"
    if extra:
        summary += f"; principals of {org_id} may upload under {want.key_prefix}/<their account>/"
    if removed:
        summary += f"; drop statements that block the agent's uploads: {', '.join(removed)}"
    return [
        Change(
            f"bucket policy {want.name}",
            UPDATE if old else CREATE,
            summary,
            (FieldChange("policy", old, new),),
            Call("s3", "put_bucket_policy", {"Bucket": want.name, "Policy": json.dumps(new)}),
        )
    ]


# -- teardown ------------------------------------------------------------------------------------
def teardown(
    state: BucketState, force: bool, versions: list[dict[str, str]]
) -> tuple[list[Change], str | None]:
    """(changes, refusal). ``versions`` are the object versions to delete when forced."""
    resource = resource_name(state.name)
    if state.holds_logs and policies.has_org_statements(state.policy):
        return [], f"{resource}: the organization's central log archive; never emptied by destroy"
    if state.holds_logs and state.object_lock_mode == "COMPLIANCE":
        return [], f"{resource}: holds logs under Object Lock compliance retention"
    if state.holds_logs and not force:
        return [], f"{resource}: holds session transcripts"
    name = state.name
    # The TLS-only policy goes first: it is about to be meaningless, and some S3-compatible
    # endpoints (moto) cannot evaluate aws:SecureTransport on the object deletes below.
    changes = [
        Change(
            resource,
            REMOVE,
            "drop the bucket policy",
            (),
            Call("s3", "delete_bucket_policy", {"Bucket": name}),
        )
    ]
    for start in range(0, len(versions), 1000):
        batch = versions[start : start + 1000]
        changes.append(
            Change(
                resource,
                REMOVE,
                f"delete {len(batch):,} object version(s)",
                (),
                Call(
                    "s3",
                    "delete_objects",
                    {"Bucket": name, "Delete": {"Objects": batch, "Quiet": True}},
                ),
            )
        )
    field = FieldChange("bucket", name, None)
    call = Call("s3", "delete_bucket", {"Bucket": name}, ok_codes=("NoSuchBucket",))
    changes.append(Change(resource, REMOVE, "delete the bucket", (field,), call))
    return changes, None


# -- check ---------------------------------------------------------------------------------------
def check(bucket: BucketState, inputs: Mapping[str, Any], doc_resource: str) -> list[Finding]:
    resource = resource_name(bucket.name)
    out: list[Finding] = []
    if true(inputs.get("s3EncryptionEnabled")) and not bucket.sse_algorithm:
        out.append(
            Finding(
                ERROR,
                "bucket-not-encrypted",
                resource,
                "s3EncryptionEnabled is true but the bucket has no default encryption: "
                "uploads fail",
                "put-bucket-encryption (SSE-KMS with a Bucket Key, or SSE-S3)",
            )
        )
    if not true(inputs.get("s3EncryptionEnabled")):
        out.append(
            Finding(
                WARNING,
                "s3-encryption-off",
                doc_resource,
                "s3EncryptionEnabled is false (checkov CKV_AWS_113)",
                "set it, with default encryption on the bucket",
            )
        )
    block = bucket.public_access_block or {}
    if not block or not all(block.values()) or len(block) < 4:
        out.append(
            Finding(
                WARNING,
                "bucket-public-access",
                resource,
                "not all four Block Public Access settings are on (Security Hub S3.8)",
                "put-public-access-block with all four true",
            )
        )
    out += _check_policy(bucket, resource)
    if bucket.ownership != "BucketOwnerEnforced":
        out.append(
            Finding(
                WARNING,
                "bucket-acls",
                resource,
                f"object ownership is {bucket.ownership or 'unset'}: ACLs are still in play",
                "put-bucket-ownership-controls BucketOwnerEnforced",
            )
        )
    return out


def _check_policy(bucket: BucketState, resource: str) -> list[Finding]:
    out = []
    statements = policies.statements_of(bucket.policy)
    for s in statements:
        if policies.denies_uploads_without_sse_header(s):
            out.append(
                Finding(
                    ERROR,
                    "bucket-policy-sse-header",
                    resource,
                    f"statement {s.get('Sid', '(no Sid)')} denies uploads without an "
                    "x-amz-server-side-encryption header; the agent never sends it, so log "
                    "delivery silently fails",
                    "remove it and rely on default encryption (costcompare provision apply does)",
                )
            )
    if not any(_is_tls_only(s) for s in statements):
        out.append(
            Finding(
                WARNING,
                "bucket-tls-only",
                resource,
                "no statement denies requests without TLS (Security Hub S3.5)",
                'add Deny when "aws:SecureTransport": "false"',
            )
        )
    return out


def _is_tls_only(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Deny" and policies.condition_value(
        statement.get("Condition"), "aws:SecureTransport"
    ) in (["false"], [False])


# -- CloudFormation ------------------------------------------------------------------------------
def render_cfn(spec: ProvisionSpec, key_arn: Any) -> dict[str, Any]:
    """The bucket as apply leaves it (``diff`` from nothing) and its TLS-only policy."""
    want = spec.bucket
    assert want is not None
    default: dict[str, Any] = {"SSEAlgorithm": want.sse_algorithm}
    if want.key is not None and key_arn:
        default["KMSMasterKeyID"] = key_arn
    properties: dict[str, Any] = {
        "BucketName": want.name,
        "OwnershipControls": OWNER_ENFORCED,
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": default,
                    "BucketKeyEnabled": want.sse_algorithm == "aws:kms",
                }
            ]
        },
        "PublicAccessBlockConfiguration": BLOCK_ALL,
        "Tags": key_value_tags(),
    }
    if want.lifecycle:
        properties["LifecycleConfiguration"] = {"Rules": [lifecycle.render_cfn(want)]}
    if want.object_lock_days:
        retention = {"Mode": "COMPLIANCE", "Days": want.object_lock_days}
        properties["VersioningConfiguration"] = {"Status": "Enabled"}
        properties["ObjectLockEnabled"] = True
        properties["ObjectLockConfiguration"] = {
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": retention},
        }
    policy = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "SessionLogBucket"},
            "PolicyDocument": policies.bucket_policy(
                spec.region, want.name, None, policies.central_bucket_statements(spec)
            ),
        },
    }
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Metadata": scanner_notes.bucket_metadata(want),
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": properties,
    }
    return {"SessionLogBucket": bucket, "SessionLogBucketPolicy": policy}
