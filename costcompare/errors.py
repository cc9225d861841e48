"""Domain errors. The CLI turns each into one line and exit code 2; nothing else catches them."""

from __future__ import annotations


class CostCompareError(Exception):
    """A problem the user can fix. ``str()`` is the whole one-line message: what and how to fix."""

    exit_code = 2

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} — {fix}" if fix else problem)


class PricingError(CostCompareError):
    """The pricing table is malformed, or lacks a price the model needs."""


class WorkloadError(CostCompareError):
    """A workload profile or flag is invalid."""


class OutputError(CostCompareError):
    """An output file cannot be written."""


class MeasureError(CostCompareError):
    """A measurement source cannot be read (missing path, bucket, log group or inventory)."""


class AwsError(CostCompareError):
    """AWS could not be asked or refused: unknown profile, no credentials, no region, access
    denied, throttled beyond the retries, endpoint unreachable."""
