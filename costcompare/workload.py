"""The workload profile: what a fleet's sessions look like, with documented defaults.

Every key is optional. ``costcompare measure`` writes profiles, ``estimate --workload`` reads them,
and flags override single keys. Validation happens here, once, with messages that say the fix.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from costcompare.awsfacts import (
    LifecycleRule,
    check_lifecycle,
    check_region,
    check_retention_days,
    check_storage_class,
    parse_bool,
)
from costcompare.errors import WorkloadError
from costcompare.yamlio import clip, reject_unknown_keys

GIB = 2**30
DAYS_PER_MONTH = 365 / 12
HOURS_PER_MONTH = 730

# Larger inputs are typos; beyond this the model's arithmetic would overflow anyway.
MAX_INPUT = 1e15
# Growth, % per month, is at most this (doubling monthly): no fleet does more for years, and
# 2**240 over the longest horizon times the largest inputs stays finite.
GROWTH_PCT_MAX = 100.0


@dataclass(frozen=True)
class Workload:
    """One fleet's Session Manager logging workload. Field comments are the documentation."""

    region: str = "ap-northeast-1"
    # Fleet size and how often people open sessions; or give sessions_per_month directly.
    instances: int = 300
    sessions_per_instance_per_day: float = 1.0
    sessions_per_month: float | None = None
    # Mean transcript bytes per session: the size of one S3 object. Unsourced default; measure it.
    session_bytes: float = 60_000
    # Measured spread of transcript sizes (p50, p95 bytes) and the day-to-day coefficient of
    # variation of sessions per day: the widths of the uncertainty bands (None: defaults).
    session_bytes_p50: float | None = None
    session_bytes_p95: float | None = None
    sessions_per_day_cv: float | None = None
    # Mean session length in minutes (time to searchable when not streaming).
    session_minutes: float = 20
    # Overrides sessions × streamed bytes per session for CloudWatch ingestion.
    monthly_ingest_gb: float | None = None
    # An explicit override of the per-event streaming model below: streamed bytes ÷ transcript.
    cloudwatch_overhead_ratio: float | None = None
    # Per-event streaming (the SSM agent sends one JSON event per second that has new output):
    # CloudWatch bytes per session = transcript × (1 - control_bytes_share) + events × envelope.
    # Events per session, measured (`costcompare measure` on a log group) or None to derive it
    # from session_minutes × 60 × stream_active_share (at least one event per 33,000 bytes).
    stream_events_per_session: float | None = None
    # Share of a session's seconds with new output (unsourced default; measure it).
    stream_active_share: float = 0.2
    # JSON envelope bytes per event (the agent's fields: ≈270–340 bytes).
    stream_envelope_bytes: float = 300
    # Share of transcript bytes that are ANSI control sequences, stripped on Linux before
    # streaming (unsourced default; `measure` reports the escape/control share).
    control_bytes_share: float = 0.05
    # CloudWatch archived bytes ÷ ingested bytes (AWS Pricing Calculator default 0.15).
    compression_ratio: float = 0.15
    # Days logs are kept: CloudWatch retention and S3 expiration; None keeps them forever.
    retention_days: int | None = 365
    # The "both" design may keep CloudWatch shorter than S3 (PCI DSS 10.5.1: the newest 3
    # months searchable in CloudWatch, 12 months in S3): CloudWatch days there, at most
    # retention_days; unset: the same as retention_days.
    both_cloudwatch_retention_days: int | None = None
    # S3 Object Lock in compliance mode (WORM): no object can be deleted sooner, so S3 storage
    # is billed at least this many days, whatever retention_days says; unset: no Object Lock.
    s3_object_lock_days: int | None = None
    # Auditor searches per month, and how many days of logs each CloudWatch search covers.
    searches_per_month: float = 20
    search_window_days: float = 30
    # Projection length and compound monthly volume growth (% per month, > -100 and ≤ 100).
    horizon_months: int = 36
    growth_pct_per_month: float = 0.0
    # Architecture switches.
    kms: bool = True
    # KMS automatic rotation (on, as `provision` sets it) and its period in days (90–2560).
    kms_rotation: bool = True
    kms_rotation_days: int = 365
    vpc_endpoints: bool = True
    availability_zones: int = 3
    # How session data reaches CloudWatch Logs: a "new" logs interface endpoint per AZ, one that
    # already "existing" (data processing only), a "nat" gateway (per-GB processing; its hours
    # are shared), or the "public" internet (inbound data transfer is free).
    logs_endpoint: str = "new"
    # How uploads reach S3: the "gateway" endpoint (free), a "nat" gateway (per GB), or an S3
    # "interface" endpoint per AZ (hours + per GB).
    s3_endpoint: str = "gateway"
    # What an Athena search reads: the whole "prefix" (Session Manager keys carry no date) or,
    # after re-keying into date partitions, only the search "window" (search_window_days).
    athena_scan_scope: str = "prefix"
    streaming: bool = True
    s3_bucket_key: bool = True
    s3_lifecycle: tuple[LifecycleRule, ...] = ()
    # Since 2024 lifecycle does not transition objects smaller than this by default.
    s3_transition_min_object_bytes: int = 131_072
    # Alerting on CloudWatch Logs: metric filters (custom metrics) and alarms on them.
    metric_filters: int = 1
    alarms: int = 1
    # KMS requests CloudWatch Logs makes for one encrypted log group per month. Unsourced
    # assumption (one data-key request every 5 minutes); it moves the total by cents.
    cloudwatch_kms_requests_per_month: float = 8_640
    # Apply the always-free tier (CloudWatch 5 GB, KMS 20,000 requests) to this workload.
    free_tier: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived volumes (per month, before growth) -------------------------------------------
    @property
    def base_sessions_per_month(self) -> float:
        if self.sessions_per_month is not None:
            return float(self.sessions_per_month)
        return self.instances * self.sessions_per_instance_per_day * DAYS_PER_MONTH

    @property
    def cloudwatch_bytes_per_session(self) -> float:
        """Bytes CloudWatch ingests per session (the override, or the per-event model)."""
        return float(
            cloudwatch_bytes_per_session(
                self.session_bytes,
                streaming=self.streaming,
                overhead_ratio=self.cloudwatch_overhead_ratio,
                events=self.stream_events_per_session,
                session_minutes=self.session_minutes,
                active_share=self.stream_active_share,
                envelope_bytes=self.stream_envelope_bytes,
                control_share=self.control_bytes_share,
            )
        )

    @property
    def base_ingest_gb(self) -> float:
        if self.monthly_ingest_gb is not None:
            return float(self.monthly_ingest_gb)
        return self.base_sessions_per_month * self.cloudwatch_bytes_per_session / GIB

    @property
    def retention_months(self) -> float:
        return math.inf if self.retention_days is None else self.retention_days / DAYS_PER_MONTH

    def with_overrides(self, **overrides: Any) -> Workload:
        """A copy with some keys changed; None values mean 'not given' and are skipped.

        A flag that feeds a derived total clears that total (a measured sessions_per_month or
        monthly_ingest_gb), unless the total is given too: otherwise the flag would do nothing.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        _reject_unknown(given, "override")
        base = self.to_dict()
        for total, feeders in DERIVED_TOTALS.items():
            if total not in given and feeders & given.keys():
                base[total] = None
        return from_mapping({**base, **given}, source="flags")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["s3_lifecycle"] = [r.as_dict() for r in self.s3_lifecycle]
        return data


# The agent's size rule: at most 4 events of 33,000 bytes a second (amazon-ssm-agent).
MAX_STREAM_EVENT_BYTES = 33_000


def cloudwatch_bytes_per_session(
    session_bytes: Any,
    *,
    streaming: Any,
    overhead_ratio: Any,
    events: Any,
    session_minutes: Any,
    active_share: Any,
    envelope_bytes: Any,
    control_share: Any,
) -> Any:
    """Streamed bytes of one session; floats or numpy arrays alike (the grid engine calls it).

    Overhead scales with events, not bytes: the agent sends one JSON envelope per second that
    has new output, after stripping ANSI control codes. Without streaming, CloudWatch gets the
    plain transcript at session end. An explicit ``overhead_ratio`` replaces the model.
    ``None`` (or NaN, in a grid) for ``overhead_ratio``/``events`` means "not given".
    """
    import numpy as np

    text = np.asarray(session_bytes, dtype=float) * (1 - np.asarray(control_share, dtype=float))
    derived = np.maximum(
        np.asarray(session_minutes, dtype=float) * 60 * np.asarray(active_share, dtype=float),
        text / MAX_STREAM_EVENT_BYTES,
    )
    given_events = np.asarray(np.nan if events is None else events, dtype=float)
    n_events = np.where(np.isnan(given_events), derived, given_events)
    modelled = text + n_events * np.asarray(envelope_bytes, dtype=float)
    ratio = np.asarray(np.nan if overhead_ratio is None else overhead_ratio, dtype=float)
    streamed = np.where(np.isnan(ratio), modelled, np.asarray(session_bytes, dtype=float) * ratio)
    return np.where(np.asarray(streaming) > 0, streamed, np.asarray(session_bytes, dtype=float))


LOGS_ENDPOINTS = ("new", "existing", "nat", "public")
S3_ENDPOINTS = ("gateway", "nat", "interface")
ATHENA_SCAN_SCOPES = ("prefix", "window")
# KMS accepts automatic rotation periods of 90 to 2560 days (RotationPeriodInDays).
KMS_ROTATION_DAYS = (90, 2560)

FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Workload))
# Totals a profile may give directly, and the keys they otherwise follow from.
DERIVED_TOTALS = {
    "sessions_per_month": {"instances", "sessions_per_instance_per_day"},
    "monthly_ingest_gb": {
        "instances", "sessions_per_instance_per_day", "sessions_per_month", "session_bytes",
        "cloudwatch_overhead_ratio", "streaming", "stream_events_per_session",
        "stream_active_share", "stream_envelope_bytes", "control_bytes_share", "session_minutes",
    },
}  # fmt: skip
_OPTIONAL_NONE = {
    "sessions_per_month", "monthly_ingest_gb", "retention_days", "cloudwatch_overhead_ratio",
    "both_cloudwatch_retention_days", "s3_object_lock_days",
    "stream_events_per_session", "session_bytes_p50", "session_bytes_p95", "sessions_per_day_cv",
}  # fmt: skip


def _reject_unknown(data: Mapping[str, Any], source: str) -> None:
    reject_unknown_keys(
        data,
        FIELD_NAMES,
        where=source,
        kind="workload key",
        error=WorkloadError,
        fallback="see `costcompare estimate --help`",
    )


def from_mapping(data: Mapping[str, Any], source: str = "profile") -> Workload:
    """Build a Workload from plain data (a parsed YAML profile), coercing and checking types."""
    if not isinstance(data, Mapping):
        raise WorkloadError(
            f"{source}: a workload profile must be a mapping of keys to values, "
            f"not {type(data).__name__}",
            "write it as `key: value` lines",
        )
    _reject_unknown(data, source)
    kwargs: dict[str, Any] = {}
    types = {f.name: f.type for f in dataclasses.fields(Workload)}
    for key, value in data.items():
        kwargs[key] = _coerce(key, value, types[key], source)
    try:
        return Workload(**kwargs)
    except WorkloadError as exc:
        raise WorkloadError(f"{source}: {exc.problem}", exc.fix) from None


def _coerce(key: str, value: Any, type_name: str, source: str) -> Any:
    def bad(want: str) -> WorkloadError:
        return WorkloadError(f"{source}: {key} is {clip(value)}", f"it must be {want}")

    if value is None:
        if key in _OPTIONAL_NONE:
            return None
        raise bad("given a value (or left out for the default)")
    if key == "s3_lifecycle":
        return _lifecycle(value, source)
    if "bool" in type_name:
        flag = parse_bool(value)
        if flag is None:
            raise bad("true or false")
        return flag
    if "int" in type_name and "float" not in type_name:
        number = _finite(value)
        if number is None or not number.is_integer() or isinstance(value, bool):
            raise bad("a whole number")
        if abs(number) > MAX_INPUT:
            raise bad(f"at most {MAX_INPUT:.0e}")
        return int(number)
    if "float" in type_name:
        number = _finite(value)
        if number is None or isinstance(value, bool):
            raise bad("a finite number")
        if abs(number) > MAX_INPUT:
            raise bad(f"at most {MAX_INPUT:.0e}")
        return number
    if "str" in type_name:
        if not isinstance(value, str):
            raise bad("text")
        return value.strip()
    return value


def _finite(value: Any) -> float | None:
    """A finite float from a number or numeric text, else None (never an exception)."""
    if isinstance(value, str):
        value = value.strip()
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _lifecycle(value: Any, source: str) -> tuple[LifecycleRule, ...]:
    if isinstance(value, Mapping) or not isinstance(value, list | tuple):
        raise WorkloadError(
            f"{source}: s3_lifecycle is {clip(value)}",
            "it must be a list of {after_days: N, storage_class: CLASS}",
        )
    rules = []
    for item in value:
        if isinstance(item, LifecycleRule):
            rules.append(item)
            continue
        if not isinstance(item, Mapping) or set(item) != {"after_days", "storage_class"}:
            raise WorkloadError(
                f"{source}: s3_lifecycle entry {item!r}",
                "each entry needs exactly after_days and storage_class",
            )
        days = item["after_days"]
        number = None if isinstance(days, bool | str) else _finite(days)
        if number is None or not number.is_integer() or not 0 < number <= MAX_INPUT:
            raise WorkloadError(
                f"{source}: s3_lifecycle after_days is {days!r}",
                "it must be a whole number of days greater than 0",
            )
        storage_class = check_storage_class(
            item["storage_class"], error=WorkloadError, what=f"{source}: s3_lifecycle entry"
        )
        rules.append(LifecycleRule(int(number), storage_class))
    return tuple(rules)


def _validate(w: Workload) -> None:
    def fail(problem: str, fix: str) -> None:
        raise WorkloadError(problem, fix)

    check_region(w.region, error=WorkloadError)
    _validate_signs(w)
    if not -100 < w.growth_pct_per_month <= GROWTH_PCT_MAX:
        fail(
            f"growth_pct_per_month is {w.growth_pct_per_month:g}",
            f"use more than -100 and at most {GROWTH_PCT_MAX:g} (% per month; "
            f"{GROWTH_PCT_MAX:g} doubles volumes every month)",
        )
    if w.compression_ratio > 1:
        fail(
            f"compression_ratio is {w.compression_ratio:g}",
            "it is archived ÷ ingested bytes, so at most 1 (AWS's calculator uses 0.15)",
        )
    _validate_choices(w)
    for key in ("stream_active_share", "control_bytes_share"):
        if not 0 <= getattr(w, key) < 1:
            fail(f"{key} is {getattr(w, key):g}", f"{key} is a share: at least 0, below 1")
    if w.cloudwatch_overhead_ratio is not None and w.cloudwatch_overhead_ratio < 1:
        fail(
            f"cloudwatch_overhead_ratio is {w.cloudwatch_overhead_ratio:g}",
            "streamed JSON is never smaller than the transcript: use 1 or more",
        )
    if w.horizon_months > 240:
        fail(f"horizon_months is {w.horizon_months}", "use at most 240 months (20 years)")
    if w.vpc_endpoints and w.availability_zones < 1:
        fail(
            "vpc_endpoints is on but availability_zones is 0",
            "set availability_zones to the number of AZs with instance subnets",
        )
    check_retention_days(w.retention_days, error=WorkloadError)
    _validate_both_and_lock(w)
    check_lifecycle(w.s3_lifecycle, error=WorkloadError)


def _validate_both_and_lock(w: Workload) -> None:
    """CloudWatch's own retention in "both" is a CloudWatch value (the model caps it at
    retention_days: S3 is the long-term copy); a lock is a positive number of days."""
    both, lock = w.both_cloudwatch_retention_days, w.s3_object_lock_days
    check_retention_days(both, error=WorkloadError, name="both_cloudwatch_retention_days")
    if lock is not None and not 1 <= lock <= 36_500:
        raise WorkloadError(
            f"s3_object_lock_days is {lock}", "use 1 to 36500 days, or leave it unset"
        )


def _validate_signs(w: Workload) -> None:
    """Sizes and rates that must be positive, counts that cannot be negative."""

    def fail(problem: str, fix: str) -> None:
        raise WorkloadError(problem, fix)

    positive = {
        "session_bytes": w.session_bytes,
        "compression_ratio": w.compression_ratio,
        "session_minutes": w.session_minutes,
        "search_window_days": w.search_window_days,
        "horizon_months": w.horizon_months,
    }
    for key, value in positive.items():
        if value <= 0:
            fail(f"{key} is {value:g}", f"{key} must be greater than 0")
    non_negative = {
        "instances": w.instances,
        "sessions_per_instance_per_day": w.sessions_per_instance_per_day,
        "sessions_per_month": w.sessions_per_month,
        "monthly_ingest_gb": w.monthly_ingest_gb,
        "searches_per_month": w.searches_per_month,
        "availability_zones": w.availability_zones,
        "metric_filters": w.metric_filters,
        "alarms": w.alarms,
        "s3_transition_min_object_bytes": w.s3_transition_min_object_bytes,
        "cloudwatch_kms_requests_per_month": w.cloudwatch_kms_requests_per_month,
        "stream_events_per_session": w.stream_events_per_session,
        "stream_envelope_bytes": w.stream_envelope_bytes,
        "session_bytes_p50": w.session_bytes_p50,
        "session_bytes_p95": w.session_bytes_p95,
        "sessions_per_day_cv": w.sessions_per_day_cv,
    }
    for key, value in non_negative.items():
        if value is not None and value < 0:
            fail(f"{key} is {value:g}", f"{key} cannot be negative")


def _validate_choices(w: Workload) -> None:
    """The network path, Athena scope and rotation period: one of the values AWS offers."""
    for key, allowed in (
        ("logs_endpoint", LOGS_ENDPOINTS),
        ("s3_endpoint", S3_ENDPOINTS),
        ("athena_scan_scope", ATHENA_SCAN_SCOPES),
    ):
        if getattr(w, key) not in allowed:
            raise WorkloadError(f"{key} is '{getattr(w, key)}'", "use one of " + ", ".join(allowed))
    low, high = KMS_ROTATION_DAYS
    if not low <= w.kms_rotation_days <= high:
        raise WorkloadError(
            f"kms_rotation_days is {w.kms_rotation_days}",
            f"KMS rotates every {low} to {high} days (365 by default)",
        )


def parse_lifecycle(text: str) -> tuple[LifecycleRule, ...]:
    """``none`` or ``CLASS:DAYS[,CLASS:DAYS…]`` (the --s3-lifecycle flag) as lifecycle rules."""
    if text.strip().lower() in ("none", ""):
        return ()
    rules = []
    for part in text.split(","):
        cls, sep, days = part.strip().partition(":")
        number = _finite(days) if sep else None
        if number is None or not number.is_integer() or number <= 0:
            raise WorkloadError(
                f"--s3-lifecycle '{part.strip()}' is not CLASS:DAYS",
                "write e.g. GLACIER_IR:90,DEEP_ARCHIVE:180, or none",
            )
        rules.append({"after_days": int(number), "storage_class": cls.strip()})
    return _lifecycle(rules, "--s3-lifecycle")


# -- profiles on disk ---------------------------------------------------------------------------

DEFAULT_PROFILE = "tokyo-300.yaml"


def default_profile_path() -> Path:
    return Path(str(resources.files("costcompare").joinpath("profiles", DEFAULT_PROFILE)))


def load_profile(path: str | Path | None = None) -> Workload:
    """Read a YAML profile; the bundled default (Tokyo, 300 instances) when no path is given."""
    from costcompare.yamlio import load_yaml_mapping

    profile = Path(path) if path else default_profile_path()
    data = load_yaml_mapping(
        profile,
        what="profile",
        error=WorkloadError,
        missing_fix="check the path, or make one with `costcompare init` or "
        "`costcompare measure --write-workload FILE`",
    )
    return from_mapping(data, source=str(profile))


def dump_profile(workload: Workload, comments: Mapping[str, str] | None = None) -> str:
    """YAML text of a profile, each key optionally followed by a comment (where it came from)."""
    import yaml

    comments = comments or {}
    lines = []
    for key, value in workload.to_dict().items():
        text = yaml.safe_dump({key: value}, default_flow_style=False, sort_keys=False).rstrip()
        note = comments.get(key)
        lines.append(f"{text}  # {note}" if note and "\n" not in text else text)
    return "\n".join(lines) + "\n"
