"""What changed in prices between two dates, and what it does to a workload's cost.

Above the model (it prices a workload twice); `costcompare pricing diff` prints it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from costcompare.model import estimate
from costcompare.pricing import (
    Price,
    PriceBook,
    PriceTable,
)


@dataclass(frozen=True)
class PriceChange:
    price_key: str
    status: str  # changed | added | removed
    before: str
    after: str
    before_date: str
    after_date: str
    first_rate_change_pct: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def diff_prices(old: PriceBook, new: PriceBook) -> list[PriceChange]:
    """Keys whose price in force differs between two books (rates, tiers or unit)."""
    changes = []
    for key in sorted(set(old.prices) | set(new.prices)):
        a, b = old.prices.get(key), new.prices.get(key)
        if a and b and _price_signature(a) == _price_signature(b):
            continue
        pct = None
        if a and b and a.first_rate:
            pct = (b.first_rate - a.first_rate) / a.first_rate * 100
        changes.append(
            PriceChange(
                price_key=key,
                status="changed" if a and b else ("added" if b else "removed"),
                before=a.explain_rate() if a else "",
                after=b.explain_rate() if b else "",
                before_date=a.effective_date.isoformat() if a else "",
                after_date=b.effective_date.isoformat() if b else "",
                first_rate_change_pct=pct,
            )
        )
    return changes


def _price_signature(price: Price) -> tuple:
    return (price.unit, tuple((r.tier_start, r.tier_end, r.usd_per_unit) for r in price.rows))


@dataclass(frozen=True)
class CostChange:
    destination: str
    before_monthly_usd: float
    after_monthly_usd: float
    before_total_usd: float
    after_total_usd: float

    @property
    def monthly_delta_usd(self) -> float:
        return self.after_monthly_usd - self.before_monthly_usd

    @property
    def total_delta_usd(self) -> float:
        return self.after_total_usd - self.before_total_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "monthly_delta_usd": self.monthly_delta_usd,
            "total_delta_usd": self.total_delta_usd,
        }


def first_complete_date(table: PriceTable, region: str, keys: Iterable[str]) -> dt.date | None:
    """The first date on which every one of ``keys`` has a price in ``region`` (None: never)."""
    firsts: dict[str, dt.date] = {}
    for r in table.rows:
        if r.region == region and (
            r.price_key not in firsts or r.effective_date < firsts[r.price_key]
        ):
            firsts[r.price_key] = r.effective_date
    wanted = set(keys)
    if not wanted <= firsts.keys():
        return None
    return max(firsts[k] for k in wanted)


def diff_cost(
    table: PriceTable, workload: Any, date_from: dt.date, date_to: dt.date
) -> list[CostChange]:
    """The workload's cost per destination at the prices of each date."""
    before = estimate(workload, pricing_date=date_from, table=table)
    after = estimate(workload, pricing_date=date_to, table=table)
    out = []
    for a in before.destinations:
        b = after.get(a.name)
        out.append(
            CostChange(
                a.name,
                a.steady_state_monthly_usd,
                b.steady_state_monthly_usd,
                a.total_usd,
                b.total_usd,
            )
        )
    return out
