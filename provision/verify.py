"""Check a live account for the known Session Manager logging pitfalls, tool-made or not.

Starts from what is in effect (the preferences document's default version), follows what it
points to, then looks at what the tool manages (stray keys, stores no longer a target); the role
and the VPC are checked when named. Reads only; each resource module judges its own state.

With --central-bucket it checks the log-archive side of an organization's central bucket
instead (ownership, bucket policy, key grant); with --bucket-account, a member account's side
(where its preferences point, the role's rights on the central bucket and key, the route to
a bucket in another region).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costcompare.awsfacts import interface_endpoints
from provision import policies
from provision.aws import AwsContext
from provision.central import CentralSpec, MemberBucket, central_spec, member_bucket
from provision.errors import PlanError
from provision.observe import discover
from provision.resources import (
    account_access,
    athena,
    bucket,
    central_bucket,
    document,
    kms_key,
    log_group,
    network,
    network_check,
    preset_check,
    role,
)
from provision.resources.base import ERROR, WARNING, Finding
from provision.spec import (
    DEFAULT_KEY_PREFIX,
    NetworkSpec,
    default_bucket_name,
    network_spec,
    policy_name_for,
)

__all__ = [
    "ERROR",
    "WARNING",
    "Finding",
    "VerifyTarget",
    "render_findings",
    "target_from_options",
    "verify",
]


@dataclass(frozen=True)
class VerifyTarget:
    """What to check beyond the document: the instance role and the instances' VPC."""

    region: str
    destination: str | None = None
    role_name: str | None = None
    network: NetworkSpec | None = None
    preset: str | None = None  # --preset: also report stores out of line with it
    central: CentralSpec | None = None  # --central-bucket: check the log-archive side
    member: MemberBucket | None = None  # --bucket-account: this account logs to that bucket
    bucket: str | None = None  # --bucket (the central bucket's name)
    key_prefix: str | None = None


def target_from_options(options: Mapping[str, Any], region: str) -> VerifyTarget:
    """What the verify command's options ask to check (validated, no AWS call)."""
    destination = options.get("destination")
    destination = str(getattr(destination, "value", destination)) if destination else None
    central_options = {k: v for k, v in options.items() if k != "destination"}
    return VerifyTarget(
        region=region,
        destination=destination,
        role_name=options.get("role"),
        network=network_spec(options),
        central=central_spec(central_options),
        member=member_bucket(options, region),
        bucket=options.get("bucket"),
        key_prefix=options.get("key_prefix"),
        preset=options.get("preset"),
    )


@dataclass
class _Seen:
    """What the document leads to, shared by the checks that follow it."""

    inputs: Mapping[str, Any]
    group: log_group.LogGroupState | None = None
    bucket: bucket.BucketState | None = None
    bucket_key: kms_key.KeyState | None = None
    member: MemberBucket | None = None


def verify(ctx: AwsContext, target: VerifyTarget) -> list[Finding]:
    """Every pitfall found, errors first."""
    account = ctx.account_id()
    if target.central is not None:
        return sorted(_central(ctx, target, account), key=lambda f: f.severity != ERROR)
    current = document.read(ctx)
    found = document.check(current, target.destination)
    seen = _Seen(inputs=current.inputs if current else {}, member=target.member)
    doc_resource = document.RESOURCE
    found += _log_group(ctx, seen, account, doc_resource)
    if target.member is not None:
        found += _member(ctx, seen, target, account)
    else:
        found += _bucket(ctx, seen, account, doc_resource)
    session_key = str(seen.inputs.get("kmsKeyId") or "")
    if session_key and kms_key.read_key(ctx, session_key) is None:
        found.append(
            Finding(
                ERROR,
                "session-key-missing",
                doc_resource,
                f"kmsKeyId {session_key} does not exist",
                "point kmsKeyId at an existing key",
            )
        )
    found += _managed(ctx, seen, account)
    if target.preset:
        found += preset_check.check(target.preset, seen.group, seen.bucket, target.destination)
    if target.role_name:
        state = role.read_role(ctx, target.role_name, with_documents=True)
        found += role.check(state, target.role_name, ctx.region, _needed(seen, ctx.region, account))
    if target.network:
        found += _network(ctx, target.network, seen)
    return sorted(found, key=lambda f: f.severity != ERROR)


def _log_group(ctx: AwsContext, seen: _Seen, account: str, doc_resource: str) -> list[Finding]:
    name = str(seen.inputs.get("cloudWatchLogGroupName") or "")
    if not name:
        return []
    seen.group = log_group.read(ctx, name)
    if seen.group is None:
        return [
            Finding(
                ERROR,
                "log-group-missing",
                log_group.resource_name(name),
                "the document points to a log group that does not exist "
                "(the agent will not create it)",
                "create it, or run costcompare provision apply",
            )
        ]
    found = log_group.check(seen.group, seen.inputs, doc_resource)
    if seen.group.kms_key_arn:
        key = kms_key.read_key(ctx, seen.group.kms_key_arn)
        arn = policies.log_group_arn(ctx.region, account, name)
        found += kms_key.check_log_group_key(key, seen.group.kms_key_arn, ctx.region, arn)
    return found


def _bucket(ctx: AwsContext, seen: _Seen, account: str, doc_resource: str) -> list[Finding]:
    name = str(seen.inputs.get("s3BucketName") or "")
    if not name:
        return []
    resource = bucket.resource_name(name)
    try:
        seen.bucket = bucket.read(ctx, name)
    except PlanError:
        return [
            Finding(
                ERROR,
                "bucket-unreadable",
                resource,
                "the bucket belongs to another account or denies this one",
                "check the bucket name and its policy; for the organization's central bucket "
                "verify with --bucket NAME --bucket-account ID --bucket-kms-key ARN",
            )
        ]
    if seen.bucket is None:
        return [
            Finding(
                ERROR,
                "bucket-missing",
                resource,
                "the document points to a bucket that does not exist: transcripts are lost",
                "create it, or run costcompare provision apply",
            )
        ]
    found = bucket.check(seen.bucket, seen.inputs, doc_resource)
    found += account_access.check_account_public_access(ctx, account)
    sse_key = seen.bucket.sse_key
    if seen.bucket.sse_algorithm == "aws:kms" and sse_key and "alias/aws/" not in sse_key:
        seen.bucket_key = kms_key.read_key(ctx, sse_key)
        if seen.bucket_key is not None and not seen.bucket_key.rotation_enabled:
            found.append(kms_key.rotation_finding(seen.bucket_key))
    return found


def _central(ctx: AwsContext, target: VerifyTarget, account: str) -> list[Finding]:
    """The log-archive side: the bucket, its policy and key as member agents meet them."""
    assert target.central is not None
    name = target.bucket or default_bucket_name(account, ctx.region)
    org_id = target.central.org_id or central_bucket.organization_id(ctx)
    state = bucket.read(ctx, name)
    key = None
    if state and state.sse_algorithm == "aws:kms" and state.sse_key:
        key = None if "alias/aws/" in state.sse_key else kms_key.read_key(ctx, state.sse_key)
    prefix = target.key_prefix
    if prefix is None:  # the prefix the archive's own grant names, as apply wrote it
        prefix = policies.org_grant_prefix(state.policy if state else None)
    prefix = DEFAULT_KEY_PREFIX if prefix is None else prefix
    found = central_bucket.check_central(state, key, org_id, prefix, name)
    if state is not None:
        general = bucket.check(state, {"s3EncryptionEnabled": True}, bucket.resource_name(name))
        found += [f for f in general if f.check != "bucket-acls"]  # an error above already
        found += account_access.check_account_public_access(ctx, account)
        if key is not None and not key.rotation_enabled:
            found.append(kms_key.rotation_finding(key))
    return found


def _member(ctx: AwsContext, seen: _Seen, target: VerifyTarget, account: str) -> list[Finding]:
    """A member account: its preferences and its route to the central bucket."""
    assert target.member is not None and target.bucket
    member = target.member
    found = central_bucket.check_member(seen.inputs, target.bucket, account)
    network = target.network
    vpc, subnets = (network.vpc_id, network.subnet_ids) if network else (None, ())
    return found + central_bucket.check_region_path(ctx, member.region, target.bucket, vpc, subnets)


def _managed(ctx: AwsContext, seen: _Seen, account: str) -> list[Finding]:
    """Stray keys, and managed stores the document no longer sends logs to."""
    every = discover(ctx, policy_name_for(ctx.region))
    in_use = {
        arn
        for arn in (
            seen.group.kms_key_arn if seen.group else None,
            seen.bucket.sse_key if seen.bucket else None,
            str(seen.inputs.get("kmsKeyId") or "") or None,
        )
        if arn
    }
    in_use |= {g.kms_key_arn for g in every.log_groups if g.kms_key_arn}
    in_use |= {b.sse_key for b in every.buckets if b.sse_key}
    targets = kms_key.alias_targets(ctx)
    found = kms_key.check_strays(every.keys, targets, in_use)
    current = {seen.inputs.get("cloudWatchLogGroupName"), seen.inputs.get("s3BucketName")}
    stores = [(log_group.resource_name(g.name), g.name) for g in every.log_groups]
    stores += [(bucket.resource_name(b.name), b.name) for b in every.buckets]
    found += athena.check(every.athena)
    found += [
        Finding(
            WARNING,
            "store-not-a-target",
            resource,
            "managed by costcompare but the preferences no longer send logs here "
            "(kept after a switch of destination)",
            "keep it for its logs, or remove it with costcompare provision destroy",
        )
        for resource, name in stores
        if name not in current
    ]
    return found


def _needed(seen: _Seen, region: str, account: str) -> list[tuple[str, str]]:
    """(action, resource) pairs the instance role must be allowed for the targets in effect."""
    needed: list[tuple[str, str]] = []
    name = str(seen.inputs.get("cloudWatchLogGroupName") or "")
    if name:
        arn = policies.log_group_arn(region, account, name)
        needed += [
            ("logs:DescribeLogGroups", "*"),
            ("logs:DescribeLogStreams", arn),
            ("logs:CreateLogStream", f"{arn}:log-stream:i-0example"),
            ("logs:PutLogEvents", f"{arn}:log-stream:i-0example"),
        ]
    bucket_name = seen.bucket.name if seen.bucket else None
    if seen.member is not None:  # the central bucket, in another account
        bucket_name = str(seen.inputs.get("s3BucketName") or "") or None
    if bucket_name is not None:
        prefix = str(seen.inputs.get("s3KeyPrefix") or "")
        key = f"{prefix}/session-id.log" if prefix else "session-id.log"
        bucket_arn = policies.bucket_arn(region, bucket_name)
        needed.append(("s3:PutObject", f"{bucket_arn}/{key}"))
        if str(seen.inputs.get("s3EncryptionEnabled")).lower() == "true":
            needed.append(("s3:GetEncryptionConfiguration", bucket_arn))
        if seen.bucket_key is not None:
            needed.append(("kms:GenerateDataKey", seen.bucket_key.arn))
        elif seen.member is not None and seen.member.key_arn:
            needed.append(("kms:GenerateDataKey", seen.member.key_arn))
    session_key = str(seen.inputs.get("kmsKeyId") or "")
    if session_key:
        needed.append(("kms:Decrypt", session_key))
    return needed


def _network(ctx: AwsContext, spec: NetworkSpec, seen: _Seen) -> list[Finding]:
    state = network.read(ctx, spec.vpc_id, spec.subnet_ids)
    region = ctx.region
    uses_kms = bool(
        seen.inputs.get("kmsKeyId") or (seen.group and seen.group.kms_key_arn) or seen.bucket_key
    )
    names = interface_endpoints(
        cloudwatch=bool(seen.inputs.get("cloudWatchLogGroupName")), kms=uses_kms
    )
    s3 = f"com.amazonaws.{region}.s3" if seen.inputs.get("s3BucketName") else None
    return network_check.check(state, [f"com.amazonaws.{region}.{n}" for n in names], s3)


def render_findings(findings: list[Finding], width: int | None = None) -> str:
    """Each finding: severity, check and resource, then what is wrong and the fix, wrapped to
    ``width`` (the terminal's)."""
    from costcompare.tables import fill

    if not findings:
        return "No findings: the Session Manager logging setup has none of the known pitfalls.\n"
    errors = sum(f.severity == ERROR for f in findings)
    lines = [f"{errors} error(s), {len(findings) - errors} warning(s)", ""]
    for f in findings:
        lines.append(fill(f"{f.severity.upper():7} {f.check}  {f.resource}", width, indent=" " * 8))
        lines.append(fill(f"        {f.message}", width, indent=" " * 8))
        lines.append(fill(f"        fix: {f.fix}", width, indent=" " * 13))
    return "\n".join(lines) + "\n"
