"""The model against the bill: what a past month cost per usage type, and what the model said.

The bill (``costcompare.bill``) is summed per usage type; the model runs on the month's measured
workload with the prices in force that month. Both sides meet on the usage type, which the price
table names for every price key (its ``usage_type`` column): a usage type the bill has and the
price table does not is billed but not modelled. A large error names what explains it: the
price (billed rate ≠ the table's) or the quantity, with the workload keys that set it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from costcompare.bill import BilledUsage, BillError
from costcompare.destinations import BASELINE, DESTINATIONS
from costcompare.model import Line, estimate
from costcompare.pricing import PriceTable, default_table
from costcompare.volumes import QUANTITIES
from costcompare.workload import Workload

DEFAULT_TOLERANCE_PCT = 10.0
DEFAULT_MIN_USD = 1.0
RATE_TOLERANCE = 0.02  # a billed rate this far from the table's is a price difference

# The workload keys behind each model quantity: what to check when a quantity is off.
INGEST_INPUTS = ("monthly_ingest_gb", "sessions_per_month", "session_bytes", "streaming")
QUANTITY_INPUTS: dict[str, tuple[str, ...]] = {
    "sessions": ("sessions_per_month", "instances", "sessions_per_instance_per_day"),
    "cw_ingest_gb": (*INGEST_INPUTS, "cloudwatch_overhead_ratio"),
    "cw_stored_gb": (
        "compression_ratio",
        "retention_days",
        "both_cloudwatch_retention_days",
        *INGEST_INPUTS,
    ),
    "insights_scanned_gb": ("searches_per_month", "search_window_days"),
    "one": ("kms",),
    "kms_rotated_versions": ("kms_rotation", "kms_rotation_days"),
    "cw_kms_requests": ("cloudwatch_kms_requests_per_month",),
    "s3_put_kms_requests": ("sessions_per_month",),
    "endpoint_hours": ("vpc_endpoints", "availability_zones"),
    "baseline_endpoint_hours": ("vpc_endpoints", "availability_zones"),
    "logs_endpoint_hours": ("logs_endpoint", "availability_zones"),
    "logs_endpoint_gb": ("logs_endpoint", *INGEST_INPUTS),
    "s3_endpoint_hours": ("s3_endpoint", "availability_zones"),
    "s3_endpoint_gb": ("s3_endpoint", "sessions_per_month", "session_bytes"),
    "s3_stored_gb": (
        "session_bytes",
        "sessions_per_month",
        "retention_days",
        "s3_lifecycle",
        "s3_object_lock_days",
    ),
    "s3_transitions": ("s3_lifecycle",),
    "metric_filters": ("metric_filters",),
    "alarms": ("alarms",),
}


class _ModelError:
    """The model's error against the bill, for anything with ``billed_usd`` and ``modelled_usd``."""

    billed_usd: float
    modelled_usd: float

    @property
    def error_usd(self) -> float:
        """Modelled minus billed: positive when the model over-estimates."""
        return self.modelled_usd - self.billed_usd

    @property
    def error_pct(self) -> float | None:
        return self.error_usd / self.billed_usd * 100 if self.billed_usd else None


@dataclass(frozen=True)
class ComponentCheck(_ModelError):
    """One usage type: billed against modelled, and why they differ when they differ a lot."""

    usage_type: str
    service: str
    category: str
    unit: str
    price_keys: tuple[str, ...]
    model_lines: tuple[str, ...]
    billed_quantity: float
    billed_usd: float
    modelled_quantity: float
    modelled_usd: float
    explanation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "usage_type": self.usage_type,
            "service": self.service,
            "category": self.category,
            "unit": self.unit,
            "price_keys": list(self.price_keys),
            "model_lines": list(self.model_lines),
            "billed_quantity": self.billed_quantity,
            "billed_usd": round(self.billed_usd, 10),
            "modelled_quantity": self.modelled_quantity,
            "modelled_usd": round(self.modelled_usd, 10),
            "error_usd": round(self.error_usd, 10),
            "error_pct": self.error_pct,
            "explanation": self.explanation,
        }


@dataclass
class Reconciliation(_ModelError):
    """A month of the bill against the model, usage type by usage type."""

    month: dt.date
    region: str
    destination: str
    engine: str
    query: str
    checks: list[ComponentCheck]
    tolerance_pct: float
    notes: list[str] = field(default_factory=list)
    # What reading the bill cost, quantity × unit price (Cost Explorer: per request; else None)
    reading_cost: dict[str, Any] | None = None

    @property
    def billed_usd(self) -> float:
        return sum(c.billed_usd for c in self.checks)

    @property
    def modelled_usd(self) -> float:
        return sum(c.modelled_usd for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.strftime("%Y-%m"),
            "region": self.region,
            "destination": self.destination,
            "engine": self.engine,
            "tolerance_pct": self.tolerance_pct,
            "billed_usd": round(self.billed_usd, 10),
            "modelled_usd": round(self.modelled_usd, 10),
            "error_usd": round(self.error_usd, 10),
            "error_pct": self.error_pct,
            "components": [c.as_dict() for c in self.checks],
            "notes": list(self.notes),
            "bill_reading_cost": self.reading_cost,
            "query": self.query,
        }


@dataclass(frozen=True)
class _Usage:
    """What the price table says about one usage type in the region."""

    service: str
    price_keys: tuple[str, ...]
    unit: str


def usage_types(table: PriceTable, region: str) -> dict[tuple[str, str], _Usage]:
    """(service, usage type) → its price keys and unit, from the price table's rows."""
    keys: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for row in table.rows:
        if row.region == region:
            keys[(row.service, row.usage_type)][row.price_key] = row.unit
    return {
        (service, usage): _Usage(service, tuple(sorted(found)), next(iter(found.values())))
        for (service, usage), found in keys.items()
    }


def infer_destination(bill: Sequence[BilledUsage], by_usage: dict[tuple[str, str], _Usage]) -> str:
    """The destination the bill shows: CloudWatch ingestion, S3 storage, or both."""
    keys = {
        k
        for line in bill
        if line.usage_amount > 0 or line.unblended_cost > 0
        for k in by_usage.get((line.service, line.usage_type), _Usage("", (), "")).price_keys
    }
    s3 = any(k.startswith("s3.storage.") for k in keys)
    if "logs.ingestion.infrequent_access" in keys:
        return "cloudwatch-ia"
    if "logs.ingestion.standard" in keys:
        return "both" if s3 else "cloudwatch"
    if s3:
        return "s3"
    raise BillError(
        "the bill shows neither CloudWatch Logs ingestion nor S3 storage for that month",
        "check --month, the workload's region and --account/--tag, or name the --destination",
    )


def reconcile(
    bill: Sequence[BilledUsage],
    workload: Workload,
    month: dt.date,
    *,
    destination: str | None = None,
    table: PriceTable | None = None,
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
    min_usd: float = DEFAULT_MIN_USD,
    engine: str = "duckdb",
    query: str = "",
) -> Reconciliation:
    """Billed vs modelled per usage type for ``month``.

    The model runs on ``workload`` without growth (the month as measured) and takes its last
    month: a logging setup older than its retention, whose storage has filled up.
    """
    if not bill:
        raise BillError(
            f"the bill has no usage line for {month:%Y-%m} in {workload.region}",
            "check --month, the workload's region, --account and --tag",
        )
    table = table or default_table()
    by_usage = usage_types(table, workload.region)
    name = destination or infer_destination(bill, by_usage)
    steady = workload.with_overrides(growth_pct_per_month=0.0)
    est = estimate(steady, destinations=[name], pricing_date=month, table=table)
    lines = [*est.destinations[0].lines, *est.baseline.lines]
    usage_of = {price_key: where for where, u in by_usage.items() for price_key in u.price_keys}
    modelled: dict[tuple[str, str], list[Line]] = defaultdict(list)
    for line in lines:
        modelled[usage_of.get(line.price_key, ("", line.price_key))].append(line)
    billed = {(b.service, b.usage_type): b for b in bill}
    checks = []
    for key in sorted(billed.keys() | modelled.keys()):
        check = _check(key, billed.get(key), modelled.get(key, []), by_usage.get(key), name)
        if check.billed_usd == check.modelled_usd == check.billed_quantity == 0:
            continue  # neither billed nor modelled (a zero-count alarm line): nothing to compare
        checks.append(_explained(check, steady, est, tolerance_pct, min_usd))
    notes = [
        f"Modelled: the workload's month without growth, destination {name} with the shared "
        f"baseline, prices in force on {month.isoformat()}.",
        "Errors are modelled − billed: positive when the model over-estimates.",
    ]
    return Reconciliation(month, workload.region, name, engine, query, checks, tolerance_pct, notes)


def _check(
    key: tuple[str, str],
    billed: BilledUsage | None,
    lines: list[Line],
    usage: _Usage | None,
    destination: str,
) -> ComponentCheck:
    service, usage_type = key
    categories = sorted({line.category for line in lines})
    return ComponentCheck(
        usage_type=usage_type,
        service=service,
        category=categories[0] if categories else "not modelled",
        unit=usage.unit if usage else (lines[0].unit if lines else ""),
        price_keys=usage.price_keys if usage else (),
        model_lines=tuple(line.name for line in lines),
        billed_quantity=billed.usage_amount if billed else 0.0,
        billed_usd=billed.unblended_cost if billed else 0.0,
        modelled_quantity=sum(float(line.quantity[-1]) for line in lines),
        modelled_usd=sum(float(line.cost[-1]) for line in lines),
    )


def _explained(
    check: ComponentCheck, workload: Workload, est: Any, tolerance_pct: float, min_usd: float
) -> ComponentCheck:
    """The check with an explanation when its error is large (≥ min_usd and ≥ tolerance)."""
    pct = check.error_pct
    large = abs(check.error_usd) >= min_usd and (pct is None or abs(pct) >= tolerance_pct)
    if not large:
        return check
    return _replace(check, explanation=explain(check, workload, est))


def _replace(check: ComponentCheck, **changes: Any) -> ComponentCheck:
    import dataclasses

    return dataclasses.replace(check, **changes)


def explain(check: ComponentCheck, workload: Workload, est: Any) -> str:
    """Name the price or the inputs that explain a component's error."""
    if not check.price_keys:
        return (
            f"billed, not in the price table: {check.usage_type} is not part of the model; "
            "if it is not Session Manager logging, leave it out with --tag or --account"
        )
    if not check.model_lines:
        return (
            f"billed, not modelled by destination {est.destinations[0].name}: is another "
            f"workload using {check.usage_type}? (price key {', '.join(check.price_keys)})"
        )
    inputs = _inputs(check, est)
    if check.billed_quantity <= 0:
        return f"modelled, not billed: check the workload's {', '.join(inputs)}"
    price = est.table.resolve(workload.region, est.pricing_date)[check.price_keys[0]]
    table_cost = float(price.cost(check.billed_quantity, free_tier=workload.free_tier))
    billed_rate = check.billed_usd / check.billed_quantity
    table_rate = table_cost / check.billed_quantity
    parts = []
    if table_rate and abs(billed_rate / table_rate - 1) > RATE_TOLERANCE:
        parts.append(
            f"price: billed ${billed_rate:.6g}/{check.unit} vs the table's "
            f"${table_rate:.6g}/{check.unit} ({price.key}, effective "
            f"{price.effective_date.isoformat()}); refresh prices or check discounts/free tier"
        )
    ratio = check.modelled_quantity / check.billed_quantity
    if abs(ratio - 1) * 100 >= RATE_TOLERANCE * 100:
        parts.append(
            f"quantity: modelled {check.modelled_quantity:,.4g} vs billed "
            f"{check.billed_quantity:,.4g} {check.unit} ({ratio:.2f}×); set by the workload's "
            f"{', '.join(inputs)}"
        )
    return "; ".join(parts) or "the free tier or tiers differ between the bill and the model"


def _inputs(check: ComponentCheck, est: Any) -> list[str]:
    """Workload keys behind the model lines of a check (in order, without repeats)."""
    components = [
        c
        for d in (DESTINATIONS[est.destinations[0].name], BASELINE)
        for c in d.components
        if c.name in check.model_lines
    ]
    names: list[str] = []
    for component in components:
        quantity = component.quantity.split(":", 1)[0]
        keys = QUANTITY_INPUTS.get(quantity) or (QUANTITIES[quantity].description,)
        names += [*component.enabled_by, *keys]
    return list(dict.fromkeys(names))
