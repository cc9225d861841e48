"""What changes between two estimates (``costcompare diff A B``), line by line, Infracost-style.

Both sides are the JSON contract of ``estimate -o json`` (a workload file is estimated first),
so a saved estimate from last quarter compares with today's workload the same way two workload
files do. Components are matched by name within a destination; ``~`` changed, ``+`` added,
``-`` removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Differences smaller than this (USD per month) are rounding, not changes.
EPSILON_USD = 0.005


@dataclass(frozen=True)
class Change:
    """One figure before and after (None: absent on that side)."""

    name: str
    before: float | None
    after: float | None

    @property
    def mark(self) -> str:
        if self.before is None:
            return "+"
        if self.after is None:
            return "-"
        return "~" if abs(self.after - self.before) >= EPSILON_USD else "="

    @property
    def delta(self) -> float:
        return (self.after or 0.0) - (self.before or 0.0)

    @property
    def percent(self) -> float | None:
        if not self.before:
            return None
        return self.delta / self.before * 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "change": self.mark,
            "before_monthly_usd": self.before,
            "after_monthly_usd": self.after,
            "delta_monthly_usd": self.delta,
            "percent": self.percent,
        }


@dataclass(frozen=True)
class DestinationDiff:
    total: Change
    components: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**self.total.as_dict(), "components": [c.as_dict() for c in self.components]}


@dataclass(frozen=True)
class EstimateDiff:
    before_label: str
    after_label: str
    inputs: list[tuple[str, Any, Any]]  # workload keys (and region, pricing date) that differ
    destinations: list[DestinationDiff]
    baseline: Change

    def as_dict(self) -> dict[str, Any]:
        from costcompare.jsoncontract import versioned

        return versioned(
            {
                "before": self.before_label,
                "after": self.after_label,
                "inputs": [{"key": k, "before": a, "after": b} for k, a, b in self.inputs],
                "baseline": self.baseline.as_dict(),
                "destinations": [d.as_dict() for d in self.destinations],
            }
        )


def _components(items: list[Mapping[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for item in items:
        totals[item["name"]] = totals.get(item["name"], 0.0) + float(item["monthly_usd"])
    return totals


def _component_changes(before: list, after: list) -> list[Change]:
    a, b = _components(before), _components(after)
    names = list(a) + [n for n in b if n not in a]
    changes = [Change(n, a.get(n), b.get(n)) for n in names]
    return [c for c in changes if c.mark != "="]


def _inputs(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    rows = [
        (key, before.get(key), after.get(key))
        for key in ("region", "pricing_date", "horizon_months")
        if before.get(key) != after.get(key)
    ]
    wa, wb = before.get("workload", {}), after.get("workload", {})
    rows += [(k, wa.get(k), wb.get(k)) for k in [*wa, *(k for k in wb if k not in wa)]
             if wa.get(k) != wb.get(k)]  # fmt: skip
    return rows


def diff_estimates(
    before: Mapping[str, Any], after: Mapping[str, Any], labels: tuple[str, str] = ("A", "B")
) -> EstimateDiff:
    """Every destination's steady-state monthly cost and its components, before → after."""
    dests_a = {d["name"]: d for d in before["destinations"]}
    dests_b = {d["name"]: d for d in after["destinations"]}
    names = list(dests_a) + [n for n in dests_b if n not in dests_a]
    destinations = []
    for name in names:
        a, b = dests_a.get(name), dests_b.get(name)
        total = Change(
            name,
            None if a is None else float(a["steady_state_monthly_usd"]),
            None if b is None else float(b["steady_state_monthly_usd"]),
        )
        parts = _component_changes(a["components"] if a else [], b["components"] if b else [])
        destinations.append(DestinationDiff(total, parts))
    baseline = Change(
        "shared baseline",
        float(before["baseline"]["monthly_usd"]),
        float(after["baseline"]["monthly_usd"]),
    )
    return EstimateDiff(labels[0], labels[1], _inputs(before, after), destinations, baseline)


def _signed(money, usd: float) -> str:
    sign = "-" if usd < 0 else "+"
    return sign + money(abs(usd))


def _amount(money, change: Change) -> str:
    before = "—" if change.before is None else money(change.before)
    after = "—" if change.after is None else money(change.after)
    return f"{_signed(money, change.delta)} ({before} → {after})"


def _percent(change: Change) -> str:
    return "n/a" if change.percent is None else f"{change.percent:+.0f}%"


def to_text(diff: EstimateDiff, money) -> str:
    """Infracost's shape: ``~ name``, ``+$x ($a → $b)`` under it, the changed lines indented.
    The title names two paths and an input may be a long list: both wrap to the terminal."""
    from costcompare.tables import fill

    title = f"Estimate diff: {diff.before_label} → {diff.after_label} (per month, steady state)"
    out = [fill(title, indent="  ")]
    if diff.inputs:
        out += ["", "Inputs:"]
        out += [fill(f"  ~ {key}: {a} → {b}", indent="      ") for key, a, b in diff.inputs]
    for dest in diff.destinations:
        total = dest.total
        out += ["", f"{total.mark} {total.name}", f"  {_amount(money, total)}"]
        if dest.components:
            out.append("")
        for part in dest.components:
            out += [f"    {part.mark} {part.name}", f"      {_amount(money, part)}"]
    if diff.baseline.mark != "=":
        out += ["", f"~ {diff.baseline.name} (every destination)"]
        out.append(f"  {_amount(money, diff.baseline)}")
    changed = [d.total for d in diff.destinations if d.total.mark != "="]
    out += ["", f"{len(changed)} of {len(diff.destinations)} destination(s) changed."]
    for total in changed:
        out.append(f"{total.name:<14} Amount: {_amount(money, total)}  Percent: {_percent(total)}")
    return "\n".join(out) + "\n"
