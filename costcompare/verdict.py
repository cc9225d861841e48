"""The verdict with its conditions: which assumptions decide the ranking, and where it changes.

"Cheapest: s3" is only true under the workload's assumptions. For each assumption that can
decide it, this module asks the cost engine where the cheapest destination changes: every
alternative of a choice (network path, Athena scope, rotation, free tier …), and for each number
(sessions, bytes, searches, streaming activity, session length, AZs, retention) the nearest
value below and above the workload's own at which another destination becomes cheapest, found
by bisection on the array engine. Feeding a reported value back into the workload flips the
ranking (tests/test_verdict.py checks it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costcompare.awsfacts import CLOUDWATCH_RETENTION_DAYS
from costcompare.destinations import resolve_names
from costcompare.model import Estimate, evaluate_grid
from costcompare.pricing import PriceBook
from costcompare.volumes import WorkloadGrid
from costcompare.workload import (
    ATHENA_SCAN_SCOPES,
    DAYS_PER_MONTH,
    LOGS_ENDPOINTS,
    MAX_INPUT,
    S3_ENDPOINTS,
    Workload,
)

# How far from the workload's own value a numeric search looks (× and ÷), and how finely.
SEARCH_SPAN = 1000.0
SEARCH_POINTS = 121
REFINE_POINTS = 33
REFINE_ROUNDS = 3
MAX_AZS = 6

# Choices: workload key → {value: the condition in words}.
CHOICES: dict[str, dict[Any, str]] = {
    "logs_endpoint": {
        "new": "a new logs endpoint is created in every AZ",
        "existing": "the logs endpoint already exists",
        "nat": "logs reach CloudWatch through a NAT gateway",
        "public": "logs reach CloudWatch over the internet",
    },
    "s3_endpoint": {
        "gateway": "uploads use the free S3 gateway endpoint",
        "nat": "uploads reach S3 through a NAT gateway",
        "interface": "uploads use an S3 interface endpoint",
    },
    "athena_scan_scope": {
        "prefix": "Athena scans the whole prefix",
        "window": "Athena scans only the search window (date-keyed objects)",
    },
    "kms_rotation": {True: "KMS key rotation is on", False: "KMS key rotation is off"},
    "free_tier": {True: "the always-free tier applies", False: "the free tier does not apply"},
    "streaming": {True: "sessions stream to CloudWatch", False: "streaming is off"},
    "s3_lifecycle": {(): "there is no S3 lifecycle rule"},
}
assert set(CHOICES["logs_endpoint"]) == set(LOGS_ENDPOINTS)
assert set(CHOICES["s3_endpoint"]) == set(S3_ENDPOINTS)
assert set(CHOICES["athena_scan_scope"]) == set(ATHENA_SCAN_SCOPES)


@dataclass(frozen=True)
class Number:
    """A numeric assumption: its key, how it reads, and how its values are shown."""

    key: str
    label: str
    # workload value → shown value (sessions per month → per day) and back
    shown: Callable[[float], float] = float
    # the values it may take (a numeric search stays inside), or a fixed set to try
    bounds: tuple[float, float] = (0.0, MAX_INPUT)  # the workload's own bound, not beyond
    candidates: Callable[[Workload], Sequence[float]] | None = None


NUMBERS = (
    Number(
        "sessions_per_month",
        "sessions/day",
        shown=lambda v: v / DAYS_PER_MONTH,
    ),
    Number("session_bytes", "bytes per session"),
    Number("searches_per_month", "searches/month"),
    # what streams: seconds with output per session (events) and session length
    Number("stream_active_share", "share of session seconds with output", bounds=(1e-4, 0.999)),
    Number("session_minutes", "minutes per session", bounds=(1 / 60, 24 * 60)),
    Number("availability_zones", "AZs", candidates=lambda w: range(1, MAX_AZS + 1)),
    Number("retention_days", "days of retention", candidates=lambda w: CLOUDWATCH_RETENTION_DAYS),
)


@dataclass(frozen=True)
class Condition:
    """Under this value of one assumption, ``cheapest`` takes over; ``ranking`` is that world."""

    key: str
    label: str
    current: Any
    value: Any  # feed this back into the workload and the cheapest destination changes
    direction: str  # "is" (a choice), "below" or "above" (a number)
    previous: str  # the destination cheapest under the workload's own assumptions
    cheapest: str
    ranking: tuple[tuple[str, float], ...]  # (destination, steady-state USD/month), cheapest first
    shown_value: float | None = None

    def words(self, money: Callable[[float], str] = lambda x: f"${x:,.2f}") -> str:
        """E.g. 'if the logs endpoint already exists: cloudwatch-ia $3.68 < cloudwatch $4.50 <
        s3 $4.61' (USD a month) — every destination that beats the current cheapest, in order."""
        if self.direction == "is":
            when = f"if {self.label}"
        else:
            when = f"{self.direction} {_number_text(self.shown_value)} {self.label}"
        return f"{when}: " + " < ".join(
            f"{name} {money(usd)}" for name, usd in self.ranking[: self._beaten_upto()]
        )

    def _beaten_upto(self) -> int:
        names = [n for n, _ in self.ranking]
        return names.index(self.previous) + 1 if self.previous in names else len(names)

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.key,
            "current": _jsonable(self.current),
            "value": _jsonable(self.value),
            "direction": self.direction,
            "shown_value": self.shown_value,
            "unit": None if self.direction == "is" else self.label,
            "cheapest": self.cheapest,
            "ranking": [{"destination": n, "monthly_usd": usd} for n, usd in self.ranking],
            "text": self.words(),
        }


@dataclass
class Verdict:
    """The cheapest destination, by how much, and the conditions under which it stops being so."""

    cheapest: str
    monthly_usd: float
    runner_up: str | None
    margin_usd: float
    conditions: list[Condition] = field(default_factory=list)
    holds_for: list[str] = field(default_factory=list)  # assumptions checked that never flip it

    @property
    def deciding(self) -> list[str]:
        """The assumptions that decide the ranking, in the order they were checked."""
        return list(dict.fromkeys(c.key for c in self.conditions))

    def sentence(self, money: Callable[[float], str] = lambda x: f"${x:,.2f}") -> str:
        if not self.conditions:
            return f"{self.cheapest} stays cheapest under every alternative checked."
        parts = "; ".join(c.words(money) for c in self.conditions)
        return f"{self.cheapest} stops being cheapest {parts}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "cheapest": self.cheapest,
            "monthly_usd": self.monthly_usd,
            "runner_up": self.runner_up,
            "margin_usd": self.margin_usd,
            "deciding_inputs": self.deciding,
            "conditions": [c.as_dict() for c in self.conditions],
            "holds_for": self.holds_for,
            "text": self.sentence(),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [r.as_dict() if hasattr(r, "as_dict") else r for r in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


# -- the search -----------------------------------------------------------------------------------


class _Ranker:
    """Steady-state monthly cost of every destination for a grid of workloads, via the engine."""

    def __init__(self, book: PriceBook, names: Sequence[str]) -> None:
        self.book = book
        self.dests = resolve_names(list(names))
        self.names = [d.name for d in self.dests]

    def costs(self, grid: WorkloadGrid) -> np.ndarray:
        result = evaluate_grid(grid, self.book, self.dests, months=[-1], horizon_total=False)
        return np.stack([result.steady_state(n) for n in self.names], axis=1)  # (n, dests)

    def ranking(self, row: np.ndarray) -> tuple[tuple[str, float], ...]:
        order = sorted(range(len(self.names)), key=lambda i: (row[i], i))
        return tuple((self.names[i], float(row[i])) for i in order)


def _axes(base: Workload, key: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """Grid axes for ``key`` = ``values``; a measured ingestion total scales with the volume."""
    axes = {key: values}
    if base.monthly_ingest_gb is not None and key in ("sessions_per_month", "session_bytes"):
        own = base.base_sessions_per_month if key == "sessions_per_month" else base.session_bytes
        axes["monthly_ingest_gb"] = np.minimum(base.monthly_ingest_gb * values / own, MAX_INPUT)
    return axes


def _own_value(w: Workload, key: str) -> float:
    return w.base_sessions_per_month if key == "sessions_per_month" else float(getattr(w, key))


def _first_flip(
    ranker: _Ranker, base: Workload, key: str, values: np.ndarray, cheapest: int
) -> tuple[int, np.ndarray] | None:
    """Index of the first value (in the order given) at which the cheapest changes."""
    if len(values) == 0:
        return None
    costs = ranker.costs(WorkloadGrid.vary(base, **_axes(base, key, values)))
    flipped = np.flatnonzero(np.argmin(costs, axis=1) != cheapest)
    return (int(flipped[0]), costs[flipped[0]]) if len(flipped) else None


def _search_number(
    ranker: _Ranker, w: Workload, spec: Number, cheapest: int
) -> list[tuple[str, float, np.ndarray]]:
    """(direction, value, costs there) of the nearest flips below and above the own value."""
    own = _own_value(w, spec.key)
    found = []
    for direction in ("below", "above"):
        if spec.candidates is not None:
            pool = [float(c) for c in spec.candidates(w)]
            side = [c for c in pool if (c < own if direction == "below" else c > own)]
            values = np.array(sorted(side, reverse=direction == "below"), dtype=float)
        else:
            start = own if own > 0 else 1.0
            low, high = spec.bounds
            end = (
                max(start / SEARCH_SPAN, low)
                if direction == "below"
                else min(start * SEARCH_SPAN, high)
            )
            values = np.geomspace(start, end, SEARCH_POINTS)[1:] if end != start else np.array([])
            if own == 0 and direction == "below":
                values = np.array([])
        hit = _first_flip(ranker, w, spec.key, values, cheapest)
        if hit is None:
            continue
        index, costs = hit
        value = float(values[index])
        if spec.candidates is None:  # bisect between the last same and the first flipped value
            inside = own if index == 0 else float(values[index - 1])
            value, costs = _refine(ranker, w, spec.key, inside, value, cheapest, costs)
        found.append((direction, value, costs))
    return found


def _refine(
    ranker: _Ranker, w: Workload, key: str, inside: float, outside: float, cheapest: int, costs
) -> tuple[float, np.ndarray]:
    """Narrow [inside, outside] to the first flipped value, REFINE_POINTS per round."""
    for _ in range(REFINE_ROUNDS):
        if inside > 0 and outside > 0:
            values = np.geomspace(inside, outside, REFINE_POINTS)[1:]
        else:
            values = np.linspace(inside, outside, REFINE_POINTS)[1:]
        index, hit_costs = _first_flip(ranker, w, key, values, cheapest) or (
            len(values) - 1,
            costs,
        )
        outside, costs = float(values[index]), hit_costs
        inside = inside if index == 0 else float(values[index - 1])
    return outside, costs


def _choice_alternatives(w: Workload, key: str) -> list[Any]:
    current = getattr(w, key)
    if key == "s3_lifecycle":
        return [()] if current else []
    return [v for v in CHOICES[key] if v != current]


def find_conditions(estimate: Estimate) -> Verdict:
    """The verdict of an estimate with every condition under which it changes."""
    w = estimate.workload
    table = estimate.table
    if table is None:
        from costcompare.pricing import default_table

        table = default_table()
    book = table.resolve(w.region, estimate.pricing_date)
    ranked = estimate.by_cost()
    ranker = _Ranker(book, [d.name for d in estimate.destinations])
    cheapest_name = ranked[0].name
    cheapest = ranker.names.index(cheapest_name)
    verdict = Verdict(
        cheapest=cheapest_name,
        monthly_usd=ranked[0].steady_state_monthly_usd,
        runner_up=ranked[1].name if len(ranked) > 1 else None,
        margin_usd=(
            ranked[1].steady_state_monthly_usd - ranked[0].steady_state_monthly_usd
            if len(ranked) > 1
            else 0.0
        ),
    )
    if len(ranked) < 2:
        return verdict
    for key in CHOICES:
        flipped = False
        for value in _choice_alternatives(w, key):
            alt = dataclasses.replace(w, **{key: value})
            row = ranker.costs(WorkloadGrid.single(alt))[0]
            if int(np.argmin(row)) != cheapest:
                flipped = True
                verdict.conditions.append(
                    _condition(
                        (key, CHOICES[key][value], getattr(w, key), value, "is", None),
                        ranker.ranking(row),
                        cheapest_name,
                    )
                )
        if not flipped:
            verdict.holds_for.append(key)
    for spec in NUMBERS:
        if spec.key == "retention_days" and w.retention_days is None:
            continue
        hits = _search_number(ranker, w, spec, cheapest)
        for direction, value, row in hits:
            shown = spec.shown(value)
            where = (spec.key, spec.label, _own_value(w, spec.key), value, direction, shown)
            verdict.conditions.append(_condition(where, ranker.ranking(row), cheapest_name))
        if not hits:
            verdict.holds_for.append(spec.key)
    return verdict


def _condition(where: tuple, ranking: tuple[tuple[str, float], ...], previous: str) -> Condition:
    """``where`` = (key, label, current value, flipping value, direction, shown value)."""
    key, label, current, value, direction, shown = where
    return Condition(key, label, current, value, direction, previous, ranking[0][0], ranking, shown)


def attach(estimate: Estimate) -> Estimate:
    """Compute the verdict's conditions and keep them on the estimate (renderers show them)."""
    estimate.verdict = find_conditions(estimate)
    return estimate
