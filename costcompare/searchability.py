"""What each destination lets an auditor find, how fast, at what cost — as numbers, not adjectives.

Capability facts travel with each destination (``costcompare.capabilities``, each with its public
source). The workload-dependent metrics (time until a command is searchable, cost of a search)
come from the workload and from the cost engine's figures, which ``costcompare.comparison``
hands in, so they are the same numbers ``estimate`` prints; this module never runs the model.
A 0–100 score weighs seven dimensions with weights the user can change. No published rubric
exists: the scales below are this tool's documented defaults.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costcompare.capabilities import Capabilities
from costcompare.destinations import DESTINATIONS
from costcompare.errors import WorkloadError
from costcompare.yamlio import clip

if TYPE_CHECKING:  # for annotations only: the model sits above nothing here
    from costcompare.model import Estimate


DIMENSIONS = (
    "time_to_searchable",
    "search_cost",
    "expressiveness",
    "alerting",
    "immutability",
    "reach",
    "fidelity",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "time_to_searchable": 3,
    "search_cost": 2,
    "expressiveness": 2,
    "alerting": 2,
    "immutability": 1,
    "reach": 1,
    "fidelity": 1,
}

# Streaming: the agent sends every 1 s and ingestion lags ~5–20 s; we take the upper end.
STREAMING_SECONDS = 1 + 20
# Log scales for the two measured dimensions: full marks at the low end, none at the high end.
TIME_SCALE_S = (10.0, 86_400.0)
SEARCH_COST_SCALE_USD = (0.001, 10.0)
# Losing a whole session when an instance stops mid-session costs this much of the time score.
LOSS_PENALTY = 0.25


def capabilities_of(destination: str) -> Capabilities:
    """What ``destination`` can do: the capabilities it carries."""
    capabilities = DESTINATIONS[destination].capabilities
    assert capabilities is not None  # every destination declares them
    return capabilities


# What a store that could be WORM is without its lock: deletable unless protected, like a log
# group whose deletion protection can be switched off.
UNLOCKED_IMMUTABILITY = 1


def immutability_level(caps: Capabilities, workload: Any) -> int:
    """WORM (3) is earned by S3 Object Lock, not by choosing S3: only a workload that locks its
    objects (``s3_object_lock_days``, as the worm preset sets) scores it."""
    if caps.immutability >= 3 and workload.s3_object_lock_days is None:
        return UNLOCKED_IMMUTABILITY
    return caps.immutability


@dataclass
class Searchability:
    """One destination's searchability for one workload."""

    destination: str
    time_to_searchable_s: float
    loses_session_on_instance_stop: bool
    cost_per_search_usd: float
    monthly_search_usd: float
    expressiveness: int
    alerting: int
    immutability: int
    reach: int
    fidelity: int
    dimension_scores: dict[str, float]
    weights: dict[str, float]
    capabilities: Capabilities
    # Set by apply_measured: a real search's time to result, and which figures were measured.
    search_seconds: float | None = None
    measured: tuple[str, ...] = ()
    measured_from: str | None = None

    @property
    def score(self) -> float:
        total = sum(self.weights.values())
        weighted = sum(self.weights[d] * self.dimension_scores[d] for d in DIMENSIONS)
        return 100 * weighted / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "time_to_searchable_s": self.time_to_searchable_s,
            "loses_session_on_instance_stop": self.loses_session_on_instance_stop,
            "cost_per_search_usd": self.cost_per_search_usd,
            "monthly_search_usd": self.monthly_search_usd,
            "levels": {
                "expressiveness": self.expressiveness,
                "alerting": self.alerting,
                "immutability": self.immutability,
                "reach": self.reach,
                "fidelity": self.fidelity,
            },
            "dimension_scores": dict(self.dimension_scores),
            "weights": dict(self.weights),
            "search_seconds": self.search_seconds,
            "measured": list(self.measured),
            "measured_from": self.measured_from,
            "full_text_search": self.capabilities.full_text_search,
            "query_language": self.capabilities.query_language,
            "source": self.capabilities.source,
        }


def _log_scale(value: float, best: float, worst: float) -> float:
    """1 at or below ``best``, 0 at or above ``worst``, linear in log10 between."""
    if value <= best:
        return 1.0
    if value >= worst:
        return 0.0
    return 1 - math.log10(value / best) / math.log10(worst / best)


def assess(
    estimate: Estimate,
    weights: Mapping[str, float] | None = None,
    *,
    cost_per_search_usd: Mapping[str, float],
) -> dict[str, Searchability]:
    """Searchability of every destination in ``estimate``, given each one's cost of one search
    (``costcompare.comparison.cost_per_search`` prices it, also when none are planned)."""
    weights = validate_weights(weights or DEFAULT_WEIGHTS)
    workload = estimate.workload
    result = {}
    for dest in estimate.destinations:
        caps = capabilities_of(dest.name)
        streaming = caps.streams and workload.streaming and dest.name != "s3"
        seconds = STREAMING_SECONDS if streaming else workload.session_minutes * 60
        loses = not streaming
        per_search = cost_per_search_usd[dest.name]
        alerting = 2 if caps.live_alerting and streaming else int(caps.alerting_at_session_end)
        fidelity = int(streaming) + int(caps.masking)
        immutability = immutability_level(caps, workload)
        scores = {
            "time_to_searchable": max(
                _log_scale(seconds, *TIME_SCALE_S) - (LOSS_PENALTY if loses else 0.0), 0.0
            ),
            "search_cost": _log_scale(per_search, *SEARCH_COST_SCALE_USD),
            "expressiveness": caps.expressiveness / 3,
            "alerting": alerting / 2,
            "immutability": immutability / 3,
            "reach": caps.reach / 2,
            "fidelity": fidelity / 2,
        }
        result[dest.name] = Searchability(
            destination=dest.name,
            time_to_searchable_s=float(seconds),
            loses_session_on_instance_stop=loses,
            cost_per_search_usd=per_search,
            monthly_search_usd=dest.search_usd(),
            expressiveness=caps.expressiveness,
            alerting=alerting,
            immutability=immutability,
            reach=caps.reach,
            fidelity=fidelity,
            dimension_scores=scores,
            weights=dict(weights),
            capabilities=caps,
        )
    return result


# Which modelled destinations a measured search stands for: auditors search CloudWatch when
# logs go to both (the model prices no Athena for `both`).
MEASURED_FOR = {"cloudwatch": ("cloudwatch", "both"), "s3": ("s3",)}


def apply_measured(
    assessed: Mapping[str, Searchability], measured: Mapping[str, Any], searches_per_month: float
) -> list[str]:
    """Replace the modelled cost per search with a measured one (``costcompare search``'s saved
    result: per destination, ``cost_usd``, ``seconds``, ``backend``, ``source``), rescore, and
    record the time to result. Returns the destinations changed."""
    changed = []
    for measured_name, search in measured.items():
        for name in MEASURED_FOR.get(measured_name, ()):
            s = assessed.get(name)
            if s is None:
                continue
            s.cost_per_search_usd = float(search.cost_usd)
            s.monthly_search_usd = s.cost_per_search_usd * searches_per_month
            s.dimension_scores["search_cost"] = _log_scale(
                s.cost_per_search_usd, *SEARCH_COST_SCALE_USD
            )
            s.search_seconds = float(search.seconds)
            s.measured = ("cost_per_search_usd", "monthly_search_usd", "search_seconds")
            s.measured_from = f"{search.backend} search of {search.source}"
            changed.append(name)
    return changed


def validate_weights(weights: Mapping[str, Any]) -> dict[str, float]:
    """Every dimension gets a weight ≥ 0 (missing ones keep the default); some must be > 0."""
    merged = dict(DEFAULT_WEIGHTS)
    for key, value in weights.items():
        if key not in DIMENSIONS:
            raise WorkloadError(
                f"unknown searchability dimension {clip(str(key))}",
                "use any of " + ", ".join(DIMENSIONS),
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise WorkloadError(
                f"weight {key} is {clip(value)}", "it must be a number ≥ 0"
            ) from None
        if not math.isfinite(number) or number < 0:
            raise WorkloadError(f"weight {key} is {clip(value)}", "it must be a number ≥ 0")
        merged[key] = number
    if not any(merged.values()):
        raise WorkloadError("every searchability weight is 0", "give at least one a weight > 0")
    return merged


def load_weights(
    path: str | Path | None = None, flags: list[str] | None = None
) -> dict[str, float]:
    """Weights from a YAML file (``dimension: weight``) and/or ``NAME=VALUE`` flags."""
    weights: dict[str, Any] = {}
    if path:
        from costcompare.yamlio import load_yaml_mapping

        weights.update(
            load_yaml_mapping(
                path, what="weights file", error=WorkloadError, shape="`dimension: weight` lines"
            )
        )
    for flag in flags or []:
        name, sep, value = flag.partition("=")
        if not sep:
            raise WorkloadError(f"--weight {flag!r}", "write it as NAME=VALUE, e.g. alerting=3")
        weights[name.strip()] = value.strip()
    return validate_weights(weights)


def weights_text(weights: Mapping[str, float]) -> str:
    """One line for chart footers and reports."""
    return "weights: " + ", ".join(f"{k.replace('_', ' ')} {weights[k]:g}" for k in DIMENSIONS)


def duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
