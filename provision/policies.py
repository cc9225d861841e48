"""IAM, KMS key and bucket policy documents as pure functions (no AWS calls, plain dicts).

Least privilege per destination, as AWS's Session Manager documentation lists it. The
statements the tool owns carry a ``Sid`` starting with ``Costcompare`` so they can be merged into
a policy somebody else also edits, without touching their statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from provision.spec import ProvisionSpec, partition

VERSION = "2012-10-17"
SID_PREFIX = "Costcompare"
TLS_ONLY_SID = "CostcompareDenyInsecureTransport"
MANAGED_INSTANCE_CORE = "AmazonSSMManagedInstanceCore"


def log_group_arn(region: str, account: str, name: str) -> str:
    """The log group ARN without the trailing ``:*`` (what KMS and IAM conditions compare)."""
    return f"arn:{partition(region)}:logs:{region}:{account}:log-group:{name}"


def bucket_arn(region: str, bucket: str) -> str:
    return f"arn:{partition(region)}:s3:::{bucket}"


def policy_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition(region)}:iam::{account}:policy/{name}"


def managed_instance_core_arn(region: str) -> str:
    return f"arn:{partition(region)}:iam::aws:policy/{MANAGED_INSTANCE_CORE}"


def key_policy(region: str, account: str, log_group_name: str | None) -> dict[str, Any]:
    """Key policy: account root keeps control; the regional logs principal only for one group.

    Without the root statement the key becomes unmanageable; without the
    ``kms:EncryptionContext:aws:logs:arn`` condition any log group could use the key.
    AWS's published example also lists ``kms:Describe*`` here, but DescribeKey carries no
    encryption context, so under this condition that grant can never match (parliament:
    UNKNOWN_CONDITION_FOR_ACTION); it is left out rather than kept as a dead statement.
    """
    part = partition(region)
    statements: list[dict[str, Any]] = [
        {
            "Sid": f"{SID_PREFIX}AccountRoot",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{part}:iam::{account}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if log_group_name is not None:
        statements.append(
            {
                "Sid": f"{SID_PREFIX}CloudWatchLogsForSessionLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": [
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                ],
                "Resource": "*",
                "Condition": {
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": log_group_arn(
                            region, account, log_group_name
                        )
                    }
                },
            }
        )
    return {"Version": VERSION, "Id": "costcompare-session-logs", "Statement": statements}


def instance_role_policy(
    spec: ProvisionSpec, account: str, key_arns: Mapping[str, str]
) -> dict[str, Any]:
    """The instance role's extra rights for the chosen destination(s), and nothing more.

    ``key_arns`` maps a key purpose ("s3", "session") to its ARN (or a placeholder).
    """
    statements: list[dict[str, Any]] = []
    if spec.log_group:
        statements += _log_statements(log_group_arn(spec.region, account, spec.log_group.name))
    if spec.bucket:
        statements += _bucket_statements(spec, key_arns.get("s3"))
    if key_arns.get("session"):
        statements.append(_allow("DecryptSessionData", "kms:Decrypt", key_arns["session"]))
    return {"Version": VERSION, "Statement": statements}


def _allow(sid: str, action: str | list[str], resource: str) -> dict[str, Any]:
    return {"Sid": f"{SID_PREFIX}{sid}", "Effect": "Allow", "Action": action, "Resource": resource}


def _log_statements(group: str) -> list[dict[str, Any]]:
    return [
        # Cannot usefully be scoped: scoping it makes sessions hang (reference).
        _allow("DescribeLogGroups", "logs:DescribeLogGroups", "*"),
        _allow("DescribeSessionLogStreams", "logs:DescribeLogStreams", group),
        _allow(
            "WriteSessionLogStreams",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            f"{group}:log-stream:*",
        ),
    ]


def _bucket_statements(spec: ProvisionSpec, key_arn: str | None) -> list[dict[str, Any]]:
    want = spec.bucket
    assert want is not None
    bucket = bucket_arn(spec.region, want.name)
    objects = f"{bucket}/{want.key_prefix}/*" if want.key_prefix else f"{bucket}/*"
    statements = [
        _allow("PutSessionTranscripts", "s3:PutObject", objects),
        _allow("CheckBucketEncryption", "s3:GetEncryptionConfiguration", bucket),
    ]
    if key_arn:  # the bucket's own key, or a central bucket's (--bucket-account)
        statements.append(
            _allow("EncryptTranscripts", ["kms:GenerateDataKey", "kms:Decrypt"], key_arn)
        )
    return statements


def tls_only_statement(region: str, bucket: str) -> dict[str, Any]:
    """Deny any request not over TLS (Security Hub S3.5)."""
    arn = bucket_arn(region, bucket)
    return {
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def denies_uploads_without_sse_header(statement: Mapping[str, Any]) -> bool:
    """Deny PutObject without ``x-amz-server-side-encryption``: the agent never sends it."""
    if statement.get("Effect") != "Deny":
        return False
    actions = as_list(statement.get("Action"))
    if not any(a in ("s3:PutObject", "s3:*", "*") or a.startswith("s3:Put") for a in actions):
        return False
    text = json.dumps(statement.get("Condition", {})).lower()
    return "s3:x-amz-server-side-encryption" in text


def bucket_policy(
    region: str,
    bucket: str,
    existing: Mapping[str, Any] | None,
    extra: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The existing policy with the TLS-only statement (and ``extra``, the tool's own
    statements such as a central bucket's organization grants) added, SSE-header denies removed.

    Statements the tool does not own are kept as they are, except those that silently break
    log delivery (``denies_uploads_without_sse_header``): default encryption covers them.
    """
    ours = [tls_only_statement(region, bucket), *extra]
    our_sids = {s["Sid"] for s in ours}
    kept = [
        s
        for s in statements_of(existing)
        if not denies_uploads_without_sse_header(s) and s.get("Sid") not in our_sids
    ]
    version = (existing or {}).get("Version", VERSION)
    if "${" in json.dumps(ours):
        # Policy variables (the org grant's ${aws:PrincipalAccount}) are literal text in an
        # older policy language: the grant would match no member's prefix.
        version = VERSION
    policy: dict[str, Any] = {"Version": version}
    if existing and "Id" in existing:
        policy["Id"] = existing["Id"]
    policy["Statement"] = [*kept, *ours]
    return policy


ORG_SID_PREFIX = f"{SID_PREFIX}Organization"


def org_bucket_statements(
    region: str, bucket: str, key_prefix: str, org_id: str
) -> list[dict[str, Any]]:
    """A central bucket's grants to every principal of the organization, and nobody else.

    PutObject only under ``<prefix>/<the caller's own account id>/`` (the policy variable
    ``${aws:PrincipalAccount}``), so no member can overwrite another's transcripts; and
    GetEncryptionConfiguration, which the agent calls before each session when
    s3EncryptionEnabled is true (without it: "encryption is not set up").
    """
    arn = bucket_arn(region, bucket)
    prefix = f"{key_prefix}/" if key_prefix else ""
    only_org = {"StringEquals": {"aws:PrincipalOrgID": org_id}}
    return [
        {
            "Sid": f"{ORG_SID_PREFIX}PutSessionTranscripts",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/{prefix}${{aws:PrincipalAccount}}/*",
            "Condition": only_org,
        },
        {
            "Sid": f"{ORG_SID_PREFIX}CheckBucketEncryption",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "s3:GetEncryptionConfiguration",
            "Resource": arn,
            "Condition": only_org,
        },
    ]


def central_bucket_statements(
    spec: ProvisionSpec, org_id: str | None = None
) -> list[dict[str, Any]]:
    """The bucket statements beyond TLS-only the spec wants: a central bucket's organization
    grants (``org_id`` discovered at plan time when --org-id was not given)."""
    org_id = org_id or (spec.central.org_id if spec.central else None)
    if spec.central is None or not org_id or spec.bucket is None:
        return []
    want = spec.bucket
    return org_bucket_statements(spec.region, want.name, want.key_prefix, org_id)


def org_key_statement(region: str, bucket: str, org_id: str) -> dict[str, Any]:
    """The central bucket key's grant to the organization's principals, through S3 only.

    SSE-KMS makes S3 call GenerateDataKey (and Decrypt, for multipart uploads) as the
    uploading role; the role's own IAM policy must also allow it (cross-account KMS needs
    both). Limited to S3 in the bucket's region and to this bucket's encryption context (the
    bucket ARN with a Bucket Key, the object ARN without one).
    """
    arn = bucket_arn(region, bucket)
    return {
        "Sid": f"{ORG_SID_PREFIX}SessionLogUploads",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "aws:PrincipalOrgID": org_id,
                "kms:ViaService": f"s3.{region}.amazonaws.com",
            },
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [arn, f"{arn}/*"]},
        },
    }


def org_grant_prefix(document: Mapping[str, Any] | None) -> str | None:
    """The key prefix the tool's organization upload grant names (its Resource is
    ``<bucket ARN>/<prefix>/${aws:PrincipalAccount}/*``), or None without that grant."""
    marker = "${aws:PrincipalAccount}/*"
    for statement in statements_of(document):
        resource = statement.get("Resource")
        if statement.get("Sid") != f"{ORG_SID_PREFIX}PutSessionTranscripts":
            continue
        if isinstance(resource, str) and resource.endswith(marker) and "/" in resource:
            return resource.split("/", 1)[1].removesuffix(marker).rstrip("/")
    return None


def has_org_statements(document: Mapping[str, Any] | None) -> bool:
    """Whether a bucket or key policy carries the tool's organization grants (a central store)."""
    return any(str(s.get("Sid", "")).startswith(ORG_SID_PREFIX) for s in statements_of(document))


def merge_owned_statements(
    existing: Mapping[str, Any] | None, owned: Mapping[str, Any]
) -> dict[str, Any]:
    """``owned`` with the statements of ``existing`` the tool does not own appended.

    Used for a key policy on a key the user brought: their grants stay, ours are (re)set.
    """
    ours = statements_of(owned)
    our_sids = {s.get("Sid") for s in ours}
    theirs = [
        s
        for s in statements_of(existing)
        if s.get("Sid") not in our_sids and not _owned_sid(s) and not _is_root_grant(s, ours)
    ]
    merged = dict(owned)
    merged["Statement"] = [*ours, *theirs]
    return merged


def statements_cover(documents: Iterable[Mapping[str, Any]], action: str, resource: str) -> bool:
    """Whether any Allow statement grants ``action`` on ``resource`` (wildcards, no conditions).

    A small evaluator for verify: enough to spot a missing action, not a full IAM engine.
    """
    from fnmatch import fnmatchcase

    allowed = False
    for document in documents:
        for statement in statements_of(document):
            actions = [a.lower() for a in as_list(statement.get("Action"))]
            resources = as_list(statement.get("Resource"))
            hit = any(fnmatchcase(action.lower(), a) for a in actions) and any(
                fnmatchcase(resource, r) for r in resources
            )
            if hit and statement.get("Effect") == "Deny" and "Condition" not in statement:
                return False
            if hit and statement.get("Effect") == "Allow":
                allowed = True
    return allowed


def canonical(document: Mapping[str, Any] | None) -> str:
    """A stable string of a JSON document, to compare policies regardless of key order."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def statements_of(document: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not document:
        return []
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def condition_value(condition: Any, key: str) -> list[str] | None:
    """The values a condition block compares ``key`` with, under any operator; None if absent."""
    if not isinstance(condition, Mapping):
        return None
    for operator in condition.values():
        if isinstance(operator, Mapping) and key in operator:
            return as_list(operator[key])
    return None


def arn_matches(arn: str, patterns: Iterable[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(arn, p) for p in patterns)


def _owned_sid(statement: Mapping[str, Any]) -> bool:
    return str(statement.get("Sid", "")).startswith(SID_PREFIX)


def _is_root_grant(statement: Mapping[str, Any], ours: list[dict[str, Any]]) -> bool:
    """AWS's default "Enable IAM User Permissions" statement duplicates our root statement."""
    root = ours[0]["Principal"] if ours else None
    return (
        statement.get("Effect") == "Allow"
        and statement.get("Principal") == root
        and as_list(statement.get("Action")) == ["kms:*"]
        and "Condition" not in statement
    )
