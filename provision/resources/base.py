"""What every resource module shares: "not found" error codes, safe reads, tags, findings."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from provision.aws import error_code
from provision.spec import MANAGED_TAG

ERROR, WARNING = "error", "warning"
ALIAS_TAG = "costcompare:alias"
PREVIOUS_VERSION_TAG = "costcompare:previous-version"

NOT_FOUND = {
    "NoSuchBucket",
    "NotFound",
    "404",
    "NotFoundException",
    "NoSuchEntity",
    "EntityNotFoundException",
    "ResourceNotFoundException",
    "InvalidDocument",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchTagSet",
    "OwnershipControlsNotFoundError",
    "ServerSideEncryptionConfigurationNotFoundError",
    "ObjectLockConfigurationNotFoundError",
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
}

T = TypeVar("T")


@dataclass(frozen=True)
class Finding:
    """One pitfall verify found: how bad, which check, where, what, and the fix."""

    severity: str  # error | warning
    check: str
    resource: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def try_read(read: Callable[[], T]) -> T | None:
    """Run a get_*; a "not configured" error code means None, anything else propagates."""
    try:
        return read()
    except Exception as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise


def as_json(document: Any) -> dict[str, Any]:
    """A policy document as IAM returns it (dict, JSON text or URL-encoded JSON) → dict."""
    if isinstance(document, str):
        from urllib.parse import unquote

        text = document if document.lstrip().startswith("{") else unquote(document)
        return json.loads(text)
    return dict(document)


def key_value_tags(tags: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """The managed tag (plus ``tags``) in the Key/Value list form most APIs take."""
    wanted = {MANAGED_TAG[0]: MANAGED_TAG[1], **(tags or {})}
    return [{"Key": k, "Value": v} for k, v in wanted.items()]


def tag_spec(resource_type: str) -> dict[str, Any]:
    """EC2's TagSpecifications entry carrying the managed tag."""
    return {"ResourceType": resource_type, "Tags": key_value_tags()}


def true(value: Any) -> bool:
    """A document boolean input, which people also write as the string "true"."""
    return value is True or str(value).lower() == "true"
