"""The cost model against hand-computed cases and AWS's own worked examples.

Conventions (DESIGN.md): GB = 2^30 bytes, a month = 365/12 days = 730 hours, storage is billed
on the average stock over the month, and a new setup starts empty in month 1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from costcompare.destinations import DESTINATIONS
from costcompare.errors import PricingError, WorkloadError
from costcompare.model import estimate, evaluate_grid
from costcompare.volumes import WorkloadGrid
from costcompare.workload import DAYS_PER_MONTH, GIB, LifecycleRule, Workload

ONE_GB_PER_MONTH = GIB / 10_000  # bytes per session so that 10,000 sessions = 1 GB


def line(est, destination: str, name_part: str):
    matches = [ln for ln in est.get(destination).lines if name_part in ln.name]
    assert len(matches) == 1, [ln.name for ln in est.get(destination).lines]
    return matches[0]


def cost(est, destination: str, name_part: str, month: int = -1) -> float:
    return float(line(est, destination, name_part).cost[month])


@pytest.fixture
def w(plain_workload) -> Workload:
    """us-east-1, 10,000 sessions of 1/10,000 GB = 1 GB of transcripts a month, no extras."""
    return dataclasses.replace(
        plain_workload, sessions_per_month=10_000, session_bytes=ONE_GB_PER_MONTH
    )


class TestCloudWatch:
    def test_ingestion(self, w):
        est = estimate(dataclasses.replace(w, cloudwatch_overhead_ratio=2.0))
        # 1 GB of transcripts × 2.0 JSON overhead = 2 GB × 0.50 USD
        assert cost(est, "cloudwatch", "ingestion") == pytest.approx(1.00)
        # Infrequent Access: 2 GB × 0.25
        assert cost(est, "cloudwatch-ia", "ingestion") == pytest.approx(0.50)

    def test_streaming_off_sends_plain_text(self, w):
        est = estimate(dataclasses.replace(w, cloudwatch_overhead_ratio=2.0, streaming=False))
        assert cost(est, "cloudwatch", "ingestion") == pytest.approx(0.50)  # 1 GB × 0.50

    def test_storage_steady_state(self, w):
        est = estimate(dataclasses.replace(w, retention_days=30, compression_ratio=0.15))
        # stock = 2 GB/month × (30 / 30.4167) months × 0.15 compressed = 0.29589 GB × 0.03
        expected = 2 * (30 / DAYS_PER_MONTH) * 0.15 * 0.03
        assert cost(est, "cloudwatch", "archive storage") == pytest.approx(expected)
        # first month fills up: mean of min(t, 30 d) over the month
        r = 30 / DAYS_PER_MONTH
        first = 2 * (r * r / 2 + r * (1 - r)) * 0.15 * 0.03
        assert cost(est, "cloudwatch", "archive storage", month=0) == pytest.approx(first)

    def test_insights_scans_the_search_window(self, w):
        wl = dataclasses.replace(w, retention_days=30, searches_per_month=4, search_window_days=7)
        est = estimate(wl)
        # 4 searches × 2 GB/month × 7/30.4167 months in the window × 0.005 USD/GB
        expected = 4 * 2 * (7 / DAYS_PER_MONTH) * 0.005
        assert cost(est, "cloudwatch", "Insights") == pytest.approx(expected)

    def test_window_longer_than_retention_is_capped(self, w):
        wl = dataclasses.replace(w, retention_days=7, searches_per_month=1, search_window_days=90)
        est = estimate(wl)
        assert cost(est, "cloudwatch", "Insights") == pytest.approx(2 * 7 / DAYS_PER_MONTH * 0.005)

    def test_alerting_only_on_standard(self, w):
        est = estimate(dataclasses.replace(w, metric_filters=2, alarms=3))
        assert cost(est, "cloudwatch", "Metric filters") == pytest.approx(0.60)
        assert cost(est, "cloudwatch", "Alarms") == pytest.approx(0.30)
        assert not [ln for ln in est.get("cloudwatch-ia").lines if ln.category == "alerting"]

    def test_kms_and_logs_endpoint(self, w):
        est = estimate(dataclasses.replace(w, kms=True, vpc_endpoints=True, availability_zones=2))
        assert cost(est, "cloudwatch", "KMS key") == 1.00
        assert cost(est, "cloudwatch", "KMS requests") == pytest.approx(8640 * 0.03 / 10_000)
        # the logs endpoint: 2 AZ × 730 h × 0.01 USD, plus 2 GB processed × 0.01
        assert cost(est, "cloudwatch", "logs interface endpoint") == pytest.approx(14.60)
        assert cost(est, "cloudwatch", "data processed") == pytest.approx(0.02)
        # baseline: (ssm, ssmmessages, ec2messages) 3 × 2 × 730 × 0.01 + kms endpoint 14.60
        assert est.baseline.steady_state_monthly_usd == pytest.approx(43.80 + 14.60)

    def test_switches_off_remove_lines(self, w):
        est = estimate(w)
        names = [ln.name for ln in est.get("cloudwatch").lines]
        assert not [n for n in names if "KMS" in n or "endpoint" in n]
        assert est.baseline.lines == []


class TestS3:
    def test_storage_grows_until_retention_then_flattens(self, w):
        est = estimate(dataclasses.replace(w, retention_days=365))
        storage = line(est, "s3", "S3 storage (STANDARD)").quantity
        # 1 GB a month, kept 12 months: mean stock m - 0.5 GB in month m ≤ 12, then 12 GB
        expected = [m - 0.5 for m in range(1, 13)] + [12.0] * 24
        np.testing.assert_allclose(storage, expected, rtol=1e-9)
        assert cost(est, "s3", "S3 storage (STANDARD)") == pytest.approx(12 * 0.023)
        assert cost(est, "s3", "PUT") == pytest.approx(10_000 * 0.005 / 1000)
        assert est.get("s3").steady_state_monthly_usd == pytest.approx(0.276 + 0.05)

    def test_growth_compounds(self, w):
        est = estimate(dataclasses.replace(w, growth_pct_per_month=10, horizon_months=12))
        puts = line(est, "s3", "PUT").quantity
        np.testing.assert_allclose(puts, 10_000 * 1.1 ** np.arange(12))
        ingest = line(est, "cloudwatch", "ingestion").cost
        assert ingest[-1] / ingest[0] == pytest.approx(1.1**11)

    def test_athena_scans_the_whole_prefix(self, w):
        est = estimate(dataclasses.replace(w, retention_days=365, searches_per_month=4))
        # steady stock 12 GB = 120,000 objects; each search scans all 12 GB = 12/1024 TB
        assert cost(est, "s3", "Athena searches") == pytest.approx(4 * 12 / 1024 * 5.00)
        assert cost(est, "s3", "GET requests") == pytest.approx(4 * 120_000 * 0.0004 / 1000)
        assert cost(est, "s3", "LIST") == pytest.approx(4 * 120 * 0.005 / 1000)

    def test_athena_ten_megabyte_minimum(self, w):
        wl = dataclasses.replace(
            w, sessions_per_month=100, session_bytes=1000, searches_per_month=1
        )
        est = estimate(wl)
        assert cost(est, "s3", "Athena searches") == pytest.approx(10 / 2**20 * 5.00)

    def test_no_searches_no_search_cost(self, w):
        est = estimate(dataclasses.replace(w, searches_per_month=0))
        assert sum(ln.cost.sum() for ln in est.get("s3").lines if ln.category == "query") == 0
        assert cost(est, "s3", "GET requests") == 0

    def test_lifecycle_moves_large_objects(self, w):
        wl = dataclasses.replace(
            w,
            session_bytes=262_144,
            retention_days=365,
            s3_lifecycle=(LifecycleRule(90, "GLACIER_IR"),),
        )
        est = estimate(wl)
        gb_per_month = 10_000 * 262_144 / GIB
        assert line(est, "s3", "S3 storage (STANDARD)").quantity[-1] == pytest.approx(
            gb_per_month * 90 / DAYS_PER_MONTH
        )
        assert line(est, "s3", "S3 storage (GLACIER_IR)").quantity[-1] == pytest.approx(
            gb_per_month * 275 / DAYS_PER_MONTH
        )
        # every object transitions once: 10,000 a month × 0.02 USD per 1,000
        assert cost(est, "s3", "transitions to GLACIER_IR") == pytest.approx(0.20)
        assert not [n for n in est.notes if "do nothing" in n]

    def test_small_objects_are_not_transitioned(self, w):
        wl = dataclasses.replace(
            w, session_bytes=60_000, s3_lifecycle=(LifecycleRule(30, "GLACIER_IR"),)
        )
        est = estimate(wl)
        names = [ln.name for ln in est.get("s3").lines]
        assert not [n for n in names if "GLACIER_IR" in n]
        assert any("do nothing" in n for n in est.notes)

    def test_minimum_billable_size(self, w):
        wl = dataclasses.replace(
            w,
            session_bytes=65_536,
            retention_days=365,
            s3_transition_min_object_bytes=0,
            s3_lifecycle=(LifecycleRule(30, "STANDARD_IA"),),
        )
        est = estimate(wl)
        objects = 10_000 * (365 - 30) / DAYS_PER_MONTH
        # billed at 128 KiB, not 64 KiB
        assert line(est, "s3", "S3 storage (STANDARD_IA)").quantity[-1] == pytest.approx(
            objects * 131_072 / GIB
        )

    def test_minimum_duration_and_archive_overhead(self, w):
        wl = dataclasses.replace(
            w,
            session_bytes=262_144,
            retention_days=365,
            s3_lifecycle=(LifecycleRule(300, "DEEP_ARCHIVE"),),
        )
        est = estimate(wl)
        # 65 days in Deep Archive, billed for 180: objects × 180 days, each +32 KB
        billed_objects = 10_000 * 180 / DAYS_PER_MONTH
        assert line(est, "s3", "S3 storage (DEEP_ARCHIVE)").quantity[-1] == pytest.approx(
            billed_objects * (262_144 + 32_768) / GIB
        )
        assert line(est, "s3", "archive index").quantity[-1] == pytest.approx(
            billed_objects * 8192 / GIB
        )
        # Athena cannot read Deep Archive: it scans only the 300 days left in STANDARD
        wl2 = dataclasses.replace(wl, searches_per_month=1)
        scanned = line(estimate(wl2), "s3", "Athena searches").quantity[-1]
        standard_bytes = 10_000 * 300 / DAYS_PER_MONTH * 262_144
        assert scanned == pytest.approx(np.ceil(standard_bytes / 2**20) / 2**20)

    def test_sse_kms_requests_without_bucket_key(self, w):
        est = estimate(dataclasses.replace(w, kms=True, s3_bucket_key=False))
        assert cost(est, "s3", "KMS requests") == pytest.approx(10_000 * 0.03 / 10_000)
        est_bk = estimate(dataclasses.replace(w, kms=True, s3_bucket_key=True))
        assert not [ln for ln in est_bk.get("s3").lines if "KMS requests" in ln.name]


class TestBoth:
    def test_both_is_cloudwatch_plus_s3_storage_without_athena(self, w):
        wl = dataclasses.replace(w, kms=True, searches_per_month=5)
        est = estimate(wl)
        both = est.get("both")
        cw = est.get("cloudwatch").steady_state_monthly_usd
        s3_store = sum(
            float(ln.cost[-1])
            for ln in est.get("s3").lines
            if "Athena" not in ln.name and ln.category != "query"
        )
        assert both.steady_state_monthly_usd == pytest.approx(cw + s3_store)
        assert sum(1 for ln in both.lines if ln.name.startswith("KMS key")) == 2


class TestWorkedExamples:
    """reference/pricing.md E1, E5, E7: AWS's own figures, to the cent."""

    def test_e1_cloudwatch_with_free_tier(self, plain_workload):
        # 30 GB ingested a month, archived at 20 %; retention 30 days keeps ~6 GB in stock
        wl = dataclasses.replace(
            plain_workload, monthly_ingest_gb=30, compression_ratio=0.2, retention_days=30,
            free_tier=True,
        )  # fmt: skip
        cw = estimate(wl, destinations=["cloudwatch"]).get("cloudwatch")
        assert round(cw.category_usd()["ingestion"], 2) == 12.50  # (30 - 5) × 0.50
        assert round(cw.steady_state_monthly_usd, 2) == 12.53  # + (≈5.92 - 5) × 0.03

    def test_e5_tokyo_storage_100_gb(self, plain_workload):
        # retention 30 days, ingest sized so that the stock is exactly 100 GB
        wl = dataclasses.replace(
            plain_workload, region="ap-northeast-1", retention_days=30, compression_ratio=0.15,
            monthly_ingest_gb=100 * DAYS_PER_MONTH / 30, cloudwatch_overhead_ratio=1.0,
            sessions_per_month=10_000, session_bytes=100 * DAYS_PER_MONTH / 30 * GIB / 10_000,
        )  # fmt: skip
        est = estimate(wl)
        assert round(cost(est, "cloudwatch", "archive storage"), 3) == 0.495  # 15 GB × 0.033
        assert round(cost(est, "s3", "S3 storage (STANDARD)"), 2) == 2.50  # 100 GB × 0.025

    def test_e7_athena_3_tb(self, plain_workload):
        wl = dataclasses.replace(
            plain_workload, retention_days=30, searches_per_month=1, sessions_per_month=10_000,
            session_bytes=3 * 2**40 * DAYS_PER_MONTH / 30 / 10_000,
        )  # fmt: skip
        assert round(cost(estimate(wl), "s3", "Athena searches"), 2) == 15.00


class TestDefaultWorkload:
    def test_known_verdict_s3_cheapest(self):
        from costcompare.workload import load_profile

        est = estimate(load_profile())
        ranked = [d.name for d in est.by_cost()]
        assert ranked[0] == "s3"
        s3 = est.get("s3").steady_state_monthly_usd
        cw = est.get("cloudwatch").steady_state_monthly_usd
        assert cw > 5 * s3  # the logs endpoint alone is 3 AZ × 10.22 USD
        assert cost(est, "cloudwatch", "logs interface endpoint") == pytest.approx(3 * 730 * 0.014)


class TestGrid:
    def test_grid_matches_single_estimates(self, w):
        spd = np.array([0.5, 1.0, 4.0])
        searches = np.array([0.0, 10.0, 100.0])
        base = dataclasses.replace(w, sessions_per_month=None, instances=100, kms=True)
        grid = WorkloadGrid.vary(
            base, sessions_per_instance_per_day=spd, searches_per_month=searches
        )
        result = evaluate_grid(grid, grid_book(base), list(DESTINATIONS.values()))
        for i in range(3):
            single = estimate(
                dataclasses.replace(
                    base, sessions_per_instance_per_day=float(spd[i]),
                    searches_per_month=float(searches[i]),
                )
            )  # fmt: skip
            for name in DESTINATIONS:
                np.testing.assert_allclose(
                    result.monthly(name)[i], single.get(name).monthly_usd, rtol=1e-12
                )

    def test_grid_rejects_invalid_values(self, w):
        with pytest.raises(WorkloadError, match="cannot be negative"):
            WorkloadGrid.vary(w, searches_per_month=[1, -1])
        with pytest.raises(WorkloadError, match="retention_days 100"):
            WorkloadGrid.vary(w, retention_days=[30, 100])
        with pytest.raises(WorkloadError, match="cannot vary"):
            WorkloadGrid.vary(w, region=[1])


def grid_book(workload):
    from costcompare.pricing import default_table

    return default_table().resolve(workload.region)


class TestErrors:
    def test_unknown_destination(self, w):
        with pytest.raises(WorkloadError, match="unknown destination 'glacier'"):
            estimate(w, destinations=["glacier"])

    def test_region_without_prices(self, w):
        with pytest.raises(PricingError, match="eu-west-1"):
            estimate(dataclasses.replace(w, region="eu-west-1"))

    def test_pricing_date_before_table(self, w):
        with pytest.raises(PricingError, match="earliest"):
            estimate(w, pricing_date=dt.date(2020, 1, 1))


class TestReviewFindings:
    """Cases a second reading found: each failed before its fix."""

    def test_both_pays_kms_only_for_uploads(self, w):
        est = estimate(dataclasses.replace(w, kms=True, s3_bucket_key=False, searches_per_month=4))
        both = [ln for ln in est.get("both").lines if ln.name.startswith("KMS requests (SSE")]
        assert len(both) == 1 and float(both[0].quantity[-1]) == 10_000  # one per PUT
        athena = next(ln for ln in est.get("s3").lines if "KMS requests by Athena" in ln.name)
        assert float(athena.quantity[-1]) == pytest.approx(4 * 10_000 * 365 / DAYS_PER_MONTH)
        assert athena.search_driven

    def test_free_tier_is_shared_by_lines_of_one_price(self, w):
        wl = dataclasses.replace(
            w, kms=True, s3_bucket_key=False, free_tier=True, sessions_per_month=20_000
        )
        both = estimate(wl, destinations=["both"]).get("both")
        kms = [ln for ln in both.lines if ln.price_key == "kms.requests"]
        # CloudWatch 8,640 + S3 20,000 PUTs = 28,640 requests, 20,000 of them free, once
        total = sum(float(ln.cost[-1]) for ln in kms)
        assert total == pytest.approx((28_640 - 20_000) * 0.03 / 10_000)

    def test_tiers_apply_to_the_sum_of_lines_sharing_a_price(self, w):
        wl = dataclasses.replace(
            w, sessions_per_month=1e8, session_bytes=262_144, retention_days=3653,
            s3_lifecycle=(LifecycleRule(90, "GLACIER"),),
        )  # fmt: skip
        est = estimate(wl, destinations=["s3"])
        lines = [ln for ln in est.get("s3").lines if ln.price_key == "s3.storage.STANDARD"]
        assert len(lines) == 2  # Standard storage and the archive index
        quantity = sum(float(ln.quantity[-1]) for ln in lines)
        assert quantity > 51_200  # past the first tier
        price = lines[0].price
        assert sum(float(ln.cost[-1]) for ln in lines) == pytest.approx(float(price.cost(quantity)))

    def test_overflowing_inputs_are_an_input_error(self, w):
        with pytest.raises(WorkloadError, match="at most 100"):
            dataclasses.replace(w, growth_pct_per_month=1e6, horizon_months=240)
        # Validation keeps inputs finite; the engine's own guard still catches what slips past
        # it (a workload built around validation), as an input error rather than a NaN.
        runaway = dataclasses.replace(w, horizon_months=240)
        object.__setattr__(runaway, "growth_pct_per_month", 1e6)
        with pytest.raises(WorkloadError, match="overflows"):
            estimate(runaway)
