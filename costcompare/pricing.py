"""Versioned price tables: load, validate, and resolve to the prices in force on a date.

Prices live in ``pricing_data/prices.csv`` (one row per price point and tier); the model never
holds a price itself. A price change adds rows with a newer ``effective_date`` and old rows stay,
so ``--pricing-date`` reproduces an old estimate.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

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


STALE_AFTER_MONTHS = 12


def stale_cutoff(today: dt.date) -> dt.date:
    """Prices effective before this date are more than ``STALE_AFTER_MONTHS`` old on ``today``."""
    year = today.year - STALE_AFTER_MONTHS // 12
    if year < dt.MINYEAR:  # `pricing show --date 0001-01-01`: nothing can be older
        return dt.date.min
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February
        return today.replace(year=year, day=28)


def bundled_path(name: str) -> Path:
    """Path of a file shipped in the ``pricing_data`` package (works from a wheel too)."""
    return Path(str(resources.files("pricing_data").joinpath(name)))


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
class Price:
    """The price of one key in one region on one date: one or more contiguous tiers."""

    key: str
    region: str
    unit: str
    effective_date: dt.date
    rows: tuple[PriceRow, ...]
    free_quantity: float = 0.0
    free_source: str = ""

    @property
    def source(self) -> str:
        return self.rows[0].source

    @property
    def confidence(self) -> str:
        order = {c: i for i, c in enumerate(CONFIDENCE_LEVELS)}
        return max((r.confidence for r in self.rows), key=order.__getitem__)

    @property
    def is_tiered(self) -> bool:
        return len(self.rows) > 1

    @property
    def first_rate(self) -> float:
        return self.rows[0].usd_per_unit

    def cost(self, quantity: np.ndarray | float, *, free_tier: bool = False) -> np.ndarray:
        """USD for ``quantity`` units in one month, tiers applied; vectorised over any shape."""
        q = np.asarray(quantity, dtype=float)
        if free_tier and self.free_quantity:
            q = np.maximum(q - self.free_quantity, 0.0)
        top = float(q.max()) if q.size else 0.0
        last_end = self.rows[-1].tier_end
        if last_end is not None and top > last_end:
            raise PricingError(
                f"price {self.key} in {self.region} has tiers only up to {last_end:g} {self.unit}, "
                f"but the workload needs {top:g}",
                "add the higher tiers to the pricing table (costcompare pricing refresh)",
            )
        first = self.rows[0]
        if not self.is_tiered or (
            first.tier_start == 0 and first.tier_end and top <= first.tier_end
        ):
            return q * self.first_rate  # every quantity within the first tier
        total = np.zeros_like(q)
        for row in self.rows:
            width = math.inf if row.tier_end is None else row.tier_end - row.tier_start
            total = total + np.clip(q - row.tier_start, 0.0, width) * row.usd_per_unit
        return total

    def explain_rate(self) -> str:
        """The unit price as a person reads it: a number, or the tier list."""
        if not self.is_tiered:
            return f"{rate_text(self.first_rate)}/{self.unit}"
        parts = []
        for r in self.rows:
            end = "∞" if r.tier_end is None else f"{r.tier_end:,.0f}"
            parts.append(f"{r.tier_start:,.0f}–{end}: {rate_text(r.usd_per_unit)}")
        return f"tiered per {self.unit} ({'; '.join(parts)})"


def rate_text(rate: float) -> str:
    """A unit price as plain digits: no float noise, no trailing zeros (0.0000004, 5)."""
    return f"{rate:.10f}".rstrip("0").rstrip(".") if rate else "0"


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


@dataclass
class PriceBook:
    """The prices in force for one region on one date: what the model multiplies by."""

    region: str
    pricing_date: dt.date
    prices: Mapping[str, Price]
    storage_classes: Mapping[str, StorageClass]

    def __getitem__(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise PricingError(
                f"no price '{key}' for region {self.region} effective on or before "
                f"{self.pricing_date.isoformat()}",
                "add it to the pricing table (costcompare pricing refresh "
                f"--region {self.region}) or pick another --pricing-date",
            ) from None

    def require(self, keys: Iterable[str]) -> None:
        missing = sorted({k for k in keys if k not in self.prices})
        if missing:
            raise PricingError(
                f"the pricing table has no price for {', '.join(missing)} in {self.region} "
                f"effective on or before {self.pricing_date.isoformat()}",
                f"run `costcompare pricing refresh --region {self.region}` or choose a region "
                "and date the table covers (`costcompare pricing show`)",
            )

    def stale_prices(
        self, today: dt.date | None = None, keys: Iterable[str] | None = None
    ) -> list[Price]:
        """Prices (of ``keys``, default all) effective more than 12 months before ``today``.

        A cost tool whose prices silently age is worse than none: the estimate says so.
        """
        cutoff = stale_cutoff(today or dt.date.today())
        wanted = self.prices.keys() if keys is None else set(keys)
        return sorted(
            (p for k, p in self.prices.items() if k in wanted and p.effective_date < cutoff),
            key=lambda p: (p.effective_date, p.key),
        )


@dataclass
class PriceTable:
    """Every price row of the table, across regions and dates."""

    rows: tuple[PriceRow, ...]
    free_tier: tuple[FreeTierRow, ...] = ()
    storage_classes: Mapping[str, StorageClass] = field(default_factory=dict)
    path: str = ""

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        *,
        free_tier_path: str | Path | None = None,
        storage_classes_path: str | Path | None = None,
    ) -> PriceTable:
        """Read and validate a price table; the bundled one when no path is given."""
        price_path = Path(path) if path else bundled_path("prices.csv")
        ft_path = Path(free_tier_path) if free_tier_path else bundled_path("free_tier.csv")
        sc_path = (
            Path(storage_classes_path)
            if storage_classes_path
            else bundled_path("s3_storage_classes.csv")
        )
        rows = tuple(_parse_price_row(rec, price_path, line) for line, rec in _read(price_path))
        _validate_rows(rows, price_path)
        free = tuple(_parse_free_row(rec, ft_path, line) for line, rec in _read(ft_path))
        classes = {}
        for line, rec in _read(sc_path):
            sc = _parse_storage_class(rec, sc_path, line)
            classes[sc.name] = sc
        return cls(rows=rows, free_tier=free, storage_classes=classes, path=str(price_path))

    def regions(self) -> list[str]:
        return sorted({r.region for r in self.rows})

    def resolve(self, region: str, pricing_date: dt.date | None = None) -> PriceBook:
        """The newest row set of every key effective on or before ``pricing_date``."""
        if region not in self.regions():
            raise PricingError(
                f"the pricing table has no prices for region {region} "
                f"(it covers {', '.join(self.regions())})",
                f"run `costcompare pricing refresh --region {region}` or pass --region with one "
                "of those",
            )
        when = pricing_date or dt.date.max
        candidates: dict[str, dict[dt.date, list[PriceRow]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for r in self.rows:
            if r.region == region and r.effective_date <= when:
                candidates[r.price_key][r.effective_date].append(r)
        if not candidates:
            earliest = min(r.effective_date for r in self.rows if r.region == region)
            raise PricingError(
                f"no prices for {region} are effective on or before {when.isoformat()} "
                f"(the earliest is {earliest.isoformat()})",
                f"pass --pricing-date {earliest.isoformat()} or later",
            )
        prices: dict[str, Price] = {}
        for key, by_date in candidates.items():
            date = max(by_date)
            tiers = tuple(sorted(by_date[date], key=lambda r: r.tier_start))
            free = self._free_for(key, region, when)
            prices[key] = Price(
                key=key,
                region=region,
                unit=tiers[0].unit,
                effective_date=date,
                rows=tiers,
                free_quantity=free.free_quantity if free else 0.0,
                free_source=free.source if free else "",
            )
        book_date = pricing_date or max(p.effective_date for p in prices.values())
        return PriceBook(region, book_date, prices, self.storage_classes)

    def _free_for(self, key: str, region: str, when: dt.date) -> FreeTierRow | None:
        matches = [
            f
            for f in self.free_tier
            if f.price_key == key and f.region in (region, "*") and f.effective_date <= when
        ]
        return max(matches, key=lambda f: (f.effective_date, f.region != "*")) if matches else None


def _read(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
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


def _parse_price_row(rec: dict[str, str], path: Path, line: int) -> PriceRow:
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


def _parse_free_row(rec: dict[str, str], path: Path, line: int) -> FreeTierRow:
    return FreeTierRow(
        price_key=_text(rec, "price_key", path, line),
        region=_text(rec, "region", path, line),
        free_quantity=_number(rec, "free_quantity", path, line),
        unit=_text(rec, "unit", path, line),
        effective_date=_date(rec, path, line),
        source=_text(rec, "source", path, line),
        confidence=_confidence(rec, path, line),
    )


def _parse_storage_class(rec: dict[str, str], path: Path, line: int) -> StorageClass:
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


def _validate_rows(rows: tuple[PriceRow, ...], path: Path) -> None:
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


def parse_date(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD command-line date (None stays None), or a one-line error naming the option."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise PricingError(f"{option} {value!r} is not a date", "write it as YYYY-MM-DD") from None


def load_table(path: str | Path | None = None) -> PriceTable:
    """The table at ``path`` (a --pricing-file), else the bundled one."""
    return PriceTable.load(path) if path else default_table()


_TABLE_CACHE: dict[str, PriceTable] = {}


def default_table() -> PriceTable:
    """The bundled table, parsed once per process."""
    if "bundled" not in _TABLE_CACHE:
        _TABLE_CACHE["bundled"] = PriceTable.load()
    return _TABLE_CACHE["bundled"]


def stale_note(prices: Iterable[Price], today: dt.date | None = None) -> str | None:
    """The estimate's warning when any price used took effect more than 12 months ago."""
    cutoff = stale_cutoff(today or dt.date.today())
    old = {(p.region, p.key): p for p in prices if p.effective_date < cutoff}
    if not old:
        return None
    listed = ", ".join(
        f"{p.key} ({p.effective_date.isoformat()})"
        for p in sorted(old.values(), key=lambda p: (p.effective_date, p.key))
    )
    regions = " ".join(f"--region {r}" for r in sorted({r for r, _ in old}))
    return (
        f"Prices older than {STALE_AFTER_MONTHS} months (effective before "
        f"{cutoff.isoformat()}) used: {listed}. AWS may have changed them: run "
        f"`costcompare pricing refresh {regions}` and pass the refreshed table with "
        "--pricing-file."
    )
