"""Why the exported template leaves out what a scanner asks for, where plan does so on purpose.

The template holds exactly what 'provision plan' would build, so a scanner's finding is either
fixed in plan (and so in the template) or answered here with a reason in the resource's
``Metadata`` (checkov reads ``Metadata.checkov.skip``; the reason travels with the template).
"""

from __future__ import annotations

from typing import Any

from provision.spec import BucketSpec

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
