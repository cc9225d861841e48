"""`chart --report report.html`: the design review as one self-contained HTML page.

Everything is inside the file — charts as inline SVG, a few lines of CSS, no script, no link to
fetch — so it opens offline, attaches to a ticket and prints. It carries what the Markdown
report does (verdict and its conditions, the cost and searchability tables, the charts) plus
every line explained: quantity × unit price = cost, with its price key and public source.
"""

from __future__ import annotations

import html
import io
import re

from costcompare.model import Estimate
from costcompare.money import Money
from costcompare.pricing import rate_text
from costcompare.report import (
    band_rows,
    band_title,
    baseline_text,
    condition_lines,
    heading_text,
    quantity_text,
    searchability_rows,
    summary_rows,
    verdict,
)
from costcompare.searchability import weights_text

CAPTIONS = {
    "cost_vs_searchability": "Cost against searchability",
    "cost_breakdown": "Where the money goes",
    "cost_over_time": "Cumulative cost over the horizon",
    "break_even": "Cheapest destination by volume and search rate",
    "cost_bands": "Cost distribution per destination (Monte Carlo)",
}

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.meta, .note, footer { color: #555; font-size: 0.9em; }
.verdict { font-size: 1.15em; background: #f4f8fb; border-left: 4px solid #0072b2;
           padding: 0.6em 1em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { text-align: left; background: #fafafa; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.src { font-size: 0.85em; color: #444; max-width: 28em; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { font-weight: 600; }
@media print { figure { break-inside: avoid; } }
"""

_NUMERIC = re.compile(r"^[<+\-−]?[$¥€£]?[\d,.]+( ?[%A-Za-z/]+)?$|^[\d.]+/\d+$")
_URL = re.compile(r"https?://[^\s;,)]+")


def _cell(text: str, *, source: bool = False) -> str:
    escaped = html.escape(str(text))
    if source:
        escaped = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        return f'<td class="src">{escaped}</td>'
    return f'<td class="n">{escaped}</td>' if _NUMERIC.match(str(text)) else f"<td>{escaped}</td>"


def table(header: list[str], rows: list[list[str]], *, source_column: str | None = None) -> str:
    """An HTML table; figures right-aligned, URLs in the source column linked."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            _cell(value, source=header[i] == source_column) for i, value in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def svg_texts(drawers: dict) -> dict[str, str]:
    """Each chart as inline SVG markup: text stays text (small, searchable), element ids are
    salted per chart so several SVGs can share one document."""
    import matplotlib

    from costcompare.charts import new_figure

    texts = {}
    for name, draw in drawers.items():
        fig = new_figure()
        draw(fig.subplots())
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
            fig.savefig(buffer, format="svg")
        markup = buffer.getvalue()
        texts[name] = _drop_unused_ids(markup[markup.index("<svg") :])
    return texts


def _drop_unused_ids(markup: str) -> str:
    """matplotlib names every element (``figure_1``, ``patch_1``…) in every SVG; inline, those
    repeat across charts. Keep only the ids something refers to (clip paths, markers: salted)."""
    used = set(re.findall(r"#([\w.\-]+)", markup))
    return re.sub(r' id="([^"]+)"', lambda m: m.group(0) if m.group(1) in used else "", markup)


def _explained(estimate: Estimate, money: Money) -> list[str]:
    header = ["component", "quantity", "unit", "unit price (USD)", "cost", "price key", "source"]
    parts = []
    for dest in [*estimate.by_cost(), estimate.baseline]:
        title = f"{dest.title} [{dest.name}] — {money(dest.steady_state_monthly_usd)}/month"
        rows = [
            [
                line.name + (" (LOW CONFIDENCE)" if line.price.confidence == "low" else ""),
                quantity_text(float(line.quantity[-1])),
                line.unit,
                rate_text(line.unit_price()),
                money(float(line.cost[-1]), digits=4),
                f"{line.price_key} ({line.price.confidence}, "
                f"{line.price.effective_date.isoformat()})",
                line.price.source,
            ]
            for line in dest.lines
        ]
        parts += [f"<h3>{html.escape(title)}</h3>", table(header, rows, source_column="source")]
    return parts


def design_review_html(estimate: Estimate, svgs: dict[str, str], money: Money = Money()) -> str:
    """The whole page: verdict first, then cost, charts, searchability, every line explained."""
    from costcompare import __version__

    e = html.escape
    heading = heading_text(estimate, money).splitlines()
    conditions = condition_lines(estimate, money)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(heading[0])}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(heading[0])}</h1>",
        f'<p class="meta">{e(heading[1])}</p>',
        f'<p class="verdict">{e(verdict(estimate, money))}</p>',
    ]
    if conditions:
        items = "".join(f"<li>{e(c.strip().removeprefix('- '))}</li>" for c in conditions[1:])
        parts.append(f"<p>{e(conditions[0])}</p>" + (f"<ul>{items}</ul>" if items else ""))
    parts += ["<h2>Cost</h2>", table(*summary_rows(estimate, money))]
    parts.append(f'<p class="note">{e(baseline_text(estimate, money))}</p>')
    if estimate.bands is not None:
        parts += [f"<p>{e(band_title(estimate))}</p>", table(*band_rows(estimate, money))]
    for name, caption in CAPTIONS.items():
        if name in svgs:
            parts.append(f"<figure><figcaption>{e(caption)}</figcaption>{svgs[name]}</figure>")
    if estimate.searchability:
        weights = next(iter(estimate.searchability.values())).weights
        parts += ["<h2>Searchability</h2>", table(*searchability_rows(estimate, money))]
        parts.append(f'<p class="note">Score 0–100, {e(weights_text(weights))}.</p>')
    parts += ["<h2>Every line explained</h2>"]
    parts.append(
        f'<p class="note">Month {estimate.horizon_months}: quantity × unit price = cost; each '
        "price with its key, confidence, effective date and public source.</p>"
    )
    parts += _explained(estimate, money)
    parts += [f'<p class="note">Note: {e(n)}</p>' for n in estimate.notes]
    parts.append(
        f"<footer>costcompare {e(__version__)} · {e(estimate.region)} · prices as of "
        f"{estimate.pricing_date.isoformat()}</footer></body></html>"
    )
    return "\n".join(parts) + "\n"
