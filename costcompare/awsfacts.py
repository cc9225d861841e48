"""What AWS accepts, in one place: regions, retention values, lifecycle rules, names and ARNs.

The cost side (the workload profile), provisioning (the desired state) and the Price List
refresh all validate the same AWS inputs; they ask this module, so a region, a retention or a
lifecycle rule is accepted or refused with the same words everywhere. Pure data and standard
library only: nothing here talks to AWS.

Each ``check_*`` returns the value it accepts and raises ``error(problem, fix)`` otherwise, so
each caller keeps its own domain error type (WorkloadError, SpecError, PricingError).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costcompare.errors import CostCompareError

ErrorType = type[CostCompareError]

# -- accounts -----------------------------------------------------------------------------------

ACCOUNT_ID = re.compile(r"[0-9]{12}")


def check_account_id(value: str, what: str, *, error: ErrorType = CostCompareError) -> str:
    """An AWS account id is 12 ASCII digits; ``what`` names the option or key that gave it.

    It also guards the SQL and ARNs the id is written into, so nothing else may pass.
    """
    if not ACCOUNT_ID.fullmatch(value):
        from costcompare.yamlio import clip  # the error path only: this module stays stdlib

        raise error(f"{what} {clip(value)} is not an account id", "give 12 digits")
    return value


# -- regions ------------------------------------------------------------------------------------

# Commercial AWS regions (codes only). Prices exist only for the regions in the pricing table;
# this list tells a typo ("ap-northeast1") from a real region the table does not cover yet.
AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-east-2",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-northeast-1",
    "ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1",
    "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2",
    "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
)  # fmt: skip
# China and GovCloud regions live in their own partitions (ARNs say aws-cn / aws-us-gov).
OTHER_PARTITION_PREFIXES = {"cn-": "aws-cn", "us-gov-": "aws-us-gov"}
REGION_CODE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
REGION_EXAMPLE = "ap-northeast-1"
NO_REGION = ("no AWS region given", "pass --region or set AWS_REGION / AWS_DEFAULT_REGION")


def partition(region: str) -> str:
    """ARN partition of a region: policies built for aws-cn or GovCloud need it."""
    for prefix, name in OTHER_PARTITION_PREFIXES.items():
        if region.startswith(prefix):
            return name
    return "aws"


def check_region(
    region: str | None, *, error: ErrorType = CostCompareError, known_only: bool = True
) -> str:
    """A region code AWS has. ``known_only=False`` also lets through a well-formed code this
    list does not know yet (a region newer than the tool, which the Price List may know)."""
    value = (region or "").strip()
    if not value:
        raise error(*NO_REGION)
    known = value in AWS_REGIONS or value.startswith(tuple(OTHER_PARTITION_PREFIXES))
    if known and REGION_CODE.fullmatch(value):
        return value
    if not known_only and REGION_CODE.fullmatch(value):
        return value
    close = difflib.get_close_matches(value, AWS_REGIONS, n=1)
    fix = f"did you mean '{close[0]}'?" if close else f"write a region code like {REGION_EXAMPLE}"
    raise error(f"unknown region {value!r}", fix)


# -- VPC endpoints -------------------------------------------------------------------------------

# Session Manager in private subnets needs these interface endpoints whatever the log destination
# (Systems Manager's VPC endpoint documentation); CloudWatch Logs adds `logs`, encryption `kms`.
# The S3 gateway endpoint is separate (and free).
SESSION_MANAGER_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages")


def interface_endpoints(*, cloudwatch: bool, kms: bool) -> tuple[str, ...]:
    """The interface endpoint services (short names) instances need for a setup."""
    return SESSION_MANAGER_ENDPOINTS + (("logs",) if cloudwatch else ()) + (("kms",) if kms else ())


# -- CloudWatch Logs retention ------------------------------------------------------------------

# CloudWatch Logs PutRetentionPolicy accepts only these (the PutRetentionPolicy API reference).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


def check_retention_days(
    days: int | None, *, error: ErrorType = CostCompareError, name: str = "retention_days"
) -> int | None:
    """A retention CloudWatch Logs accepts; None means "never expire". ``name`` is the key
    the value was given as, for the error."""
    if days is None or days in CLOUDWATCH_RETENTION_DAYS:
        return days
    nearest = min(CLOUDWATCH_RETENTION_DAYS, key=lambda d: (abs(d - days), -d))
    raise error(
        f"{name} {days} is not a value CloudWatch Logs accepts",
        f"use one of {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))} (nearest: {nearest})",
    )


# -- S3 lifecycle -------------------------------------------------------------------------------

# In S3's transition order: a rule may only move objects further down this list.
LIFECYCLE_CLASSES = ("STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
IA_CLASSES = ("STANDARD_IA", "ONEZONE_IA")
# S3 keeps objects 30 days in STANDARD before a transition to either IA class, and 30 days in
# an IA class before moving them on (PutBucketLifecycleConfiguration rejects less).
MIN_DAYS_BEFORE_IA = 30
MIN_DAYS_IN_IA = 30


@dataclass(frozen=True)
class LifecycleRule:
    """Move objects to ``storage_class`` once they are ``after_days`` old (one S3 transition)."""

    after_days: int
    storage_class: str

    def as_dict(self) -> dict[str, Any]:
        return {"after_days": self.after_days, "storage_class": self.storage_class}

    def __str__(self) -> str:
        return f"{self.after_days}:{self.storage_class}"


def check_storage_class(value: Any, *, error: ErrorType = CostCompareError, what: str) -> str:
    """A lifecycle target class, upper-cased; ``what`` names the input in the message."""
    storage_class = str(value or "").strip().upper()
    if storage_class not in LIFECYCLE_CLASSES:
        raise error(
            f"{what} has an unknown storage class {storage_class or value!r}",
            f"use one of {', '.join(LIFECYCLE_CLASSES)}",
        )
    return storage_class


def check_lifecycle(
    rules: Sequence[LifecycleRule], *, error: ErrorType = CostCompareError
) -> tuple[LifecycleRule, ...]:
    """The ordering and minimum-age rules S3 enforces on a bucket's transitions."""
    previous: LifecycleRule | None = None
    for rule in rules:
        check_storage_class(rule.storage_class, error=error, what=f"transition {rule}")
        if rule.storage_class in IA_CLASSES and rule.after_days < MIN_DAYS_BEFORE_IA:
            raise error(
                f"transition to {rule.storage_class} after {rule.after_days} days",
                f"S3 needs at least {MIN_DAYS_BEFORE_IA} days in STANDARD before STANDARD_IA "
                "or ONEZONE_IA",
            )
        if previous is not None:
            if rule.after_days <= previous.after_days:
                raise error(
                    f"transition {rule} does not follow {previous}",
                    "list transitions in increasing order of age",
                )
            order = LIFECYCLE_CLASSES.index
            if order(rule.storage_class) <= order(previous.storage_class):
                raise error(
                    f"transition {rule} moves objects from {previous.storage_class} to "
                    f"{rule.storage_class}, which S3 does not allow",
                    f"transitions only go colder: {' → '.join(LIFECYCLE_CLASSES)}",
                )
            stayed = rule.after_days - previous.after_days
            if previous.storage_class in IA_CLASSES and stayed < MIN_DAYS_IN_IA:
                raise error(
                    f"{rule.storage_class} only {stayed} days after {previous.storage_class}",
                    f"S3 needs objects to stay {MIN_DAYS_IN_IA} days in an IA class before "
                    "moving on",
                )
        previous = rule
    return tuple(rules)


# -- booleans -----------------------------------------------------------------------------------

TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def parse_bool(value: Any) -> bool | None:
    """True/False from a bool or the words YAML and the CLI use; None when it is neither."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


# -- names and ARNs -----------------------------------------------------------------------------

LOG_GROUP_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
IAM_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")
SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
KMS_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<kind>key|alias)/(?P<id>[A-Za-z0-9/_-]+)$"
)
KMS_KEY_ID = re.compile(
    r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
LINUX_USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
S3_KEY_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]{0,512}$")


def check_log_group_name(name: str, *, error: ErrorType = CostCompareError) -> str:
    if not LOG_GROUP_NAME.match(name) or name.startswith("aws/"):
        raise error(
            f"log group name {name!r} is invalid",
            "use 1-512 characters from A-Z a-z 0-9 . - _ / # (not starting with aws/)",
        )
    return name


def check_bucket_name(name: str, *, error: ErrorType = CostCompareError) -> str:
    """S3 naming rules, plus no dots: dotted names break virtual-hosted TLS."""
    if "." in name:
        raise error(f"bucket name {name!r} contains dots", "use hyphens: dotted names break HTTPS")
    if name != name.lower():
        raise error(f"bucket name {name!r} has uppercase letters", "use lowercase only")
    if not BUCKET_NAME.match(name):
        raise error(
            f"bucket name {name!r} is invalid",
            "use 3-63 of a-z 0-9 -, starting and ending with a letter or digit",
        )
    if name.startswith(BUCKET_RESERVED_PREFIXES) or name.endswith(BUCKET_RESERVED_SUFFIXES):
        raise error(f"bucket name {name!r} uses a reserved prefix or suffix", "rename it")
    return name  # IP-address-like names contain dots, rejected above


def check_kms_arn(
    value: str, region: str, what: str, *, error: ErrorType = CostCompareError
) -> str:
    """A full key (or alias) ARN in ``region``: the only form log groups and the agent accept."""
    match = KMS_ARN.match(value)
    if not match:
        raise error(
            f"{what} {value!r} is not a KMS key ARN",
            "give arn:aws:kms:<region>:<account>:key/<key id>",
        )
    if match["region"] != region:
        raise error(
            f"{what} is in {match['region']}, not {region}",
            "a log group, bucket or session can only use a key in its own region",
        )
    if match["partition"] != partition(region):
        raise error(f"{what} has partition {match['partition']!r}", "match the region")
    if match["kind"] == "key" and not KMS_KEY_ID.match(match["id"]):
        raise error(f"{what} {value!r} has a malformed key id", "copy the ARN from KMS")
    return value
