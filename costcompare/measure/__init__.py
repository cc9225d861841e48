"""Measure real Session Manager log volumes and turn them into a workload profile.

Library first: each ``measure_*`` function returns a ``Measurement``; ``to_workload`` turns one or
more of them into a ``Workload`` plus a comment per measured key (for ``dump_profile``).

Names are loaded on first use, so that mounting ``costcompare measure`` on the root CLI costs
nothing at start-up (numpy, boto3, pandas and duckdb load only when a measurement runs).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "AwsOptions": "aws",
    "measure_cloudwatch": "cloudwatch",
    "measure_inventory": "inventory",
    "measure_inventory_athena": "inventory_athena",
    "measure_local": "local",
    "Measurement": "measurement",
    "render_table": "render",
    "to_json": "render",
    "to_workload": "profile",
    "measure_s3": "s3",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'costcompare.measure' has no attribute {name!r}")
    return getattr(importlib.import_module(f"costcompare.measure.{_WHERE[name]}"), name)
