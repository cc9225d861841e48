"""The result of a measurement, how sources build it, and how it becomes a workload profile.

Every source (local folder, S3 prefix, S3 Inventory, CloudWatch log group) feeds a ``Collector``
and returns a ``Measurement``: plain figures with the basis of each stated, so that the profile
comment of every key can say where its value came from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from costcompare.errors import MeasureError
from costcompare.measure.content import MIN_RATIO_SAMPLE_BYTES, TranscriptScan
from costcompare.measure.events import EventCompressor, StreamEvent
from costcompare.measure.stats import DayCounts, SizeStats, describe
from costcompare.workload import DAYS_PER_MONTH, GIB, Workload, from_mapping, load_profile

MAX_EXAMPLES = 5


class Progress(Protocol):
    """What a source reports while it works; the CLI draws a bar, tests pass nothing."""

    def start(self, description: str, total: float | None = None) -> None: ...

    def advance(self, amount: float = 1) -> None: ...


class NoProgress:
    def start(self, description: str, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1) -> None:
        pass


@dataclass
class Measurement:
    """What one source showed. ``None`` means the source cannot tell, never zero."""

    source: str
    kind: str  # local | s3 | inventory | cloudwatch
    sessions: int
    sizes: dict[str, Any]  # SizeStats.summary(): transcript bytes per session
    size_basis: str  # "transcript" (object/file sizes) or "stream" (CloudWatch sessionData)
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    days_covered: float | None = None
    days_basis: str = ""
    sessions_per_day: float | None = None
    sessions_per_day_cv: float | None = None  # day-to-day coefficient of variation
    busiest_day: dict[str, Any] | None = None
    instances: int | None = None  # distinct targets, only when every session's target is known
    targets_seen: int = 0
    duration_minutes: dict[str, float] | None = None
    overhead_ratio: float | None = None  # streamed JSON bytes ÷ transcript bytes
    overhead_basis: str | None = None  # "measured" or "simulated"
    overhead_sample_bytes: int = 0
    stream_events_per_session: float | None = None  # real streamed JSON events per session
    stream_envelope_bytes: float | None = None  # (event bytes - sessionData bytes) per event
    compression_ratio: float | None = None  # gzip bytes ÷ ingested (streamed JSON) bytes
    compression_basis: str | None = None
    compression_sample_bytes: int = 0
    transcript_compression_ratio: float | None = None  # gzip ÷ transcript bytes
    ansi_share: float | None = None  # escape-sequence bytes ÷ scanned transcript bytes
    control_share: float | None = None  # other control bytes ÷ scanned transcript bytes
    noise_scanned_bytes: int = 0
    non_utf8_sessions: int = 0
    ingested_bytes: float | None = None  # AWS/Logs IncomingBytes over the window
    ingested_events: float | None = None  # AWS/Logs IncomingLogEvents over the window
    metric_days: float | None = None
    stored_bytes: int | None = None  # DescribeLogGroups storedBytes (lagging)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> files/objects not counted
    skipped_examples: list[str] = field(default_factory=list)
    malformed_lines: dict[str, int] = field(default_factory=dict)  # reason -> export lines skipped
    ignored: int = 0  # files/objects that are not session logs by name
    api_calls: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def monthly_ingest_gb(self) -> float | None:
        if self.ingested_bytes is None or not self.metric_days:
            return None
        return self.ingested_bytes / self.metric_days * DAYS_PER_MONTH / GIB

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("first_day", "last_day"):
            data[key] = data[key].isoformat() if data[key] else None
        data["monthly_ingest_gb"] = self.monthly_ingest_gb
        return data


@dataclass
class Collector:
    """Accumulates sessions and content figures from any source; ``finish`` makes the result."""

    sizes: SizeStats = field(default_factory=SizeStats)
    days: DayCounts = field(default_factory=DayCounts)
    undated: int = 0
    targets: set[str] = field(default_factory=set)
    untargeted: int = 0
    durations_s: list[float] = field(default_factory=list)
    escape_bytes: int = 0
    control_bytes: int = 0
    noise_scanned: int = 0
    noise_sessions: int = 0  # transcripts whose noise (and UTF-8) was checked, wholly or in part
    non_utf8: int = 0
    # Transcripts in the sample: gzip of the transcript, and of its simulated stream.
    sample_raw: int = 0
    sample_gzip: int = 0
    sample_json: int = 0
    sample_json_gzip: int = 0
    # Real streamed events (CloudWatch): what was ingested, what it carried, its gzip.
    event_raw: int = 0
    event_json: int = 0
    event_compressor: EventCompressor = field(default_factory=EventCompressor)
    plain_events: int = 0
    json_events: int = 0
    event_sessions: set[str] = field(default_factory=set)
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    malformed_lines: Counter[str] = field(default_factory=Counter)
    ignored: int = 0
    notes: list[str] = field(default_factory=list)

    def add_session(
        self,
        size: int,
        when: float | None = None,
        target: str | None = None,
        duration_s: float | None = None,
    ) -> None:
        self.sizes.add(size)
        if when is None:
            self.undated += 1
        else:
            self.days.add(when)
        if target:
            self.targets.add(target)
        else:
            self.untargeted += 1
        if duration_s is not None:
            self.durations_s.append(duration_s)

    def add_sessions(self, sizes: np.ndarray, when: np.ndarray) -> None:
        """A batch of sessions known only by size and date (listings, inventories)."""
        self.sizes.add_many(sizes)
        self.days.add_many(when)
        self.untargeted += int(sizes.size)

    def add_scan(self, scan: TranscriptScan) -> None:
        """Content figures of one transcript (the session itself is added separately)."""
        if scan.noise_bytes:
            self.escape_bytes += scan.escape_bytes
            self.control_bytes += scan.control_bytes
            self.noise_scanned += scan.noise_bytes
            self.noise_sessions += 1
            self.non_utf8 += scan.non_utf8
        if scan.sample_bytes:
            self.sample_raw += scan.sample_bytes
            self.sample_gzip += scan.gzip_bytes
            self.sample_json += scan.stream_json_bytes
            self.sample_json_gzip += scan.stream_gzip_bytes

    def add_event(self, event: StreamEvent, message: str) -> None:
        """One real streamed event: ingested bytes vs the transcript bytes it carries."""
        self.event_json += event.message_bytes
        self.event_raw += event.raw_bytes
        self.event_compressor.add(message)
        if event.json:
            self.json_events += 1
            self.event_sessions.add(event.session_id or "")
        else:
            self.plain_events += 1

    def skip(self, reason: str, name: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{name}: {reason}")

    def bad_line(self, reason: str, where: str) -> None:
        """One export line (or event) that is not a readable event: counted, never fatal."""
        self.malformed_lines[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {reason}")

    def finish(
        self,
        source: str,
        kind: str,
        *,
        size_basis: str = "transcript",
        window_days: float | None = None,
        window_basis: str | None = None,
        all_targets_known: bool | None = None,
        sessions: int | None = None,
    ) -> Measurement:
        """The Measurement. ``window_days`` fixes the period (CloudWatch --days); otherwise the
        period is the calendar days from the first to the last dated session. ``sessions``
        overrides the count when sizes come from a sample only (CloudWatch)."""
        sessions = self.sizes.count if sessions is None else sessions
        self.event_compressor.close()
        m = Measurement(source, kind, sessions, self.sizes.summary(), size_basis)
        m.first_day, m.last_day = self.days.first, self.days.last
        if window_days:
            m.days_covered = window_days
            m.days_basis = window_basis or f"the last {window_days:g} days"
        elif self.days.sessions:
            m.days_covered = self.days.span_days
            m.days_basis = "first to last session, calendar days (UTC)"
        if m.days_covered and sessions:
            dated = self.days.sessions if not window_days else sessions
            m.sessions_per_day = dated / m.days_covered
        m.sessions_per_day_cv = self.days.variation()
        busiest = self.days.busiest()
        if busiest:
            m.busiest_day = {"date": busiest[0].isoformat(), "sessions": busiest[1]}
        if self.undated and self.days.sessions and not window_days:
            m.notes.append(f"{self.undated:,} sessions had no date and are not in sessions/day")
        m.targets_seen = len(self.targets)
        known = (self.untargeted == 0) if all_targets_known is None else all_targets_known
        if self.targets and known:
            m.instances = len(self.targets)
        durations = describe(np.asarray(self.durations_s) / 60)
        m.duration_minutes = durations
        self._ratios(m)
        if self.noise_scanned:
            m.ansi_share = self.escape_bytes / self.noise_scanned
            m.control_share = self.control_bytes / self.noise_scanned
            m.noise_scanned_bytes = self.noise_scanned
        m.non_utf8_sessions = self.non_utf8
        if self.non_utf8:
            m.notes.append(
                f"{self.non_utf8:,} of {self.noise_sessions:,} sessions checked hold bytes that "
                "are not UTF-8 (counted)"
            )
        m.skipped = dict(self.skipped)
        m.skipped_examples = list(self.examples)
        m.malformed_lines = dict(self.malformed_lines)
        m.ignored = self.ignored
        m.notes.extend(self.notes)
        if not sessions:
            m.notes.append(f"no session logs found in {source}")
        return m

    def _ratios(self, m: Measurement) -> None:
        """Overhead and compression: measured from real events when there are any, otherwise
        simulated from the sampled transcripts; compression only from a sample big enough."""
        if self.event_raw:
            m.overhead_ratio = self.event_json / self.event_raw
            m.overhead_basis = "measured"
            m.overhead_sample_bytes = self.event_raw
            compressor = self.event_compressor
            m.compression_ratio = self._compression(compressor.compressed, compressor.raw)
            m.compression_basis = "measured"
            m.compression_sample_bytes = compressor.raw
            if self.plain_events and not self.json_events:
                m.notes.append("events are plain text: streaming is off for this log group")
            if self.json_events and not self.plain_events:
                m.stream_events_per_session = self.json_events / len(self.event_sessions)
                m.stream_envelope_bytes = (self.event_json - self.event_raw) / self.json_events
        elif self.sample_raw:
            m.overhead_ratio = self.sample_json / self.sample_raw
            m.overhead_basis = "simulated"
            m.overhead_sample_bytes = self.sample_raw
            m.compression_ratio = self._compression(self.sample_json_gzip, self.sample_json)
            m.compression_basis = "simulated"
            m.compression_sample_bytes = self.sample_json
        if self.sample_raw:
            m.transcript_compression_ratio = self._compression(self.sample_gzip, self.sample_raw)

    def _compression(self, compressed: int, raw: int) -> float | None:
        """compressed ÷ raw, at most 1; None (with a note) when too few bytes were sampled."""
        if raw < MIN_RATIO_SAMPLE_BYTES:
            note = (
                f"compression not measured: {raw:,} bytes sampled, at least "
                f"{MIN_RATIO_SAMPLE_BYTES:,} needed (the profile keeps its compression_ratio)"
            )
            if note not in self.notes:
                self.notes.append(note)
            return None
        return min(1.0, compressed / raw)


# -- the profile -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    value: Any
    comment: str
    rank: int  # higher wins when several sources give the same key


def _n(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _candidates(m: Measurement, streaming: bool) -> dict[str, _Candidate]:
    out: dict[str, _Candidate] = {}
    where = m.source
    period = f"{m.first_day}..{m.last_day}" if m.first_day else "undated"
    sizes = m.sizes
    if sizes["count"]:
        basis = "transcripts" if m.size_basis == "transcript" else "streamed sessions (sessionData)"
        out["session_bytes"] = _Candidate(
            round(sizes["mean"], 1),
            f"measured: mean of {sizes['count']:,} {basis} in {where} "
            f"(p50 {_n(sizes['p50'])}, p95 {_n(sizes['p95'])}, max {_n(sizes['max'])} bytes)",
            2 if m.size_basis == "transcript" else 1,
        )
    if sizes["count"] and sizes["p95"] > sizes["p50"] > 0:
        for q in ("p50", "p95"):
            out[f"session_bytes_{q}"] = _Candidate(
                round(sizes[q], 1), f"measured: {q} of {sizes['count']:,} sessions in {where}", 2
            )
    if m.sessions_per_day_cv is not None:
        out["sessions_per_day_cv"] = _Candidate(
            round(m.sessions_per_day_cv, 4),
            f"measured: day-to-day variation of sessions/day in {where}, {period}",
            3 if m.kind == "cloudwatch" else 2,
        )
    if m.sessions_per_day is not None:
        out["sessions_per_day"] = _Candidate(
            m.sessions_per_day,
            f"measured: {m.sessions:,} sessions over {m.days_covered:g} days ({m.days_basis}) "
            f"in {where}, {period}",
            3 if m.kind == "cloudwatch" else 2,
        )
    if m.instances:
        out["instances"] = _Candidate(
            m.instances, f"measured: distinct targets (target.id) in {where}", 2
        )
    if m.duration_minutes:
        d = m.duration_minutes
        out["session_minutes"] = _Candidate(
            round(max(d["mean"], 1 / 60), 2),
            f"measured: mean of {d['count']:,} sessions, first to last event, in {where} "
            f"(p50 {d['p50']:.1f}, p95 {d['p95']:.1f} min)",
            2,
        )
    if m.overhead_ratio is not None:
        if m.overhead_basis == "measured":
            note = f"measured: ingested event bytes ÷ sessionData bytes, {_n(m.overhead_sample_bytes)} bytes sampled in {where}"  # noqa: E501
        else:
            note = (
                f"simulated from {_n(m.overhead_sample_bytes)} sampled transcript bytes in "
                f"{where} by the agent's rule (lines packed ≤ 33,000 bytes per event); a lower "
                "bound, per-second flushing adds envelopes: measure a log group for the real one"
            )
        if m.stream_events_per_session is None:  # measured events feed the per-event model
            out["cloudwatch_overhead_ratio"] = _Candidate(
                round(m.overhead_ratio, 4), note, 2 if m.overhead_basis == "measured" else 1
            )
    if m.ansi_share is not None and m.control_share is not None and m.size_basis == "transcript":
        out["control_bytes_share"] = _Candidate(
            round(m.ansi_share + m.control_share, 4),
            f"measured: escape and control bytes ÷ transcript bytes in {where} (stripped on Linux)",
            2,
        )
    elif m.size_basis == "stream" and sizes["count"]:
        out["control_bytes_share"] = _Candidate(
            0.0, "session_bytes are streamed sessionData, already stripped of control codes", 1
        )
    if m.stream_events_per_session is not None and m.stream_envelope_bytes is not None:
        out["stream_events_per_session"] = _Candidate(
            round(m.stream_events_per_session, 2),
            f"measured: streamed JSON events per session in {where}",
            2,
        )
        out["stream_envelope_bytes"] = _Candidate(
            round(m.stream_envelope_bytes, 1),
            f"measured: (event bytes - sessionData bytes) per event in {where}, escaping included",
            2,
        )
    ratio, basis, sample = m.compression_ratio, m.compression_basis, m.compression_sample_bytes
    if not streaming and m.transcript_compression_ratio is not None:
        ratio, basis = m.transcript_compression_ratio, "transcripts"
        sample = m.overhead_sample_bytes
    if ratio is not None:
        what = {
            "measured": "ingested event messages",
            "simulated": "simulated streamed events",
            "transcripts": "plain-text transcripts (streaming off)",
        }[basis or "measured"]
        out["compression_ratio"] = _Candidate(
            round(ratio, 4),
            f"gzip -6 of {_n(sample)} bytes of {what} from {where}: a stand-in, since "
            "CloudWatch does not publish its archive compression",
            2 if basis == "measured" else 1,
        )
    if m.monthly_ingest_gb is not None:
        out["monthly_ingest_gb"] = _Candidate(
            float(f"{m.monthly_ingest_gb:.6g}"),
            f"measured: AWS/Logs IncomingBytes over {m.metric_days:g} days for {where}, "
            "× 365/12 days; delete this line to scale with sessions × bytes × overhead",
            2,
        )
    return out


def to_workload(
    measurements: Sequence[Measurement],
    base: Workload | None = None,
    *,
    instances: int | None = None,
    region: str | None = None,
) -> tuple[Workload, dict[str, str]]:
    """The measured workload and a comment per measured key (for ``dump_profile``).

    Keys nobody measured keep the base profile's values. ``instances`` is the fleet size the
    measured sessions came from, when the logs do not name their targets (S3 transcripts).
    """
    base = base or load_profile()
    streaming = base.streaming
    chosen: dict[str, _Candidate] = {}
    for m in measurements:
        for key, cand in _candidates(m, streaming).items():
            if key not in chosen or cand.rank > chosen[key].rank:
                chosen[key] = cand
    if "session_bytes" not in chosen:
        raise MeasureError(
            "nothing was measured: no session logs were found",
            "check the source (path, bucket and prefix, log group, --days) and try again",
        )
    undated = next((m for m in measurements if m.sessions and m.sessions_per_day is None), None)
    if undated is not None and "sessions_per_day" not in chosen:
        raise MeasureError(
            f"the {undated.sessions:,} sessions in {undated.source} carry no dates, so there is "
            "no rate per day (a copied file's time is its copy time)",
            "pass --days N, the number of days they cover (or --file-times for files written "
            "by `aws s3 sync`)",
        )
    values: dict[str, Any] = {}
    comments: dict[str, str] = {}
    for key, cand in chosen.items():
        values[key], comments[key] = cand.value, cand.comment
    per_day = values.pop("sessions_per_day", None)
    per_day_note = comments.pop("sessions_per_day", None)
    if instances is not None:
        values["instances"] = instances
        comments["instances"] = "given with --instances (the fleet the measured sessions came from)"
    if per_day is not None:
        if values.get("instances"):
            values["sessions_per_instance_per_day"] = round(per_day / values["instances"], 6)
            comments["sessions_per_instance_per_day"] = f"{per_day_note}, ÷ instances"
            values["sessions_per_month"] = None
            comments["sessions_per_month"] = "not used: instances × sessions per instance per day"
        else:
            values["sessions_per_month"] = round(per_day * DAYS_PER_MONTH, 3)
            comments["sessions_per_month"] = f"{per_day_note}, × 365/12 days"
    if region:
        values["region"] = region
        comments["region"] = "the region measured (--region)"
    workload = from_mapping({**base.to_dict(), **values}, source="measured profile")
    return workload, comments


def render_table(measurements: Sequence[Measurement]) -> str:
    """A plain two-column summary per source, for the terminal."""
    blocks = []
    for m in measurements:
        rows = _rows(m)
        width = max(len(label) for label, _ in rows)
        lines = [m.source, "-" * len(m.source)]
        lines += [f"{label.ljust(width)}  {value}" for label, value in rows]
        blocks.append("\n".join(lines))
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
    return json.dumps(data, indent=2, default=str) + "\n"
