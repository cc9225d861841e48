"""A measurement becomes a workload profile: each key from the best source that measured it,
with a comment saying where its value came from (for ``dump_profile``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costcompare.errors import MeasureError
from costcompare.measure.measurement import Measurement
from costcompare.workload import DAYS_PER_MONTH, Workload, from_mapping, load_profile


@dataclass(frozen=True)
class _Candidate:
    value: Any
    comment: str
    rank: int  # higher wins when several sources give the same key


def _n(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def _spread_candidates(m: Measurement, period: str) -> dict[str, _Candidate]:
    """The measured spread of sizes and of sessions per day: the widths of the cost bands."""
    out: dict[str, _Candidate] = {}
    sizes, where = m.sizes, m.source
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
    return out


def _stream_candidates(m: Measurement) -> dict[str, _Candidate]:
    """How CloudWatch ingestion follows sessions: measured events and envelope for the per-event
    model, or (with no real events) a flat overhead ratio; and the control bytes stripped."""
    out: dict[str, _Candidate] = {}
    sizes, where = m.sizes, m.source
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
    return out


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
    out.update(_spread_candidates(m, period))
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
    out.update(_stream_candidates(m))
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
