"""provision.policies: valid, least-privilege documents; IAM ones pass the parliament linter."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from provision import policies
from provision.spec import build_spec

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
S3_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SESSION_KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/9999abcd-12ab-34cd-56ef-1234567890ab"
GROUP_ARN = "arn:aws:logs:ap-northeast-1:123456789012:log-group:/ssm/session-manager"


def _spec(destination, **extra):
    options = {"destination": destination, "bucket": "audit-logs", **extra}
    if destination == "cloudwatch":
        options.pop("bucket")
    return build_spec(options, REGION)


def _actions(document):
    return {
        (a, s["Resource"] if isinstance(s["Resource"], str) else tuple(s["Resource"]))
        for s in document["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }


def test_cloudwatch_role_policy_is_exactly_the_reference_minimum():
    doc = policies.instance_role_policy(_spec("cloudwatch"), ACCOUNT, {})
    assert _actions(doc) == {
        ("logs:DescribeLogGroups", "*"),
        ("logs:DescribeLogStreams", GROUP_ARN),
        ("logs:CreateLogStream", f"{GROUP_ARN}:log-stream:*"),
        ("logs:PutLogEvents", f"{GROUP_ARN}:log-stream:*"),
    }


def test_s3_role_policy_with_cmk_and_session_key():
    spec = _spec("s3", key_prefix="ssm/logs", session_kms_key_id=SESSION_KEY)
    doc = policies.instance_role_policy(spec, ACCOUNT, {"s3": S3_KEY, "session": SESSION_KEY})
    assert _actions(doc) == {
        ("s3:PutObject", "arn:aws:s3:::audit-logs/ssm/logs/*"),
        ("s3:GetEncryptionConfiguration", "arn:aws:s3:::audit-logs"),
        ("kms:GenerateDataKey", S3_KEY),
        ("kms:Decrypt", S3_KEY),
        ("kms:Decrypt", SESSION_KEY),
    }


@pytest.mark.parametrize(
    ("destination", "extra"),
    [
        ("cloudwatch", {}),
        ("s3", {}),
        ("s3", {"bucket_encryption": "sse-s3"}),
        ("both", {"session_kms_key_id": SESSION_KEY, "key_prefix": ""}),
    ],
)
def test_iam_policies_pass_parliament(destination, extra):
    spec = _spec(destination, **extra)
    doc = policies.instance_role_policy(spec, ACCOUNT, {"s3": S3_KEY})
    text = json.dumps(doc)
    assert json.loads(text) == doc
    findings = analyze_policy_string(text).findings
    assert [(f.issue, f.detail) for f in findings] == []


def test_parliament_does_catch_a_broken_policy():
    """The linter check above can fail: the seed article's invalid action is reported."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvent", "Resource": "*"}],
    }
    assert [f.issue for f in analyze_policy_string(json.dumps(bad)).findings] == ["UNKNOWN_ACTION"]


def test_key_policy_has_root_and_conditioned_logs_principal():
    doc = policies.key_policy(REGION, ACCOUNT, "/ssm/session-manager")
    root, logs = doc["Statement"]
    assert root["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert root["Action"] == "kms:*"
    assert logs["Principal"] == {"Service": "logs.ap-northeast-1.amazonaws.com"}
    assert logs["Action"] == [
        "kms:Encrypt*",
        "kms:Decrypt*",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
    ]
    assert logs["Condition"] == {
        "ArnEquals": {"kms:EncryptionContext:aws:logs:arn": GROUP_ARN}  # no trailing :*
    }
    assert policies.key_policy(REGION, ACCOUNT, None)["Statement"] == [root]


def test_partition_follows_region():
    doc = policies.key_policy("cn-north-1", ACCOUNT, "g")
    assert doc["Statement"][0]["Principal"]["AWS"].startswith("arn:aws-cn:iam::")


def test_bucket_policy_adds_tls_only_and_drops_sse_header_deny_keeps_others():
    other = {
        "Sid": "AllowAuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/auditor"},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::audit-logs/*",
    }
    sse_deny = {
        "Sid": "DenyUnencrypted",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::audit-logs/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
    }
    existing = {"Version": "2012-10-17", "Statement": [other, sse_deny]}
    doc = policies.bucket_policy(REGION, "audit-logs", existing)
    assert doc["Statement"] == [other, policies.tls_only_statement(REGION, "audit-logs")]
    tls = doc["Statement"][1]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert tls["Resource"] == ["arn:aws:s3:::audit-logs", "arn:aws:s3:::audit-logs/*"]
    # Idempotent: applying it again changes nothing.
    assert policies.bucket_policy(REGION, "audit-logs", doc) == doc
    assert policies.denies_uploads_without_sse_header(sse_deny)
    assert not policies.denies_uploads_without_sse_header(tls)


def test_merge_owned_statements_keeps_theirs_replaces_ours():
    aws_default = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    theirs = {
        "Sid": "AllowBackup",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:role/backup"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    stale_ours = {"Sid": "CostcompareOld", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}
    wanted = policies.key_policy(REGION, ACCOUNT, "g")
    merged = policies.merge_owned_statements(
        {"Version": "2012-10-17", "Statement": [aws_default, theirs, stale_ours]}, wanted
    )
    assert merged["Statement"] == [*wanted["Statement"], theirs]
    assert policies.merge_owned_statements(merged, wanted) == merged


def test_statements_cover():
    doc = policies.instance_role_policy(_spec("cloudwatch"), ACCOUNT, {})
    assert policies.statements_cover([doc], "logs:PutLogEvents", f"{GROUP_ARN}:log-stream:i-1")
    assert policies.statements_cover([doc], "logs:DescribeLogGroups", "*")
    assert not policies.statements_cover([doc], "logs:PutLogEvents", "arn:aws:logs:x:1:log-group:o")
    scoped = {
        "Statement": [
            {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": GROUP_ARN}
        ]
    }
    assert not policies.statements_cover([scoped], "logs:DescribeLogGroups", "*")


# Documented exceptions for key policies: in a key policy "Resource": "*" means "this key"
# (RESOURCE_STAR), and AWS documents ArnEquals on kms:EncryptionContext:aws:logs:arn, which
# parliament types as a string (MISMATCHED_TYPE).
KEY_POLICY_EXCEPTIONS = {"RESOURCE_STAR", "MISMATCHED_TYPE"}


@pytest.mark.parametrize("group", ["/ssm/session-manager", None])
def test_key_policies_pass_parliament(group):
    """Issue 18.12: key policies are linted too; the dead kms:Describe* grant is gone."""
    doc = policies.key_policy(REGION, ACCOUNT, group)
    findings = analyze_policy_string(json.dumps(doc)).findings
    assert [(f.issue, f.detail) for f in findings if f.issue not in KEY_POLICY_EXCEPTIONS] == []


def test_parliament_flags_the_dead_describe_grant():
    """The check above can fail: the reference's kms:Describe* under the logs condition."""
    doc = policies.key_policy(REGION, ACCOUNT, "/ssm/session-manager")
    doc["Statement"][1]["Action"].append("kms:Describe*")
    issues = {f.issue for f in analyze_policy_string(json.dumps(doc)).findings}
    assert "UNKNOWN_CONDITION_FOR_ACTION" in issues
