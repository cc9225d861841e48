"""Which inputs move the cost, and where the cheapest destination changes: sweeps and tornado.

Both run the array engine once per question (every scenario in one grid), so notebooks can
explore freely; the charts for them live in ``costcompare.charts``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from costcompare.destinations import resolve_names
from costcompare.errors import WorkloadError
from costcompare.model import evaluate_grid
from costcompare.pricing import PriceTable, default_table
from costcompare.volumes import WorkloadGrid
from costcompare.workload import Workload

# Inputs that matter most, with the low/high a tornado tries by default (× the base value,
# or absolute values for retention, whose allowed values are a fixed set).
DEFAULT_SWINGS: dict[str, tuple[float, float] | tuple[str, float, float]] = {
    "sessions_per_instance_per_day": (0.5, 2.0),
    "session_bytes": (0.5, 2.0),
    "searches_per_month": (0.5, 2.0),
    "stream_active_share": ("absolute", 0.05, 0.5),
    "compression_ratio": ("absolute", 0.1, 0.3),
    "retention_days": ("absolute", 90, 731),
    "availability_zones": ("absolute", 2, 4),
}


def _grid(base: Workload, key: str, values: Sequence[float]) -> WorkloadGrid:
    if (
        key in ("instances", "sessions_per_instance_per_day")
        and base.sessions_per_month is not None
    ):
        base = dataclasses.replace(base, sessions_per_month=None)
    return WorkloadGrid.vary(base, **{key: np.asarray(values, dtype=float)})


def sweep(
    workload: Workload,
    key: str,
    values: Sequence[float],
    *,
    destinations: list[str] | None = None,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
):
    """Cost of each destination as one input varies: a tidy DataFrame, cheapest flagged."""
    import pandas as pd

    book = (table or default_table()).resolve(workload.region, pricing_date)
    chosen = resolve_names(destinations)
    result = evaluate_grid(_grid(workload, key, values), book, chosen, months=[-1])
    steady = {d.name: result.steady_state(d.name) for d in chosen}
    totals = {d.name: result.total(d.name) for d in chosen}
    cheapest = np.argmin(np.stack([steady[d.name] for d in chosen]), axis=0)
    records = []
    for i, value in enumerate(values):
        for k, dest in enumerate(chosen):
            records.append(
                {
                    key: float(value),
                    "destination": dest.name,
                    "steady_state_monthly_usd": float(steady[dest.name][i]),
                    "total_usd": float(totals[dest.name][i]),
                    "cheapest": bool(cheapest[i] == k),
                }
            )
    return pd.DataFrame.from_records(records)


def cheapest_changes(frame, key: str) -> list[tuple[float, str, str]]:
    """Where along a sweep the cheapest destination switches: (value, from, to)."""
    winners = frame[frame["cheapest"]].sort_values(key)[[key, "destination"]].to_numpy()
    changes = []
    for (_, before), (value, after) in itertools.pairwise(winners):
        if before != after:
            changes.append((float(value), str(before), str(after)))
    return changes


@dataclass
class TornadoBar:
    key: str
    low_value: float
    high_value: float
    low_usd: float
    high_usd: float

    @property
    def swing(self) -> float:
        return abs(self.high_usd - self.low_usd)


@dataclass
class Tornado:
    destination: str
    base_usd: float
    bars: list[TornadoBar]  # largest swing first


def tornado(
    workload: Workload,
    destination: str,
    swings: Mapping[str, tuple] | None = None,
    *,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
) -> Tornado:
    """Steady-state monthly cost of one destination with each input at its low and high."""
    swings = dict(swings or DEFAULT_SWINGS)
    base = workload
    if base.sessions_per_month is not None:
        # The profile gives sessions per month directly (measured): swing that total rather
        # than a rate it does not use, so the base case stays the workload's own.
        for rate in ("sessions_per_instance_per_day", "instances"):
            if rate in swings:
                swings.setdefault("sessions_per_month", swings[rate])
                del swings[rate]
    # Keys without a value (retention forever) cannot swing.
    swings = {k: v for k, v in swings.items() if getattr(base, k, 0) is not None}
    keys = list(swings)
    n = 2 * len(keys) + 1  # scenario 0 is the base workload
    axes = {k: np.full(n, float(_value(base, k))) for k in keys}
    lows, highs = {}, {}
    for i, key in enumerate(keys):
        spec = swings[key]
        base_value = float(_value(base, key))
        if spec[0] == "absolute":
            low, high = float(spec[1]), float(spec[2])
        else:
            low, high = base_value * float(spec[0]), base_value * float(spec[1])
        lows[key], highs[key] = low, high
        axes[key][1 + 2 * i] = low
        axes[key][2 + 2 * i] = high
    book = (table or default_table()).resolve(base.region, pricing_date)
    (dest,) = resolve_names([destination])
    grid = WorkloadGrid.vary(base, **axes)
    result = evaluate_grid(grid, book, [dest], months=[-1], horizon_total=False)
    steady = result.steady_state(dest.name)
    bars = [
        TornadoBar(key, lows[key], highs[key], float(steady[1 + 2 * i]), float(steady[2 + 2 * i]))
        for i, key in enumerate(keys)
    ]
    bars.sort(key=lambda b: b.swing, reverse=True)
    return Tornado(dest.name, float(steady[0]), bars)


def _value(workload: Workload, key: str) -> float:
    value = getattr(workload, key, None)
    if value is None or isinstance(value, tuple | str):
        raise WorkloadError(f"'{key}' has no numeric value to swing", "pick a numeric workload key")
    return float(value)


def compare_workloads(
    workloads: Mapping[str, Workload],
    *,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
):
    """Steady-state monthly cost per destination (rows) for each labelled workload (columns)."""
    import pandas as pd

    from costcompare.model import estimate

    columns = {}
    for label, workload in workloads.items():
        est = estimate(workload, pricing_date=pricing_date, table=table)
        columns[label] = {d.name: d.steady_state_monthly_usd for d in est.destinations}
    return pd.DataFrame(columns)


def by_region(
    workload: Workload,
    regions: Sequence[str],
    *,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
):
    """Steady-state monthly cost per destination (rows) in each region (columns)."""
    variants = {r: dataclasses.replace(workload, region=r) for r in regions}
    return compare_workloads(variants, pricing_date=pricing_date, table=table)
