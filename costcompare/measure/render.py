"""How a measurement is shown: a two-column table per source, or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from costcompare import jsoncontract
from costcompare.measure.measurement import Measurement
from costcompare.workload import Workload


def render_table(measurements: Sequence[Measurement]) -> str:
    """A two-column summary per source, fitted to the terminal by the one table renderer."""
    from costcompare.tables import Column, fill, terminal_width
    from costcompare.tables import render_table as table

    columns = [Column("measure", "left"), Column("value", "left", wrap=True)]
    blocks = []
    for m in measurements:
        listing = table(columns, [list(row) for row in _rows(m)], header=False)
        # A source names a path or URI that may be long: its title wraps like the rows below,
        # and the rule under it is never wider than the terminal.
        title = fill(m.source, indent="  ")
        rule = "-" * min(max(len(line) for line in title.splitlines()), terminal_width())
        blocks.append("\n".join([title, rule, listing]))
    return "\n\n".join(blocks) + "\n"


def _rows(m: Measurement) -> list[tuple[str, str]]:
    s = m.sizes
    rows = [("sessions", f"{m.sessions:,}")]
    if s["count"]:
        rows += [
            ("bytes/session mean", f"{s['mean']:,.0f}"),
            ("bytes/session p50", f"{s['p50']:,.0f}"),
            ("bytes/session p95", f"{s['p95']:,.0f}"),
            ("bytes/session max", f"{s['max']:,}"),
            ("total bytes", f"{s['total_bytes']:,}"),
        ]
        filled = [h for h in s["histogram"] if h["count"]]
        for h in filled:
            label = f"≤ {_size(h['upto'])}" if h["upto"] else "larger"
            rows.append((f"  sessions {label}", f"{h['count']:,}"))
    if m.first_day:
        rows.append(("date range", f"{m.first_day} .. {m.last_day}"))
    if m.sessions_per_day is not None:
        rows.append(("sessions/day", f"{m.sessions_per_day:,.2f} ({m.days_basis})"))
    if m.busiest_day:
        rows.append(("busiest day", f"{m.busiest_day['date']} ({m.busiest_day['sessions']:,})"))
    if m.instances:
        per = ""
        if m.sessions_per_day:
            per = f", {m.sessions_per_day / m.instances:,.3f}/instance/day"
        rows.append(("instances (targets)", f"{m.instances:,}{per}"))
    elif m.targets_seen:
        rows.append(("targets seen (sample)", f"{m.targets_seen:,}"))
    if m.duration_minutes:
        d = m.duration_minutes
        rows.append(
            ("session minutes", f"mean {d['mean']:.1f}, p50 {d['p50']:.1f}, p95 {d['p95']:.1f}")
        )
    if m.overhead_ratio is not None:
        rows.append(("streamed JSON ÷ transcript", f"{m.overhead_ratio:.3f} ({m.overhead_basis})"))
    if m.stream_events_per_session is not None and m.stream_envelope_bytes is not None:
        rows.append(("streamed events/session", f"{m.stream_events_per_session:,.1f}"))
        rows.append(("envelope bytes/event", f"{m.stream_envelope_bytes:,.0f}"))
    if m.compression_ratio is not None:
        rows.append(("gzip ÷ ingested", f"{m.compression_ratio:.3f} ({m.compression_basis})"))
    if m.transcript_compression_ratio is not None:
        rows.append(("gzip ÷ transcript", f"{m.transcript_compression_ratio:.3f}"))
    if m.ansi_share is not None and m.control_share is not None:
        rows.append(("ANSI escape bytes", f"{m.ansi_share:.1%} of {_size(m.noise_scanned_bytes)}"))
        rows.append(("other control bytes", f"{m.control_share:.1%}"))
    if m.ingested_bytes is not None:
        rows.append(("IncomingBytes", f"{m.ingested_bytes:,.0f} over {m.metric_days:g} days"))
        rows.append(("IncomingLogEvents", f"{m.ingested_events or 0:,.0f}"))
        rows.append(("ingest GB/month", f"{m.monthly_ingest_gb:,.4f}"))
    if m.stored_bytes is not None:
        rows.append(("storedBytes (lagging)", f"{m.stored_bytes:,}"))
    for reason, n in sorted(m.skipped.items()):
        rows.append((f"skipped: {reason}", f"{n:,}"))
    for reason, n in sorted(m.malformed_lines.items()):
        rows.append((f"malformed lines: {reason}", f"{n:,}"))
    if m.ignored:
        rows.append(("ignored (not session logs)", f"{m.ignored:,}"))
    if m.api_calls:
        rows.append(("API calls", ", ".join(f"{k} {v}" for k, v in sorted(m.api_calls.items()))))
    rows += [("note", n) for n in m.notes]
    return rows


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n} B"  # pragma: no cover


def to_json(measurements: Sequence[Measurement], workload: Workload | None = None) -> str:
    data: dict[str, Any] = {"sources": [m.to_dict() for m in measurements]}
    if workload is not None:
        data["profile"] = workload.to_dict()
    return jsoncontract.dumps(data, default=str)
