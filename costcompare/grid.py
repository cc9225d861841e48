"""Many workloads evaluated at once: a base ``Workload`` plus axes that vary across scenarios.

A grid is one row per scenario; quantities (``costcompare.volumes``) are arrays over it, so a
grid of 10,000 workloads costs the same Python as one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from costcompare.errors import WorkloadError
from costcompare.workload import Workload

# Keys that may vary across a grid (numbers and switches); the rest shape the model itself.
STRUCTURAL_KEYS = (
    "region", "horizon_months", "s3_lifecycle", "free_tier", "logs_endpoint", "s3_endpoint",
    "athena_scan_scope",
)  # fmt: skip


@dataclass
class WorkloadGrid:
    """Many workloads that share region, horizon and lifecycle: a base plus varying axes."""

    base: Workload
    axes: Mapping[str, np.ndarray]

    @classmethod
    def single(cls, workload: Workload) -> WorkloadGrid:
        return cls(workload, {})

    @classmethod
    def vary(cls, base: Workload, **axes: np.ndarray | list[float]) -> WorkloadGrid:
        """Scenarios = base with each axis value (all axes the same length, zipped, not crossed)."""
        arrays = {k: np.asarray(v, dtype=float).reshape(-1) for k, v in axes.items()}
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            raise WorkloadError(
                f"grid axes have different lengths {sorted(lengths)}",
                "give every axis one value per scenario (use numpy.meshgrid to cross them)",
            )
        for key, values in arrays.items():
            if key in STRUCTURAL_KEYS or key not in Workload.__dataclass_fields__:
                raise WorkloadError(
                    f"'{key}' cannot vary across a grid",
                    "vary numeric workload keys; run separate grids per region or lifecycle",
                )
            # Validate the extremes (and every retention) through the Workload's own rules.
            # (sorted(set()), not np.unique: that imports numpy.ma, ~10 ms of start-up)
            probe = (
                sorted(set(values.tolist()))
                if key == "retention_days"
                else (values.min(), values.max())
            )
            for value in probe:
                base.with_overrides(**{key: _scalar_for(key, float(value))})
        # An axis of the per-instance rate would do nothing against a fixed monthly total.
        # (A fixed monthly_ingest_gb stays: it is a measurement; callers clear it if they vary
        # the volume behind it, as the break-even map does.)
        if {"instances", "sessions_per_instance_per_day"} & arrays.keys():
            base = dataclasses.replace(base, sessions_per_month=None)
        return cls(base, arrays)

    @property
    def n(self) -> int:
        return len(next(iter(self.axes.values()))) if self.axes else 1

    @property
    def months(self) -> int:
        return self.base.horizon_months

    def param(self, key: str) -> np.ndarray:
        """A workload key as an (n, 1) array, ready to broadcast over months."""
        if key in self.axes:
            return self.axes[key].reshape(-1, 1)
        value = getattr(self.base, key)
        if value is None:
            value = np.inf if key == "retention_days" else np.nan
        return np.full((self.n, 1), float(value))


def _scalar_for(key: str, value: float):
    kind = Workload.__dataclass_fields__[key].type
    if "bool" in str(kind):
        return bool(value)
    if "int" in str(kind) and "float" not in str(kind):
        return int(value)
    return value
