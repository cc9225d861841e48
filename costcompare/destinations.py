"""Each log destination as a declared list of cost components — data, not arithmetic.

A component says which price it uses and which monthly quantity (``costcompare.volumes``) feeds
it; the model multiplies the two. A new price or a new line of cost is a new row here.
"""

from __future__ import annotations

from dataclasses import dataclass

from costcompare.capabilities import (
    CLOUDWATCH_AND_S3,
    CLOUDWATCH_INFREQUENT_ACCESS,
    CLOUDWATCH_STANDARD,
    S3_WITH_ATHENA,
    Capabilities,
)

CATEGORIES = ("ingestion", "storage", "query", "requests", "encryption", "network", "alerting")
S3_CLASSES = ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
RETRIEVAL_CLASSES = ("STANDARD_IA", "ONEZONE_IA", "GLACIER_IR")
ATHENA_READABLE = ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "GLACIER_IR")


@dataclass(frozen=True)
class Component:
    """One line of cost: ``quantity`` (a volumes name) × the price of ``price_key``."""

    name: str
    category: str
    price_key: str
    quantity: str
    # Boolean workload keys that must all be on for this line to exist (e.g. kms).
    enabled_by: tuple[str, ...] = ()
    # Hidden from output when its quantity is zero in every month (unused storage classes).
    optional: bool = False
    # Caused by auditors' searches (scales with searches_per_month): the cost of search.
    search_driven: bool = False


@dataclass(frozen=True)
class Destination:
    """A place session logs can go: its cost lines, what it can do, how charts draw it."""

    name: str
    title: str  # the label tables and reports print
    components: tuple[Component, ...]
    capabilities: Capabilities | None = None  # None: not a destination (the shared baseline)
    colour: str = "#333333"  # Okabe–Ito palette (colour-blind safe) in charts


KMS = ("kms",)
ENDPOINTS = ("vpc_endpoints",)
ROTATION = ("kms", "kms_rotation")


def _key_rotation(store: str) -> Component:
    return Component(
        f"KMS rotated key versions for the {store} (first two rotations billed)",
        "encryption",
        "kms.key",
        "kms_rotated_versions",
        ROTATION,
        optional=True,
    )


def _cloudwatch(
    ingestion_key: str, class_title: str, alerting: bool, design: str = ""
) -> tuple[Component, ...]:
    """CloudWatch's lines; ``design`` "both" keeps its storage and searches to the "both"
    design's own retention (``both_cloudwatch_retention_days``)."""
    arg = f":{design}" if design else ""
    rows = [
        Component(
            f"CloudWatch Logs ingestion ({class_title})", "ingestion", ingestion_key, "cw_ingest_gb"
        ),
        Component(
            "CloudWatch Logs archive storage (compressed)",
            "storage",
            "logs.storage",
            f"cw_stored_gb{arg}",
        ),
        Component(
            "Logs Insights searches (GB scanned)",
            "query",
            "logs.insights.scanned",
            f"insights_scanned_gb{arg}",
            search_driven=True,
        ),
        Component("KMS key for the log group", "encryption", "kms.key", "one", KMS),
        _key_rotation("log group"),
        Component(
            "KMS requests by CloudWatch Logs", "encryption", "kms.requests", "cw_kms_requests", KMS
        ),
        # The network path (logs_endpoint): lines of the paths not taken have zero quantity.
        Component(
            "logs interface endpoint (new, per AZ)",
            "network",
            "vpc.interface_endpoint.hours",
            "logs_endpoint_hours",
            ENDPOINTS,
            optional=True,
        ),
        Component(
            "logs endpoint data processed",
            "network",
            "vpc.interface_endpoint.bytes",
            "logs_endpoint_gb",
            ENDPOINTS,
            optional=True,
        ),
        Component(
            "NAT gateway data processed (to CloudWatch Logs)",
            "network",
            "vpc.nat_gateway.bytes",
            "logs_nat_gb",
            optional=True,
        ),
    ]
    if alerting:
        rows += [
            Component(
                "Metric filters (custom metrics)", "alerting", "cloudwatch.metric", "metric_filters"
            ),
            Component("Alarms on the metric filters", "alerting", "cloudwatch.alarm", "alarms"),
        ]
    return tuple(rows)


CLOUDWATCH = _cloudwatch("logs.ingestion.standard", "Standard", alerting=True)
CLOUDWATCH_IN_BOTH = _cloudwatch("logs.ingestion.standard", "Standard", True, design="both")
# Infrequent Access has no metric filters, subscriptions or Live Tail: no alerting lines.
CLOUDWATCH_IA = _cloudwatch("logs.ingestion.infrequent_access", "Infrequent Access", alerting=False)

S3_STORE = (
    Component("S3 transcript uploads (PUT)", "requests", "s3.requests.put.STANDARD", "sessions"),
    *(
        Component(
            f"S3 storage ({cls})",
            "storage",
            f"s3.storage.{cls}",
            f"s3_stored_gb:{cls}",
            optional=cls != "STANDARD",
        )
        for cls in S3_CLASSES
    ),
    Component(
        "S3 archive index (8 KB/object at Standard rate)",
        "storage",
        "s3.storage.STANDARD",
        "s3_archive_index_gb",
        optional=True,
    ),
    *(
        Component(
            f"S3 lifecycle transitions to {cls}",
            "requests",
            f"s3.requests.put.{cls}",
            f"s3_transitions:{cls}",
            optional=True,
        )
        for cls in S3_CLASSES[1:]
    ),
    Component("KMS key for the bucket (SSE-KMS)", "encryption", "kms.key", "one", KMS),
    _key_rotation("bucket"),
    # The network path of uploads (s3_endpoint); the gateway endpoint is free, so no line.
    Component(
        "S3 interface endpoint (per AZ)",
        "network",
        "vpc.interface_endpoint.hours",
        "s3_endpoint_hours",
        ENDPOINTS,
        optional=True,
    ),
    Component(
        "S3 interface endpoint data processed",
        "network",
        "vpc.interface_endpoint.bytes",
        "s3_endpoint_gb",
        ENDPOINTS,
        optional=True,
    ),
    Component(
        "NAT gateway data processed (to S3)",
        "network",
        "vpc.nat_gateway.bytes",
        "s3_nat_gb",
        optional=True,
    ),
    Component(
        "KMS requests (SSE-KMS without Bucket Keys)",
        "encryption",
        "kms.requests",
        "s3_put_kms_requests",
        KMS,
        optional=True,
    ),
)
S3_SEARCH = (
    Component(
        "Athena searches (TB scanned, whole prefix)",
        "query",
        "athena.scanned",
        "athena_scanned_tb",
        search_driven=True,
    ),
    Component(
        "S3 LIST requests by Athena",
        "requests",
        "s3.requests.put.STANDARD",
        "athena_lists",
        search_driven=True,
    ),
    *(
        Component(
            f"S3 GET requests by Athena ({cls})",
            "requests",
            f"s3.requests.get.{cls}",
            f"athena_gets:{cls}",
            optional=cls != "STANDARD",
            search_driven=True,
        )
        for cls in ATHENA_READABLE
    ),
    Component(
        "KMS requests by Athena reads (SSE-KMS without Bucket Keys)",
        "encryption",
        "kms.requests",
        "athena_kms_requests",
        KMS,
        optional=True,
        search_driven=True,
    ),
    *(
        Component(
            f"S3 retrieval by Athena ({cls})",
            "query",
            f"s3.retrieval.{cls}",
            f"athena_retrieval_gb:{cls}",
            optional=True,
            search_driven=True,
        )
        for cls in RETRIEVAL_CLASSES
    ),
)

DESTINATIONS: dict[str, Destination] = {
    d.name: d
    for d in (
        Destination(
            "cloudwatch",
            "CloudWatch Logs (Standard)",
            CLOUDWATCH,
            CLOUDWATCH_STANDARD,
            "#0072B2",  # blue
        ),
        Destination(
            "cloudwatch-ia",
            "CloudWatch Logs (Infrequent Access)",
            CLOUDWATCH_IA,
            CLOUDWATCH_INFREQUENT_ACCESS,
            "#56B4E9",  # sky
        ),
        Destination(
            "s3", "S3 (+ Athena for search)", S3_STORE + S3_SEARCH, S3_WITH_ATHENA, "#E69F00"
        ),  # orange
        # Both: auditors search CloudWatch; S3 is the long-term copy, so no Athena lines.
        Destination(
            "both",
            "CloudWatch Logs + S3",
            CLOUDWATCH_IN_BOTH + S3_STORE,
            CLOUDWATCH_AND_S3,
            "#009E73",
        ),  # green
    )
}

# Shown once, outside every destination: Session Manager in private subnets needs these anyway.
BASELINE = Destination(
    "baseline",
    "Shared baseline (private-subnet Session Manager)",
    (
        Component(
            "ssm, ssmmessages, ec2messages interface endpoints (per AZ)",
            "network",
            "vpc.interface_endpoint.hours",
            "baseline_endpoint_hours",
            ENDPOINTS,
        ),
        Component(
            "kms interface endpoint (per AZ)",
            "network",
            "vpc.interface_endpoint.hours",
            "endpoint_hours",
            ENDPOINTS + KMS,
        ),
    ),
)


def all_price_keys() -> set[str]:
    return {c.price_key for d in (*DESTINATIONS.values(), BASELINE) for c in d.components}


def resolve_names(names: list[str] | None) -> list[Destination]:
    """Destinations by name, in the order given (all of them when none are named)."""
    from costcompare.errors import WorkloadError

    if not names:
        return list(DESTINATIONS.values())
    unknown = [n for n in names if n not in DESTINATIONS]
    if unknown:
        raise WorkloadError(
            f"unknown destination '{unknown[0]}'", "use any of " + ", ".join(DESTINATIONS)
        )
    return [DESTINATIONS[n] for n in dict.fromkeys(names)]
