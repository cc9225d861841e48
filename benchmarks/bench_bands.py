"""Speed of the uncertainty bands: Monte Carlo draws × months × destinations costed per second.

Run: python benchmarks/bench_bands.py [--draws 10000] [--repeat 5]
Goal (issue 10): ≥ 10,000,000 scenario-months per second on one core, i.e. 10,000 draws ×
36 months × 4 destinations well under a second. Pin one core with `taskset -c 0` to measure it.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from costcompare.bands import simulate
    from costcompare.destinations import DESTINATIONS
    from costcompare.pricing import default_table
    from costcompare.workload import load_profile

    workload = load_profile()
    book = default_table().resolve(workload.region)
    simulate(workload, book, draws=100)  # warm caches and imports
    times, cpu = [], []
    for seed in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        simulate(workload, book, draws=args.draws, seed=seed)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    best = min(times)
    cells = args.draws * workload.horizon_months * len(DESTINATIONS)
    # CPU time as well: on a shared machine wall time also counts other processes' turns.
    print(
        f"bands: {args.draws:,} draws × {workload.horizon_months} months × {len(DESTINATIONS)} "
        f"destinations in {best:.3f} s wall (best of {args.repeat}, median "
        f"{statistics.median(times):.3f} s), {min(cpu):.3f} s CPU: "
        f"{cells / best / 1e6:,.2f} M scenario-months/s wall, "
        f"{cells / min(cpu) / 1e6:,.2f} M/s CPU"
    )


if __name__ == "__main__":
    main()
