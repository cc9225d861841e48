"""Month-by-month projection: every component's quantity × its price, for one or many workloads.

``evaluate_grid`` (``costcompare.engine``) is the array engine, one row per scenario;
``estimate`` runs it for one workload and keeps every line with its quantity, unit price and
source, so any figure can be traced back to a row of the pricing table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costcompare.destinations import BASELINE, CATEGORIES, Destination, resolve_names
from costcompare.engine import GridResult, LineCosts, evaluate_grid
from costcompare.pricing import Price, PriceTable, default_table, stale_note
from costcompare.volumes import WorkloadGrid
from costcompare.workload import Workload

# -- one workload, explained ----------------------------------------------------------------------


@dataclass
class Line:
    """One cost line of one destination for one workload, month by month."""

    name: str
    category: str
    price_key: str
    unit: str
    quantity: np.ndarray
    cost: np.ndarray
    price: Price
    free_tier: bool = False
    search_driven: bool = False

    def unit_price(self, month: int = -1) -> float:
        """Effective USD per unit: the rate, or cost ÷ quantity where tiers or free tier apply."""
        q = float(self.quantity[month])
        if q > 0 and (self.price.is_tiered or (self.free_tier and self.price.free_quantity)):
            return float(self.cost[month]) / q
        return self.price.first_rate

    def as_dict(self, month: int = -1) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "quantity": float(self.quantity[month]),
            "unit": self.unit,
            "unit_price_usd": self.unit_price(month),
            "monthly_usd": float(self.cost[month]),
            "price_key": self.price_key,
            "source": self.price.source,
            "confidence": self.price.confidence,
            "effective_date": self.price.effective_date.isoformat(),
            "rate": self.price.explain_rate(),
        }


@dataclass
class DestinationEstimate:
    name: str
    title: str
    lines: list[Line]

    @property
    def monthly_usd(self) -> np.ndarray:
        if not self.lines:
            return np.zeros(0)
        return np.sum([line.cost for line in self.lines], axis=0)

    @property
    def steady_state_monthly_usd(self) -> float:
        series = self.monthly_usd
        return float(series[-1]) if len(series) else 0.0

    @property
    def total_usd(self) -> float:
        return float(self.monthly_usd.sum())

    def search_usd(self, month: int = -1) -> float:
        """What the month's searches cost (Insights or Athena scans and their requests)."""
        return sum(float(line.cost[month]) for line in self.lines if line.search_driven)

    def category_usd(self, month: int = -1) -> dict[str, float]:
        out = dict.fromkeys(CATEGORIES, 0.0)
        for line in self.lines:
            out[line.category] += float(line.cost[month])
        return out

    def category_shares(self, month: int = -1) -> dict[str, float]:
        amounts = self.category_usd(month)
        total = sum(amounts.values())
        return {k: (v / total if total else 0.0) for k, v in amounts.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "steady_state_monthly_usd": self.steady_state_monthly_usd,
            "total_usd": self.total_usd,
            "monthly_usd": [float(x) for x in self.monthly_usd],
            "category_monthly_usd": self.category_usd(),
            "components": [line.as_dict() for line in self.lines],
        }


@dataclass
class Estimate:
    """The explained comparison for one workload: what ``costcompare estimate`` prints."""

    workload: Workload
    region: str
    pricing_date: dt.date
    destinations: list[DestinationEstimate]
    baseline: DestinationEstimate
    notes: list[str] = field(default_factory=list)
    table: PriceTable | None = None
    # destination name → searchability.Searchability (filled by comparison.estimate())
    searchability: dict[str, Any] = field(default_factory=dict)
    # verdict.Verdict and bands.Bands, when computed (costcompare.verdict.attach, bands.attach)
    verdict: Any = None
    bands: Any = None
    # The compliance preset applied (costcompare.presets), as its JSON record; None without one.
    preset: dict[str, Any] | None = None

    @property
    def horizon_months(self) -> int:
        return self.workload.horizon_months

    def by_cost(self) -> list[DestinationEstimate]:
        """Cheapest first (steady state, then horizon total)."""
        return sorted(self.destinations, key=lambda d: (d.steady_state_monthly_usd, d.total_usd))

    def get(self, name: str) -> DestinationEstimate:
        return next(d for d in self.destinations if d.name == name)

    def as_dict(self) -> dict[str, Any]:
        """The scripting contract of DESIGN.md (plus a few extra keys scripts may ignore)."""
        return {
            "region": self.region,
            "currency": "USD",
            "pricing_date": self.pricing_date.isoformat(),
            "horizon_months": self.horizon_months,
            "workload": self.workload.to_dict(),
            "baseline": {
                "monthly_usd": self.baseline.steady_state_monthly_usd,
                "components": [line.as_dict() for line in self.baseline.lines],
            },
            "destinations": [
                {
                    **d.as_dict(),
                    **(
                        {"searchability": self.searchability[d.name].as_dict()}
                        if d.name in self.searchability
                        else {}
                    ),
                }
                for d in self.destinations
            ],
            "notes": list(self.notes),
            **({"verdict": self.verdict.as_dict()} if self.verdict is not None else {}),
            **({"bands": self.bands.as_dict()} if self.bands is not None else {}),
            **({"preset": self.preset} if self.preset is not None else {}),
        }

    def rows(self):
        """Every line of every month, destinations then baseline: the tidy table's records.

        Each is the line's JSON record (``Line.as_dict``) for that month, with its destination,
        month and the destination's search score and time to searchable.
        """
        for dest in [*self.destinations, self.baseline]:
            search = self.searchability.get(dest.name)
            extra = (
                {"search_score": search.score, "time_to_searchable_s": search.time_to_searchable_s}
                if search
                else {"search_score": None, "time_to_searchable_s": None}
            )
            for line in dest.lines:
                for month in range(self.horizon_months):
                    yield {
                        "destination": dest.name,
                        "month": month + 1,
                        **line.as_dict(month),
                        **extra,
                    }

    def to_frame(self):
        """Tidy table: one row per destination × month × component."""
        import pandas as pd

        return pd.DataFrame.from_records(list(self.rows()))


def _shown(line: LineCosts, workload: Workload) -> bool:
    if any(not getattr(workload, flag) for flag in line.component.enabled_by):
        return False
    return not (line.component.optional and not np.any(line.quantity[0] > 0))


def _explained(dest: Destination, result: GridResult, workload: Workload) -> DestinationEstimate:
    lines = [
        Line(
            name=lc.component.name,
            category=lc.component.category,
            price_key=lc.component.price_key,
            unit=lc.price.unit,
            quantity=np.asarray(lc.quantity[0], dtype=float),
            cost=np.asarray(lc.cost[0], dtype=float),
            price=lc.price,
            free_tier=workload.free_tier,
            search_driven=lc.component.search_driven,
        )
        for lc in result.lines[dest.name]
        if _shown(lc, workload)
    ]
    return DestinationEstimate(dest.name, dest.title, lines)


def estimate(
    workload: Workload,
    *,
    destinations: list[str] | None = None,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
) -> Estimate:
    """Cost each destination for one workload, month by month, every line explained.

    Costs only: ``costcompare.comparison.estimate`` adds each destination's searchability.
    """
    table = table or default_table()
    book = table.resolve(workload.region, pricing_date)
    chosen = resolve_names(destinations)
    result = evaluate_grid(
        WorkloadGrid.single(workload), book, chosen, include_baseline=True, lines=True
    )
    dests = [_explained(d, result, workload) for d in chosen]
    baseline = _explained(BASELINE, result, workload)
    est = Estimate(
        workload,
        workload.region,
        book.pricing_date,
        dests,
        baseline,
        _notes(workload, dests),
        table,
    )
    return est


def _streaming_note(w: Workload) -> str | None:
    """How CloudWatch's bytes per session follow from the per-event model (when it is used)."""
    if not w.streaming or w.cloudwatch_overhead_ratio is not None or w.monthly_ingest_gb:
        return None
    text = w.session_bytes * (1 - w.control_bytes_share)
    events = (w.cloudwatch_bytes_per_session - text) / w.stream_envelope_bytes
    return (
        f"CloudWatch ingests {w.cloudwatch_bytes_per_session:,.0f} bytes per session: "
        f"{text:,.0f} transcript bytes without control codes + {events:,.1f} events × "
        f"{w.stream_envelope_bytes:,.0f}-byte envelope "
        f"({w.cloudwatch_bytes_per_session / w.session_bytes:.2f}× the transcript)."
    )


def _notes(workload: Workload, dests: list[DestinationEstimate]) -> list[str]:
    notes = []
    if workload.s3_lifecycle and workload.session_bytes < workload.s3_transition_min_object_bytes:
        notes.append(
            f"S3 lifecycle transitions do nothing here: objects of {workload.session_bytes:,.0f} "
            f"bytes are below the {workload.s3_transition_min_object_bytes:,} bytes S3 lifecycle "
            "transitions by default (since 2024); they stay in STANDARD until they expire."
        )
    low = sorted(
        {line.price_key for d in dests for line in d.lines if line.price.confidence == "low"}
    )
    if low:
        notes.append("Low-confidence prices (unsourced or derived) used: " + ", ".join(low) + ".")
    if workload.retention_days is None:
        notes.append("retention_days is null: logs are kept forever, storage grows every month.")
    if workload.free_tier:
        notes.append(
            "Free tier applied per price (CloudWatch 5 GB each, 10 custom metrics, 10 alarms; "
            "KMS 20,000 requests)."
        )
    if any(d.name in ("s3", "both") for d in dests) and workload.s3_endpoint == "gateway":
        notes.append("S3 traffic uses the S3 gateway endpoint, which is free.")
    streamed = _streaming_note(workload)
    if streamed and any(d.name.startswith("cloudwatch") or d.name == "both" for d in dests):
        notes.append(streamed)
    stale = stale_note(line.price for d in dests for line in d.lines)
    if stale:
        notes.append(stale)
    return notes
