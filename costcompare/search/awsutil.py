"""Search's view of the one AWS edge (``costcompare.aws``): its clients, its errors, waiting."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from costcompare.aws import ACCESS_DENIED_CODES, AwsContext, aws_error, error_code
from costcompare.errors import CostCompareError
from costcompare.search.query import SearchError

AwsOptions = AwsContext

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
    if error_code(exc) in ACCESS_DENIED_CODES:
        return SearchError(f"{what}: access denied", f"the caller needs {PERMISSIONS[backend]}")
    fixes = {
        "NoSuchBucket": "check the bucket in --s3",
        "ResourceNotFoundException": "check --log-group and --region",
        "InvalidRequestException": "check --athena-table, --athena-workgroup and --athena-output",
    }
    return aws_error(exc, what, error=SearchError, fixes=fixes)


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


def athena_state(athena: Any, qid: str) -> tuple[bool, dict[str, Any]]:
    """A ``wait`` poll of one Athena query: (finished?, its QueryExecution)."""
    execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    return execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"), execution


__all__ = ["AwsOptions", "athena_state", "translate", "wait"]
