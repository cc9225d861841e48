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
from costcompare.grid import STRUCTURAL_KEYS
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
#
# Every alternative and every numeric search is costed in as few engine passes as possible (issue
# 13: 35 sequential passes were a third of `estimate`): one grid holds the alternatives that can
# vary across a grid and the coarse pass of every number (each row varies one key, the others
# stay at the workload's own values), then one grid per refinement round holds every number
# still being narrowed. Each row is costed exactly as it would be alone, so the values found and
# the costs reported are those of the one-search-at-a-time bisection.


# Keys searched in a grid of their own: a retention that differs from row to row makes every
# row's storage integration its own (a per-row gather), so it would slow every other search.
APART = frozenset({"retention_days"})


class _Ranker:
    """Steady-state monthly cost of every destination for a grid of workloads, via the engine."""

    def __init__(self, book: PriceBook, names: Sequence[str]) -> None:
        self.book = book
        self.dests = resolve_names(list(names))
        self.names = [d.name for d in self.dests]

    def costs(self, grid: WorkloadGrid) -> np.ndarray:
        result = evaluate_grid(grid, self.book, self.dests, months=[-1], horizon_total=False)
        return np.stack([result.steady_state(n) for n in self.names], axis=1)  # (n, dests)

    def costs_of_sets(
        self, base: Workload, sets: Sequence[tuple[str, np.ndarray]], *, checked: bool = False
    ) -> list[np.ndarray]:
        """(len(values), dests) costs of each (key, values) set: a set's rows vary its key (and
        what follows it, see ``_axes``), every other key keeps its own value. One grid for all,
        but a retention search costs apart (see ``APART``). ``checked``: every value lies
        between values the workload's rules already accepted, so the grid skips checking them."""
        costs: list[np.ndarray] = [np.empty((0, len(self.names)))] * len(sets)
        for apart in (False, True):
            group = [i for i, (key, _) in enumerate(sets) if (key in APART) == apart]
            found = self._one_grid(base, [sets[i] for i in group], checked)
            for i, row_costs in zip(group, found, strict=True):
                costs[i] = row_costs
        return costs

    def _one_grid(
        self, base: Workload, sets: Sequence[tuple[str, np.ndarray]], checked: bool
    ) -> list[np.ndarray]:
        per_set = [_axes(base, key, values) for key, values in sets]
        sizes = [len(values) for _, values in sets]
        if not sum(sizes):
            return [np.empty((0, len(self.names))) for _ in sets]
        keys = list(dict.fromkeys(key for axes in per_set for key in axes))
        columns = {
            key: np.concatenate(
                [
                    axes[key] if key in axes else np.full(size, _own_value(base, key))
                    for axes, size in zip(per_set, sizes, strict=True)
                ]
            )
            for key in keys
        }
        grid = WorkloadGrid(base, columns) if checked else WorkloadGrid.vary(base, **columns)
        costs = self.costs(grid)
        ends = np.cumsum(sizes)
        return [costs[end - size : end] for end, size in zip(ends, sizes, strict=True)]

    def ranking(self, row: np.ndarray) -> tuple[tuple[str, float], ...]:
        order = sorted(range(len(self.names)), key=lambda i: (row[i], i))
        return tuple((self.names[i], float(row[i])) for i in order)


def _axes(base: Workload, key: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """Grid axes for ``key`` = ``values``; a measured ingestion total scales with the volume."""
    axes = {key: np.asarray(values, dtype=float)}
    if base.monthly_ingest_gb is not None and key in ("sessions_per_month", "session_bytes"):
        own = base.base_sessions_per_month if key == "sessions_per_month" else base.session_bytes
        axes["monthly_ingest_gb"] = np.minimum(base.monthly_ingest_gb * values / own, MAX_INPUT)
    return axes


def _own_value(w: Workload, key: str) -> float:
    return w.base_sessions_per_month if key == "sessions_per_month" else float(getattr(w, key))


def _first_flip(costs: np.ndarray, cheapest: int) -> int | None:
    """Index of the first row (in the order given) at which the cheapest changes."""
    flipped = np.flatnonzero(np.argmin(costs, axis=1) != cheapest)
    return int(flipped[0]) if len(flipped) else None


@dataclass
class _Search:
    """One side of one numeric assumption: the values tried, nearest to the workload's first,
    and what was found (the first flipped value, the costs there, the last value not flipped)."""

    spec: Number
    direction: str
    values: np.ndarray
    value: float | None = None
    costs: np.ndarray | None = None
    inside: float = 0.0

    @property
    def refines(self) -> bool:
        """A continuous number is narrowed between the last same and the first flipped value."""
        return self.value is not None and self.spec.candidates is None


def _search_values(w: Workload, spec: Number, direction: str) -> np.ndarray:
    """The values a search tries, in order away from the workload's own value."""
    own = _own_value(w, spec.key)
    if spec.candidates is not None:
        pool = [float(c) for c in spec.candidates(w)]
        side = [c for c in pool if (c < own if direction == "below" else c > own)]
        return np.array(sorted(side, reverse=direction == "below"), dtype=float)
    if own == 0 and direction == "below":
        return np.array([])
    start = own if own > 0 else 1.0
    low, high = spec.bounds
    end = max(start / SEARCH_SPAN, low) if direction == "below" else min(start * SEARCH_SPAN, high)
    return np.geomspace(start, end, SEARCH_POINTS)[1:] if end != start else np.array([])


def _found(search: _Search, costs: np.ndarray, cheapest: int, own: float) -> None:
    """Record the coarse pass of one search: its first flipped value, if any."""
    index = _first_flip(costs, cheapest)
    if index is not None:
        search.value, search.costs = float(search.values[index]), costs[index]
        search.inside = own if index == 0 else float(search.values[index - 1])


def _refine(ranker: _Ranker, w: Workload, searches: list[_Search], cheapest: int) -> None:
    """Narrow every [inside, first flipped] interval to the first flipped value, REFINE_POINTS
    per round, all searches in one grid per round."""
    for _ in range(REFINE_ROUNDS):
        rounds = []
        for search in searches:
            inside, outside = search.inside, search.value
            if inside > 0 and outside > 0:
                rounds.append(np.geomspace(inside, outside, REFINE_POINTS)[1:])
            else:
                rounds.append(np.linspace(inside, outside, REFINE_POINTS)[1:])
        sets = [(s.spec.key, values) for s, values in zip(searches, rounds, strict=True)]
        # Inside [inside, first flipped]: values the coarse grid's check already bounds.
        found = ranker.costs_of_sets(w, sets, checked=True)
        for search, values, costs in zip(searches, rounds, found, strict=True):
            index = _first_flip(costs, cheapest)
            if index is None:  # none flipped: the interval's end, with the costs found there
                index, row = len(values) - 1, search.costs
            else:
                row = costs[index]
            search.value, search.costs = float(values[index]), row
            search.inside = search.inside if index == 0 else float(values[index - 1])


def _choice_alternatives(w: Workload, key: str) -> list[Any]:
    current = getattr(w, key)
    if key == "s3_lifecycle":
        return [()] if current else []
    return [v for v in CHOICES[key] if v != current]


def _costed_choices_and_searches(
    ranker: _Ranker, w: Workload, cheapest: int
) -> tuple[list[tuple[str, Any, np.ndarray]], list[_Search]]:
    """(key, alternative, costs there) of every choice, and every numeric search, done."""
    alternatives = [(key, value) for key in CHOICES for value in _choice_alternatives(w, key)]
    searches = [
        _Search(spec, direction, _search_values(w, spec, direction))
        for spec in NUMBERS
        if not (spec.key == "retention_days" and w.retention_days is None)
        for direction in ("below", "above")
    ]
    in_grid = [(k, v) for k, v in alternatives if k not in STRUCTURAL_KEYS]
    sets = [(k, np.array([float(v)])) for k, v in in_grid]
    sets += [(s.spec.key, s.values) for s in searches]
    costs = ranker.costs_of_sets(w, sets)
    rows = {(k, v): c[0] for (k, v), c in zip(in_grid, costs, strict=False)}
    for search, found in zip(searches, costs[len(in_grid) :], strict=True):
        _found(search, found, cheapest, _own_value(w, search.spec.key))
    _refine(ranker, w, [s for s in searches if s.refines], cheapest)
    choices = []
    for key, value in alternatives:
        if (key, value) not in rows:  # a structural choice: a model of its own
            alt = dataclasses.replace(w, **{key: value})
            rows[key, value] = ranker.costs(WorkloadGrid.single(alt))[0]
        choices.append((key, value, rows[key, value]))
    return choices, searches


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
    choices, searches = _costed_choices_and_searches(ranker, w, cheapest)
    for key in CHOICES:
        flips = [(v, row) for k, v, row in choices if k == key and np.argmin(row) != cheapest]
        for value, row in flips:
            where = (key, CHOICES[key][value], getattr(w, key), value, "is", None)
            verdict.conditions.append(_condition(where, ranker.ranking(row), cheapest_name))
        if not flips:
            verdict.holds_for.append(key)
    for spec in dict.fromkeys(s.spec for s in searches):
        hits = [s for s in searches if s.spec is spec and s.value is not None]
        for hit in hits:
            shown = spec.shown(hit.value)
            where = (spec.key, spec.label, _own_value(w, spec.key), hit.value, hit.direction, shown)
            verdict.conditions.append(_condition(where, ranker.ranking(hit.costs), cheapest_name))
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
