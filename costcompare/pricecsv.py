"""The pricing CSV files as rows: their columns, one parser per file, and the checks every row
must pass before the model may use it (finite, bounded numbers; contiguous tiers; sourced).

``costcompare.pricing`` builds the table, books and lookups from these rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costcompare.errors import PricingError

PRICE_COLUMNS = (
    "price_key",
    "service",
    "region",
    "usage_type",
    "unit",
    "tier_start",
    "tier_end",
    "usd_per_unit",
    "effective_date",
    "source",
    "confidence",
)
FREE_TIER_COLUMNS = (
    "price_key",
    "region",
    "free_quantity",
    "unit",
    "effective_date",
    "source",
    "confidence",
)
STORAGE_CLASS_COLUMNS = (
    "storage_class",
    "min_duration_days",
    "min_billable_bytes",
    "overhead_standard_bytes",
    "overhead_class_bytes",
    "athena_readable",
    "source",
)
# A = AWS's own page or price feed, P = the AWS Price List quoted by a third party with a date,
# T = a dated third-party article, low = unsourced or derived (shown as such in every output).
CONFIDENCE_LEVELS = ("A", "P", "T", "low")


@dataclass(frozen=True)
class PriceRow:
    """One row of prices.csv: one price point (one tier) of one key, region and date."""

    price_key: str
    service: str
    region: str
    usage_type: str
    unit: str
    tier_start: float
    tier_end: float | None
    usd_per_unit: float
    effective_date: dt.date
    source: str
    confidence: str
    line: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "price_key": self.price_key,
            "service": self.service,
            "region": self.region,
            "usage_type": self.usage_type,
            "unit": self.unit,
            "tier_start": self.tier_start,
            "tier_end": self.tier_end,
            "usd_per_unit": self.usd_per_unit,
            "effective_date": self.effective_date.isoformat(),
            "source": self.source,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class StorageClass:
    """Billing facts of one S3 storage class that are not prices."""

    name: str
    min_duration_days: float
    min_billable_bytes: float
    overhead_standard_bytes: float
    overhead_class_bytes: float
    athena_readable: bool
    source: str


@dataclass(frozen=True)
class FreeTierRow:
    price_key: str
    region: str
    free_quantity: float
    unit: str
    effective_date: dt.date
    source: str
    confidence: str


def read_rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    if path.exists() and not path.is_file():  # a FIFO or device would block or never end
        raise PricingError(
            f"pricing file {path} is not a regular file", "pass the path of a CSV file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PricingError(
            f"pricing file {path} does not exist", "check the path passed to --pricing-file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(
            f"cannot read pricing file {path}: {exc}", "pass a readable UTF-8 CSV"
        ) from None
    reader = csv.DictReader(text.splitlines())
    try:
        header = tuple(reader.fieldnames or ())
        if header not in _TABLE_COLUMNS:
            want = next((cols for cols in _TABLE_COLUMNS if set(cols) & set(header)), PRICE_COLUMNS)
            shown = ",".join(header) or "(empty)"
            shown = shown if len(shown) <= 200 else f"{shown[:199]}…"
            raise PricingError(
                f"{path}: header is {shown}", f"the columns must be exactly {','.join(want)}"
            )
        for line, rec in enumerate(reader, start=2):
            if None in rec or any(v is None for v in rec.values()):
                raise PricingError(
                    f"{path}:{line}: wrong number of fields",
                    f"each row needs exactly {len(header)} comma-separated fields (quote commas)",
                )
            yield line, rec
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KiB limit
        raise PricingError(
            f"{path}:{reader.line_num + 1}: not a valid CSV row ({exc})",
            "check the quoting; every field of a price table is short",
        ) from None


_TABLE_COLUMNS = (PRICE_COLUMNS, FREE_TIER_COLUMNS, STORAGE_CLASS_COLUMNS)


def _field_error(path: Path, line: int, column: str, value: str, want: str) -> PricingError:
    shown = value if len(value) <= 40 else f"{value[:39]}…"
    return PricingError(f"{path}:{line}: {column} is {shown!r}", f"it must be {want}")


# Sane bounds: no AWS logging price is near a million USD per unit, no quantity near 1e15
# (MAX_INPUT for workloads); anything beyond is a typo or an attack, and 1e308 overflows to $inf.
MAX_USD_PER_UNIT = 1e6
MAX_TABLE_NUMBER = 1e15


def _number(
    rec: dict[str, str],
    column: str,
    path: Path,
    line: int,
    *,
    blank_ok=False,
    limit: float = MAX_TABLE_NUMBER,
):
    value = rec[column].strip()
    if blank_ok and value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise _field_error(path, line, column, value, "a number") from None
    if not math.isfinite(number) or not 0 <= number <= limit:
        raise _field_error(path, line, column, value, f"a finite number from 0 to {limit:,.0f}")
    return number


def _date(rec: dict[str, str], path: Path, line: int) -> dt.date:
    value = rec["effective_date"].strip()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _field_error(path, line, "effective_date", value, "a date YYYY-MM-DD") from None


def _text(rec: dict[str, str], column: str, path: Path, line: int) -> str:
    value = rec[column].strip()
    if not value:
        raise _field_error(path, line, column, value, "non-empty")
    return value


def _confidence(rec: dict[str, str], path: Path, line: int) -> str:
    value = rec["confidence"].strip()
    if value not in CONFIDENCE_LEVELS:
        raise _field_error(
            path, line, "confidence", value, f"one of {', '.join(CONFIDENCE_LEVELS)}"
        )
    return value


def parse_price_row(rec: dict[str, str], path: Path, line: int) -> PriceRow:
    start = _number(rec, "tier_start", path, line)
    end = _number(rec, "tier_end", path, line, blank_ok=True)
    if end is not None and end <= start:
        raise _field_error(
            path, line, "tier_end", rec["tier_end"], f"greater than tier_start {start:g}"
        )
    return PriceRow(
        price_key=_text(rec, "price_key", path, line),
        service=_text(rec, "service", path, line),
        region=_text(rec, "region", path, line),
        usage_type=rec["usage_type"].strip(),
        unit=_text(rec, "unit", path, line),
        tier_start=start,
        tier_end=end,
        usd_per_unit=_number(rec, "usd_per_unit", path, line, limit=MAX_USD_PER_UNIT),
        effective_date=_date(rec, path, line),
        source=_text(rec, "source", path, line),
        confidence=_confidence(rec, path, line),
        line=line,
    )


def parse_free_row(rec: dict[str, str], path: Path, line: int) -> FreeTierRow:
    return FreeTierRow(
        price_key=_text(rec, "price_key", path, line),
        region=_text(rec, "region", path, line),
        free_quantity=_number(rec, "free_quantity", path, line),
        unit=_text(rec, "unit", path, line),
        effective_date=_date(rec, path, line),
        source=_text(rec, "source", path, line),
        confidence=_confidence(rec, path, line),
    )


def parse_storage_class(rec: dict[str, str], path: Path, line: int) -> StorageClass:
    readable = rec["athena_readable"].strip().lower()
    if readable not in ("true", "false"):
        raise _field_error(path, line, "athena_readable", readable, "true or false")
    return StorageClass(
        name=_text(rec, "storage_class", path, line),
        min_duration_days=_number(rec, "min_duration_days", path, line),
        min_billable_bytes=_number(rec, "min_billable_bytes", path, line),
        overhead_standard_bytes=_number(rec, "overhead_standard_bytes", path, line),
        overhead_class_bytes=_number(rec, "overhead_class_bytes", path, line),
        athena_readable=readable == "true",
        source=_text(rec, "source", path, line),
    )


def validate_rows(rows: tuple[PriceRow, ...], path: Path) -> None:
    """No duplicate tier, tiers contiguous from 0, one unit per key/region/date."""
    if not rows:
        raise PricingError(f"{path} has no price rows", "add at least one row under the header")
    groups: dict[tuple[str, str, dt.date], list[PriceRow]] = defaultdict(list)
    for r in rows:
        groups[(r.price_key, r.region, r.effective_date)].append(r)
    for (key, region, date), group in groups.items():
        group.sort(key=lambda r: r.tier_start)
        where = f"{key} {region} {date.isoformat()}"
        for a, b in itertools.pairwise(group):
            if a.tier_start == b.tier_start:
                raise PricingError(
                    f"{path}:{b.line}: duplicate price for {where} tier starting at "
                    f"{b.tier_start:g} (also line {a.line})",
                    "keep one row per key, region, date and tier; a new price needs a new "
                    "effective_date",
                )
            if a.tier_end != b.tier_start:
                raise PricingError(
                    f"{path}:{b.line}: tiers of {where} are not contiguous "
                    f"(line {a.line} ends at {a.tier_end}, this one starts at {b.tier_start:g})",
                    "each tier must start where the previous one ends",
                )
            if a.unit != b.unit:
                raise PricingError(
                    f"{path}:{b.line}: {where} mixes units {a.unit!r} and {b.unit!r}",
                    "use one unit for every tier of a price",
                )
        if group[0].tier_start != 0:
            raise PricingError(
                f"{path}:{group[0].line}: the first tier of {where} starts at "
                f"{group[0].tier_start:g}",
                "the first tier must start at 0",
            )
