"""Monthly workload quantities (GB ingested, GB-months stored, requests, hours …) as arrays.

Each quantity is a named function of a ``WorkloadGrid``: one row per scenario, one column per
month. Destinations refer to quantities by name, so the cost model is "quantity × price" and
nothing else. Everything is vectorised: a grid of 10,000 workloads costs the same Python as one.

The grid is ``costcompare.grid`` and the exact stock integration ``costcompare.stock``;
``WorkloadGrid`` is re-exported here for the callers that import it with the quantities.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from costcompare.awsfacts import SESSION_MANAGER_ENDPOINTS
from costcompare.grid import WorkloadGrid
from costcompare.pricing import StorageClass
from costcompare.stock import Arrivals
from costcompare.workload import (
    DAYS_PER_MONTH,
    GIB,
    HOURS_PER_MONTH,
    cloudwatch_bytes_per_session,
)

MIB = 2**20
TIB = 2**40
ATHENA_MIN_BYTES_PER_QUERY = 10 * MIB
# Session Manager's private-subnet baseline: ssm, ssmmessages, ec2messages (+ kms when used).
BASELINE_INTERFACE_ENDPOINTS = len(SESSION_MANAGER_ENDPOINTS)
LIST_KEYS_PER_REQUEST = 1000
# Since April 2024 KMS bills only a key's first and second rotations (AWS KMS pricing page).
KMS_BILLED_ROTATIONS = 2


# -- the quantity registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantitySpec:
    name: str
    unit: str
    description: str
    compute: Callable[[Volumes, str | None], np.ndarray]


QUANTITIES: dict[str, QuantitySpec] = {}


def quantity(name: str, unit: str, description: str):
    """Register a monthly quantity; ``name:ARG`` forms pass ARG (a storage class) to it."""

    def register(fn: Callable[[Volumes, str | None], np.ndarray]):
        QUANTITIES[name] = QuantitySpec(name, unit, description, fn)
        return fn

    return register


def quantity_spec(ref: str) -> QuantitySpec:
    name = ref.split(":", 1)[0]
    if name not in QUANTITIES:
        raise KeyError(f"unknown quantity '{ref}'")
    return QUANTITIES[name]


class Volumes:
    """Lazily computed, cached quantities of one grid."""

    def __init__(self, grid: WorkloadGrid, storage_classes: Mapping[str, StorageClass]) -> None:
        self.grid = grid
        self.classes = storage_classes
        self.n = grid.n
        self.months = grid.months
        self._cache: dict[str, np.ndarray] = {}
        self._windows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def __getitem__(self, ref: str) -> np.ndarray:
        if ref not in self._cache:
            name, _, arg = ref.partition(":")
            out = quantity_spec(name).compute(self, arg or None)
            self._cache[ref] = np.broadcast_to(out, (self.n, self.months))
        return self._cache[ref]

    def p(self, key: str) -> np.ndarray:
        return self.grid.param(key)

    # shared building blocks ---------------------------------------------------------------------
    @property
    def growth(self) -> np.ndarray:
        if "growth" not in self._cache:
            factor = 1 + self.p("growth_pct_per_month") / 100
            self._cache["growth"] = factor ** np.arange(self.months)
        return self._cache["growth"]

    def arrivals(self, ref: str) -> Arrivals:
        key = f"arrivals<{ref}>"
        if key not in self._cache:
            self._cache[key] = Arrivals(np.asarray(self[ref], dtype=float))  # type: ignore[assignment]
        return self._cache[key]  # type: ignore[return-value]

    @property
    def retention_months(self) -> np.ndarray:
        return self.p("retention_days") / DAYS_PER_MONTH

    @property
    def s3_retention_months(self) -> np.ndarray:
        """S3 keeps objects for retention_days, or the Object Lock period when that is longer
        (a compliance-mode lock outlasts any expiration rule)."""
        return np.fmax(self.retention_months, self.p("s3_object_lock_days") / DAYS_PER_MONTH)

    def cw_retention_months(self, design: str | None) -> np.ndarray:
        """CloudWatch retention; in the "both" design, its own (never longer) one when set."""
        if design != "both":
            return self.retention_months
        both = self.p("both_cloudwatch_retention_days") / DAYS_PER_MONTH
        return np.fmin(self.retention_months, both)  # fmin: an unset (NaN) one is ignored

    def s3_windows(self) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per storage class: (age in, age out, billed age out) in months, per scenario."""
        if self._windows is not None:
            return self._windows
        rules = self.grid.base.s3_lifecycle
        # Transitions move current versions only: past expiration a locked object is a
        # noncurrent version, kept in the class it was in until its lock ends.
        retention = self.retention_months
        kept = self.s3_retention_months
        transitions = self.p("session_bytes") >= self.p("s3_transition_min_object_bytes")
        starts = [np.zeros_like(retention)] + [
            np.full_like(retention, r.after_days / DAYS_PER_MONTH) for r in rules
        ]
        names = ["STANDARD"] + [r.storage_class for r in rules]
        windows = {}
        for i, cls in enumerate(names):
            start = np.minimum(starts[i], retention)
            end = np.minimum(starts[i + 1], retention) if i + 1 < len(starts) else retention
            if i == 0:
                end = np.where(transitions, end, retention)
            else:
                start = np.where(transitions, start, retention)
                end = np.where(transitions, end, retention)
            occupied = end > start
            end = np.where(occupied & (end >= retention), kept, end)  # held by the lock
            min_months = self.classes[cls].min_duration_days / DAYS_PER_MONTH
            billed_end = np.where(occupied, np.maximum(end, start + min_months), start)
            windows[cls] = (start, end, billed_end)
        self._windows = windows
        return windows

    def objects_in(self, cls: str, *, billed: bool = False) -> np.ndarray:
        """Mean objects in a storage class per month (billed: with minimum durations)."""
        key = f"objects<{cls},{billed}>"
        if key not in self._cache:
            windows = self.s3_windows()
            if cls not in windows:
                return np.zeros((self.n, 1))  # no such class: none, every month
            start, end, billed_end = windows[cls]
            stock = self.arrivals("sessions").average_stock(start, billed_end if billed else end)
            self._cache[key] = stock
        return self._cache[key]

    def objects_searched(self, cls: str) -> np.ndarray:
        """Mean objects of a class an Athena search reads: all, or those in the search window,
        of the current versions (ListObjectsV2 does not list a locked object past expiration)."""
        windows = self.s3_windows()
        if cls not in windows:
            return np.zeros((self.n, 1))
        start, end, _ = windows[cls]
        window = self.retention_months
        if self.grid.base.athena_scan_scope != "prefix":
            window = np.minimum(self.p("search_window_days") / DAYS_PER_MONTH, window)
        return self.arrivals("sessions").average_stock(
            np.minimum(start, window), np.minimum(end, window)
        )

    def readable_classes(self) -> list[str]:
        return [c for c in self.s3_windows() if self.classes[c].athena_readable]


# -- session and CloudWatch volumes ---------------------------------------------------------------


@quantity("sessions", "Requests", "sessions per month (one S3 object, one PUT each)")
def _sessions(v: Volumes, _: str | None) -> np.ndarray:
    if v.grid.base.sessions_per_month is not None or "sessions_per_month" in v.grid.axes:
        base = v.p("sessions_per_month")
    else:
        base = v.p("instances") * v.p("sessions_per_instance_per_day") * DAYS_PER_MONTH
    return base * v.growth


@quantity("cw_ingest_gb", "GB", "bytes sent to CloudWatch Logs (uncompressed, billed)")
def _cw_ingest(v: Volumes, _: str | None) -> np.ndarray:
    if v.grid.base.monthly_ingest_gb is not None or "monthly_ingest_gb" in v.grid.axes:
        return v.p("monthly_ingest_gb") * v.growth
    per_session = cloudwatch_bytes_per_session(
        v.p("session_bytes"),
        streaming=v.p("streaming"),
        overhead_ratio=v.p("cloudwatch_overhead_ratio"),
        events=v.p("stream_events_per_session"),
        session_minutes=v.p("session_minutes"),
        active_share=v.p("stream_active_share"),
        envelope_bytes=v.p("stream_envelope_bytes"),
        control_share=v.p("control_bytes_share"),
    )
    return v["sessions"] * per_session / GIB


@quantity("cw_stored_gb", "GB-Mo", "average compressed stock younger than retention_days")
def _cw_stored(v: Volumes, design: str | None) -> np.ndarray:
    stock = v.arrivals("cw_ingest_gb").average_stock(
        np.zeros((v.n, 1)), v.cw_retention_months(design)
    )
    return stock * v.p("compression_ratio")


@quantity("insights_scanned_gb", "GB", "searches × uncompressed GB in the search window")
def _insights(v: Volumes, design: str | None) -> np.ndarray:
    window = np.minimum(v.p("search_window_days") / DAYS_PER_MONTH, v.cw_retention_months(design))
    in_window = v.arrivals("cw_ingest_gb").average_stock(np.zeros((v.n, 1)), window)
    return v.p("searches_per_month") * in_window


@quantity("one", "Keys", "one (a key, a log group: a fixed monthly item)")
def _one(v: Volumes, _: str | None) -> np.ndarray:
    return np.ones((v.n, 1))


@quantity("metric_filters", "Metrics", "metric filters, one custom metric each")
def _metric_filters(v: Volumes, _: str | None) -> np.ndarray:
    return v.p("metric_filters")


@quantity("alarms", "Alarms", "standard alarms on those metrics")
def _alarms(v: Volumes, _: str | None) -> np.ndarray:
    return v.p("alarms")


@quantity("cw_kms_requests", "Requests", "KMS requests CloudWatch Logs makes for the log group")
def _cw_kms_requests(v: Volumes, _: str | None) -> np.ndarray:
    return v.p("cloudwatch_kms_requests_per_month")


@quantity("endpoint_hours", "Hrs", "one interface endpoint in every AZ, 730 h a month")
def _endpoint_hours(v: Volumes, _: str | None) -> np.ndarray:
    return v.p("availability_zones") * HOURS_PER_MONTH


def _when(v: Volumes, key: str, *values: str) -> float:
    """1 when a structural choice (network path) is one of ``values``, else 0."""
    return 1.0 if getattr(v.grid.base, key) in values else 0.0


@quantity("logs_endpoint_hours", "Hrs", "a new logs interface endpoint in every AZ, 730 h a month")
def _logs_endpoint_hours(v: Volumes, _: str | None) -> np.ndarray:
    return v["endpoint_hours"] * _when(v, "logs_endpoint", "new")


@quantity("logs_endpoint_gb", "GB", "CloudWatch ingestion through a logs interface endpoint")
def _logs_endpoint_gb(v: Volumes, _: str | None) -> np.ndarray:
    return v["cw_ingest_gb"] * _when(v, "logs_endpoint", "new", "existing")


@quantity("logs_nat_gb", "GB", "CloudWatch ingestion through a NAT gateway")
def _logs_nat_gb(v: Volumes, _: str | None) -> np.ndarray:
    return v["cw_ingest_gb"] * _when(v, "logs_endpoint", "nat")


@quantity("s3_upload_gb", "GB", "transcript bytes uploaded to S3")
def _s3_upload_gb(v: Volumes, _: str | None) -> np.ndarray:
    return v["sessions"] * v.p("session_bytes") / GIB


@quantity("s3_endpoint_hours", "Hrs", "an S3 interface endpoint in every AZ, 730 h a month")
def _s3_endpoint_hours(v: Volumes, _: str | None) -> np.ndarray:
    return v["endpoint_hours"] * _when(v, "s3_endpoint", "interface")


@quantity("s3_endpoint_gb", "GB", "S3 uploads through an S3 interface endpoint")
def _s3_endpoint_gb(v: Volumes, _: str | None) -> np.ndarray:
    return v["s3_upload_gb"] * _when(v, "s3_endpoint", "interface")


@quantity("s3_nat_gb", "GB", "S3 uploads through a NAT gateway")
def _s3_nat_gb(v: Volumes, _: str | None) -> np.ndarray:
    return v["s3_upload_gb"] * _when(v, "s3_endpoint", "nat")


@quantity("kms_rotated_versions", "Keys", "rotated key versions billed (first two rotations)")
def _kms_rotated_versions(v: Volumes, _: str | None) -> np.ndarray:
    """Month average of min(rotations so far, 2): a key created at month 0 rotates every
    kms_rotation_days, and KMS bills each of the first two rotated versions as a key-month."""
    period = v.p("kms_rotation_days")
    month_end = (np.arange(v.months) + 1.0) * DAYS_PER_MONTH
    versions = sum(
        np.clip((month_end - k * period) / DAYS_PER_MONTH, 0.0, 1.0)
        for k in range(1, KMS_BILLED_ROTATIONS + 1)
    )
    return versions * (v.p("kms_rotation") > 0)


@quantity("baseline_endpoint_hours", "Hrs", "ssm, ssmmessages, ec2messages endpoints per AZ")
def _baseline_endpoint_hours(v: Volumes, _: str | None) -> np.ndarray:
    return BASELINE_INTERFACE_ENDPOINTS * v.p("availability_zones") * HOURS_PER_MONTH


# -- S3 and Athena volumes ------------------------------------------------------------------------


@quantity("s3_stored_gb", "GB-Mo", "billable GB-months in a storage class (minimums applied)")
def _s3_stored(v: Volumes, cls: str | None) -> np.ndarray:
    facts = v.classes[cls or "STANDARD"]
    billable_bytes = np.maximum(v.p("session_bytes"), facts.min_billable_bytes)
    per_object = billable_bytes + facts.overhead_class_bytes
    return v.objects_in(facts.name, billed=True) * per_object / GIB


@quantity("s3_archive_index_gb", "GB-Mo", "8 KB per archived object billed at the Standard rate")
def _s3_archive_index(v: Volumes, _: str | None) -> np.ndarray:
    total = np.zeros((v.n, v.months))
    for cls in v.s3_windows():
        total = total + v.objects_in(cls, billed=True) * v.classes[cls].overhead_standard_bytes
    return total / GIB


@quantity("s3_transitions", "Requests", "objects transitioned into a class by lifecycle")
def _s3_transitions(v: Volumes, cls: str | None) -> np.ndarray:
    start, end, _ = v.s3_windows().get(cls or "", (None, None, None))
    if start is None:
        return np.zeros((v.n, 1))
    return np.where(end > start, v.arrivals("sessions").crossing(start), 0.0)


def _readable_bytes(v: Volumes) -> np.ndarray:
    objects = sum(v.objects_searched(c) for c in v.readable_classes())
    return objects * v.p("session_bytes")


@quantity("athena_scanned_tb", "TB", "searches × whole prefix (≥ 10 MB, rounded up to the MB)")
def _athena_scanned(v: Volumes, _: str | None) -> np.ndarray:
    per_query = np.maximum(np.ceil(_readable_bytes(v) / MIB) * MIB, ATHENA_MIN_BYTES_PER_QUERY)
    return v.p("searches_per_month") * per_query / TIB


@quantity("athena_gets", "Requests", "searches × objects in a class (Athena GETs every object)")
def _athena_gets(v: Volumes, cls: str | None) -> np.ndarray:
    return v.p("searches_per_month") * v.objects_searched(cls or "STANDARD")


@quantity("athena_lists", "Requests", "searches × LIST calls over the prefix (1,000 keys each)")
def _athena_lists(v: Volumes, _: str | None) -> np.ndarray:
    objects = sum(v.objects_searched(c) for c in v.s3_windows())
    return v.p("searches_per_month") * np.ceil(objects / LIST_KEYS_PER_REQUEST)


@quantity("athena_retrieval_gb", "GB", "searches × GB read from an infrequent-access class")
def _athena_retrieval(v: Volumes, cls: str | None) -> np.ndarray:
    objects = v.objects_searched(cls or "STANDARD")
    return v.p("searches_per_month") * objects * v.p("session_bytes") / GIB


@quantity("s3_put_kms_requests", "Requests", "SSE-KMS data-key requests, one per upload")
def _s3_put_kms_requests(v: Volumes, _: str | None) -> np.ndarray:
    return np.where(v.p("s3_bucket_key") > 0, 0.0, v["sessions"])


@quantity("athena_kms_requests", "Requests", "SSE-KMS decrypts, one per object Athena reads")
def _athena_kms_requests(v: Volumes, _: str | None) -> np.ndarray:
    gets = sum(v["athena_gets:" + c] for c in v.readable_classes())
    return np.where(v.p("s3_bucket_key") > 0, 0.0, gets)
