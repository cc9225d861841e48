"""The bill side of reconcile: the CUR 2.0 query on DuckDB over the committed fixture month."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from costcompare.bill import (
    BillError,
    BillFilter,
    bill_query,
    is_partitioned,
    parse_month,
    parse_tag,
    read_bill_duckdb,
)
from tests import make_cur_fixture as cur


def expected(**only) -> dict[tuple[str, str], tuple[float, float]]:
    """(service, usage type) → (amount, cost) summed from the generator's rows."""
    tagged = only.pop("tagged", False)
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for row in cur.fixture_lines():
        if cur.in_month(row, tagged=tagged) and all(row[k] == v for k, v in only.items()):
            key = (row["line_item_product_code"], row["line_item_usage_type"])
            totals[key][0] += row["line_item_usage_amount"]
            totals[key][1] += row["line_item_unblended_cost"]
    return {k: (a, c) for k, (a, c) in totals.items()}


def billed(where: BillFilter) -> dict[tuple[str, str], tuple[float, float]]:
    return {
        (b.service, b.usage_type): (b.usage_amount, b.unblended_cost)
        for b in read_bill_duckdb(cur.FIXTURE, where)
    }


def test_committed_fixture_is_what_the_generator_writes(tmp_path: Path):
    written = cur.write(tmp_path)
    for path in written:
        committed = cur.FIXTURE / path.relative_to(tmp_path)
        assert pq.read_table(committed).equals(pq.read_table(path)), committed


def test_the_month_of_the_tagged_account_to_the_cent():
    where = BillFilter(cur.MONTH, cur.REGION, (cur.ACCOUNT,), cur.TAG_KEY, "true")
    got = billed(where)
    want = expected(tagged=True, line_item_usage_account_id=cur.ACCOUNT)
    assert got.keys() == want.keys()
    for key, (amount, cost) in want.items():
        assert round(got[key][1], 2) == round(cost, 2), key
        assert got[key][0] == pytest.approx(amount, rel=1e-9), key
    # Both services bill a TimedStorage-ByteHrs: they stay apart.
    assert ("AmazonS3", "APN1-TimedStorage-ByteHrs") in got
    assert ("AmazonCloudWatch", "APN1-TimedStorage-ByteHrs") in got


def test_without_filters_every_account_counts_but_not_tax_other_months_regions_or_services():
    got = billed(BillFilter(cur.MONTH, cur.REGION))
    want = expected()
    ingest = ("AmazonCloudWatch", "APN1-DataProcessing-Bytes")
    assert round(got[ingest][1], 2) == round(want[ingest][1], 2)
    tagged = expected(tagged=True)[ingest][1]
    assert got[ingest][1] > tagged + 1  # the untagged account's line is in
    assert not any(service == "AmazonEC2" for service, _ in got)
    assert not any(usage == "DataProcessing-Bytes" for _, usage in got)  # us-east-1's


def test_another_month_reads_only_its_own_lines():
    got = billed(BillFilter(parse_month("2026-09"), cur.REGION))
    assert list(got) == [("AmazonCloudWatch", "APN1-DataProcessing-Bytes")]


def test_the_query_is_plain_sql_both_engines_read():
    where = BillFilter(cur.MONTH, cur.REGION, (cur.ACCOUNT,), cur.TAG_KEY, "true")
    text = bill_query("cur_db.cur_table", where)
    assert "FROM cur_db.cur_table" in text
    assert "TIMESTAMP '2026-10-01 00:00:00'" in text
    assert "contains(map_keys(resource_tags), 'user_costcompare_managed')" in text
    assert "read_parquet" not in text


@pytest.mark.parametrize("text", ["2026-13", "Oct 2026", "2026-1", ""])
def test_months_are_yyyy_mm(text):
    with pytest.raises(BillError, match="YYYY-MM"):
        parse_month(text)


@pytest.mark.parametrize("text", ["novalue", "=x", "k=x'y", "bad key=x"])
def test_tags_that_cannot_go_into_sql_are_refused(text):
    with pytest.raises(BillError, match="KEY=VALUE"):
        parse_tag(text)


OCTOBER = cur.FIXTURE / "data" / "BILLING_PERIOD=2026-10"


def test_the_query_names_the_exports_partition_first():
    text = bill_query("cur_db.cur_table", BillFilter(cur.MONTH, cur.REGION))
    assert text.split("WHERE ", 1)[1].startswith("billing_period = '2026-10'\n")


def test_only_the_asked_months_folder_is_read(tmp_path: Path):
    """The partition, not only the start date, selects the rows: a September folder holding a
    copy of October's lines (which the date filter alone would count twice) is not read."""
    (tmp_path / "BILLING_PERIOD=2026-10").mkdir()
    (tmp_path / "BILLING_PERIOD=2026-09").mkdir()
    for folder in ("BILLING_PERIOD=2026-10", "BILLING_PERIOD=2026-09"):
        shutil.copy(next(OCTOBER.glob("*.parquet")), tmp_path / folder / "part.parquet")
    assert is_partitioned(tmp_path)
    where = BillFilter(cur.MONTH, cur.REGION)
    got = read_bill_duckdb(tmp_path, where)
    assert got == read_bill_duckdb(cur.FIXTURE, where)
    assert sum(b.line_items for b in got) == sum(
        1 for r in cur.fixture_lines() if cur.in_month(r, tagged=False)
    )
    assert read_bill_duckdb(tmp_path, BillFilter(parse_month("2026-09"), cur.REGION)) == []


def test_a_single_file_or_flat_folder_gets_the_column_from_the_start_date(tmp_path: Path):
    where = BillFilter(cur.MONTH, cur.REGION)
    single = tmp_path / "october.parquet"
    shutil.copy(next(OCTOBER.glob("*.parquet")), single)
    flat = tmp_path / "flat"
    flat.mkdir()
    for month in ("2026-09", "2026-10"):
        folder = cur.FIXTURE / "data" / f"BILLING_PERIOD={month}"
        shutil.copy(next(folder.glob("*.parquet")), flat / f"{month}.parquet")
    assert not is_partitioned(single) and not is_partitioned(flat)
    assert read_bill_duckdb(single, where) == read_bill_duckdb(cur.FIXTURE, where)
    assert read_bill_duckdb(flat, where) == read_bill_duckdb(cur.FIXTURE, where)
    september = billed_in(flat, BillFilter(parse_month("2026-09"), cur.REGION))
    assert september == [("AmazonCloudWatch", "APN1-DataProcessing-Bytes")]


def test_a_file_inside_a_partition_folder_reads_its_partition():
    where = BillFilter(cur.MONTH, cur.REGION)
    file = next(OCTOBER.glob("*.parquet"))
    assert is_partitioned(file)
    assert read_bill_duckdb(file, where) == read_bill_duckdb(cur.FIXTURE, where)


def billed_in(path: Path, where: BillFilter) -> list[tuple[str, str]]:
    return [(b.service, b.usage_type) for b in read_bill_duckdb(path, where)]
