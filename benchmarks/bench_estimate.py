"""Speed of the main job: one `costcompare estimate` process, and the array engine on a grid.

Run: python benchmarks/bench_estimate.py [--scenarios 10000] [--repeat 5]
Targets (issue 2): one process < 1 s; ≥ 1,000,000 scenario-months per second.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np


def process_seconds(repeat: int) -> list[float]:
    exe = shutil.which("costcompare")
    cmd = [exe, "estimate"] if exe else [sys.executable, "-m", "costcompare.cli", "estimate"]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def grid_seconds(scenarios: int, repeat: int) -> tuple[float, int, int]:
    from costcompare.destinations import DESTINATIONS
    from costcompare.model import evaluate_grid
    from costcompare.pricing import default_table
    from costcompare.volumes import WorkloadGrid
    from costcompare.workload import load_profile

    base = load_profile()
    rng = np.random.default_rng(7)
    grid = WorkloadGrid.vary(
        base,
        sessions_per_instance_per_day=rng.uniform(0.1, 20, scenarios),
        session_bytes=rng.uniform(5_000, 2_000_000, scenarios),
        searches_per_month=rng.integers(0, 500, scenarios),
        growth_pct_per_month=rng.uniform(0, 5, scenarios),
    )
    book = default_table().resolve(base.region)
    dests = list(DESTINATIONS.values())
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = evaluate_grid(grid, book, dests)
        totals = [result.monthly(d.name) for d in dests]  # force every sum
        best = min(best, time.perf_counter() - start)
        assert all(t.shape == (scenarios, base.horizon_months) for t in totals)
    return best, base.horizon_months, len(dests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    times = process_seconds(args.repeat)
    print(
        f"costcompare estimate, one process: median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s over {args.repeat} runs (target < 1 s)"
    )
    seconds, months, dests = grid_seconds(args.scenarios, args.repeat)
    scenario_months = args.scenarios * months
    print(
        f"grid: {args.scenarios:,} workloads × {months} months × {dests} destinations "
        f"in {seconds:.3f} s (best of {args.repeat})"
    )
    print(
        f"throughput: {scenario_months * dests / seconds:,.0f} scenario-months/s counting each "
        f"destination, {scenario_months / seconds:,.0f} workload-months/s all four together "
        "(target ≥ 1,000,000)"
    )


if __name__ == "__main__":
    main()
