"""Provisioning's view of the one AWS edge (``costcompare.aws``): same names as before."""

from __future__ import annotations

from costcompare.aws import (
    RETRY_CONFIG,
    USER_AGENT,
    AwsContext,
    error_code,
    error_text,
    resolve_region,
)

__all__ = ["RETRY_CONFIG", "USER_AGENT", "AwsContext", "error_code", "error_text", "resolve_region"]
