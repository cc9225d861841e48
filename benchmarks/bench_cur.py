"""The bill on DuckDB: `reconcile`'s CUR 2.0 query over N line items (default 10 million).

    python benchmarks/bench_cur.py [--rows 10000000] [--keep DIR] [--partitioned]

Writes a CUR 2.0 export of N line items (CUR 2.0 column names, 40 usage types of 6 services,
50 accounts, two months, a resource_tags map) as Parquet files of 1 M rows under /tmp, then
runs ``read_bill_duckdb`` in a fresh process and prints its wall and CPU seconds and peak memory
(VmHWM). Goals: under 10 s and under 500 MB. Floor: DuckDB summing the cost column alone.
``--partitioned`` lays the files out as Data Exports does (``BILLING_PERIOD=YYYY-MM/`` folders,
one month each): the query's ``billing_period`` predicate then opens only October's files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import peak_rss_mb

CHUNK = 1_000_000
SERVICES = ("AmazonCloudWatch", "AmazonS3", "awskms", "AmazonVPC", "AmazonAthena", "AmazonEC2")
USAGE = [f"APN1-Usage-{i}" for i in range(40)]


def write(folder: Path, rows: int, partitioned: bool = False) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    tags = pa.array([[("user_costcompare_managed", "true")], []], pa.map_(pa.string(), pa.string()))
    for part, first in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - first)
        month = rng.integers(0, 2, n)
        periods = np.where(month == 0, np.datetime64("2026-10-01"), np.datetime64("2026-09-01"))
        table = pa.table(
            {
                "bill_billing_period_start_date": pa.array(periods.astype("datetime64[ms]")),
                "line_item_line_item_type": pa.array(
                    np.where(rng.random(n) < 0.98, "Usage", "Tax")
                ),
                "line_item_product_code": pa.array(np.array(SERVICES)[rng.integers(0, 6, n)]),
                "line_item_usage_type": pa.array(np.array(USAGE)[rng.integers(0, 40, n)]),
                "line_item_usage_amount": pa.array(rng.random(n) * 10),
                "line_item_unblended_cost": pa.array(rng.random(n)),
                "line_item_usage_account_id": pa.array(
                    np.char.add("1000000000", rng.integers(10, 60, n).astype(str))
                ),
                "line_item_resource_id": pa.array(
                    np.char.add("res-", rng.integers(0, 9999, n).astype(str))
                ),
                "product_region_code": pa.array(
                    np.where(rng.random(n) < 0.8, "ap-northeast-1", "us-east-1")
                ),
                "resource_tags": tags.take(pa.array(rng.integers(0, 2, n))),
            }
        )
        name = f"part-{part:05d}.snappy.parquet"
        if not partitioned:
            pq.write_table(table, folder / name, compression="snappy")
            continue
        for code, period in ((0, "2026-10"), (1, "2026-09")):
            (folder / f"BILLING_PERIOD={period}").mkdir(exist_ok=True)
            subset = table.filter(pa.array(month == code))
            pq.write_table(subset, folder / f"BILLING_PERIOD={period}" / name, compression="snappy")


def child(kind: str, folder: str) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "floor":
        import duckdb

        glob = str(Path(folder) / "**" / "*.parquet")
        rows = duckdb.sql(
            f"SELECT SUM(line_item_unblended_cost) FROM read_parquet('{glob}')"
        ).fetchall()
        out = {"groups": len(rows)}
    else:
        from costcompare.bill import BillFilter, read_bill_duckdb

        where = BillFilter(
            dt.date(2026, 10, 1), "ap-northeast-1", (), "user_costcompare_managed", "true"
        )
        out = {"groups": len(read_bill_duckdb(Path(folder), where))}
    out.update(seconds=time.perf_counter() - start, cpu=time.process_time() - cpu, mb=peak_rss_mb())
    print(json.dumps(out))


def run(kind: str, folder: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(folder)],
                          check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--partitioned", action="store_true")
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-cur-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not any(folder.rglob("*.parquet")):
            started = time.perf_counter()
            write(folder, args.rows, args.partitioned)
            print(f"wrote {args.rows:,} line items in {time.perf_counter() - started:.1f} s")
        size = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 1e6
        floor, bill = run("floor", folder), run("bill", folder)
        print(f"CUR 2.0 Parquet: {args.rows:,} line items, {size:,.0f} MB")
        print(f"floor (DuckDB SUM of one column): {floor['seconds']:.2f} s, {floor['mb']:.0f} MB")
        print(
            f"reconcile's bill query: {bill['seconds']:.2f} s wall, {bill['cpu']:.2f} s CPU, "
            f"{bill['mb']:.0f} MB peak, {bill['groups']} usage types (goals: < 10 s, < 500 MB)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
