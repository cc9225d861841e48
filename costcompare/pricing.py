"""Versioned price tables: load, and resolve to the prices in force on a date.

Prices live in ``pricing_data/prices.csv`` (one row per price point and tier); the model never
holds a price itself. A price change adds rows with a newer ``effective_date`` and old rows stay,
so ``--pricing-date`` reproduces an old estimate.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from costcompare.errors import PricingError
from costcompare.pricecsv import (
    CONFIDENCE_LEVELS,
    FreeTierRow,
    PriceRow,
    StorageClass,
    parse_free_row,
    parse_price_row,
    parse_storage_class,
    read_rows,
    validate_rows,
)

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
        rows = tuple(parse_price_row(rec, price_path, line) for line, rec in read_rows(price_path))
        validate_rows(rows, price_path)
        free = tuple(parse_free_row(rec, ft_path, line) for line, rec in read_rows(ft_path))
        classes = {}
        for line, rec in read_rows(sc_path):
            sc = parse_storage_class(rec, sc_path, line)
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


def prices_in_force(
    table: PriceTable,
    regions: Iterable[str],
    when: dt.date | None,
    used: set[str],
    stale_before: dt.date,
    *,
    all_keys: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """One record per price in force on ``when`` (the keys in ``used`` unless ``all_keys``),
    and per region the ``used`` keys the table lacks: what `pricing show` lists."""
    records: list[dict[str, Any]] = []
    missing: dict[str, list[str]] = {}
    for region in regions:
        book = table.resolve(region, when)
        missing[region] = sorted(used - set(book.prices))
        for key in sorted(book.prices):
            if not all_keys and key not in used:
                continue
            price = book.prices[key]
            records.append(
                {
                    "region": region,
                    "price_key": key,
                    "rate": price.explain_rate(),
                    "unit": price.unit,
                    "effective_date": price.effective_date.isoformat(),
                    "stale": price.effective_date < stale_before,
                    "confidence": price.confidence,
                    "used_by_model": key in used,
                    "usage_type": price.rows[0].usage_type,
                    "source": price.source,
                }
            )
    return records, missing


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
