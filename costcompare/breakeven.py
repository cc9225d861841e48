"""Where the cheapest destination changes: the cost engine over a two-axis grid of workloads."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np

from costcompare.destinations import resolve_names
from costcompare.errors import WorkloadError
from costcompare.model import evaluate_grid
from costcompare.pricing import PriceTable, default_table
from costcompare.volumes import WorkloadGrid
from costcompare.workload import DAYS_PER_MONTH, Workload

MIN_CELLS_PER_AXIS = 2


@dataclass
class BreakEvenMap:
    """Steady-state monthly cost of each destination on a sessions/day × searches/month grid."""

    workload: Workload
    sessions_per_day: np.ndarray  # (nx,)
    searches_per_month: np.ndarray  # (ny,)
    destinations: list[str]
    monthly_usd: np.ndarray  # (n_destinations, ny, nx), last month of the horizon
    pricing_date: dt.date

    @property
    def cheapest(self) -> np.ndarray:
        """Index into ``destinations`` of the cheapest one per cell, (ny, nx)."""
        return np.argmin(self.monthly_usd, axis=0)

    def cheapest_at(self, sessions_per_day: float, searches_per_month: float) -> str:
        """The cheapest destination in the cell nearest to a point."""
        ix = int(np.argmin(np.abs(np.log1p(self.sessions_per_day) - np.log1p(sessions_per_day))))
        iy = int(
            np.argmin(np.abs(np.log1p(self.searches_per_month) - np.log1p(searches_per_month)))
        )
        return self.destinations[int(self.cheapest[iy, ix])]

    @property
    def workload_point(self) -> tuple[float, float]:
        return (
            self.workload.base_sessions_per_month / DAYS_PER_MONTH,
            self.workload.searches_per_month,
        )


def default_axes(workload: Workload, cells: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Log-spaced axes spanning the workload's own point by two orders of magnitude."""
    per_day = max(workload.base_sessions_per_month / DAYS_PER_MONTH, 1.0)
    low = min(10.0, per_day / 100)
    high = max(100_000.0, per_day * 100)
    sessions = np.geomspace(low, high, cells)
    top = max(1000.0, workload.searches_per_month * 10)
    searches = np.concatenate([[0.0], np.geomspace(1.0, top, cells - 1)])
    return sessions, searches


def break_even_map(
    workload: Workload,
    sessions_per_day: np.ndarray | None = None,
    searches_per_month: np.ndarray | None = None,
    *,
    destinations: list[str] | None = None,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
) -> BreakEvenMap:
    """Cost every cell with the array engine (one grid evaluation, not a loop per cell)."""
    default_x, default_y = default_axes(workload)
    xs = np.asarray(default_x if sessions_per_day is None else sessions_per_day, dtype=float)
    ys = np.asarray(default_y if searches_per_month is None else searches_per_month, dtype=float)
    if xs.ndim != 1 or ys.ndim != 1 or len(xs) < MIN_CELLS_PER_AXIS or len(ys) < MIN_CELLS_PER_AXIS:
        raise WorkloadError(
            "a break-even map needs two 1-D axes of at least 2 values", "pass longer axes"
        )
    # Ingestion must follow the sessions axis, so a fixed monthly_ingest_gb cannot hold here.
    workload = dataclasses.replace(workload, monthly_ingest_gb=None)
    book = (table or default_table()).resolve(workload.region, pricing_date)
    chosen = resolve_names(destinations)
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx)
    grid = WorkloadGrid.vary(
        workload, sessions_per_month=gx.ravel() * DAYS_PER_MONTH, searches_per_month=gy.ravel()
    )
    # Only the steady-state month is drawn: cost that month alone, in blocks.
    result = evaluate_grid(grid, book, chosen, months=[-1], horizon_total=False)
    costs = np.stack([result.steady_state(d.name).reshape(gy.shape) for d in chosen])
    return BreakEvenMap(workload, xs, ys, [d.name for d in chosen], costs, book.pricing_date)
