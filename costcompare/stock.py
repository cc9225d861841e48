"""Exact average stock of data that arrives monthly and ages out (piecewise-quadratic).

Stock model: volume arrives at a constant rate within each month (growing month to month) and
is kept for ``retention_days``; the storage billed in a month is the average stock over that
month, integrated exactly, so the first months fill up and storage flattens once data starts to
expire. Lifecycle windows (age in, age out) use the same integrals.
"""

from __future__ import annotations

import numpy as np


class Arrivals:
    """A monthly arrival rate with its cumulative integrals, to evaluate stocks at any age.

    Ages are per scenario, (n, 1), and take few distinct values (a retention, a lifecycle
    step); each distinct age is evaluated once for every scenario with a column gather, and
    results are cached by age, since storage classes share their window edges.
    """

    # Beyond this many distinct ages in one call, a per-row gather is cheaper than one pass each.
    MAX_DISTINCT_AGES = 4

    def __init__(self, rate: np.ndarray) -> None:
        self.rate = rate  # (n, M): units arriving per month, uniform within the month
        n, months = rate.shape
        zero = np.zeros((n, 1))
        self.cum_start = np.hstack([zero, np.cumsum(rate, axis=1)[:, :-1]])  # C at month starts
        self.int_start = np.hstack(
            [zero, np.cumsum(self.cum_start + rate / 2, axis=1)[:, :-1]]
        )  # ∫C at month starts
        self.months = months
        self.edges = np.arange(months + 1, dtype=float)  # month boundaries 0..M
        self._memo: dict[tuple, np.ndarray] = {}

    def _at_ages(self, kind: str, age: np.ndarray) -> np.ndarray:
        """``kind`` ("cumulative" or "integral") at every boundary shifted back by ``age``."""
        age = np.minimum(np.asarray(age, dtype=float), self.months + 1)  # older: nothing there
        key = (kind, age.shape, age.tobytes())
        if key in self._memo:
            return self._memo[key]
        distinct = _distinct(age)
        if len(distinct) <= self.MAX_DISTINCT_AGES:
            out = self._at_one_age(kind, float(distinct[0]))
            for value in distinct[1:]:
                out = np.where(age == value, self._at_one_age(kind, float(value)), out)
        else:
            t = self.edges - age
            k = np.clip(np.floor(t), 0, self.months - 1).astype(np.intp)
            out = self._evaluate(kind, t, t - k, lambda arr: np.take_along_axis(arr, k, 1))
        self._memo[key] = out
        return out

    def _at_one_age(self, kind: str, age: float) -> np.ndarray:
        t = self.edges - age
        k = np.clip(np.floor(t), 0, self.months - 1).astype(np.intp)
        return self._evaluate(kind, t, t - k, lambda arr: arr[:, k])

    def _evaluate(self, kind, t, f, gather) -> np.ndarray:
        """C or ∫C at the shifted boundaries, summed in place (these are the engine's hot loop)."""
        if kind == "cumulative":
            value = gather(self.cum_start)
            value += gather(self.rate) * f
        else:
            value = gather(self.int_start)
            value += gather(self.cum_start) * f
            value += gather(self.rate) * (f * f / 2)
        if t.ndim == 1:  # one age: zero the boundaries before the first arrival, column-wise
            value[:, t <= 0] = 0.0
            return value
        return np.where(t <= 0, 0.0, value)

    def cumulative_at_age(self, age: np.ndarray) -> np.ndarray:
        """C(boundary - age) at every month boundary: units older than ``age`` by then."""
        return self._at_ages("cumulative", age)

    def integral_at_age(self, age: np.ndarray) -> np.ndarray:
        """∫₀ C(s) ds up to every month boundary shifted back by ``age``."""
        return self._at_ages("integral", age)

    def average_stock(self, age_from: np.ndarray, age_to: np.ndarray) -> np.ndarray:
        """Mean over each month of the units whose age (months) is in [age_from, age_to)."""
        # one diff of the difference: half the passes over (n, M) of two diffs subtracted
        return np.diff(self.integral_at_age(age_from) - self.integral_at_age(age_to), axis=1)

    def crossing(self, age: np.ndarray) -> np.ndarray:
        """Units that reach ``age`` during each month (e.g. lifecycle transitions)."""
        return np.diff(self.cumulative_at_age(age), axis=1)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (np.unique, without the numpy.ma import it costs at start-up)."""
    flat = np.sort(values, axis=None)
    return flat[np.concatenate(([True], flat[1:] != flat[:-1]))] if flat.size else flat
