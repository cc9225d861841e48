"""Speed and scale of `costcompare measure`: prints the figures quoted in the issue note.

    python benchmarks/bench_measure.py [--gb 1.0] [--rows 1000000] [--objects 5000] [--keep DIR]

1. Local throughput on >= 1 GB of generated transcripts (the committed recordings played back),
   read in a fresh process; peak memory is that process's max RSS. The files were just
   written, so this is a warm page cache: it measures the tool, not the disk.
2. S3 Inventory of N rows (CSV.gz, and Parquet when pyarrow is installed): time and peak RSS.
3. API calls per 1,000 S3 objects (moto), and for a CloudWatch log group.
Each measurement runs in its own process so one's memory does not hide in another's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the session corpus generator is test data


def _child(kind: str, target: str) -> None:
    """Run one measurement and print seconds, bytes and peak RSS as JSON."""
    from costcompare.measure import measure_inventory, measure_local

    start = time.perf_counter()
    if kind == "local":
        m = measure_local(target)
        size = m.sizes["total_bytes"]
    else:
        m = measure_inventory(target)
        size = os.path.getsize(target) if os.path.isfile(target) else 0
    seconds = time.perf_counter() - start
    rss = _peak_rss_mb()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "sessions": m.sessions,
                "bytes": size,
                "rss_mb": rss,
                "compression_sample": m.overhead_sample_bytes,
            }
        )
    )


def _peak_rss_mb() -> float:
    """VmHWM: this process's peak RSS. (ru_maxrss would include the parent's peak: Linux keeps
    it across fork and exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _run(kind: str, target: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, str(target)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def _baseline_rss() -> float:
    """Peak RSS of a process that only imports what a measurement imports."""
    code = (
        "import numpy, pandas, costcompare.measure.local, costcompare.measure.inventory;"
        "from benchmarks.bench_measure import _peak_rss_mb; print(_peak_rss_mb())"
    )
    return float(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
        ).stdout
    )


def bench_local(folder: Path, gb: float) -> None:
    from session_corpus import write_bulk

    t = time.perf_counter()
    files, written = write_bulk(folder, int(gb * 2**30))
    print(
        f"generated {files:,} transcripts, {written / 2**20:,.0f} MiB "
        f"in {time.perf_counter() - t:.1f} s"
    )
    r = _run("local", folder)
    mbps = r["bytes"] / 2**20 / r["seconds"]
    print(
        f"local: {r['sessions']:,} sessions, {r['bytes'] / 2**20:,.0f} MiB in "
        f"{r['seconds']:.2f} s = {mbps:,.0f} MiB/s; gzip+stream sample "
        f"{r['compression_sample'] / 2**20:,.0f} MiB; peak RSS {r['rss_mb']:,.0f} MiB"
    )


def _inventory_rows(folder: Path, rows: int, parquet: bool) -> Path:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    sizes = rng.lognormal(10.5, 1.2, rows).astype(np.int64) + 1
    start = np.datetime64("2025-01-01T00:00:00")
    stamps = start + rng.integers(0, 90 * 86400, rows).astype("timedelta64[s]")
    keys = [f"sessions/user{i % 97}-{i:017x}.log" for i in range(rows)]
    frame = pd.DataFrame(
        {
            "bucket": "src",
            "key": keys,
            "size": sizes,
            "last_modified_date": pd.to_datetime(stamps, utc=True),
        }
    )
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    if parquet:
        frame.to_parquet(data / "part.parquet", index=False)
        files = [{"key": "data/part.parquet", "size": (data / "part.parquet").stat().st_size}]
        fmt, schema = "Parquet", "message s3.inventory {}"
    else:
        frame["last_modified_date"] = frame["last_modified_date"].dt.strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        )
        with gzip.open(data / "part.csv.gz", "wt", compresslevel=1) as fh:
            frame.to_csv(fh, header=False, index=False)
        files = [{"key": "data/part.csv.gz", "size": (data / "part.csv.gz").stat().st_size}]
        fmt, schema = "CSV", "Bucket, Key, Size, LastModifiedDate"
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"fileFormat": fmt, "fileSchema": schema, "files": files}))
    return manifest


def bench_inventory(folder: Path, rows: int) -> None:
    formats = [False]
    try:
        import pyarrow  # noqa: F401

        formats.append(True)
    except ImportError:
        print("inventory Parquet: skipped (pyarrow is not installed)")
    for parquet in formats:
        sub = folder / ("parquet" if parquet else "csv")
        manifest = _inventory_rows(sub, rows, parquet)
        r = _run("inventory", manifest)
        name = "Parquet" if parquet else "CSV.gz"
        print(
            f"inventory {name}: {r['sessions']:,} rows in {r['seconds']:.2f} s; "
            f"peak RSS {r['rss_mb']:,.0f} MiB"
        )


def bench_api_calls(objects: int) -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    import boto3
    from moto import mock_aws
    from session_corpus import build_corpus, load_cloudwatch

    from costcompare.measure import AwsOptions, measure_cloudwatch, measure_s3

    region = "ap-northeast-1"
    with mock_aws():
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(
            Bucket="bench-ssm", CreateBucketConfiguration={"LocationConstraint": region}
        )
        for i in range(objects):
            s3.put_object(Bucket="bench-ssm", Key=f"s/u-{i:017x}.log", Body=b"$ ls\r\n" * 50)
        for sample in (0, 50):
            aws = AwsOptions(region=region)
            m = measure_s3("s3://bench-ssm/s/", aws, sample=sample)
            calls = sum(m.api_calls.values())
            print(
                f"S3 {objects:,} objects, sample {sample}: {dict(m.api_calls)} = "
                f"{calls * 1000 / objects:.1f} calls per 1,000 objects"
            )
        now = dt.datetime.now(dt.UTC)
        corpus = build_corpus(200, start=now - dt.timedelta(days=5), days=5, max_scenes=1)
        load_cloudwatch(
            boto3.client("logs", region_name=region),
            boto3.client("cloudwatch", region_name=region),
            "/bench",
            corpus,
        )
        aws = AwsOptions(region=region)
        m = measure_cloudwatch("/bench", aws, days=7, sample=20, now=now)
        print(
            f"CloudWatch 200 sessions, sample 20: {dict(m.api_calls)} "
            "(GetMetricData stays 1 whatever the volume)"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-measure-"))
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"baseline RSS after imports {_baseline_rss():,.0f} MiB"
    )
    try:
        bench_local(work / "transcripts", args.gb)
        bench_inventory(work / "inventory", args.rows)
        bench_api_calls(args.objects)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
