"""Workload profile: defaults, derived volumes, validation messages, YAML profiles."""

from __future__ import annotations

import pytest

from costcompare.awsfacts import CLOUDWATCH_RETENTION_DAYS
from costcompare.errors import WorkloadError
from costcompare.workload import (
    DAYS_PER_MONTH,
    GIB,
    LifecycleRule,
    Workload,
    dump_profile,
    from_mapping,
    load_profile,
)


def test_defaults_and_derived_volumes():
    w = Workload()
    assert w.region == "ap-northeast-1"
    assert w.base_sessions_per_month == pytest.approx(300 * 1.0 * 365 / 12)
    # per-event streaming: stripped transcript + one envelope per active second
    events = w.session_minutes * 60 * w.stream_active_share
    per_session = 60_000 * (1 - w.control_bytes_share) + events * w.stream_envelope_bytes
    assert w.base_ingest_gb == pytest.approx(w.base_sessions_per_month * per_session / GIB)
    assert w.retention_months == pytest.approx(365 / DAYS_PER_MONTH)


def test_sessions_per_month_and_ingest_override():
    w = Workload(sessions_per_month=1000, session_bytes=GIB / 1000, monthly_ingest_gb=7)
    assert w.base_sessions_per_month == 1000
    assert w.base_ingest_gb == 7


def test_bundled_profile_loads():
    w = load_profile()
    assert w.region == "ap-northeast-1" and w.instances == 300 and w.kms and w.vpc_endpoints
    assert w.s3_lifecycle == (LifecycleRule(90, "GLACIER_IR"),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"session_bytes": -5}, "session_bytes must be greater than 0"),
        ({"session_bytes": 0}, "session_bytes must be greater than 0"),
        ({"instances": -1}, "instances cannot be negative"),
        ({"searches_per_month": -2}, "searches_per_month cannot be negative"),
        ({"compression_ratio": 1.5}, "at most 1"),
        ({"cloudwatch_overhead_ratio": 0.5}, "use 1 or more"),
        ({"logs_endpoint": "vpn"}, "use one of new, existing, nat, public"),
        ({"s3_endpoint": "direct"}, "use one of gateway, nat, interface"),
        ({"athena_scan_scope": "all"}, "use one of prefix, window"),
        ({"kms_rotation_days": 30}, "90 to 2560 days"),
        ({"stream_active_share": 1.5}, "at least 0, below 1"),
        ({"control_bytes_share": -0.1}, "at least 0, below 1"),
        ({"stream_events_per_session": -3}, "cannot be negative"),
        ({"region": "ap-northeast1"}, "did you mean 'ap-northeast-1'"),
        ({"region": "mars-1"}, "unknown region 'mars-1'"),
        ({"retention_days": 100}, "use one of 1, 3, 5"),
        ({"sessions_per_day": 5}, "unknown workload key 'sessions_per_day'"),
        ({"instancess": 5}, "did you mean 'instances'"),
        ({"instances": "many"}, "instances is 'many'.*whole number"),
        ({"kms": "maybe"}, "true or false"),
        ({"s3_lifecycle": [{"after_days": 30, "storage_class": "FROZEN"}]}, "STANDARD_IA"),
        ({"s3_lifecycle": [{"after_days": 30}]}, "after_days and storage_class"),
        (
            {
                "s3_lifecycle": [
                    {"after_days": 90, "storage_class": "GLACIER_IR"},
                    {"after_days": 30, "storage_class": "GLACIER"},
                ]
            },
            "increasing order",
        ),
        ({"horizon_months": 0}, "horizon_months must be greater than 0"),
        ({"growth_pct_per_month": -100}, "more than -100"),
        ({"growth_pct_per_month": 100.5}, "at most 100"),
        ({"vpc_endpoints": True, "availability_zones": 0}, "availability_zones"),
    ],
)
def test_validation_says_what_and_how(data, message):
    with pytest.raises(WorkloadError, match=message):
        from_mapping(data, source="test.yaml")


def test_error_names_the_source():
    with pytest.raises(WorkloadError, match=r"^test\.yaml: session_bytes"):
        from_mapping({"session_bytes": -1}, source="test.yaml")


def test_every_allowed_retention_and_forever():
    for days in CLOUDWATCH_RETENTION_DAYS:
        assert Workload(retention_days=days).retention_days == days
    assert from_mapping({"retention_days": None}).retention_months == float("inf")


def test_overrides_skip_none_and_validate():
    w = Workload().with_overrides(instances=10, region=None)
    assert w.instances == 10 and w.region == "ap-northeast-1"
    with pytest.raises(WorkloadError, match="flags: unknown region"):
        Workload().with_overrides(region="nowhere-1")


class TestProfileFiles:
    def test_round_trip_with_comments(self, tmp_path):
        w = Workload(session_bytes=12_345, s3_lifecycle=(LifecycleRule(30, "STANDARD_IA"),))
        text = dump_profile(w, {"session_bytes": "measured: mean of 10 transcripts"})
        assert "session_bytes: 12345  # measured: mean of 10 transcripts" in text
        path = tmp_path / "p.yaml"
        path.write_text(text)
        assert load_profile(path) == w

    def test_missing_file(self, tmp_path):
        with pytest.raises(WorkloadError, match=r"does not exist.*measure"):
            load_profile(tmp_path / "none.yaml")

    def test_malformed_yaml_names_line(self, tmp_path):
        path = tmp_path / "bad.yaml"
        path.write_text("region: ap-northeast-1\ninstances: [1, 2\n")
        with pytest.raises(WorkloadError, match="not valid YAML"):
            load_profile(path)

    def test_not_a_mapping(self, tmp_path):
        path = tmp_path / "list.yaml"
        path.write_text("- 1\n- 2\n")
        with pytest.raises(WorkloadError, match="must be a mapping"):
            load_profile(path)

    def test_empty_file_means_defaults(self, tmp_path):
        path = tmp_path / "empty.yaml"
        path.write_text("")
        assert load_profile(path) == Workload()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"s3_lifecycle": [{"after_days": float("nan"), "storage_class": "GLACIER"}]}, "whole"),
        ({"s3_lifecycle": [{"after_days": float("inf"), "storage_class": "GLACIER"}]}, "whole"),
        ({"instances": "²"}, "whole number"),
        ({"session_bytes": 10**400}, "finite number"),
        ({"instances": 10**400}, "whole number"),
        ({"session_bytes": 1e300}, "at most"),
        ({"availability_zones": 10**20}, "at most"),
        ({"s3_lifecycle": [{"after_days": 10, "storage_class": "STANDARD_IA"}]}, "at least 30"),
        (
            {
                "s3_lifecycle": [
                    {"after_days": 30, "storage_class": "GLACIER"},
                    {"after_days": 60, "storage_class": "GLACIER_IR"},
                ]
            },
            "does not allow",
        ),
    ],
)
def test_hostile_values_are_input_errors(data, message):
    with pytest.raises(WorkloadError, match=message):
        from_mapping(data)


def test_a_flag_clears_the_total_it_feeds():
    measured = Workload(sessions_per_month=9125, monthly_ingest_gb=2.0)
    scaled = measured.with_overrides(instances=3000)
    assert scaled.sessions_per_month is None and scaled.monthly_ingest_gb is None
    assert scaled.base_sessions_per_month == pytest.approx(3000 * DAYS_PER_MONTH)
    kept = measured.with_overrides(searches_per_month=5)
    assert kept.sessions_per_month == 9125 and kept.monthly_ingest_gb == 2.0
    both = measured.with_overrides(instances=3000, sessions_per_month=100)
    assert both.sessions_per_month == 100


def test_lifecycle_flag_text():
    from costcompare.workload import parse_lifecycle

    assert parse_lifecycle("none") == ()
    assert parse_lifecycle("glacier_ir:90, DEEP_ARCHIVE:180") == (
        LifecycleRule(90, "GLACIER_IR"),
        LifecycleRule(180, "DEEP_ARCHIVE"),
    )
    with pytest.raises(WorkloadError, match="is not CLASS:DAYS"):
        parse_lifecycle("GLACIER_IR")
