"""The network path, KMS rotation and per-event streaming lines, each computed by hand.

Expected values are quantity × the unit price of the bundled table (never a literal price).
"""

from __future__ import annotations

import dataclasses

import pytest

from costcompare.comparison import estimate
from costcompare.workload import DAYS_PER_MONTH, GIB, HOURS_PER_MONTH, Workload, load_profile


@pytest.fixture
def book(table):
    return table.resolve("us-east-1")


@pytest.fixture
def w(plain_workload) -> Workload:
    """us-east-1, 10,000 sessions of 100 KB a month, a flat 2.0 streaming ratio, no extras."""
    return dataclasses.replace(plain_workload, sessions_per_month=10_000, session_bytes=100_000)


def line(est, destination: str, name_part: str):
    matches = [ln for ln in est.get(destination).lines if name_part in ln.name]
    assert len(matches) == 1, [ln.name for ln in est.get(destination).lines]
    return matches[0]


def names(est, destination: str) -> list[str]:
    return [ln.name for ln in est.get(destination).lines]


def rate(book, key: str) -> float:
    return book[key].rows[0].usd_per_unit


INGEST_GB = 10_000 * 100_000 * 2.0 / GIB  # sessions × bytes × the flat ratio
UPLOAD_GB = 10_000 * 100_000 / GIB


class TestLogsNetworkPath:
    def test_new_endpoint_bills_hours_per_az_and_bytes(self, w, book):
        est = estimate(dataclasses.replace(w, vpc_endpoints=True, availability_zones=2))
        hours = line(est, "cloudwatch", "logs interface endpoint (new")
        assert hours.cost[-1] == pytest.approx(
            2 * HOURS_PER_MONTH * rate(book, "vpc.interface_endpoint.hours")
        )
        processed = line(est, "cloudwatch", "logs endpoint data processed")
        assert processed.cost[-1] == pytest.approx(
            INGEST_GB * rate(book, "vpc.interface_endpoint.bytes")
        )

    def test_existing_endpoint_bills_only_data_processing(self, w, book):
        est = estimate(dataclasses.replace(w, vpc_endpoints=True, logs_endpoint="existing"))
        assert not [n for n in names(est, "cloudwatch") if "interface endpoint" in n]
        processed = line(est, "cloudwatch", "logs endpoint data processed")
        assert processed.quantity[-1] == pytest.approx(INGEST_GB)
        assert processed.cost[-1] == pytest.approx(
            INGEST_GB * rate(book, "vpc.interface_endpoint.bytes")
        )

    def test_nat_bills_per_gb_and_no_endpoint(self, w, book):
        est = estimate(dataclasses.replace(w, vpc_endpoints=True, logs_endpoint="nat"))
        nat = line(est, "cloudwatch", "NAT gateway data processed")
        assert nat.price_key == "vpc.nat_gateway.bytes"
        assert nat.cost[-1] == pytest.approx(INGEST_GB * rate(book, "vpc.nat_gateway.bytes"))
        assert not [n for n in names(est, "cloudwatch") if "endpoint" in n]

    def test_public_path_has_no_network_line(self, w):
        est = estimate(dataclasses.replace(w, vpc_endpoints=True, logs_endpoint="public"))
        assert not [ln for ln in est.get("cloudwatch").lines if ln.category == "network"]


class TestS3NetworkPath:
    def test_gateway_is_free(self, w):
        est = estimate(dataclasses.replace(w, vpc_endpoints=True))
        assert not [ln for ln in est.get("s3").lines if ln.category == "network"]

    def test_nat_bills_the_uploads(self, w, book):
        est = estimate(dataclasses.replace(w, s3_endpoint="nat"))
        nat = line(est, "s3", "NAT gateway data processed (to S3)")
        assert nat.cost[-1] == pytest.approx(UPLOAD_GB * rate(book, "vpc.nat_gateway.bytes"))

    def test_interface_endpoint_bills_hours_and_bytes(self, w, book):
        wl = dataclasses.replace(
            w, vpc_endpoints=True, availability_zones=3, s3_endpoint="interface"
        )
        est = estimate(wl)
        hours = line(est, "s3", "S3 interface endpoint (per AZ)")
        assert hours.cost[-1] == pytest.approx(
            3 * HOURS_PER_MONTH * rate(book, "vpc.interface_endpoint.hours")
        )
        processed = line(est, "s3", "S3 interface endpoint data processed")
        assert processed.cost[-1] == pytest.approx(
            UPLOAD_GB * rate(book, "vpc.interface_endpoint.bytes")
        )


class TestKmsRotation:
    def test_first_two_rotations_are_billed_then_capped(self, w, book):
        est = estimate(dataclasses.replace(w, kms=True, kms_rotation_days=365))
        versions = line(est, "s3", "rotated key versions").quantity
        key_rate = rate(book, "kms.key")
        # 12 months are exactly 365 days: the first rotation lands at the end of month 12
        assert versions[11] == pytest.approx(0.0)
        assert versions[12] == pytest.approx(1.0)
        assert versions[-1] == pytest.approx(2.0)  # months 25-36: capped at two versions
        cost = line(est, "cloudwatch", "rotated key versions").cost
        assert cost[-1] == pytest.approx(2 * key_rate)

    def test_rotation_mid_month_is_prorated(self, w, book):
        est = estimate(dataclasses.replace(w, kms=True, kms_rotation_days=90, horizon_months=12))
        versions = line(est, "s3", "rotated key versions").quantity
        # month 3 runs to day 91.25: the rotated version exists for 1.25 of its days
        assert versions[2] == pytest.approx((3 * DAYS_PER_MONTH - 90) / DAYS_PER_MONTH)
        assert versions[-1] == pytest.approx(2.0)  # a third, fourth … rotation adds nothing

    def test_rotation_off_removes_the_line(self, w):
        est = estimate(dataclasses.replace(w, kms=True, kms_rotation=False))
        assert not [n for n in names(est, "s3") if "rotated" in n]


class TestPerEventStreaming:
    def test_ingestion_is_stripped_text_plus_envelopes(self, w, book):
        wl = dataclasses.replace(
            w,
            cloudwatch_overhead_ratio=None,
            session_minutes=20,
            stream_active_share=0.25,
            stream_envelope_bytes=300,
            control_bytes_share=0.1,
        )
        est = estimate(wl)
        events = 20 * 60 * 0.25  # one event per second with output
        per_session = 100_000 * (1 - 0.1) + events * 300
        gb = 10_000 * per_session / GIB
        ingestion = line(est, "cloudwatch", "ingestion")
        assert ingestion.quantity[-1] == pytest.approx(gb)
        assert ingestion.cost[-1] == pytest.approx(gb * rate(book, "logs.ingestion.standard"))

    def test_measured_events_replace_the_estimate(self, w):
        wl = dataclasses.replace(
            w, cloudwatch_overhead_ratio=None, stream_events_per_session=40, control_bytes_share=0
        )
        gb = 10_000 * (100_000 + 40 * wl.stream_envelope_bytes) / GIB
        assert line(estimate(wl), "cloudwatch", "ingestion").quantity[-1] == pytest.approx(gb)

    def test_large_bursty_sessions_need_one_event_per_33000_bytes(self, w):
        wl = dataclasses.replace(
            w,
            cloudwatch_overhead_ratio=None,
            session_bytes=10_000_000,
            session_minutes=1,
            stream_active_share=0.1,
            control_bytes_share=0,
        )
        events = 10_000_000 / 33_000  # more than the 6 active seconds could carry
        gb = 10_000 * (10_000_000 + events * wl.stream_envelope_bytes) / GIB
        assert line(estimate(wl), "cloudwatch", "ingestion").quantity[-1] == pytest.approx(gb)

    def test_overhead_scales_with_events_not_bytes(self, w):
        small = dataclasses.replace(w, cloudwatch_overhead_ratio=None, session_bytes=60_000)
        big = dataclasses.replace(small, session_bytes=1_000_000)
        assert small.cloudwatch_bytes_per_session / 60_000 > 2
        assert big.cloudwatch_bytes_per_session / 1_000_000 < 1.1


def test_athena_window_scope_scans_only_the_window(w, book):
    wl = dataclasses.replace(
        w,
        retention_days=365,
        searches_per_month=4,
        search_window_days=30,
        athena_scan_scope="window",
    )
    est = estimate(wl)
    # steady state: the last 30 days of 10,000 × 100 KB objects a month, rounded up to the MB
    window_bytes = UPLOAD_GB * GIB * 30 / DAYS_PER_MONTH
    mb = -(-window_bytes // 2**20)
    expected = 4 * mb * 2**20 / 2**40 * rate(book, "athena.scanned")
    assert line(est, "s3", "Athena searches").cost[-1] == pytest.approx(expected)
    gets = line(est, "s3", "GET requests by Athena (STANDARD)").quantity[-1]
    assert gets == pytest.approx(4 * 10_000 * 30 / DAYS_PER_MONTH)


def test_existing_logs_endpoint_makes_cloudwatch_cheaper_than_s3_by_default():
    default = estimate(load_profile(), searchability=False)
    assert (
        default.get("s3").steady_state_monthly_usd
        < default.get("cloudwatch").steady_state_monthly_usd
    )
    existing = estimate(
        load_profile().with_overrides(logs_endpoint="existing"), searchability=False
    )
    cw, s3 = (existing.get(n).steady_state_monthly_usd for n in ("cloudwatch", "s3"))
    assert cw < s3


def test_notes_explain_streaming_and_the_s3_path():
    est = estimate(load_profile())
    w = est.workload
    streamed = next(n for n in est.notes if n.startswith("CloudWatch ingests"))
    assert f"{w.cloudwatch_bytes_per_session:,.0f} bytes per session" in streamed
    assert "S3 traffic uses the S3 gateway endpoint, which is free." in est.notes
    nat = estimate(w.with_overrides(s3_endpoint="nat", cloudwatch_overhead_ratio=2.0))
    assert not [n for n in nat.notes if "gateway endpoint" in n or "ingests" in n]
