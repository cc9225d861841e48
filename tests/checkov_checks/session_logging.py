"""The issue-15 checks checkov 3.x has for Terraform only, ported to CloudFormation resources.

checkov's CloudFormation framework has CKV_AWS_158 (log group KMS), CKV_AWS_66 (retention set),
CKV_AWS_7 (key rotation) and the S3 Block Public Access checks, but CKV_AWS_338 (retention of a
year), CKV_AWS_112/113 (the Session document's encryption and logging) and a TLS-only bucket
policy check exist only under ``checkov/terraform/checks/resource/aws``. These keep those checks'
IDs, names and pass rules, reading the CloudFormation properties instead, so the export's
acceptance ("no failures on 158, 66/338, 7, 112, S3 public access/TLS") is judged, not vacuous.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult


def _properties(conf: dict[str, Any]) -> dict[str, Any]:
    found = conf.get("Properties")
    return found if isinstance(found, dict) else {}


class LogGroupRetentionYear(BaseResourceCheck):
    """CKV_AWS_338 (terraform CloudWatchLogGroupRetentionYear): 0 or at least 365 days."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure CloudWatch log groups retains logs for at least 1 year",
            id="CKV_AWS_338",
            categories=[CheckCategories.LOGGING],
            supported_resources=["AWS::Logs::LogGroup"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        days = _properties(conf).get("RetentionInDays")
        if days is None:
            return CheckResult.FAILED  # as the terraform check: an unset retention fails
        if not isinstance(days, int):
            return CheckResult.UNKNOWN  # a Ref or parameter
        return CheckResult.PASSED if days == 0 or days >= 365 else CheckResult.FAILED


def _session_inputs(conf: dict[str, Any]) -> dict[str, Any] | None:
    """The Session document's ``inputs``; None for other documents or unreadable content."""
    properties = _properties(conf)
    if properties.get("DocumentType") != "Session":
        return None
    content = properties.get("Content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            return None
    if not isinstance(content, dict):
        return None
    inputs = content.get("inputs")
    return inputs if isinstance(inputs, dict) else None


class SessionDocumentEncryption(BaseResourceCheck):
    """CKV_AWS_112 (terraform SSMSessionManagerDocumentEncryption): inputs carry kmsKeyId."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Session Manager data is encrypted in transit",
            id="CKV_AWS_112",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["AWS::SSM::Document"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        inputs = _session_inputs(conf)
        if inputs is None:
            return CheckResult.UNKNOWN
        return CheckResult.PASSED if inputs.get("kmsKeyId") else CheckResult.FAILED


class SessionDocumentLogging(BaseResourceCheck):
    """CKV_AWS_113 (terraform SSMSessionManagerDocumentLogging): an encrypted log target."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Session Manager logs are enabled and encrypted",
            id="CKV_AWS_113",
            categories=[CheckCategories.ENCRYPTION, CheckCategories.LOGGING],
            supported_resources=["AWS::SSM::Document"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        inputs = _session_inputs(conf)
        if not inputs:
            return CheckResult.UNKNOWN
        s3 = inputs.get("s3BucketName") and inputs.get("s3EncryptionEnabled")
        logs = inputs.get("cloudWatchLogGroupName") and inputs.get("cloudWatchEncryptionEnabled")
        return CheckResult.PASSED if s3 or logs else CheckResult.FAILED


class BucketPolicyTlsOnly(BaseResourceCheck):
    """TLS only (Security Hub S3.5; the rule of terraform's CKV_AWS_379 policy test): a Deny
    on ``aws:SecureTransport`` false, or Allow only on true."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure AWS S3 bucket is configured with secure data transport policy",
            id="CKV_CC_S3_TLS",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["AWS::S3::BucketPolicy"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        document = _properties(conf).get("PolicyDocument")
        statements = document.get("Statement", []) if isinstance(document, dict) else []
        for statement in statements if isinstance(statements, list) else [statements]:
            condition = (statement.get("Condition") or {}).get("Bool") or {}
            value = str(condition.get("aws:SecureTransport", "")).lower()
            if (statement.get("Effect"), value) in (("Deny", "false"), ("Allow", "true")):
                return CheckResult.PASSED
        return CheckResult.FAILED


LogGroupRetentionYear()
SessionDocumentEncryption()
SessionDocumentLogging()
BucketPolicyTlsOnly()
