"""Renderers shared by the CLI and notebooks: table, JSON, CSV, Markdown of an Estimate."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from costcompare import jsoncontract
from costcompare.destinations import CATEGORIES
from costcompare.model import Estimate
from costcompare.money import Money
from costcompare.pricing import rate_text
from costcompare.searchability import duration_text, weights_text
from costcompare.tables import Column, fill, render_table


def render(
    estimate: Estimate,
    fmt: str,
    *,
    money: Money = Money(),
    explain: bool = False,
    wide: bool = False,
    width: int | None = None,
) -> str:
    """The estimate as ``fmt`` (table, json, csv, markdown); ``wide``/``width`` shape the table."""
    if fmt == "json":
        return to_json(estimate, money)
    if fmt == "csv":
        return to_csv(estimate, money)
    if fmt == "markdown":
        return to_markdown(estimate, money, explain=explain)
    return to_text(estimate, money, explain=explain, wide=wide, width=width)


# Version of the `-o json` contract, shared by every command (costcompare.jsoncontract).
SCHEMA_VERSION = jsoncontract.SCHEMA_VERSION


def estimate_schema() -> dict:
    """The published JSON Schema of ``estimate -o json`` (shipped inside the package)."""
    from importlib import resources

    text = resources.files("costcompare").joinpath("schemas", "estimate.schema.json").read_text()
    return json.loads(text)


def to_json(estimate: Estimate, money: Money = Money()) -> str:
    """The scripting contract: versioned (``schema_version``, ``costcompare_version``)."""
    data = jsoncontract.versioned(estimate.as_dict())
    if money.currency != "USD":
        data["display"] = {"currency": money.currency, "fx_rate": money.fx_rate}
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def to_csv(estimate: Estimate, money: Money = Money()) -> str:
    """One row per destination × month × component (the tidy table), USD and display currency.

    Columns are those of the JSON components (``monthly_usd`` is that month's cost).
    """
    rows = list(estimate.rows())
    if money.currency != "USD":
        column = f"monthly_{money.currency.lower()}"
        for row in rows:
            row[column] = row["monthly_usd"] * money.fx_rate
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def summary_rows(estimate: Estimate, money: Money) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the comparison: cost (alone, and with the shared baseline), the
    horizon total, searchability, then each category's share of the destination's cost."""
    shown = [c for c in CATEGORIES if any(d.category_usd()[c] for d in estimate.destinations)]
    baseline = estimate.baseline.steady_state_monthly_usd if estimate.baseline.lines else None
    header = ["destination", "per month (steady)"]
    header += [] if baseline is None else ["+ baseline"]
    header += [f"{estimate.horizon_months}-month total"]
    if estimate.searchability:
        header += ["search score", "searchable after", "per search"]
    header += [f"{c} %" for c in shown]
    rows = []
    for dest in estimate.by_cost():
        shares = dest.category_shares()
        search = estimate.searchability.get(dest.name)
        search_cells = (
            [
                f"{search.score:.0f}/100",
                duration_text(search.time_to_searchable_s),
                money(search.cost_per_search_usd, digits=4)
                + (" (measured)" if search.measured else ""),
            ]
            if search
            else []
        )
        steady = dest.steady_state_monthly_usd
        with_baseline = [] if baseline is None else [money(steady + baseline)]
        rows.append(
            [
                dest.name,
                money(dest.steady_state_monthly_usd),
                *with_baseline,
                money(dest.total_usd),
                *search_cells,
                *(f"{shares[c] * 100:.0f}" for c in shown),
            ]
        )
    return header, rows


# Compact headers for the terminal, and which columns go first when the table is too wide.
_TEXT_COLUMNS = {
    "destination": Column("destination", "left"),
    "per month (steady)": Column("per month"),
    "+ baseline": Column("+ baseline"),
    "search score": Column("score", priority=2),
    "searchable after": Column("searchable", priority=3),
    "per search": Column("per search", priority=4),
}


def _summary_table(estimate: Estimate, money: Money, *, wide: bool, width: int | None) -> str:
    """Destinations side by side, fitted to the terminal: cost first, then search, then shares.

    "+ baseline" adds the shared baseline (the endpoints every option needs) to each
    destination: the whole monthly bill of choosing it, like Infracost's OVERALL TOTAL.
    """
    header, rows = summary_rows(estimate, money)
    columns = []
    for name in header:
        if name.endswith("-month total"):
            columns.append(Column(name.replace("-month total", "-mo total"), priority=1))
        else:
            columns.append(_TEXT_COLUMNS.get(name, Column(name, priority=10)))
    if "search score" in header:
        at = header.index("search score")
        rows = [[*r[:at], r[at].removesuffix("/100"), *r[at + 1 :]] for r in rows]
    return render_table(columns, rows, wide=wide, width=width)


def _source_numbers(estimate: Estimate) -> dict[str, int]:
    """Each price key used, numbered in order of first use: the explained lines cite them."""
    numbers: dict[str, int] = {}
    for dest in [*estimate.by_cost(), estimate.baseline]:
        for line in dest.lines:
            numbers.setdefault(line.price_key, len(numbers) + 1)
    return numbers


def _explain_table(
    dest, money: Money, numbers: dict[str, int], *, wide: bool, width: int | None
) -> str:
    """A destination's lines as quantity × unit price = cost, each citing its price [n]."""
    columns = [
        Column("component", "left", wrap=True),
        Column("quantity"),
        Column("unit", "left"),
        Column("× USD"),
        Column("= cost"),
        Column("price", "left"),
        Column("price key", "left", priority=1),
        Column("source", "left", priority=9, wrap=True),
    ]
    rows = []
    for line in dest.lines:
        flags = ""
        if line.price.is_tiered:
            flags += f" [{line.price.explain_rate()}]"
        if line.free_tier and line.price.free_quantity:
            flags += f" [first {line.price.free_quantity:,g} {line.unit} free]"
        if line.price.confidence == "low":
            flags += " (LOW CONFIDENCE)"
        rows.append(
            [
                line.name + flags,
                quantity_text(float(line.quantity[-1])),
                line.unit,
                rate_text(line.unit_price()),
                money(float(line.cost[-1]), digits=4),
                f"[{numbers[line.price_key]}]",
                line.price_key,
                line.price.source,
            ]
        )
    return render_table(columns, rows, wide=wide, width=width, indent=2)


def _sources(estimate: Estimate, numbers: dict[str, int], width: int | None) -> list[str]:
    """The prices cited as [n]: key, effective date, confidence and public source."""
    prices = {line.price_key: line.price for d in [*estimate.destinations, estimate.baseline]
              for line in d.lines}  # fmt: skip
    return [
        fill(
            f"[{n}] {key}, effective {prices[key].effective_date.isoformat()} "
            f"({prices[key].confidence}): {prices[key].source}",
            width,
            indent="    ",
        )
        for key, n in numbers.items()
    ]


def quantity_text(q: float) -> str:
    """Readable quantities: whole numbers with separators, small ones to 6 significant digits."""
    if q == int(q) or q >= 1000:
        return f"{q:,.0f}"
    return f"{q:.6g}"


def heading_text(estimate: Estimate, money: Money) -> str:
    """Two lines (region, price date, currency; then the workload) that head the text,
    Markdown and HTML reports alike."""
    w = estimate.workload
    sessions = w.base_sessions_per_month
    fx = f", 1 USD = {money.fx_rate:g} {money.currency}" if money.currency != "USD" else ""
    return (
        f"Session Manager log destinations — {estimate.region}, prices as of "
        f"{estimate.pricing_date.isoformat()}{fx}\n"
        f"{sessions:,.0f} sessions/month × {w.session_bytes:,.0f} bytes, retention "
        f"{w.retention_days if w.retention_days is not None else 'forever'} days, "
        f"{w.searches_per_month:g} searches/month, horizon {w.horizon_months} months"
    )


def baseline_text(estimate: Estimate, money: Money) -> str:
    """The shared baseline (VPC endpoints) in one sentence, for every report format."""
    b = estimate.baseline
    if not b.lines:
        return "Shared baseline: none (no VPC endpoints)."
    return (
        f'Shared baseline, the same whatever the destination (in "+ baseline", not in the '
        f"other figures): {money(b.steady_state_monthly_usd)}/month "
        f"({'; '.join(line.name for line in b.lines)})."
    )


def verdict(estimate: Estimate, money: Money = Money()) -> str:
    """The conclusion in one sentence, computed from the numbers (cheapest; best for search)."""
    ranked = estimate.by_cost()
    if len(ranked) < 2:
        return ""
    cheap, dear = ranked[0], ranked[-1]
    text = (
        f"Cheapest: {cheap.name} at {money(cheap.steady_state_monthly_usd)}/month; "
        f"{dear.name} costs {money(dear.steady_state_monthly_usd - cheap.steady_state_monthly_usd)}"
        f"/month more."
    )
    if estimate.searchability:
        best = max(
            estimate.searchability.values(), key=lambda s: (s.score, -s.time_to_searchable_s)
        )
        per_search = money(best.cost_per_search_usd, digits=4)
        text += (
            f" Best for search: {best.destination} (score {best.score:.0f}/100, searchable after "
            f"{duration_text(best.time_to_searchable_s)}, {per_search} per search)."
        )
    return text


def condition_lines(estimate: Estimate, money: Money = Money()) -> list[str]:
    """The verdict's conditions, one per line (empty when they were not computed)."""
    found = estimate.verdict
    if found is None or found.runner_up is None:  # one destination: nothing to rank
        return []
    if not found.conditions:
        return [f"{found.cheapest} stays cheapest under every alternative checked."]
    head = f"{found.cheapest} stops being cheapest ({money.currency}/month at that value):"
    return [head, *(f"  - {c.words(money)}" for c in found.conditions)]


def band_rows(estimate: Estimate, money: Money = Money()) -> tuple[list[str], list[list[str]]]:
    """P10/P50/P90 per destination and the chance each is cheapest, as a header and rows."""
    bands = estimate.bands
    header = ["destination", "P10/mo", "P50/mo", "P90/mo", f"P50 {bands.months}-mo", "cheapest"]
    rows = [
        [
            b.destination,
            money(b.monthly_p10),
            money(b.monthly_p50),
            money(b.monthly_p90),
            money(b.total_p50),
            f"{b.p_cheapest * 100:.0f} %",
        ]
        for b in bands.by_median()
    ]
    return header, rows


def band_title(estimate: Estimate) -> str:
    bands = estimate.bands
    return (
        f"Uncertainty bands ({bands.draws:,} Monte Carlo draws, seed {bands.seed}; "
        f"{bands.inputs_text()}):"
    )


def to_text(
    estimate: Estimate,
    money: Money = Money(),
    *,
    explain: bool = False,
    wide: bool = False,
    width: int | None = None,
) -> str:
    """The terminal report: fits ``width`` (the terminal's; 80 when piped) unless ``wide``."""
    heading = [fill(line, width) for line in heading_text(estimate, money).splitlines()]
    parts = [*heading, "", _summary_table(estimate, money, wide=wide, width=width), ""]
    said = verdict(estimate, money)
    if said:  # one destination has nothing to be cheaper than
        parts.append(fill(said, width))
        parts.extend(fill(line, width, indent="    ") for line in condition_lines(estimate, money))
    if estimate.bands is not None:
        header, rows = band_rows(estimate, money)
        columns = [Column(h) if i else Column(h, "left") for i, h in enumerate(header)]
        parts += [""] if said else []
        parts += [fill(band_title(estimate), width)]
        parts += [render_table(columns, rows, wide=wide, width=width), ""]
    parts.append(fill(baseline_text(estimate, money), width))
    if estimate.searchability:
        weights = next(iter(estimate.searchability.values())).weights
        text = f"Search score 0–100, {weights_text(weights)} (costcompare chart --help)."
        parts.append(fill(text, width))
    if explain:
        month = estimate.horizon_months
        parts += ["", f"Every line, month {month} (quantity × unit price = cost):"]
        numbers = _source_numbers(estimate)
        for dest in [*estimate.by_cost(), estimate.baseline]:
            parts += ["", f"{dest.title} [{dest.name}]: {money(dest.steady_state_monthly_usd)}"]
            parts.append(_explain_table(dest, money, numbers, wide=wide, width=width))
        parts += ["", "Prices [n]:", *_sources(estimate, numbers, width)]
    if estimate.notes:
        parts.append("")
        parts.extend(fill(f"Note: {n}", width, indent="  ") for n in estimate.notes)
    return "\n".join(parts).rstrip() + "\n"


def to_markdown(
    estimate: Estimate, money: Money = Money(), *, explain: bool = False, verdicts: bool = True
) -> str:
    """The Markdown report; ``verdicts=False`` leaves out the verdict and its conditions (the
    design review states them once, at the top)."""
    header, rows = summary_rows(estimate, money)
    lines = [
        f"### {heading_text(estimate, money).splitlines()[0]}",
        "",
        heading_text(estimate, money).splitlines()[1],
        "",
    ]
    lines += _markdown_table(header, rows)
    conditions = condition_lines(estimate, money) if verdicts else []
    if verdicts:
        lines += ["", verdict(estimate, money)]
    if conditions:
        lines += ["", conditions[0], "", *(c.replace("  - ", "- ", 1) for c in conditions[1:])]
    if estimate.bands is not None:
        lines += ["", band_title(estimate), "", *_markdown_table(*band_rows(estimate, money))]
    lines += ["", baseline_text(estimate, money)]
    if explain:
        for dest in [*estimate.by_cost(), estimate.baseline]:
            lines += ["", f"#### {dest.title} — {money(dest.steady_state_monthly_usd)}/month", ""]
            lines.append("| component | quantity | unit | unit price (USD) | cost | source |")
            lines.append("|---|---:|---|---:|---:|---|")
            for line in dest.lines:
                lines.append(
                    f"| {line.name} | {quantity_text(float(line.quantity[-1]))} | {line.unit} | "
                    f"{rate_text(line.unit_price())} | {money(float(line.cost[-1]), digits=4)} | "
                    f"{line.price_key} ({line.price.confidence}) |"
                )
    if estimate.notes:
        lines += [""] + [f"> {n}" for n in estimate.notes]
    return "\n".join(lines) + "\n"


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table: first column left-aligned, the figures right-aligned."""
    rule = "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"
    return ["| " + " | ".join(header) + " |", rule, *("| " + " | ".join(r) + " |" for r in rows)]


def searchability_rows(estimate: Estimate, money: Money = Money()) -> tuple[list[str], list]:
    """What each destination finds, how fast, at what cost: a header and one row each."""
    header = ["destination", "score", "searchable after", "per search", "searches this month",
              "full-text search", "query language", "alerting", "immutability"]  # fmt: skip
    rows = []
    for dest in estimate.by_cost():
        s = estimate.searchability.get(dest.name)
        if s is None:
            continue
        lost = " (lost if the instance stops)" if s.loses_session_on_instance_stop else ""
        rows.append(
            [
                dest.name,
                f"{s.score:.0f}",
                f"{duration_text(s.time_to_searchable_s)}{lost}",
                f"{money(s.cost_per_search_usd, digits=4)}{' (measured)' if s.measured else ''}",
                money(s.monthly_search_usd),
                s.capabilities.full_text_search,
                s.capabilities.query_language,
                f"{s.alerting}/2",
                f"{s.immutability}/3",
            ]
        )
    return header, rows


def searchability_markdown(estimate: Estimate, money: Money = Money()) -> str:
    """The searchability table in Markdown (text columns left, figures right)."""
    header, rows = searchability_rows(estimate, money)
    rule = "|---|---:|---:|---:|---:|---|---|---:|---:|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def design_review_markdown(
    estimate: Estimate, charts: dict[str, Path], report_path: Path, money: Money = Money()
) -> str:
    """A one-page report for a design review: verdict, charts, cost and search tables."""
    import os.path

    def rel(path: Path) -> str:
        return os.path.relpath(path, report_path.parent)

    weights = next(iter(estimate.searchability.values())).weights if estimate.searchability else {}
    captions = {
        "cost_vs_searchability": "Cost against searchability",
        "cost_breakdown": "Where the money goes",
        "cost_over_time": "Cumulative cost over the horizon",
        "break_even": "Cheapest destination by volume and search rate",
        "cost_bands": "Cost distribution per destination (Monte Carlo)",
    }
    parts = [
        f"# Session Manager log destinations — {estimate.region}",
        "",
        verdict(estimate, money),
        "",
    ]
    conditions = condition_lines(estimate, money)
    if conditions:
        parts += [conditions[0], "", *(c.replace("  - ", "- ", 1) for c in conditions[1:]), ""]
    for name, caption in captions.items():
        if name in charts:
            parts += [f"![{caption}]({rel(charts[name])})", ""]
    cost = to_markdown(estimate, money, verdicts=False).split("\n", 2)[2]
    parts += ["## Cost", "", cost, "## Searchability", ""]
    parts.append(searchability_markdown(estimate, money))
    if weights:
        parts += ["", f"Score 0–100, {weights_text(weights)}."]
    parts += [
        "",
        f"Prices as of {estimate.pricing_date.isoformat()} ({estimate.region}); every line with "
        "its source: `costcompare estimate --explain`.",
    ]
    return "\n".join(parts) + "\n"
