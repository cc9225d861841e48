"""The AWS side shared by the S3, Athena and CloudWatch backends: clients, errors, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from costcompare.errors import CostCompareError
from costcompare.measure.aws import AwsOptions, aws_error
from costcompare.search.query import SearchError

# What each backend needs, named in the one-line error when AWS says access is denied.
PERMISSIONS = {
    "s3-scan": "s3:ListBucket on the bucket and s3:GetObject on the prefix",
    "athena": "athena:StartQueryExecution/GetQueryExecution/GetQueryResults on the workgroup, "
    "glue:GetTable on the table, s3:GetObject on the prefix and s3:PutObject on the results",
    "cloudwatch-insights": "logs:StartQuery, logs:GetQueryResults and logs:DescribeLogGroups",
    "cloudwatch-filter": "logs:FilterLogEvents and logs:DescribeLogGroups",
}
POLL_FIRST_S = 0.2
POLL_MAX_S = 2.0


def translate(exc: Exception, backend: str, what: str) -> CostCompareError:
    """One line for a failed AWS call; access denied names the permissions the backend needs."""
    if isinstance(exc, CostCompareError):
        return exc
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return SearchError(f"{what}: access denied", f"the caller needs {PERMISSIONS[backend]}")
    return aws_error(exc, what)


def wait(
    poll: Callable[[], tuple[bool, Any]], timeout_s: float, what: str, sleep=time.sleep
) -> Any:
    """Call ``poll`` (→ (done, value)) with growing pauses until done or ``timeout_s``."""
    pause = POLL_FIRST_S
    deadline = time.monotonic() + timeout_s
    while True:
        done, value = poll()
        if done:
            return value
        if time.monotonic() >= deadline:
            raise SearchError(f"{what} did not finish in {timeout_s:g} s", "raise --timeout")
        sleep(pause)
        pause = min(pause * 2, POLL_MAX_S)


__all__ = ["AwsOptions", "translate", "wait"]
