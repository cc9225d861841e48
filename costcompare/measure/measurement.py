"""The result of a measurement and how sources build it (``profile`` makes it a workload,
``render`` shows it).

Every source (local folder, S3 prefix, S3 Inventory, CloudWatch log group) feeds a ``Collector``
and returns a ``Measurement``: plain figures with the basis of each stated, so that the profile
comment of every key can say where its value came from.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costcompare.measure.content import MIN_RATIO_SAMPLE_BYTES, TranscriptScan
from costcompare.measure.events import EventCompressor, StreamEvent
from costcompare.measure.stats import DayCounts, KnownSizes, SizeStats, describe
from costcompare.workload import DAYS_PER_MONTH, GIB

MAX_EXAMPLES = 5


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

    sizes: SizeStats | KnownSizes = field(default_factory=SizeStats)  # Known: from SQL
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
        if not window_days:  # a window's days hold only the sampled sessions: no daily counts
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
