"""Read the actual state (describe/get/list calls only) into typed, frozen dataclasses.

No raw boto3 response leaves this module. Policy and lifecycle documents stay JSON-shaped
dicts: they are documents the tool writes back, not API envelopes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.aws import AwsContext, error_code
from provision.errors import PlanError
from provision.policies import policy_arn
from provision.spec import DOCUMENT_NAME, SECURITY_GROUP_NAME, ProvisionSpec

ALIAS_TAG = "costcompare:alias"
PREVIOUS_VERSION_TAG = "costcompare:previous-version"

_NOT_FOUND = {
    "NoSuchBucket",
    "NotFound",
    "404",
    "NotFoundException",
    "NoSuchEntity",
    "ResourceNotFoundException",
    "InvalidDocument",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchTagSet",
    "OwnershipControlsNotFoundError",
    "ServerSideEncryptionConfigurationNotFoundError",
    "ObjectLockConfigurationNotFoundError",
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
}


@dataclass(frozen=True)
class KeyState:
    arn: str
    key_id: str
    alias: str | None  # the tool's alias when it points here
    policy: Mapping[str, Any]
    rotation_enabled: bool
    tags: Mapping[str, str]
    state: str


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


@dataclass(frozen=True)
class PolicyState:
    arn: str
    document: Mapping[str, Any]
    default_version: str
    version_ids: tuple[str, ...]  # oldest first
    tags: Mapping[str, str]


@dataclass(frozen=True)
class RoleState:
    name: str
    arn: str
    attached_policy_arns: tuple[str, ...]
    # (name, document) of inline and attached managed policies; filled only for verify.
    documents: tuple[tuple[str, Mapping[str, Any]], ...] = ()


@dataclass(frozen=True)
class SubnetState:
    id: str
    vpc_id: str
    az: str
    cidr: str
    route_table_id: str | None


@dataclass(frozen=True)
class EndpointState:
    id: str
    service: str
    type: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    private_dns: bool
    route_table_ids: tuple[str, ...]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class SecurityGroupState:
    id: str
    name: str
    ingress_443_cidrs: tuple[str, ...]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class NetworkState:
    vpc_id: str
    vpc_exists: bool
    dns_support: bool
    dns_hostnames: bool
    subnets: tuple[SubnetState, ...]
    missing_subnets: tuple[str, ...]
    endpoints: tuple[EndpointState, ...]
    security_groups: Mapping[str, SecurityGroupState]  # by id: the tool's and the endpoints'
    tool_security_group: SecurityGroupState | None
    subnet_azs: Mapping[str, str]  # every subnet of the VPC → its AZ (endpoints may use others)

    def endpoint(self, service: str) -> EndpointState | None:
        return next((e for e in self.endpoints if e.service == service), None)


@dataclass(frozen=True)
class DocumentState:
    latest_version: str
    default_version: str
    latest_content: Mapping[str, Any]
    default_content: Mapping[str, Any]
    tags: Mapping[str, str]


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


def observe(ctx: AwsContext, spec: ProvisionSpec) -> ActualState:
    """Everything the spec touches, as it is now."""
    account = ctx.account_id()
    keys = {}
    for key in spec.keys:
        keys[key.purpose] = (
            find_managed_key(ctx, key.alias) if key.managed else read_key(ctx, key.existing_arn)
        )
    return ActualState(
        region=spec.region,
        account_id=account,
        keys=keys,
        log_group=read_log_group(ctx, spec.log_group.name) if spec.log_group else None,
        bucket=read_bucket(ctx, spec.bucket.name) if spec.bucket else None,
        role=read_role(ctx, spec.role_name) if spec.role_name else None,
        policy=read_policy(ctx, policy_arn(spec.region, account, spec.policy_name))
        if spec.role_name
        else None,
        network=read_network(ctx, spec.network.vpc_id, spec.network.subnet_ids)
        if spec.network
        else None,
        document=read_document(ctx),
    )


# -- KMS -----------------------------------------------------------------------------------------
def find_managed_key(ctx: AwsContext, alias: str) -> KeyState | None:
    """The key behind the tool's alias, else one tagged with it (its alias step failed)."""
    kms = ctx.client("kms")
    for page in kms.get_paginator("list_aliases").paginate():
        for entry in page["Aliases"]:
            if entry["AliasName"] == alias and entry.get("TargetKeyId"):
                return read_key(ctx, entry["TargetKeyId"], alias=alias)
    for page in kms.get_paginator("list_keys").paginate():
        for entry in page["Keys"]:
            tags = _kms_tags(kms, entry["KeyId"])
            if tags.get(ALIAS_TAG) == alias:
                state = read_key(ctx, entry["KeyId"], tags=tags)
                if state is not None and state.state not in (
                    "PendingDeletion",
                    "PendingReplicaDeletion",
                ):
                    return state
    return None


def read_key(
    ctx: AwsContext,
    key_id: str | None,
    alias: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> KeyState | None:
    if not key_id:
        return None
    kms = ctx.client("kms")
    try:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise
    arn = meta["Arn"]
    policy = _try(lambda: json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]))
    rotation = _try(lambda: kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"])
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
        if error_code(exc) in ("AccessDeniedException", *_NOT_FOUND):
            return {}  # AWS managed keys refuse tag reads in real accounts
        raise


# -- CloudWatch Logs -----------------------------------------------------------------------------
def read_log_group(ctx: AwsContext, name: str) -> LogGroupState | None:
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


# -- S3 ------------------------------------------------------------------------------------------
def read_bucket(ctx: AwsContext, name: str) -> BucketState | None:
    s3 = ctx.client("s3")
    try:
        s3.head_bucket(Bucket=name)
    except Exception as exc:
        code = error_code(exc)
        if code in _NOT_FOUND:
            return None
        if code in ("403", "AccessDenied", "Forbidden"):
            raise PlanError(
                f"bucket {name!r} exists but this account cannot read it",
                "bucket names are global: choose another --bucket",
            ) from None
        raise
    location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
    tags = _try(
        lambda: {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    )
    enc = _try(lambda: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"])
    rule = (enc or {}).get("Rules", [{}])[0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    bpa = _try(lambda: s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"])
    own = _try(lambda: s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"])
    policy = _try(lambda: json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]))
    rules = _try(lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]) or []
    versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
    lock = _try(lambda: s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"])
    retention = (lock or {}).get("Rule", {}).get("DefaultRetention", {})
    listing = s3.list_object_versions(Bucket=name, MaxKeys=1)
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
        lifecycle_rules=tuple(rules),
        versioning=versioning,
        object_lock_enabled=(lock or {}).get("ObjectLockEnabled") == "Enabled",
        object_lock_mode=retention.get("Mode"),
        object_lock_days=retention.get("Days"),
        holds_logs=bool(listing.get("Versions") or listing.get("DeleteMarkers")),
    )


# -- IAM -----------------------------------------------------------------------------------------
def read_role(ctx: AwsContext, name: str, with_documents: bool = False) -> RoleState | None:
    iam = ctx.client("iam")
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise
    attached: list[str] = []
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        attached += [p["PolicyArn"] for p in page["AttachedPolicies"]]
    documents: list[tuple[str, Mapping[str, Any]]] = []
    if with_documents:
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                doc = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
                documents.append((policy_name, _json(doc)))
        for arn in attached:
            state = read_policy(ctx, arn)
            if state is not None:
                documents.append((arn, state.document))
    return RoleState(
        name=name, arn=role["Arn"], attached_policy_arns=tuple(attached), documents=tuple(documents)
    )


def read_policy(ctx: AwsContext, arn: str) -> PolicyState | None:
    iam = ctx.client("iam")
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise
    version = policy["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    ordered = sorted(versions, key=lambda v: (v["CreateDate"], _version_number(v["VersionId"])))
    tags = _try(lambda: iam.list_policy_tags(PolicyArn=arn)["Tags"]) or policy.get("Tags", [])
    return PolicyState(
        arn=arn,
        document=_json(document),
        default_version=version,
        version_ids=tuple(v["VersionId"] for v in ordered),
        tags={t["Key"]: t["Value"] for t in tags},
    )


# -- VPC -----------------------------------------------------------------------------------------
def read_network(ctx: AwsContext, vpc_id: str, subnet_ids: tuple[str, ...]) -> NetworkState:
    ec2 = ctx.client("ec2")
    vpcs = _try(lambda: ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]) or []
    if not vpcs:
        return NetworkState(vpc_id, False, False, False, (), subnet_ids, (), {}, None, {})

    def attribute(name: str) -> bool:
        key = name[0].upper() + name[1:]
        return bool(ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[key]["Value"])

    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    by_id = {s["SubnetId"]: s for s in found}
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    main_table, explicit = None, {}
    for table in tables["RouteTables"]:
        for assoc in table.get("Associations", []):
            if assoc.get("Main"):
                main_table = table["RouteTableId"]
            elif assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = table["RouteTableId"]
    subnets = tuple(
        SubnetState(
            id=sid,
            vpc_id=vpc_id,
            az=by_id[sid]["AvailabilityZone"],
            cidr=by_id[sid]["CidrBlock"],
            route_table_id=explicit.get(sid, main_table),
        )
        for sid in subnet_ids
        if sid in by_id
    )
    raw_endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    endpoints = tuple(
        EndpointState(
            id=e["VpcEndpointId"],
            service=e["ServiceName"],
            type=e["VpcEndpointType"],
            subnet_ids=tuple(e.get("SubnetIds", [])),
            security_group_ids=tuple(g["GroupId"] for g in e.get("Groups", [])),
            private_dns=bool(e.get("PrivateDnsEnabled", False)),
            route_table_ids=tuple(e.get("RouteTableIds", [])),
            tags=_ec2_tags(e),
        )
        for e in raw_endpoints["VpcEndpoints"]
        if e.get("State", "available").lower() not in ("deleted", "deleting", "failed", "rejected")
    )
    group_ids = sorted({g for e in endpoints for g in e.security_group_ids})
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "SecurityGroups"
    ]
    states = {
        g["GroupId"]: _security_group(g)
        for g in groups
        if g["GroupId"] in group_ids or g["GroupName"] == SECURITY_GROUP_NAME
    }
    tool_group = next((g for g in states.values() if g.name == SECURITY_GROUP_NAME), None)
    return NetworkState(
        vpc_id=vpc_id,
        vpc_exists=True,
        dns_support=attribute("enableDnsSupport"),
        dns_hostnames=attribute("enableDnsHostnames"),
        subnets=subnets,
        missing_subnets=tuple(s for s in subnet_ids if s not in by_id),
        endpoints=endpoints,
        security_groups=states,
        tool_security_group=tool_group,
        subnet_azs={s["SubnetId"]: s["AvailabilityZone"] for s in found},
    )


def _security_group(group: Mapping[str, Any]) -> SecurityGroupState:
    cidrs = []
    for perm in group.get("IpPermissions", []):
        proto = str(perm.get("IpProtocol"))
        covers = proto == "-1" or (
            proto in ("tcp", "6") and perm.get("FromPort", 0) <= 443 <= perm.get("ToPort", 65535)
        )
        if covers:
            cidrs += [r["CidrIp"] for r in perm.get("IpRanges", [])]
    return SecurityGroupState(
        id=group["GroupId"],
        name=group["GroupName"],
        ingress_443_cidrs=tuple(dict.fromkeys(cidrs)),
        tags=_ec2_tags(group),
    )


def _ec2_tags(resource: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", []) or []}


# -- SSM preferences document --------------------------------------------------------------------
def read_document(ctx: AwsContext) -> DocumentState | None:
    ssm = ctx.client("ssm")
    try:
        default = ssm.get_document(Name=DOCUMENT_NAME)
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise
    latest = ssm.get_document(Name=DOCUMENT_NAME, DocumentVersion="$LATEST")
    described = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=DOCUMENT_NAME)
    return DocumentState(
        latest_version=str(described.get("LatestVersion") or latest["DocumentVersion"]),
        default_version=str(described.get("DefaultVersion") or default["DocumentVersion"]),
        latest_content=_document_content(latest["Content"]),
        default_content=_document_content(default["Content"]),
        tags={t["Key"]: t["Value"] for t in tags.get("TagList", [])},
    )


def read_document_version(ctx: AwsContext, version: str) -> Mapping[str, Any] | None:
    try:
        found = ctx.client("ssm").get_document(Name=DOCUMENT_NAME, DocumentVersion=version)
    except Exception as exc:
        if error_code(exc) in (*_NOT_FOUND, "InvalidDocumentVersion"):
            return None
        raise
    return _document_content(found["Content"])


def _document_content(text: str) -> dict[str, Any]:
    try:
        content = json.loads(text)
    except ValueError:
        raise PlanError(
            f"{DOCUMENT_NAME} is not JSON",
            "convert it to JSON in the Session Manager console before using this tool",
        ) from None
    return content if isinstance(content, dict) else {}


# -- helpers -------------------------------------------------------------------------------------
def _try(read):
    """Run a get_*; a "not configured" error code means None, anything else propagates."""
    try:
        return read()
    except Exception as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise


def _json(document: Any) -> dict[str, Any]:
    if isinstance(document, str):
        from urllib.parse import unquote

        text = document if document.lstrip().startswith("{") else unquote(document)
        return json.loads(text)
    return dict(document)


def _version_number(version_id: str) -> int:
    return int(version_id.lstrip("v") or 0)
