"""Speed and memory of `measure --s3-inventory` (SQL on DuckDB), next to two floors.

    python benchmarks/bench_inventory.py [--rows 10000000] [--keep DIR]

A report of N rows is generated in CSV.gz and in Parquet (as S3 writes them: one data file, a
manifest). Each format is then read three ways, each in its own process so one's memory does not
hide in another's (peak RSS is the process's VmHWM):
- ``measure``: ``measure_inventory`` — the summary query (and, at most 2 M sessions, the exact
  sizes of the quantiles' bins) on DuckDB with its memory limit;
- floor ``duckdb alone``: DuckDB, default settings, scanning the same columns once
  (count, sum of sizes, distinct days): what the engine costs before our query's work;
- floor ``pyarrow alone``: pyarrow reading the same columns in 100,000-row batches, typed as
  the former pyarrow reader did, summing the sizes.
The figure to keep under 300 MB is measure's peak RSS; CPU seconds are printed as well as wall
time (on a shared machine they vary less). Data is generated under /tmp and deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchutil import machine_line, peak_rss_mb, run_child

ROOT = Path(__file__).resolve().parents[1]
RSS_BOUND_MB = 300
COLUMNS = ["key", "size", "last_modified_date"]


def write_inventory(folder: Path, rows: int, parquet: bool) -> Path:
    """An inventory report of ``rows`` rows, written a million rows at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / ("part.parquet" if parquet else "part.csv.gz")
    start = np.datetime64("2025-01-01T00:00:00", "ms")
    writer = None
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(open(path, "wb"))
        sink = raw if parquet else stack.enter_context(gzip.open(raw, "wb", compresslevel=1))
        for first in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - first)
            stamps = start + rng.integers(0, 90 * 86400, n).astype("timedelta64[s]")
            table = pa.table(
                {
                    "bucket": pa.array(["src"] * n),
                    "key": pa.array(
                        [f"sessions/user{i % 97}-{i:017x}.log" for i in range(first, first + n)]
                    ),
                    "size": pa.array(rng.lognormal(10.5, 1.2, n).astype(np.int64) + 1),
                    "last_modified_date": pa.array(stamps, pa.timestamp("ms", "UTC")),
                }
            )
            if parquet:
                writer = writer or pq.ParquetWriter(sink, table.schema)
                writer.write_table(table)
            else:
                pcsv.write_csv(
                    table, sink, pcsv.WriteOptions(include_header=False, quoting_style="none")
                )
        if writer is not None:
            writer.close()
    fmt, schema = (
        ("Parquet", "message s3.inventory {}")
        if parquet
        else ("CSV", "Bucket, Key, Size, LastModifiedDate")
    )
    files = [{"key": f"data/{path.name}", "size": path.stat().st_size}]
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"fileFormat": fmt, "fileSchema": schema, "files": files}))
    return manifest


def _data_file(manifest: Path) -> Path:
    return manifest.parent / json.loads(manifest.read_text())["files"][0]["key"]


def _arrow_alone(manifest: Path) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    path, rows = _data_file(manifest), 0
    if path.suffix == ".parquet":
        batches = pq.ParquetFile(path).iter_batches(batch_size=100_000, columns=COLUMNS)
    else:
        types = [pa.string(), pa.int64(), pa.timestamp("ms", "UTC")]
        batches = pcsv.open_csv(
            pa.input_stream(str(path), compression="gzip"),
            read_options=pcsv.ReadOptions(column_names=["bucket", *COLUMNS]),
            convert_options=pcsv.ConvertOptions(
                include_columns=COLUMNS, column_types=dict(zip(COLUMNS, types, strict=True))
            ),
        )
    for batch in batches:
        rows += len(batch)
        pc.sum(batch.column(1))
    return rows


def _duckdb_alone(manifest: Path) -> int:
    import duckdb

    path = str(_data_file(manifest))
    if path.endswith(".parquet"):
        source = f"read_parquet('{path}')"
    else:
        columns = "{'bucket': 'VARCHAR', 'key': 'VARCHAR', 'size': 'BIGINT', "
        columns += "'last_modified_date': 'TIMESTAMP'}"
        source = f"read_csv('{path}', header = false, auto_detect = false, columns = {columns})"
    sql = (
        "SELECT COUNT(*), SUM(size), COUNT(DISTINCT CAST(last_modified_date AS DATE)), "
        f"MAX(length(key)) FROM {source}"
    )
    return int(duckdb.connect().execute(sql).fetchone()[0])


def _child(kind: str, manifest: Path) -> None:
    """Run one reader and print its rows, seconds, CPU seconds and peak RSS as JSON."""
    start, cpu = time.perf_counter(), time.process_time()
    if kind == "measure":
        sys.path.insert(0, str(ROOT))
        from costcompare.measure import measure_inventory

        m = measure_inventory(manifest)
        rows = m.sessions + m.ignored + sum(m.skipped.values())
    elif kind == "duckdb":
        rows = _duckdb_alone(manifest)
    else:
        rows = _arrow_alone(manifest)
    out = {"rows": rows, "seconds": time.perf_counter() - start}
    out |= {"cpu": time.process_time() - cpu, "rss_mb": peak_rss_mb()}
    print(json.dumps(out))


def bench_inventory(folder: Path, rows: int) -> None:
    """Generate both formats under ``folder`` and print one line per format."""
    for parquet in (False, True):
        name = "Parquet" if parquet else "CSV.gz"
        manifest = folder / name / "manifest.json"
        if not manifest.is_file():
            manifest = write_inventory(folder / name, rows, parquet)
        duck, arrow, r = (run_child(__file__, k, manifest) for k in ("duckdb", "arrow", "measure"))
        assert r["rows"] == duck["rows"] == arrow["rows"] == rows, (r, duck, arrow)
        bound = "under" if r["rss_mb"] < RSS_BOUND_MB else "OVER"
        print(
            f"inventory {name}, {rows:,} rows: measure {r['seconds']:.2f} s "
            f"(CPU {r['cpu']:.2f} s), peak RSS {r['rss_mb']:,.0f} MB ({bound} the "
            f"{RSS_BOUND_MB} MB bound); duckdb alone {duck['seconds']:.2f} s (CPU "
            f"{duck['cpu']:.2f} s), {duck['rss_mb']:,.0f} MB; pyarrow alone "
            f"{arrow['seconds']:.2f} s (CPU {arrow['cpu']:.2f} s), {arrow['rss_mb']:,.0f} MB; "
            f"CPU {r['cpu'] / duck['cpu']:.2f}x duckdb alone, "
            f"{r['cpu'] / arrow['cpu']:.2f}x pyarrow alone"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="inventory rows")
    parser.add_argument("--keep", type=Path, help="generate into this folder (reused) and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-inventory-", dir="/tmp"))
    print(machine_line())
    try:
        bench_inventory(work, args.rows)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
