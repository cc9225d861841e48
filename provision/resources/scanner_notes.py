"""Why the exported template leaves out what a scanner asks for, where plan does so on purpose.

The template holds exactly what 'provision plan' would build, so a scanner's finding is either
fixed in plan (and so in the template) or answered here with a reason in the resource's
``Metadata`` (checkov reads ``Metadata.checkov.skip``; the reason travels with the template).
"""

from __future__ import annotations

from typing import Any

from provision.spec import BucketSpec, ProvisionSpec

ACCESS_LOGGING = (
    "CKV_AWS_18",
    "Server access logs need a second bucket that itself needs logging, and plan builds none: "
    "audit reads of the transcripts with CloudTrail S3 data events on this bucket instead.",
)
VERSIONING = (
    "CKV_AWS_21",
    "Each session writes one new object under its unique session id and never overwrites it; "
    "versioning comes with --object-lock-days (write-once storage), which needs it.",
)


def checkov_skips(*skips: tuple[str, str]) -> dict[str, Any]:
    """``Metadata`` that tells checkov which checks are answered and why."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in skips]}}


def bucket_metadata(want: BucketSpec) -> dict[str, Any]:
    """The session-log bucket's answers: access logging always, versioning without Object Lock."""
    skips = [ACCESS_LOGGING] if want.object_lock_days else [ACCESS_LOGGING, VERSIONING]
    return checkov_skips(*skips)


ORG_PRINCIPAL = (
    "CKV_AWS_33",
    "The wildcard principal is the organization's: the statement's aws:PrincipalOrgID condition "
    "limits it to the org's accounts, and kms:ViaService plus the bucket's encryption context "
    "to S3 uploads into the central bucket (AWS's documented cross-account pattern).",
)


def key_metadata(policy: dict[str, Any]) -> dict[str, Any]:
    """``{"Metadata": ...}`` for a key whose policy grants the organization through a wildcard
    principal bounded by ``aws:PrincipalOrgID``; empty for every other key."""
    for statement in policy.get("Statement", []):
        wildcard = statement.get("Principal") in ("*", {"AWS": "*"})
        org_bound = "aws:PrincipalOrgID" in statement.get("Condition", {}).get("StringEquals", {})
        if wildcard and org_bound:
            return {"Metadata": checkov_skips(ORG_PRINCIPAL)}
    return {}


YEAR = 365  # CKV_AWS_338 and Security Hub CloudWatch.16: logs kept at least a year


def log_group_metadata(spec: ProvisionSpec) -> dict[str, Any]:
    """``{"Metadata": ...}`` when the log group keeps less than a year but the bucket of the
    same setup keeps every transcript for a year or more (``both``, e.g. PCI DSS 10.5.1: three
    months searchable in CloudWatch, twelve in S3); empty otherwise, so checkov still fails a
    short retention nothing else covers."""
    days = spec.log_group.retention_days if spec.log_group else None
    if days is None or days == 0 or days >= YEAR or spec.bucket is None or spec.bucket.member:
        return {}  # a central bucket's expiration is the archive account's, not known here
    kept = spec.bucket.expiration_days
    if kept is not None and kept < YEAR:
        return {}
    held = "never expires" if kept is None else f"expires after {kept} days"
    why = (
        f"CloudWatch keeps the recent {days} days searchable; the S3 copy of every transcript in "
        f"the same setup {held}, so the logs are kept at least a year."
    )
    return {"Metadata": checkov_skips(("CKV_AWS_338", why))}
