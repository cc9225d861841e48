"""Charts for a design review: every ``plot_*`` draws on an Axes it is given (or a new Figure)
and returns it; nothing here calls ``plt.show()`` or depends on a GUI backend.

Colours are the Okabe–Ito palette (colour-blind safe). Titles state the finding; a footer names
region, pricing date, currency and the searchability weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from costcompare.breakeven import BreakEvenMap
from costcompare.destinations import CATEGORIES, DESTINATIONS
from costcompare.files import atomic_path, make_output_folder
from costcompare.model import Estimate
from costcompare.money import Money
from costcompare.searchability import duration_text, weights_text
from costcompare.workload import DAYS_PER_MONTH

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
# Each destination carries its colour (costcompare.destinations).
DESTINATION_COLOURS = {name: d.colour for name, d in DESTINATIONS.items()}
CATEGORY_COLOURS = dict(
    zip(
        CATEGORIES,
        [
            OKABE_ITO[c]
            for c in ("blue", "orange", "green", "purple", "vermillion", "sky", "yellow")
        ],
        strict=True,
    )
)
FIGSIZE = (9.0, 5.6)
DPI = 150


def new_figure() -> Figure:
    """A design-review sized figure with room at the bottom for the footer."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    fig.get_layout_engine().set(rect=(0, 0.09, 1, 0.91))
    return fig


def _axes(ax: Axes | None) -> Axes:
    return ax if ax is not None else new_figure().subplots()


def _plain(text: str) -> str:
    """Dollar signs are text here, not matplotlib mathtext delimiters."""
    return text.replace("$", r"\$")


def _tick_money(money: Money, value: float) -> str:
    """Tick labels as people write prices: $0, $5, $2.50 — cents only where a tick has them."""
    digits = 0 if float(value).is_integer() or abs(value) >= 10 else 2
    return _plain(money(value / money.fx_rate, digits=digits))


def _money_axis(ax: Axes, money: Money, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: _tick_money(money, v))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _label_heights(xs: Sequence[float], ys: Sequence[float], gap: float) -> list[float]:
    """Label y positions that keep labels of nearby points (within 2.5× on x) ``gap`` apart."""
    placed: dict[int, float] = {}
    for i in sorted(range(len(ys)), key=lambda k: -ys[k]):
        y = ys[i]
        for j, yj in placed.items():
            near = max(xs[i], xs[j]) / max(min(xs[i], xs[j]), 1e-12) < 2.5
            if near and abs(y - yj) < gap:
                y = yj - gap
        placed[i] = y
    return [placed[i] for i in range(len(ys))]


def footer_text(estimate: Estimate, money: Money = Money()) -> str:
    fx = f" at {money.fx_rate:g} {money.currency}/USD" if money.currency != "USD" else ""
    text = (
        f"{estimate.region} · prices as of {estimate.pricing_date.isoformat()} · "
        f"{money.currency}{fx} · steady state = month {estimate.horizon_months}"
    )
    if estimate.baseline.lines:
        baseline = money(estimate.baseline.steady_state_monthly_usd)
        text += (
            f"\nnot in these figures: the shared baseline, {baseline}/mo for the VPC interface "
            "endpoints Session Manager needs whatever the destination"
        )
    if estimate.searchability:
        weights = next(iter(estimate.searchability.values())).weights
        text += f"\nsearch score {weights_text(weights)}"
    return _plain(text)


def add_footer(ax: Axes, estimate: Estimate, money: Money = Money()) -> None:
    ax.figure.text(
        0.01,
        0.005,
        footer_text(estimate, money),
        fontsize=7.5,
        color="#444444",
        ha="left",
        va="bottom",
    )


def pareto_frontier(costs: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Indices of the points no cheaper point beats on score, cheapest first."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -scores[i]))
    frontier, best = [], -np.inf
    for i in order:
        if scores[i] > best:
            frontier.append(i)
            best = scores[i]
    return frontier


def plot_cost_vs_searchability(
    estimate: Estimate, ax: Axes | None = None, money: Money = Money()
) -> Axes:
    """One point per destination: steady-state monthly cost against search score."""
    ax = _axes(ax)
    names = [d.name for d in estimate.destinations]
    costs = [d.steady_state_monthly_usd for d in estimate.destinations]
    scores = [estimate.searchability[n].score for n in names]
    xs = [c * money.fx_rate for c in costs]
    _draw_destination_points(ax, estimate, xs, scores, money)
    frontier = pareto_frontier(costs, scores)
    fx = [costs[i] * money.fx_rate for i in frontier]
    fy = [scores[i] for i in frontier]
    ax.step(
        fx,
        fy,
        where="post",
        color="#555555",
        linestyle="--",
        linewidth=1.2,
        zorder=2,
        label="cheapest for its score",
    )
    scale = "log" if max(costs) / max(min(costs), 1e-9) > 8 else "linear"
    ax.set_xscale(scale)
    if scale == "log":
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_formatter(NullFormatter())
    _money_axis(ax, money, "x")
    ax.set_xlim(min(fx) * 0.6, max(xs) * 4 if scale == "log" else max(xs) * 1.6)
    ax.set_ylim(0, 105)
    suffix = ", log scale" if scale == "log" else ""
    ax.set_xlabel(f"steady-state cost per month ({money.currency}{suffix})")
    ax.set_ylabel("search score (0–100)")
    cheap = names[int(np.argmin(costs))]
    best = names[int(np.argmax(scores))]
    ax.set_title(
        _plain(
            f"{cheap} is cheapest ({money(min(costs))}/mo); {best} searches best "
            f"(score {max(scores):.0f}) for {money(costs[names.index(best)])}/mo"
        )
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    add_footer(ax, estimate, money)
    return ax


def _draw_destination_points(
    ax: Axes, estimate: Estimate, xs: list[float], scores: list[float], money: Money
) -> None:
    """A dot per destination in its colour, labelled with cost, score and time to searchable;
    labels are spread vertically so close points stay readable."""
    heights = _label_heights(xs, scores, gap=9)
    for dest, x, score, label_y in zip(estimate.destinations, xs, scores, heights, strict=True):
        name = dest.name
        colour = DESTINATION_COLOURS[name]
        ax.scatter([x], [score], s=140, color=colour, edgecolor="black", zorder=3, label=name)
        after = duration_text(estimate.searchability[name].time_to_searchable_s)
        text = _plain(
            f"{name}: {money(x / money.fx_rate)}/mo, score {score:.0f}\nsearchable in {after}"
        )
        ax.annotate(
            text,
            (x, score),
            xytext=(x * 1.25, label_y),
            textcoords="data",
            fontsize=9,
            va="center",
            arrowprops={"arrowstyle": "-", "color": "#888888", "lw": 0.8},
        )


def plot_cost_breakdown(estimate: Estimate, ax: Axes | None = None, money: Money = Money()) -> Axes:
    """Stacked bars: each destination's steady-state month by cost category."""
    ax = _axes(ax)
    dests = estimate.by_cost()
    names = [d.name for d in dests]
    bottom = np.zeros(len(dests))
    for category in CATEGORIES:
        values = np.array([d.category_usd()[category] for d in dests]) * money.fx_rate
        if not values.any():
            continue
        ax.bar(
            names,
            values,
            bottom=bottom,
            color=CATEGORY_COLOURS[category],
            label=category,
            edgecolor="white",
            linewidth=0.5,
        )
        bottom += values
    for i, total in enumerate(bottom):
        ax.text(
            i, total, _plain(money(total / money.fx_rate)), ha="center", va="bottom", fontsize=9
        )
    _money_axis(ax, money)
    ax.set_ylabel(f"cost per month ({money.currency})")
    ax.set_ylim(0, bottom.max() * 1.15 if bottom.max() else 1)
    top = max(dests, key=lambda d: d.steady_state_monthly_usd)
    shares = top.category_shares()
    main = max(shares, key=shares.get)
    ax.set_title(
        _plain(
            f"{main.capitalize()} is {shares[main] * 100:.0f} % of {top.name}'s "
            f"{money(top.steady_state_monthly_usd)} a month"
        )
    )
    ax.legend(title="category", fontsize=8, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    add_footer(ax, estimate, money)
    return ax


def plot_cost_over_time(estimate: Estimate, ax: Axes | None = None, money: Money = Money()) -> Axes:
    """Cumulative cost per destination over the horizon, retention point marked."""
    ax = _axes(ax)
    months = np.arange(1, estimate.horizon_months + 1)
    for dest in estimate.by_cost():
        label = _plain(f"{dest.name}: {money(dest.total_usd)}")
        ax.plot(
            months,
            np.cumsum(dest.monthly_usd) * money.fx_rate,
            marker="o",
            markersize=3,
            color=DESTINATION_COLOURS[dest.name],
            label=label,
        )
    retention = estimate.workload.retention_days
    if retention is not None and retention / DAYS_PER_MONTH <= estimate.horizon_months:
        at = retention / DAYS_PER_MONTH
        ax.axvline(at, color="#555555", linestyle=":", linewidth=1.2)
        ax.text(
            at,
            ax.get_ylim()[1] * 0.97,
            f" retention reached ({retention} d):\n storage stops growing",
            fontsize=8,
            va="top",
        )
    _money_axis(ax, money)
    ax.set_xlabel("month")
    ax.set_ylabel(f"cumulative cost ({money.currency})")
    ranked = estimate.by_cost()
    first, last = ranked[0], ranked[-1]
    ax.set_title(
        _plain(
            f"Over {estimate.horizon_months} months {first.name} costs "
            f"{money(first.total_usd)}, {last.name} {money(last.total_usd)}"
        )
    )
    ax.set_xlim(1, estimate.horizon_months)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    add_footer(ax, estimate, money)
    return ax


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges around log-spaced centres (a zero centre gets a linear first cell)."""
    positive = np.where(values > 0, values, np.nan)
    mids = np.sqrt(positive[:-1] * positive[1:])
    mids = np.where(np.isnan(mids), (values[:-1] + values[1:]) / 2, mids)
    first = values[0] ** 2 / mids[0] if values[0] > 0 else values[0]
    last = values[-1] ** 2 / mids[-1]
    return np.concatenate([[first], mids, [last]])


def plot_break_even(
    bemap: BreakEvenMap,
    ax: Axes | None = None,
    estimate: Estimate | None = None,
    money: Money = Money(),
) -> Axes:
    """Heat map of the cheapest destination over sessions/day × searches/month."""
    ax = _axes(ax)
    colours = [DESTINATION_COLOURS[n] for n in bemap.destinations]
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(len(colours) + 1) - 0.5, len(colours))
    ax.pcolormesh(
        _edges(bemap.sessions_per_day),
        _edges(bemap.searches_per_month),
        bemap.cheapest,
        cmap=cmap,
        norm=norm,
        shading="flat",
        rasterized=True,  # 120 × 120 cells: one embedded image keeps the SVG small
    )
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1)
    plain = FuncFormatter(lambda v, _: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    x, y = bemap.workload_point
    # The star alone marks the workload; its numbers go in the legend, never over the boundary.
    star = ax.scatter([x], [y], marker="*", s=260, color="white", edgecolor="black", zorder=3)
    star.set_label(f"your workload: {x:,.0f} sessions/day, {y:g} searches/mo")
    present = sorted(set(np.unique(bemap.cheapest).tolist()))
    ax.legend(
        handles=[star, *(Patch(color=colours[i], label=bemap.destinations[i]) for i in present)],
        title="cheapest",
        fontsize=8,
        loc="lower left",
    )
    ax.set_xlabel("sessions per day (whole fleet, log scale)")
    ax.set_ylabel("searches per month")
    here = bemap.cheapest_at(x, y)
    ax.set_title(f"Cheapest destination by volume and search rate — {here} at your workload")
    if estimate is not None:
        add_footer(ax, estimate, money)
    return ax


def chart_drawers(
    estimate: Estimate, money: Money = Money(), bemap: BreakEvenMap | None = None
) -> dict:
    """Every chart of the design review: name → a function drawing it on an Axes."""
    from costcompare.breakeven import break_even_map

    bemap = bemap or break_even_map(
        estimate.workload,
        destinations=[d.name for d in estimate.destinations],
        pricing_date=estimate.pricing_date,
        table=estimate.table,
    )
    drawers = {
        "cost_vs_searchability": lambda ax: plot_cost_vs_searchability(estimate, ax, money),
        "cost_breakdown": lambda ax: plot_cost_breakdown(estimate, ax, money),
        "cost_over_time": lambda ax: plot_cost_over_time(estimate, ax, money),
        "break_even": lambda ax: plot_break_even(bemap, ax, estimate, money),
    }
    if estimate.bands is not None:
        drawers["cost_bands"] = lambda ax: plot_cost_bands(estimate, ax, money)
    return drawers


def write_charts(
    estimate: Estimate,
    out_dir: str | Path,
    *,
    fmt: str = "png",
    money: Money = Money(),
    bemap: BreakEvenMap | None = None,
    drawers: dict | None = None,
) -> dict[str, Path]:
    """Draw every chart to ``out_dir``; returns name → path. Files are written whole or not."""
    out = make_output_folder(out_dir, "--out-dir")
    paths = {}
    for name, draw in (drawers or chart_drawers(estimate, money, bemap)).items():
        fig = new_figure()
        draw(fig.subplots())
        path = out / f"{name}.{fmt}"
        with atomic_path(path, "--out") as tmp:
            fig.savefig(tmp, format=fmt)
        paths[name] = path
    return paths


def plot_cost_bands(estimate: Estimate, ax: Axes | None = None, money: Money = Money()) -> Axes:
    """The Monte Carlo distribution of each destination's steady-state month (``bands.attach``):
    a violin per destination, its P10–P90 as a bar, P50 as a dot, and the chance it is cheapest."""
    bands = estimate.bands
    if bands is None:
        raise ValueError("the estimate has no bands: call costcompare.bands.attach(estimate) first")
    ax = _axes(ax)
    ordered = bands.by_median()
    rows = np.arange(len(ordered))
    # Violins of log10(cost): the density of a log-normal-ish spread is symmetric there.
    logs = [
        np.log10(np.maximum(bands.samples[b.destination] * money.fx_rate, 1e-6)) for b in ordered
    ]
    parts = ax.violinplot(logs, positions=rows, orientation="horizontal", showextrema=False)
    for body, band in zip(parts["bodies"], ordered, strict=True):
        body.set_facecolor(DESTINATION_COLOURS.get(band.destination, OKABE_ITO["black"]))
        body.set_alpha(0.45)
    for y, band in zip(rows, ordered, strict=True):
        low, mid, high = (np.log10(max(v * money.fx_rate, 1e-6)) for v in band.monthly)
        colour = DESTINATION_COLOURS.get(band.destination, OKABE_ITO["black"])
        ax.hlines(y, low, high, color=colour, linewidth=4)
        ax.plot([mid], [y], "o", color="white", markeredgecolor=colour, markersize=7)
        ax.annotate(
            _plain(f"P50 {money(band.monthly_p50)} · cheapest in {band.p_cheapest * 100:.0f} %"),
            (high, y),
            xytext=(6, 6),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_yticks(rows, [b.destination for b in ordered])
    lo, hi = ax.get_xlim()
    nice = [m * 10.0**k for k in range(int(np.floor(lo)), int(np.ceil(hi)) + 1) for m in (1, 2, 5)]
    ax.set_xticks([np.log10(v) for v in nice if lo <= np.log10(v) <= hi])
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _: _plain(money(10**v / money.fx_rate, digits=0 if v >= 0 else 2)))
    )
    ax.set_xlim(lo, hi)
    ax.set_xlabel(f"steady-state cost per month ({money.currency}), P10–P90 bar, P50 dot")
    best = max(ordered, key=lambda b: b.p_cheapest)
    ax.set_title(
        _plain(
            f"{best.destination} is cheapest in {best.p_cheapest * 100:.0f} % of "
            f"{bands.draws:,} draws"
        )
    )
    add_footer(ax, estimate, money)
    return ax


def plot_tornado(tornado, ax: Axes | None = None, money: Money = Money()) -> Axes:
    """Horizontal bars: how far each input's low and high move one destination's monthly cost."""
    from costcompare.sensitivity import Tornado

    assert isinstance(tornado, Tornado)
    ax = _axes(ax)
    bars = list(reversed(tornado.bars))  # largest swing on top
    base = tornado.base_usd * money.fx_rate
    for i, bar in enumerate(bars):
        low, high = bar.low_usd * money.fx_rate, bar.high_usd * money.fx_rate
        ax.barh(i, low - base, left=base, color=OKABE_ITO["sky"], edgecolor="black", lw=0.5)
        ax.barh(i, high - base, left=base, color=OKABE_ITO["vermillion"], edgecolor="black", lw=0.5)
        ax.text(
            max(low, high), i, f"  {bar.low_value:g} → {bar.high_value:g}", va="center", fontsize=8
        )
    ax.axvline(base, color="black", lw=1)
    ax.set_yticks(range(len(bars)), [b.key.replace("_", " ") for b in bars])
    _money_axis(ax, money, "x")
    ax.set_xlabel(f"steady-state cost per month ({money.currency}); blue = low, red = high")
    top = tornado.bars[0]
    ax.set_title(
        _plain(
            f"{top.key.replace('_', ' ')} moves {tornado.destination} most: "
            f"{money(min(top.low_usd, top.high_usd))}–{money(max(top.low_usd, top.high_usd))}/mo "
            f"around {money(tornado.base_usd)}"
        )
    )
    ax.set_xlim(right=ax.get_xlim()[1] + (ax.get_xlim()[1] - ax.get_xlim()[0]) * 0.15)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_sweep(frame, key: str, ax: Axes | None = None, money: Money = Money()) -> Axes:
    """Steady-state cost of each destination along one input (a ``sensitivity.sweep`` frame)."""
    ax = _axes(ax)
    for name, rows in frame.groupby("destination", sort=False):
        rows = rows.sort_values(key)
        ax.plot(
            rows[key],
            rows["steady_state_monthly_usd"] * money.fx_rate,
            marker="o",
            markersize=3,
            color=DESTINATION_COLOURS.get(name, "#333333"),
            label=name,
        )
    values = frame[key].to_numpy()
    if values.min() > 0 and values.max() / values.min() > 20:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(
            FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
        )
    _money_axis(ax, money)
    ax.set_xlabel(key.replace("_", " "))
    ax.set_ylabel(f"steady-state cost per month ({money.currency})")
    winners = frame[frame["cheapest"]]["destination"].unique().tolist()
    ax.set_title(f"Cheapest along {key.replace('_', ' ')}: {' → '.join(winners)}")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return ax
