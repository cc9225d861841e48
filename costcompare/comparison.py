"""The comparison: cost (``costcompare.model``) and searchability (``costcompare.searchability``)
of each destination for one workload, composed here, above both, so neither imports the other.

``estimate`` is what ``costcompare estimate``, the charts, the reports and the notebooks call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from costcompare import model
from costcompare.model import Estimate
from costcompare.pricing import PriceTable
from costcompare.searchability import assess
from costcompare.workload import Workload


def estimate(
    workload: Workload,
    *,
    destinations: list[str] | None = None,
    pricing_date: dt.date | None = None,
    table: PriceTable | None = None,
    weights: dict[str, float] | None = None,
    searchability: bool = True,
) -> Estimate:
    """Cost each destination month by month, every line explained, and (by default) score it
    for search with ``weights`` (see costcompare.searchability)."""
    est = model.estimate(
        workload, destinations=destinations, pricing_date=pricing_date, table=table
    )
    if searchability:
        est.searchability = assess(est, weights, cost_per_search_usd=cost_per_search(est))
    return est


def cost_per_search(est: Estimate) -> dict[str, float]:
    """Each destination's cost of one search. With no searches planned the model prices one:
    the cost of a search still matters to someone choosing where logs go."""
    searches = est.workload.searches_per_month
    source = est
    if searches == 0:
        source = model.estimate(
            dataclasses.replace(est.workload, searches_per_month=1),
            destinations=[d.name for d in est.destinations],
            pricing_date=est.pricing_date,
            table=est.table,
        )
    return {d.name: source.get(d.name).search_usd() / (searches or 1) for d in est.destinations}
