"""Read the account: what the spec touches (``observe``) or everything the tool manages
(``discover``, found by the tag ``costcompare:managed=true`` and the document's remembered
version). Reads only; typed, frozen states from the resource modules come out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from provision.aws import AwsContext
from provision.changes import is_managed
from provision.errors import PlanError
from provision.policies import policy_arn
from provision.resources import (
    account_access,
    athena,
    bucket,
    central_bucket,
    document,
    kms_key,
    log_group,
    network,
    role,
)
from provision.resources.bucket import BucketState
from provision.resources.document import DocumentState
from provision.resources.kms_key import KeyState
from provision.resources.log_group import LogGroupState
from provision.resources.network import NetworkState
from provision.resources.role import PolicyState, RoleState
from provision.spec import MANAGED_TAG, SECURITY_GROUP_NAME, ProvisionSpec

__all__ = ["ActualState", "Discovered", "discover", "observe"]


@dataclass(frozen=True)
class ActualState:
    region: str
    account_id: str
    keys: Mapping[str, KeyState | None]  # by purpose
    log_group: LogGroupState | None
    bucket: BucketState | None
    role: RoleState | None
    policy: PolicyState | None
    network: NetworkState | None
    document: DocumentState | None
    stray_keys: tuple[KeyState, ...] = ()
    # Stores the document targets now but the spec no longer does: resource → why it stays.
    former_stores: Mapping[str, str] = field(default_factory=dict)
    account_public_access: bool | None = None  # None: not read (no S3 destination)
    athena: athena.AthenaState | None = None  # None: --athena not asked
    organization_id: str | None = None  # --central-bucket: the organization allowed to upload


def observe(ctx: AwsContext, spec: ProvisionSpec) -> ActualState:
    """Everything the spec touches, as it is now."""
    account = ctx.account_id()
    keys: dict[str, KeyState | None] = {}
    strays: list[KeyState] = []
    tagged = kms_key.tagged_keys(ctx) if any(k.managed for k in spec.keys) else []
    for key in spec.keys:
        if key.managed:
            keys[key.purpose], found = kms_key.find_managed_key(ctx, key.alias, tagged)
            strays += found
        else:
            keys[key.purpose] = kms_key.read_key(ctx, key.existing_arn)
    # The log-archive account's central setup has no preferences; a member's bucket is another
    # account's, not read (its settings are checked by verify --central-bucket over there).
    current = document.read(ctx) if spec.central is None else None
    own_bucket = spec.bucket if spec.bucket and spec.bucket.member is None else None
    org_id = None
    if spec.central is not None:
        org_id = spec.central.org_id or central_bucket.organization_id(ctx)
    return ActualState(
        region=spec.region,
        account_id=account,
        keys=keys,
        log_group=log_group.read(ctx, spec.log_group.name) if spec.log_group else None,
        bucket=bucket.read(ctx, own_bucket.name) if own_bucket else None,
        role=role.read_role(ctx, spec.role_name) if spec.role_name else None,
        policy=role.read_policy(ctx, policy_arn(spec.region, account, spec.policy_name))
        if spec.role_name
        else None,
        network=network.read(ctx, spec.network.vpc_id, spec.network.subnet_ids)
        if spec.network
        else None,
        document=current,
        stray_keys=tuple(strays),
        former_stores=_former_stores(ctx, spec, current),
        account_public_access=account_access.account_blocks_public_access(ctx, account)
        if own_bucket
        else None,
        athena=athena.read(ctx, spec.athena) if spec.athena else None,
        organization_id=org_id,
    )


def _former_stores(
    ctx: AwsContext, spec: ProvisionSpec, current: DocumentState | None
) -> dict[str, str]:
    """The stores a switch of destination leaves behind, and what they hold (they are kept)."""
    if current is None:
        return {}
    kept = {}
    name = current.target("s3BucketName")
    if name and (spec.bucket is None or spec.bucket.name != name):
        try:
            found = bucket.read(ctx, name)
        except PlanError:  # another account's bucket: not ours to count
            found = None
        count = bucket.count_objects(ctx, name) if found else 0
        kept[bucket.resource_name(name)] = f"kept: holds {count:,} transcripts"
    name = current.target("cloudWatchLogGroupName")
    if name and (spec.log_group is None or spec.log_group.name != name):
        state = log_group.read(ctx, name)
        held = "holds session log streams" if state and state.holds_logs else "holds no logs"
        kept[log_group.resource_name(name)] = f"kept: {held}"
    return kept


@dataclass(frozen=True)
class Discovered:
    """Everything in the region the tool manages, found without the options that made it."""

    region: str
    account_id: str
    document: DocumentState | None
    keys: tuple[KeyState, ...]
    log_groups: tuple[LogGroupState, ...]
    buckets: tuple[BucketState, ...]
    policy: PolicyState | None
    policy_roles: tuple[str, ...]
    roles: tuple[RoleState, ...]  # roles the tool created (tagged)
    networks: tuple[NetworkState, ...]
    athena: athena.ManagedAthena  # the Glue tables/databases and workgroups of --athena


def discover(ctx: AwsContext, policy_name: str) -> Discovered:
    account = ctx.account_id()
    arns = _tagged_arns(ctx)
    groups = [log_group.read(ctx, a.split(":log-group:", 1)[1]) for a in arns if ":log-group:" in a]
    buckets = [bucket.read(ctx, a.rsplit(":", 1)[1]) for a in arns if a.startswith("arn:aws:s3:::")]
    targets = kms_key.alias_targets(ctx)
    by_id = {key_id: alias for alias, key_id in targets.items()}
    keys = [
        kms_key.KeyState(
            k.arn, k.key_id, by_id.get(k.key_id), k.policy, k.rotation_enabled, k.tags, k.state
        )
        for k in kms_key.tagged_keys(ctx)
    ]
    policy = role.read_policy(ctx, policy_arn(ctx.region, account, policy_name))
    policy_roles = role.policy_roles(ctx, policy.arn) if policy else []
    roles = [r for name in policy_roles if (r := role.read_role(ctx, name)) and is_managed(r.tags)]
    return Discovered(
        region=ctx.region,
        account_id=account,
        document=document.read(ctx),
        keys=tuple(keys),
        log_groups=tuple(g for g in groups if g is not None and is_managed(g.tags)),
        buckets=tuple(
            b for b in buckets if b is not None and is_managed(b.tags) and b.region == ctx.region
        ),
        policy=policy,
        policy_roles=tuple(policy_roles),
        roles=tuple(roles),
        networks=tuple(network.read(ctx, vpc, ()) for vpc in _managed_vpcs(ctx)),
        athena=athena.discover(ctx),
    )


def _tagged_arns(ctx: AwsContext) -> list[str]:
    """Log groups and buckets carrying the managed tag (Resource Groups Tagging API)."""
    tagging = ctx.client("resourcegroupstaggingapi")
    found = []
    paginator = tagging.get_paginator("get_resources")
    for page in paginator.paginate(
        TagFilters=[{"Key": MANAGED_TAG[0], "Values": [MANAGED_TAG[1]]}],
        ResourceTypeFilters=["logs", "s3"],
    ):
        found += [r["ResourceARN"] for r in page["ResourceTagMappingList"]]
    return found


def _managed_vpcs(ctx: AwsContext) -> list[str]:
    """VPCs holding a tagged endpoint or the tool's security group."""
    ec2 = ctx.client("ec2")
    tagged = [{"Name": f"tag:{MANAGED_TAG[0]}", "Values": [MANAGED_TAG[1]]}]
    vpcs = [e["VpcId"] for e in ec2.describe_vpc_endpoints(Filters=tagged)["VpcEndpoints"]]
    named = [{"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}]
    vpcs += [g["VpcId"] for g in ec2.describe_security_groups(Filters=named)["SecurityGroups"]]
    return list(dict.fromkeys(vpcs))
