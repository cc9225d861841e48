"""Speed and memory of `costcompare measure`, each next to its floor measured in the same run.

    python benchmarks/bench_measure.py [--gb 1.0] [--small-mb 128] [--large-mb 256]
                                       [--rows 10000000] [--objects 5000] [--keep DIR]

1. ``measure --path`` on generated transcripts (the committed recordings played back): 1 GiB
   of many small files, 128 MiB of them, and four large files. Floor: ``cat`` of the same files
   to /dev/null, just before. The files were just written, so both read a warm page cache:
   this measures the tool, not the disk. CPU seconds are printed too: on a shared machine they
   vary less than wall time. Every ratio (streamed JSON, gzip of the stream and of the
   transcripts, ANSI share) must be present.
2. S3 Inventory of N rows, CSV.gz and Parquet: ``bench_inventory.py`` (floors: DuckDB alone
   and pyarrow alone on the same files), run from here too.
3. API calls per 1,000 S3 objects (moto), and for a CloudWatch log group.
Each measurement runs in its own process, so one's memory does not hide in another's; peak
memory is that process's high-water mark (VmHWM). Data is generated under /tmp and deleted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import machine_line, peak_rss_mb, run_child

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the session corpus generator is test data
sys.path.insert(0, str(ROOT / "benchmarks"))
MB = 1e6
RATIOS = ("overhead_ratio", "compression_ratio", "transcript_compression_ratio", "ansi_share")


def _child(kind: str, target: str) -> None:
    """Run one measurement (or its floor) and print seconds, bytes and peak RSS as JSON."""
    start, cpu = time.perf_counter(), time.process_time()
    out: dict = {}
    if kind == "local":
        from costcompare.measure import measure_local

        m = measure_local(target, days=30)
        out = {"bytes": m.sizes["total_bytes"], "sessions": m.sessions}
        out["missing"] = [r for r in RATIOS if getattr(m, r) is None]
        out["sample"] = m.overhead_sample_bytes
        out["noise"] = m.noise_scanned_bytes
    out["seconds"] = time.perf_counter() - start
    out["cpu"] = time.process_time() - cpu
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out))


def _cat_seconds(folder: Path) -> float:
    """``cat`` of every file under ``folder`` to /dev/null: the floor for reading them."""
    start = time.perf_counter()
    subprocess.run(
        f"find {folder} -type f -print0 | xargs -0 cat > /dev/null", shell=True, check=True
    )
    return time.perf_counter() - start


def bench_local(name: str, folder: Path) -> None:
    cat = _cat_seconds(folder)
    r = run_child(__file__, "local", folder)
    size = r["bytes"]
    rate, floor = size / MB / r["seconds"], size / MB / cat
    ratios = "every ratio present" if not r["missing"] else f"MISSING {', '.join(r['missing'])}"
    print(
        f"measure --path, {name}: {r['sessions']:,} files, {size / 2**20:,.0f} MiB in "
        f"{r['seconds']:.2f} s = {rate:,.0f} MB/s; cat {cat:.2f} s = {floor:,.0f} MB/s; "
        f"{r['seconds'] / cat:.2f}x cat; CPU {r['cpu']:.2f} s = {size / MB / r['cpu']:,.0f} MB "
        f"per CPU-second; peak RSS {r['rss_mb']:,.0f} MB; {ratios} "
        f"(stream sample {r['sample'] / 2**20:.1f} MiB, noise {r['noise'] / 2**20:.1f} MiB)"
    )


def write_large(folder: Path, files: int, each: int) -> None:
    """``files`` transcripts of ``each`` bytes, the recordings played back to back."""
    from session_corpus import recordings

    block = b"".join(r.transcript for r in recordings())
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        with (folder / f"bench-{n:017x}.log").open("wb") as fh:
            for _ in range(each // len(block) + 1):
                fh.write(block)


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
        m = measure_cloudwatch("/bench", AwsOptions(region=region), days=7, sample=20, now=now)
        print(
            f"CloudWatch 200 sessions, sample 20: {dict(m.api_calls)} "
            "(GetMetricData stays 1 whatever the volume)"
        )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="many small files: GiB")
    parser.add_argument("--small-mb", type=int, default=128, help="many small files: MiB")
    parser.add_argument("--large-mb", type=int, default=256, help="four large files: MiB each")
    parser.add_argument("--rows", type=int, default=10_000_000, help="inventory rows")
    parser.add_argument("--objects", type=int, default=5000, help="S3 objects (moto)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-measure-", dir="/tmp"))
    from session_corpus import write_bulk

    print(machine_line())
    try:
        for name, size in (
            ("many small files", args.gb * 2**30),
            ("small corpus", args.small_mb * 2**20),
        ):
            folder = work / name.replace(" ", "-")
            write_bulk(folder, int(size), seed=len(name))
            bench_local(name, folder)
            shutil.rmtree(folder, ignore_errors=True)
        write_large(work / "large", 4, args.large_mb << 20)
        bench_local(f"four {args.large_mb} MiB files", work / "large")
        shutil.rmtree(work / "large", ignore_errors=True)
        from bench_inventory import bench_inventory

        bench_inventory(work / "inventory", args.rows)
        bench_api_calls(args.objects)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
