"""Price diff: what changed between two dates, and what it does to the workload's cost."""

from __future__ import annotations

import datetime as dt

import pytest
from pricelist_shapes import S3_EXCERPT, copy_bundled

from costcompare.destinations import all_price_keys
from costcompare.pricediff import diff_cost, diff_prices, first_complete_date
from costcompare.pricelist import refresh
from costcompare.pricing import PriceTable
from costcompare.workload import load_profile


class TestDiff:
    def test_changed_prices_and_cost_effect(self, tmp_path):
        target = copy_bundled(tmp_path)
        refresh(["ap-northeast-1"], pricing_file=target, offer_files=[S3_EXCERPT])
        table = PriceTable.load(target)
        old = table.resolve("ap-northeast-1", dt.date(2026, 8, 1))
        new = table.resolve("ap-northeast-1", dt.date(2027, 2, 1))
        changes = {c.price_key: c for c in diff_prices(old, new)}
        assert set(changes) == {"s3.storage.STANDARD"}
        assert changes["s3.storage.STANDARD"].first_rate_change_pct == pytest.approx(4.0)
        costs = {
            c.destination: c
            for c in diff_cost(table, load_profile(), dt.date(2026, 8, 1), dt.date(2027, 2, 1))
        }
        assert costs["s3"].monthly_delta_usd > 0
        assert costs["cloudwatch"].monthly_delta_usd == 0

    def test_first_complete_date(self, table):
        keys = all_price_keys()
        assert first_complete_date(table, "ap-northeast-1", keys) == dt.date(2026, 7, 1)
        assert first_complete_date(table, "ap-northeast-1", ["nope"]) is None
