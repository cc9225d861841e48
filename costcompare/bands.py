"""Uncertainty bands: P10/P50/P90 cost per destination and the chance each is cheapest.

The inputs that decide the cost are rarely known exactly: sessions per day vary from day to day,
session sizes spread widely (a measured p50/p95), auditors search more or less, and a few
prices come from weaker sources. Each is drawn from a log-normal distribution whose median is the
workload's own value; all draws are costed in one pass of the array engine
(``model.evaluate_grid``), seeded, so the same seed gives the same bands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costcompare.destinations import resolve_names
from costcompare.model import Estimate, evaluate_grid
from costcompare.pricing import PriceBook
from costcompare.volumes import WorkloadGrid
from costcompare.workload import MAX_INPUT, Workload

# 2,000 draws put P10/P90 within about ±3 % (their standard error); more with --draws.
DEFAULT_DRAWS = 2_000
DEFAULT_SEED = 2026
PERCENTILES = (10, 50, 90)
Z95 = 1.6448536269514722  # the standard normal's 95th percentile
# Spreads used when nothing was measured: unsourced defaults, shown in every output.
DEFAULT_SIGMA = {"sessions_per_month": 0.3, "session_bytes": 0.5, "searches_per_month": 0.5}
# Price uncertainty by confidence: a dated third-party article (T) or an unsourced row (low).
PRICE_SIGMA = {"T": 0.10, "low": 0.25}


@dataclass(frozen=True)
class Spread:
    """One uncertain input: log-normal with median ``median`` and log-sd ``sigma``."""

    key: str
    median: float
    sigma: float
    basis: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.key,
            "distribution": "lognormal",
            "median": self.median,
            "sigma": self.sigma,
            "basis": self.basis,
        }


def input_spreads(w: Workload) -> list[Spread]:
    """The distributions of the volume inputs: measured spreads where the profile has them."""
    spreads = []
    if w.sessions_per_day_cv is not None:
        sigma = math.sqrt(math.log1p(w.sessions_per_day_cv**2))
        basis = f"measured day-to-day variation (CV {w.sessions_per_day_cv:.2f})"
    else:
        sigma, basis = DEFAULT_SIGMA["sessions_per_month"], "default spread (not measured)"
    spreads.append(Spread("sessions_per_month", w.base_sessions_per_month, sigma, basis))
    p50, p95 = w.session_bytes_p50, w.session_bytes_p95
    if p50 and p95 and p95 > p50:
        sigma = math.log(p95 / p50) / Z95
        basis = f"measured p50 {p50:,.0f} / p95 {p95:,.0f} bytes"
    else:
        sigma, basis = DEFAULT_SIGMA["session_bytes"], "default spread (not measured)"
    spreads.append(Spread("session_bytes", w.session_bytes, sigma, basis))
    if w.searches_per_month > 0:
        spreads.append(
            Spread(
                "searches_per_month",
                w.searches_per_month,
                DEFAULT_SIGMA["searches_per_month"],
                "default spread (an assumption of how often auditors search)",
            )
        )
    return spreads


@dataclass(frozen=True)
class Band:
    destination: str
    monthly: tuple[float, float, float]  # P10, P50, P90 of the steady-state month, USD
    total: tuple[float, float, float]  # P10, P50, P90 of the horizon total, USD
    p_cheapest: float  # share of draws in which this destination is the cheapest

    @property
    def monthly_p10(self) -> float:
        return self.monthly[0]

    @property
    def monthly_p50(self) -> float:
        return self.monthly[1]

    @property
    def monthly_p90(self) -> float:
        return self.monthly[2]

    @property
    def total_p50(self) -> float:
        return self.total[1]

    def as_dict(self) -> dict[str, Any]:
        names = [f"p{p}" for p in PERCENTILES]
        return {
            "name": self.destination,
            "monthly_usd": dict(zip(names, self.monthly, strict=True)),
            "total_usd": dict(zip(names, self.total, strict=True)),
            "p_cheapest": self.p_cheapest,
        }


@dataclass
class Bands:
    draws: int
    seed: int
    months: int
    spreads: list[Spread]
    price_spreads: list[Spread]
    bands: list[Band]
    # destination → steady-state monthly USD of every draw (for charts; not in JSON)
    samples: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def by_median(self) -> list[Band]:
        return sorted(self.bands, key=lambda b: (b.monthly_p50, b.total_p50))

    def get(self, name: str) -> Band:
        return next(b for b in self.bands if b.destination == name)

    def inputs_text(self) -> str:
        keys = [s.key.replace("_", " ") for s in self.spreads]
        if self.price_spreads:
            count = len(self.price_spreads)
            keys.append(f"{count} lower-confidence price{'' if count == 1 else 's'}")
        return "varying " + ", ".join(keys)

    def as_dict(self) -> dict[str, Any]:
        return {
            "draws": self.draws,
            "seed": self.seed,
            "percentiles": list(PERCENTILES),
            "inputs": [s.as_dict() for s in self.spreads + self.price_spreads],
            "destinations": [b.as_dict() for b in self.bands],
        }


def _draw_axes(w: Workload, spreads: Sequence[Spread], rng, draws: int) -> dict[str, np.ndarray]:
    factors = {s.key: np.exp(s.sigma * rng.standard_normal(draws)) for s in spreads}
    # A draw above the workload's own bound would fail its validation with a number the user
    # never gave (an input at the bound, 1e15, drew 1.06e15): draws stop at the bound.
    axes = {s.key: np.minimum(s.median * factors[s.key], MAX_INPUT) for s in spreads}
    if w.monthly_ingest_gb is not None:  # a measured total follows the volume it measured
        volume = factors.get("sessions_per_month", 1.0) * factors.get("session_bytes", 1.0)
        axes["monthly_ingest_gb"] = np.minimum(
            w.monthly_ingest_gb * np.broadcast_to(volume, (draws,)), MAX_INPUT
        )
    return axes


def simulate(
    workload: Workload,
    book: PriceBook,
    destinations: Sequence[str] | None = None,
    *,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
    spreads: Sequence[Spread] | None = None,
    price_uncertainty: bool = True,
) -> Bands:
    """Monte Carlo over the uncertain inputs and low-confidence prices, in one engine pass.

    ``spreads`` replaces the input distributions of ``input_spreads`` (e.g. for a what-if).
    """
    if draws < 1:
        from costcompare.errors import WorkloadError

        raise WorkloadError(f"draws is {draws}", "use at least 1 draw (e.g. 10000)")
    rng = np.random.default_rng(seed)
    spreads = list(input_spreads(workload) if spreads is None else spreads)
    chosen = resolve_names(list(destinations) if destinations else None)
    grid = WorkloadGrid.vary(workload, **_draw_axes(workload, spreads, rng, draws))
    price_keys = (
        sorted(
            {c.price_key for d in chosen for c in d.components}
            & {k for k, p in book.prices.items() if p.confidence in PRICE_SIGMA}
        )
        if price_uncertainty
        else []
    )
    price_spreads = [
        Spread(
            f"price:{k}", 1.0, PRICE_SIGMA[book[k].confidence], f"confidence {book[k].confidence}"
        )
        for k in price_keys
    ]
    factor = {s.key[6:]: np.exp(s.sigma * rng.standard_normal((draws, 1))) for s in price_spreads}
    # Only the uncertain prices' costs are kept apart: each scales its own share of the total.
    result = evaluate_grid(
        grid, book, chosen, horizon_total=False, breakdown="price_key", apart=price_keys
    )
    monthly = {}
    for dest in chosen:
        total = result.monthly_usd[dest.name]
        for key, cost in result.by_price_key(dest.name).items():
            total += cost * (factor[key] - 1.0)
        monthly[dest.name] = total
    steady = np.stack([monthly[d.name][:, -1] for d in chosen])  # (dests, draws)
    winners = np.bincount(np.argmin(steady, axis=0), minlength=len(chosen)) / draws
    bands = []
    for i, dest in enumerate(chosen):
        m = percentiles(steady[i], PERCENTILES)
        t = percentiles(monthly[dest.name].sum(axis=1), PERCENTILES)
        bands.append(Band(dest.name, tuple(map(float, m)), tuple(map(float, t)), float(winners[i])))
    samples = {d.name: steady[i] for i, d in enumerate(chosen)}
    return Bands(draws, seed, grid.months, spreads, price_spreads, bands, samples)


def percentiles(values: np.ndarray, points: Sequence[float]) -> np.ndarray:
    """``np.percentile(values, points)`` of finite 1-D values, to the last bit: numpy's default
    "linear" method step by step, without the numpy.ma import ``np.percentile`` costs at
    start-up (~10 ms of ``estimate``, issue 13)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    count = len(ordered)
    at = (count - 1) * (np.asarray(points, dtype=float) / 100)
    below = np.floor(at)
    above = below + 1
    below[at >= count - 1] = above[at >= count - 1] = -1  # the top: the largest value
    below[at < 0] = above[at < 0] = 0
    gamma = at - below
    low, high = ordered[below.astype(np.intp)], ordered[above.astype(np.intp)]
    diff = high - low
    result = low + diff * gamma
    np.subtract(high, diff * (1 - gamma), out=result, where=gamma >= 0.5)
    return result


def attach(estimate: Estimate, *, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> Estimate:
    """Compute the bands of an estimate's workload and keep them on it (renderers show them)."""
    from costcompare.pricing import default_table

    table = estimate.table or default_table()
    book = table.resolve(estimate.workload.region, estimate.pricing_date)
    names = [d.name for d in estimate.destinations]
    estimate.bands = simulate(estimate.workload, book, names, draws=draws, seed=seed)
    return estimate
