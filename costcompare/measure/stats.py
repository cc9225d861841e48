"""Streaming accumulators: size distribution, sessions per day, durations.

They take one value or a numpy batch at a time and keep bounded memory, so a listing of millions
of objects (S3 Inventory) is summarised without holding it: sizes stay exact up to
``EXACT_LIMIT`` values, then quantiles come from a log-scale histogram with 1 % relative error.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

EXACT_LIMIT = 2_000_000  # 16 MB of int64 sizes; beyond this quantiles come from the sketch
GAMMA = 1.01  # sketch bin growth: quantiles within 1 % of the true value
_LOG_GAMMA = math.log(GAMMA)
_SKETCH_BINS = 3200  # covers sizes up to GAMMA**3200 ≈ 7e13 bytes
# Coarse histogram shown to people: 1 KiB, 4 KiB, … 1 GiB, then everything larger.
HISTOGRAM_EDGES = tuple(1024 * 4**k for k in range(11))
SECONDS_PER_DAY = 86_400


@dataclass
class SizeStats:
    """Count, total, min, max, quantiles and a histogram of byte sizes, in bounded memory."""

    count: int = 0
    total: int = 0
    minimum: int | None = None
    maximum: int | None = None
    _exact: list[np.ndarray] = field(default_factory=list, repr=False)
    _pending: list[int] = field(default_factory=list, repr=False)
    _exact_ok: bool = True
    _sketch: np.ndarray = field(default_factory=lambda: np.zeros(_SKETCH_BINS + 1, np.int64))
    _coarse: np.ndarray = field(
        default_factory=lambda: np.zeros(len(HISTOGRAM_EDGES) + 1, np.int64)
    )

    def add(self, size: int) -> None:
        size = int(size)
        self._pending.append(size)
        self.count += 1
        self.total += size
        self.minimum = size if self.minimum is None else min(self.minimum, size)
        self.maximum = size if self.maximum is None else max(self.maximum, size)
        if len(self._pending) >= 8192:
            self._flush()

    def add_many(self, sizes: np.ndarray) -> None:
        """Add a batch (any integer array); the fast path for listings and inventories."""
        self._flush()
        sizes = np.asarray(sizes, dtype=np.int64)
        if sizes.size:
            self.count += int(sizes.size)
            self.total += int(sizes.sum())
            lo, hi = int(sizes.min()), int(sizes.max())
            self.minimum = lo if self.minimum is None else min(self.minimum, lo)
            self.maximum = hi if self.maximum is None else max(self.maximum, hi)
            self._add_array(sizes)

    def _flush(self) -> None:
        if self._pending:
            batch = np.asarray(self._pending, dtype=np.int64)
            self._pending = []
            self._add_array(batch)

    def _add_array(self, sizes: np.ndarray) -> None:
        """Sketch, histogram and exact store; count/total/min/max are kept by the callers."""
        bins = np.zeros(sizes.shape, np.int64)
        positive = sizes > 0
        bins[positive] = np.ceil(np.log(sizes[positive]) / _LOG_GAMMA).astype(np.int64) + 1
        self._sketch += np.bincount(np.clip(bins, 0, _SKETCH_BINS), minlength=_SKETCH_BINS + 1)
        coarse = np.searchsorted(np.asarray(HISTOGRAM_EDGES), sizes, side="left")
        self._coarse += np.bincount(coarse, minlength=len(HISTOGRAM_EDGES) + 1)
        if self._exact_ok:
            if self.count > EXACT_LIMIT:
                self._exact_ok = False
                self._exact = []
            else:
                self._exact.append(sizes.copy())

    @property
    def exact(self) -> bool:
        """True while quantiles are exact (fewer than EXACT_LIMIT values)."""
        return self._exact_ok

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile (linear interpolation when exact, like numpy's default)."""
        self._flush()
        if not self.count:
            return None
        if self._exact_ok:
            return float(np.quantile(np.concatenate(self._exact), q))
        rank = q * (self.count - 1)
        index = int(np.searchsorted(np.cumsum(self._sketch), rank, side="right"))
        if index == 0:
            return 0.0
        # DDSketch's representative value of bin i: within 1 % of every value in it.
        return float(2 * GAMMA ** (index - 1) / (GAMMA + 1))

    def histogram(self) -> list[dict[str, int | None]]:
        """Counts per coarse bin; ``upto`` is the bin's inclusive upper edge (None: no limit)."""
        self._flush()
        edges: list[int | None] = [*HISTOGRAM_EDGES, None]
        return [
            {"upto": edge, "count": int(n)} for edge, n in zip(edges, self._coarse, strict=True)
        ]

    def summary(self) -> dict[str, object]:
        self._flush()
        return {
            "count": self.count,
            "total_bytes": self.total,
            "mean": self.mean,
            "p50": self.quantile(0.5),
            "p95": self.quantile(0.95),
            "min": self.minimum,
            "max": self.maximum,
            "quantiles_exact": self.exact,
            "histogram": self.histogram(),
        }


@dataclass(frozen=True)
class KnownSizes:
    """Size statistics an SQL engine already computed (S3 Inventory): the same ``summary()`` as
    ``SizeStats``."""

    count: int
    total: int
    minimum: int | None
    maximum: int | None
    p50: float | None
    p95: float | None
    coarse: tuple[int, ...]  # sessions per HISTOGRAM_EDGES bin, the last one unbounded
    exact: bool = True  # False: quantiles within 0.5 %, read off size bins

    def summary(self) -> dict[str, object]:
        edges: list[int | None] = [*HISTOGRAM_EDGES, None]
        return {
            "count": self.count,
            "total_bytes": self.total,
            "mean": self.total / self.count if self.count else None,
            "p50": self.p50,
            "p95": self.p95,
            "min": self.minimum,
            "max": self.maximum,
            "quantiles_exact": self.exact,
            "histogram": [
                {"upto": edge, "count": int(n)} for edge, n in zip(edges, self.coarse, strict=True)
            ],
        }


@dataclass
class DayCounts:
    """Sessions per UTC calendar day, from epoch seconds; memory grows with days, not sessions."""

    days: Counter[int] = field(default_factory=Counter)

    def add(self, epoch_seconds: float) -> None:
        self.days[int(epoch_seconds // SECONDS_PER_DAY)] += 1

    def add_many(self, epoch_seconds: np.ndarray) -> None:
        if epoch_seconds.size == 0:
            return
        day, n = np.unique(
            np.floor_divide(epoch_seconds, SECONDS_PER_DAY).astype(np.int64), return_counts=True
        )
        self.days.update(dict(zip(day.tolist(), n.tolist(), strict=True)))

    @property
    def sessions(self) -> int:
        return sum(self.days.values())

    @property
    def first(self) -> dt.date | None:
        return _day(min(self.days)) if self.days else None

    @property
    def last(self) -> dt.date | None:
        return _day(max(self.days)) if self.days else None

    @property
    def span_days(self) -> int:
        """Calendar days from the first to the last session, both included."""
        return max(self.days) - min(self.days) + 1 if self.days else 0

    def variation(self) -> float | None:
        """Day-to-day coefficient of variation of sessions per calendar day (days without a
        session count as 0); None under a week of data, too little to tell."""
        if self.span_days < 7:
            return None
        counts = np.zeros(self.span_days)
        first = min(self.days)
        for day, n in self.days.items():
            counts[day - first] = n
        return float(counts.std() / counts.mean())

    def busiest(self) -> tuple[dt.date, int] | None:
        if not self.days:
            return None
        day, n = max(self.days.items(), key=lambda kv: (kv[1], -kv[0]))
        return _day(day), n


def _day(number: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=number)


def describe(values: list[float] | np.ndarray) -> dict[str, float] | None:
    """Mean, p50, p95 and max of a small set of values (durations, per-session ratios)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return None
    return {
        "count": int(arr.size),
        "mean": float(arr.mean()),
        "p50": float(np.quantile(arr, 0.5)),
        "p95": float(np.quantile(arr, 0.95)),
        "max": float(arr.max()),
    }
