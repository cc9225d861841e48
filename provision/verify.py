"""Check a live account for the known Session Manager logging pitfalls, tool-made or not.

Starts from what is in effect (the preferences document's default version) and follows what it
points to; the role and the VPC are checked when named. Each finding has a severity and the
fix. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from costcompare.awsfacts import interface_endpoints
from provision import policies
from provision.aws import AwsContext
from provision.errors import PlanError
from provision.observe import (
    KeyState,
    read_bucket,
    read_document,
    read_key,
    read_log_group,
    read_network,
    read_role,
)
from provision.plan import blocked_cidrs
from provision.spec import DOCUMENT_NAME, NetworkSpec

ERROR, WARNING = "error", "warning"
MIN_RETENTION_DAYS = 365


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning
    check: str
    resource: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class VerifyTarget:
    """What to check beyond the document: the instance role and the instances' VPC."""

    region: str
    destination: str | None = None
    role_name: str | None = None
    network: NetworkSpec | None = None


def verify(ctx: AwsContext, target: VerifyTarget) -> list[Finding]:
    """Every pitfall found, errors first."""
    account = ctx.account_id()
    region = target.region
    found: list[Finding] = []

    def add(severity: str, check: str, resource: str, message: str, fix: str) -> None:
        found.append(Finding(severity, check, resource, message, fix))

    doc_resource = f"document {DOCUMENT_NAME}"
    document = read_document(ctx)
    inputs: Mapping[str, Any] = {}
    if document is None:
        add(
            ERROR,
            "preferences-missing",
            doc_resource,
            "no Session Manager preferences in this region: sessions are not logged",
            "run 'costcompare provision apply' (or save preferences in the console)",
        )
    else:
        inputs = document.default_content.get("inputs", {}) or {}
        if document.default_version != document.latest_version:
            add(
                WARNING,
                "preferences-default-version",
                doc_resource,
                f"default version {document.default_version} is not the latest "
                f"({document.latest_version}): the newer settings are not in effect",
                f"update-document-default-version --document-version {document.latest_version}",
            )
    group_name = str(inputs.get("cloudWatchLogGroupName") or "")
    bucket_name = str(inputs.get("s3BucketName") or "")
    if document is not None and not group_name and not bucket_name:
        add(
            ERROR,
            "no-log-destination",
            doc_resource,
            "neither cloudWatchLogGroupName nor s3BucketName is set: sessions are not logged",
            "choose a destination: costcompare provision apply --destination ...",
        )
    wanted = target.destination
    if document is not None and wanted in ("cloudwatch", "both") and not group_name:
        add(
            ERROR,
            "destination-mismatch",
            doc_resource,
            "CloudWatch Logs is not configured",
            "apply with --destination " + wanted,
        )
    if document is not None and wanted in ("s3", "both") and not bucket_name:
        add(
            ERROR,
            "destination-mismatch",
            doc_resource,
            "S3 is not configured",
            "apply with --destination " + wanted,
        )

    group = read_log_group(ctx, group_name) if group_name else None
    group_key: KeyState | None = None
    if group_name and group is None:
        add(
            ERROR,
            "log-group-missing",
            f"log group {group_name}",
            "the document points to a log group that does not exist (the agent will not create it)",
            "create it, or run costcompare provision apply",
        )
    if group is not None:
        resource = f"log group {group.name}"
        encrypted_flag = _true(inputs.get("cloudWatchEncryptionEnabled"))
        if encrypted_flag and not group.kms_key_arn:
            add(
                ERROR,
                "log-group-not-encrypted",
                resource,
                "cloudWatchEncryptionEnabled is true but the log group has no KMS key: "
                "sessions fail to start",
                "associate a KMS key (costcompare provision apply --destination cloudwatch)",
            )
        if not encrypted_flag:
            add(
                WARNING,
                "cloudwatch-encryption-off",
                doc_resource,
                "cloudWatchEncryptionEnabled is false (checkov CKV_AWS_113)",
                "encrypt the log group with a KMS key and set the flag",
            )
        if group.retention_days is None or group.retention_days < MIN_RETENTION_DAYS:
            shown = (
                "never expire" if group.retention_days is None else f"{group.retention_days} days"
            )
            if group.retention_days is not None:
                add(
                    WARNING,
                    "retention-under-a-year",
                    resource,
                    f"retention is {shown}, under {MIN_RETENTION_DAYS} days "
                    "(Security Hub CloudWatch.16, checkov CKV_AWS_338)",
                    "put-retention-policy --retention-in-days 365 (or longer)",
                )
            else:
                add(
                    WARNING,
                    "retention-not-set",
                    resource,
                    "no retention set: logs are kept and billed forever (checkov CKV_AWS_66)",
                    "put-retention-policy --retention-in-days 365 (or longer)",
                )
        if group.kms_key_arn:
            group_key = read_key(ctx, group.kms_key_arn)
            arn = policies.log_group_arn(region, account, group.name)
            found += _check_log_group_key(group_key, group.kms_key_arn, region, arn)

    bucket = None
    if bucket_name:
        try:
            bucket = read_bucket(ctx, bucket_name)
        except PlanError:
            add(
                ERROR,
                "bucket-unreadable",
                f"s3 bucket {bucket_name}",
                "the bucket belongs to another account or denies this one",
                "check the bucket name and its policy",
            )
            bucket_name = ""
    if bucket_name and bucket is None:
        add(
            ERROR,
            "bucket-missing",
            f"s3 bucket {bucket_name}",
            "the document points to a bucket that does not exist: transcripts are lost",
            "create it, or run costcompare provision apply",
        )
    bucket_key: KeyState | None = None
    if bucket is not None:
        found += _check_bucket(bucket, inputs, doc_resource)
        if (
            bucket.sse_algorithm == "aws:kms"
            and bucket.sse_key
            and "alias/aws/" not in bucket.sse_key
        ):
            bucket_key = read_key(ctx, bucket.sse_key)
            if bucket_key is not None and not bucket_key.rotation_enabled:
                found.append(_rotation_finding(bucket_key))

    session_key = str(inputs.get("kmsKeyId") or "")
    if document is not None and not session_key:
        add(
            WARNING,
            "session-data-unencrypted",
            doc_resource,
            "kmsKeyId is empty: session data is not KMS-encrypted (checkov CKV_AWS_112)",
            "set --session-kms-key-id to a key both users and instances may decrypt with",
        )
    elif session_key and read_key(ctx, session_key) is None:
        add(
            ERROR,
            "session-key-missing",
            doc_resource,
            f"kmsKeyId {session_key} does not exist",
            "point kmsKeyId at an existing key",
        )

    if target.role_name:
        found += _check_role(
            ctx,
            target.role_name,
            region,
            account,
            group,
            group_name,
            bucket,
            bucket_key,
            inputs,
            session_key,
        )
    if target.network:
        uses_kms = bool(session_key or (group and group.kms_key_arn) or bucket_key)
        found += _check_network(
            ctx, target.network, region, bool(group_name), bool(bucket_name), uses_kms
        )
    return sorted(found, key=lambda f: f.severity != ERROR)


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _rotation_finding(key: KeyState) -> Finding:
    return Finding(
        WARNING,
        "key-rotation-off",
        f"kms key {key.arn}",
        "automatic key rotation is off (Security Hub KMS.4)",
        f"aws kms enable-key-rotation --key-id {key.key_id}",
    )


def _check_log_group_key(
    key: KeyState | None, arn: str, region: str, group_arn: str
) -> list[Finding]:
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
    principal = f"logs.{region}.amazonaws.com"
    grants = [
        s
        for s in policies.statements_of(key.policy)
        if s.get("Effect") == "Allow"
        and principal
        in policies.as_list(
            (s.get("Principal") or {}).get("Service")
            if isinstance(s.get("Principal"), dict)
            else None
        )
    ]
    if not grants:
        out.append(
            Finding(
                ERROR,
                "key-policy-no-logs-principal",
                resource,
                f"the key policy does not allow {principal}: CloudWatch Logs cannot use the key",
                "add the logs service principal with the encryption-context condition "
                "(costcompare provision apply does)",
            )
        )
    else:
        contexts = [
            _condition_value(s.get("Condition"), "kms:EncryptionContext:aws:logs:arn")
            for s in grants
        ]
        if any(c is None for c in contexts):
            out.append(
                Finding(
                    WARNING,
                    "key-policy-no-encryption-context",
                    resource,
                    "the logs principal is not limited by kms:EncryptionContext:aws:logs:arn: "
                    "any log group in the region may use the key",
                    f"add Condition ArnEquals kms:EncryptionContext:aws:logs:arn = {group_arn}",
                )
            )
        elif not any(_arn_matches(group_arn, c) for c in contexts):
            out.append(
                Finding(
                    ERROR,
                    "key-policy-wrong-log-group",
                    resource,
                    "the encryption-context condition does not name this log group "
                    f"({group_arn}, without ':*')",
                    "fix the ARN in the kms:EncryptionContext:aws:logs:arn condition",
                )
            )
    if not key.rotation_enabled:
        out.append(_rotation_finding(key))
    return out


def _condition_value(condition: Any, key: str) -> list[str] | None:
    if not isinstance(condition, Mapping):
        return None
    for operator in condition.values():
        if isinstance(operator, Mapping) and key in operator:
            return policies.as_list(operator[key])
    return None


def _arn_matches(arn: str, patterns: Iterable[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(arn, p) for p in patterns)


def _check_bucket(bucket, inputs: Mapping[str, Any], doc_resource: str) -> list[Finding]:
    resource = f"s3 bucket {bucket.name}"
    out: list[Finding] = []
    if _true(inputs.get("s3EncryptionEnabled")) and not bucket.sse_algorithm:
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
    if not _true(inputs.get("s3EncryptionEnabled")):
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
                "not all four Block Public Access settings are on (Security Hub S3.1/S3.8)",
                "put-public-access-block with all four true",
            )
        )
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


def _is_tls_only(statement: Mapping[str, Any]) -> bool:
    return statement.get("Effect") == "Deny" and _condition_value(
        statement.get("Condition"), "aws:SecureTransport"
    ) in (["false"], [False])


def _check_role(
    ctx, name, region, account, group, group_name, bucket, bucket_key, inputs, session_key
) -> list[Finding]:
    resource = f"role {name}"
    role = read_role(ctx, name, with_documents=True)
    if role is None:
        return [
            Finding(
                ERROR,
                "role-missing",
                resource,
                "the instance role does not exist",
                "create it or check --role",
            )
        ]
    out: list[Finding] = []
    core = policies.managed_instance_core_arn(region)
    if core not in role.attached_policy_arns:
        out.append(
            Finding(
                ERROR,
                "role-no-core-policy",
                resource,
                f"{policies.MANAGED_INSTANCE_CORE} is not attached: no session channel",
                f"costcompare provision apply --role {name} attaches it "
                f"(or aws iam attach-role-policy --role-name {name} --policy-arn {core})",
            )
        )
    docs = [d for _, d in role.documents]
    needed: list[tuple[str, str]] = []
    if group_name:
        arn = policies.log_group_arn(region, account, group_name)
        needed += [
            ("logs:DescribeLogGroups", "*"),
            ("logs:DescribeLogStreams", arn),
            ("logs:CreateLogStream", f"{arn}:log-stream:i-0example"),
            ("logs:PutLogEvents", f"{arn}:log-stream:i-0example"),
        ]
    if bucket is not None:
        prefix = str(inputs.get("s3KeyPrefix") or "")
        key = f"{prefix}/session-id.log" if prefix else "session-id.log"
        bucket_arn = policies.bucket_arn(region, bucket.name)
        needed.append(("s3:PutObject", f"{bucket_arn}/{key}"))
        if _true(inputs.get("s3EncryptionEnabled")):
            needed.append(("s3:GetEncryptionConfiguration", bucket_arn))
        if bucket_key is not None:
            needed.append(("kms:GenerateDataKey", bucket_key.arn))
    if session_key:
        needed.append(("kms:Decrypt", session_key))
    for action, target in needed:
        if not policies.statements_cover(docs, action, target):
            out.append(
                Finding(
                    ERROR,
                    "role-missing-action",
                    resource,
                    f"no {action} on {target}: the agent reports 'encryption is not set up' "
                    "or hangs",
                    f"grant it (costcompare provision apply --role {name} does, least-privilege)",
                )
            )
    for policy_name, doc in role.documents:
        for s in policies.statements_of(doc):
            actions = policies.as_list(s.get("Action"))
            broad = [a for a in actions if a in ("*", "logs:*", "s3:*", "kms:*")]
            if s.get("Effect") == "Allow" and broad and "*" in policies.as_list(s.get("Resource")):
                out.append(
                    Finding(
                        WARNING,
                        "role-too-broad",
                        resource,
                        f"{policy_name} allows {', '.join(broad)} on *",
                        "replace it with the least-privilege policy",
                    )
                )
    return out


def _check_network(
    ctx, network: NetworkSpec, region: str, cloudwatch: bool, s3: bool, uses_kms: bool
) -> list[Finding]:
    state = read_network(ctx, network.vpc_id, network.subnet_ids)
    vpc = f"vpc {network.vpc_id}"
    if not state.vpc_exists:
        return [Finding(ERROR, "vpc-missing", vpc, "the VPC does not exist", "check --vpc-id")]
    out: list[Finding] = []
    if state.missing_subnets:
        out.append(
            Finding(
                ERROR,
                "subnet-missing",
                vpc,
                f"subnets not in the VPC: {', '.join(state.missing_subnets)}",
                "check --subnet",
            )
        )
    for attr, on in (
        ("enableDnsSupport", state.dns_support),
        ("enableDnsHostnames", state.dns_hostnames),
    ):
        if not on:
            out.append(
                Finding(
                    ERROR,
                    "vpc-dns",
                    vpc,
                    f"{attr} is off: endpoint private DNS names do not resolve",
                    f"modify-vpc-attribute --{attr.replace('enable', 'enable-').lower()}",
                )
            )
    names = interface_endpoints(cloudwatch=cloudwatch, kms=uses_kms)
    azs = {s.az: s for s in state.subnets}
    cidrs = [s.cidr for s in state.subnets]
    for name in names:
        service = f"com.amazonaws.{region}.{name}"
        resource = f"vpc endpoint {service}"
        ep = state.endpoint(service)
        if ep is None:
            stall = " (session start stalls ~2 minutes)" if name == "logs" else ""
            out.append(
                Finding(
                    ERROR,
                    "endpoint-missing",
                    resource,
                    f"no {name} interface endpoint in the VPC{stall}",
                    "costcompare provision apply --vpc-id ... --subnet ...",
                )
            )
            continue
        covered = {state.subnet_azs.get(s) for s in ep.subnet_ids}
        missing = sorted(az for az in azs if az not in covered)
        if missing:
            out.append(
                Finding(
                    ERROR,
                    "endpoint-az",
                    resource,
                    f"no endpoint network interface in {', '.join(missing)}",
                    "add a subnet in each instance AZ to the endpoint",
                )
            )
        if not ep.private_dns:
            out.append(
                Finding(
                    ERROR,
                    "endpoint-private-dns",
                    resource,
                    "private DNS is off: instances still resolve the public endpoint",
                    "modify-vpc-endpoint --private-dns-enabled",
                )
            )
        blocked = blocked_cidrs(state, ep, cidrs)
        if blocked:
            out.append(
                Finding(
                    ERROR,
                    "endpoint-security-group",
                    resource,
                    f"security groups do not allow TCP 443 from {', '.join(blocked)}",
                    "allow inbound 443 from the instance subnets",
                )
            )
    if s3:
        service = f"com.amazonaws.{region}.s3"
        ep = state.endpoint(service)
        tables = sorted({s.route_table_id for s in state.subnets if s.route_table_id})
        if ep is None:
            out.append(
                Finding(
                    ERROR,
                    "endpoint-missing",
                    f"vpc endpoint {service}",
                    "no S3 gateway endpoint: private subnets cannot upload transcripts",
                    "add a gateway endpoint on the subnets' route tables (free)",
                )
            )
        elif missing := [t for t in tables if t not in ep.route_table_ids]:
            out.append(
                Finding(
                    ERROR,
                    "endpoint-route-tables",
                    f"vpc endpoint {service}",
                    f"route tables without the S3 endpoint: {', '.join(missing)}",
                    "modify-vpc-endpoint --add-route-table-ids",
                )
            )
    return out


def render_findings(findings: list[Finding]) -> str:
    if not findings:
        return "No findings: the Session Manager logging setup has none of the known pitfalls.\n"
    errors = sum(f.severity == ERROR for f in findings)
    lines = [f"{errors} error(s), {len(findings) - errors} warning(s)", ""]
    for f in findings:
        lines.append(f"{f.severity.upper():7} {f.check}  {f.resource}")
        lines.append(f"        {f.message}")
        lines.append(f"        fix: {f.fix}")
    return "\n".join(lines) + "\n"
