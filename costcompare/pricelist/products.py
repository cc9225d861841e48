"""Which Price List product each price key is: the mapping (data), region prefixes, units.

A price key names a service code, a usagetype suffix and, where a suffix is shared, the
productFamily and attributes that tell products apart (``TimedStorage-ByteHrs`` is S3 storage
*and* CloudWatch Logs archive storage). The usagetype carries a region prefix (``APN1-``; none,
or ``USE1-``, in us-east-1) or, for KMS, the region name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from costcompare import awsfacts
from costcompare.errors import PricingError

# --------------------------------------------------------------------------------------------
# The mapping: price key -> Price List product (data)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSpec:
    """Where one price key lives in the Price List, and the unit the table keeps it in."""

    price_key: str
    service: str
    suffix: str  # usagetype without its region prefix
    unit: str  # the table's unit (what the model counts the quantity in)
    product_family: str | None = None  # required where the suffix is shared within the service
    attributes: tuple[tuple[str, str], ...] = ()  # further product attributes that must match
    prefix: str = "code"  # "code": APN1-/USE1-/none; "name": the region name (KMS)
    regions: tuple[str, ...] = ()  # the only regions AWS prices the key in; () = every region

    def priced_in(self, region: str) -> bool:
        """Does AWS price this key in ``region``? (Cost Explorer: us-east-1 only.)"""
        return not self.regions or region in self.regions


def _spec(key: str, service: str, suffix: str, unit: str, family: str | None = None, **attrs):
    return ProductSpec(key, service, suffix, unit, family, tuple(sorted(attrs.items())))


_S3_STORAGE = {
    "STANDARD": "TimedStorage-ByteHrs",
    "STANDARD_IA": "TimedStorage-SIA-ByteHrs",
    "ONEZONE_IA": "TimedStorage-ZIA-ByteHrs",
    "GLACIER_IR": "TimedStorage-GIR-ByteHrs",
    "GLACIER": "TimedStorage-GlacierByteHrs",
    "DEEP_ARCHIVE": "TimedStorage-GDA-ByteHrs",
}
# PUT/COPY/POST/LIST (and lifecycle transitions into the class) and GET-class requests.
_S3_PUT = {
    "STANDARD": "Requests-Tier1",
    "STANDARD_IA": "Requests-SIA-Tier1",
    "ONEZONE_IA": "Requests-ZIA-Tier1",
    "GLACIER_IR": "Requests-GIR-Tier1",
    "GLACIER": "Requests-Tier3",
    "DEEP_ARCHIVE": "Requests-GDA-Tier1",
}
_S3_GET = {
    "STANDARD": "Requests-Tier2",
    "STANDARD_IA": "Requests-SIA-Tier2",
    "ONEZONE_IA": "Requests-ZIA-Tier2",
    "GLACIER_IR": "Requests-GIR-Tier2",
    "GLACIER": "Requests-Tier2",
    "DEEP_ARCHIVE": "Requests-GDA-Tier2",
}
_S3_RETRIEVAL = {
    "STANDARD_IA": "Retrieval-SIA",
    "ONEZONE_IA": "Retrieval-ZIA",
    "GLACIER_IR": "Retrieval-GIR",
    "GLACIER": "Standard-Retrieval-Bytes",
    "DEEP_ARCHIVE": "GDA-Standard-Retrieval-Bytes",
}

PRODUCT_MAP: tuple[ProductSpec, ...] = (
    # CloudWatch Logs and CloudWatch (custom logs via PutLogEvents, not vended logs).
    _spec("logs.ingestion.standard", "AmazonCloudWatch", "DataProcessing-Bytes", "GB"),
    _spec("logs.ingestion.infrequent_access", "AmazonCloudWatch", "DataProcessingIA-Bytes", "GB"),
    _spec("logs.storage", "AmazonCloudWatch", "TimedStorage-ByteHrs", "GB-Mo", "Storage Snapshot"),
    _spec("logs.insights.scanned", "AmazonCloudWatch", "DataScanned-Bytes", "GB"),
    _spec("logs.live_tail", "AmazonCloudWatch", "Logs-LiveTail", "Minutes"),
    _spec("logs.data_protection", "AmazonCloudWatch", "DataProtection-Bytes", "GB"),
    _spec("cloudwatch.metric", "AmazonCloudWatch", "CW:MetricMonitorUsage", "Metrics"),
    _spec("cloudwatch.alarm", "AmazonCloudWatch", "CW:AlarmMonitorUsage", "Alarms"),
    # S3: storage per class (Standard is tiered), requests, retrieval.
    _spec(
        "s3.storage.STANDARD",
        "AmazonS3",
        _S3_STORAGE["STANDARD"],
        "GB-Mo",
        "Storage",
        volumeType="Standard",
    ),
    *(
        _spec(f"s3.storage.{cls}", "AmazonS3", suffix, "GB-Mo", "Storage")
        for cls, suffix in _S3_STORAGE.items()
        if cls != "STANDARD"
    ),
    *(
        _spec(f"s3.requests.put.{cls}", "AmazonS3", suffix, "Requests", "API Request")
        for cls, suffix in _S3_PUT.items()
    ),
    *(
        _spec(f"s3.requests.get.{cls}", "AmazonS3", suffix, "Requests", "API Request")
        for cls, suffix in _S3_GET.items()
    ),
    *(
        _spec(f"s3.retrieval.{cls}", "AmazonS3", suffix, "GB")
        for cls, suffix in _S3_RETRIEVAL.items()
    ),
    _spec("athena.scanned", "AmazonAthena", "DataScannedInTB", "TB"),
    ProductSpec("kms.key", "awskms", "KMS-Keys", "Keys", prefix="name"),
    ProductSpec("kms.requests", "awskms", "KMS-Requests", "Requests", prefix="name"),
    _spec("vpc.interface_endpoint.hours", "AmazonVPC", "VpcEndpoint-Hours", "Hrs"),
    _spec("vpc.interface_endpoint.bytes", "AmazonVPC", "VpcEndpoint-Bytes", "GB"),
    # NAT gateway prices are published in the AmazonEC2 offer (productFamily "NAT Gateway").
    _spec("vpc.nat_gateway.hours", "AmazonEC2", "NatGateway-Hours", "Hrs", "NAT Gateway"),
    _spec("vpc.nat_gateway.bytes", "AmazonEC2", "NatGateway-Bytes", "GB", "NAT Gateway"),
    # What reading the bill costs (`reconcile --source cost-explorer`): one endpoint, us-east-1.
    ProductSpec(
        "ce.requests",
        "AWSCostExplorer",
        "APIRequest",
        "Requests",
        "API Request",
        regions=("us-east-1",),
    ),
)
SPECS: dict[str, ProductSpec] = {s.price_key: s for s in PRODUCT_MAP}

# usagetype prefix of each region (AWS billing codes). us-east-1 often has none.
REGION_PREFIXES: dict[str, str] = {
    "us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2",
    "ca-central-1": "CAN1", "ca-west-1": "CAN2", "sa-east-1": "SAE1",
    "eu-west-1": "EU", "eu-west-2": "EUW2", "eu-west-3": "EUW3", "eu-central-1": "EUC1",
    "eu-central-2": "EUC2", "eu-north-1": "EUN1", "eu-south-1": "EUS1", "eu-south-2": "EUS2",
    "ap-northeast-1": "APN1", "ap-northeast-2": "APN2", "ap-northeast-3": "APN3",
    "ap-southeast-1": "APS1", "ap-southeast-2": "APS2", "ap-south-1": "APS3",
    "ap-southeast-3": "APS4", "ap-south-2": "APS5", "ap-southeast-4": "APS6", "ap-east-1": "APE1",
    "me-south-1": "MES1", "me-central-1": "MEC1", "af-south-1": "AFS1", "il-central-1": "ILC1",
    "us-gov-west-1": "UGW1", "us-gov-east-1": "UGE1",
}  # fmt: skip
# For a region missing above: one token with a digit (APS7-), never a class marker like GDA-.
_UNKNOWN_PREFIX = re.compile(r"[A-Z]{2,4}[0-9]-")

# (Price List unit, table unit) -> Price List units in one table unit.
UNIT_FACTORS: dict[tuple[str, str], Decimal] = {
    ("gb", "GB"): Decimal(1),
    ("tb", "GB"): Decimal(1) / Decimal(1024),
    ("terabytes", "GB"): Decimal(1) / Decimal(1024),
    ("gb-mo", "GB-Mo"): Decimal(1),
    ("gb-month", "GB-Mo"): Decimal(1),
    ("tb", "TB"): Decimal(1),
    ("terabytes", "TB"): Decimal(1),
    ("gb", "TB"): Decimal(1024),
    ("requests", "Requests"): Decimal(1),
    ("request", "Requests"): Decimal(1),
    ("1k requests", "Requests"): Decimal("0.001"),
    ("1,000 requests", "Requests"): Decimal("0.001"),
    ("10k requests", "Requests"): Decimal("0.0001"),
    ("hrs", "Hrs"): Decimal(1),
    ("hours", "Hrs"): Decimal(1),
    ("keys", "Keys"): Decimal(1),
    ("key-mo", "Keys"): Decimal(1),
    ("metrics", "Metrics"): Decimal(1),
    ("alarms", "Alarms"): Decimal(1),
    ("minutes", "Minutes"): Decimal(1),
}


def check_region(region: str) -> str:
    """A region code (a region newer than the tool's list is let through for the Price List)."""
    return awsfacts.check_region(region, error=PricingError, known_only=False)


def usage_prefix_ok(prefix: str, region: str, style: str) -> bool:
    """Is ``prefix`` (what precedes the suffix in a usagetype) this region's own prefix?"""
    if style == "name":
        return prefix == f"{region}-"
    code = REGION_PREFIXES.get(region)
    if code is None:
        return bool(_UNKNOWN_PREFIX.fullmatch(prefix))
    return prefix == f"{code}-" or (region == "us-east-1" and prefix == "")


def matches(spec: ProductSpec, region: str, service: str, family: str, attrs: Mapping) -> bool:
    """Is this product the one ``spec`` names, in ``region``? Suffix, prefix, family, attributes."""
    if service != spec.service:
        return False
    region_code = attrs.get("regionCode")
    usagetype = str(attrs.get("usagetype", ""))
    if not usagetype.endswith(spec.suffix):
        return False
    prefix = usagetype[: len(usagetype) - len(spec.suffix)]
    if region_code is not None and region_code != region:
        return False
    if region_code is None and not prefix:
        return False  # no region attribute and no prefix: a global SKU, not this region's
    if not usage_prefix_ok(prefix, region, spec.prefix):
        return False
    if spec.product_family is not None and family != spec.product_family:
        return False
    return all(attrs.get(k) == v for k, v in spec.attributes)
