"""Measurement's view of the one AWS edge (``costcompare.aws``): its clients and its errors.

``AwsOptions`` is the shared ``AwsContext`` (profile, region, endpoint, counted calls);
``aws_error`` words a failed read as a ``MeasureError`` with the permission a read needs.
"""

from __future__ import annotations

from costcompare.aws import AwsContext
from costcompare.aws import aws_error as _translate
from costcompare.errors import CostCompareError, MeasureError

AwsOptions = AwsContext

READ_FIXES = {
    "NoSuchBucket": "check the bucket name",
    "NoSuchKey": "check the key",
    "ResourceNotFoundException": "check the log group name and --region",
    "AccessDenied": "the caller needs read access (s3:ListBucket, s3:GetObject, "
    "logs:Describe*, logs:GetLogEvents, cloudwatch:GetMetricData)",
    "AccessDeniedException": "the caller needs logs:Describe*, logs:GetLogEvents and "
    "cloudwatch:GetMetricData",
}


def aws_error(exc: Exception, what: str) -> CostCompareError:
    """A one-line error for a failed AWS read: what failed and the likely fix."""
    return _translate(exc, what, error=MeasureError, fixes=READ_FIXES)
