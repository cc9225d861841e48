"""Speed of `costcompare search` on a local folder: prints MB/s over >= 1 GiB of transcripts.

    python benchmarks/bench_search.py [--gb 1.0] [--pattern sudo] [--keep DIR]

The transcripts are the bundled sample corpus (notebooks/data/sample-sessions/s3) copied under
fresh session ids until the folder holds --gb GiB, written under /tmp. They were just written,
so the page cache is warm: the figure measures the tool, not the disk. Each pattern is searched
in a fresh process (imports included in neither the time nor the bytes). The goal is >= 200 MB/s
(MB = 10^6 bytes) of wall time; MB per CPU-second is printed too, since on shared cores the wall
time grows with other work while the CPU time does not.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "notebooks" / "data" / "sample-sessions" / "s3"
GOAL_MB_S = 200.0


def make_corpus(folder: Path, gib: float) -> int:
    """Copies of the sample transcripts under new ids, 1,000 to a sub-folder; returns bytes."""
    samples = [p.read_bytes() for p in sorted(SAMPLE.glob("*.log"))]
    users = [p.name.rsplit("-", 1)[0] for p in sorted(SAMPLE.glob("*.log"))]
    target = int(gib * 2**30)
    total = n = 0
    while total < target:
        data = samples[n % len(samples)]
        sub = folder / f"{n // 1000:04d}"
        if n % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{users[n % len(users)]}-{n:017x}.log").write_bytes(data)
        total += len(data)
        n += 1
    return total


def _child(folder: str, pattern: str, fixed: bool) -> None:
    from costcompare.search.local import search_local
    from costcompare.search.query import SearchQuery

    query = SearchQuery(pattern, fixed=fixed)
    start, cpu = time.perf_counter(), time.process_time()
    result = search_local(folder, query)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "bytes": result.bytes_scanned,
                      "sessions": len(result.sessions)}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="GiB of transcripts to search")
    parser.add_argument("--keep", type=Path, help="reuse/keep the corpus in this folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.child[2] == "fixed")
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="costcompare-bench-search-"))
    try:
        if not any(folder.iterdir()) if folder.exists() else True:
            folder.mkdir(parents=True, exist_ok=True)
            made = make_corpus(folder, args.gb)
            print(f"wrote {made / 2**30:.2f} GiB of transcripts under {folder}")
        worst = None
        for pattern, fixed in (("sudo", "fixed"), (r"rm\s+-rf|passwd", "regex")):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), pattern, fixed],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            figures = json.loads(out)
            rate = figures["bytes"] / figures["seconds"] / 1e6
            per_cpu = figures["bytes"] / figures["cpu_seconds"] / 1e6
            worst = rate if worst is None else min(worst, rate)
            print(
                f"local search {pattern!r} ({fixed}): {figures['bytes'] / 2**30:.2f} GiB in "
                f"{figures['seconds']:.2f} s = {rate:,.0f} MB/s "
                f"({per_cpu:,.0f} MB per CPU-second), {figures['sessions']:,} sessions"
            )
        verdict = "meets" if worst >= GOAL_MB_S else "misses"
        print(f"slowest: {worst:,.0f} MB/s — {verdict} the {GOAL_MB_S:.0f} MB/s goal")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"(one process on {os.cpu_count()} CPUs; load average {load}: other work slows it)")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
