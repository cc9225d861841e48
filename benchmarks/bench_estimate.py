"""Speed of the main job: the array engine on a grid, its memory, and process start-up.

Run: python benchmarks/bench_estimate.py [--scenarios 100000] [--repeat 5] [--big 1000000]
     python benchmarks/bench_estimate.py --start-up-only --repeat 15

Every figure is printed next to a floor measured in the same run, so a loaded machine moves
both (issue 13):
- engine: ``evaluate_grid`` on N random workloads × the horizon × the 4 destinations, against
  plain numpy doing only "quantity × price summed per destination" on quantities computed in
  advance (same line count, same shapes). Targets: ≥ 20 M scenario-months/s, ≤ 4× the floor.
- memory: peak RSS of a child process costing 10⁶ scenarios over the whole horizon (keeping
  the steady-state month and the horizon total). Target: < 1 GiB.
- start-up: median wall time of ``costcompare estimate`` and ``costcompare --help`` processes,
  against ``python -c pass``, ``python -c "import numpy"`` and the fixed stack's imports
  (numpy, numpy.random, typer, yaml: what any estimate pays first). Targets: < 0.25 s and
  < 0.2 s. Other developers load a shared machine: CPU (user + system) is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

MIB = 2**20


def random_grid(scenarios: int, seed: int = 7):
    """The default workload with four inputs drawn at random for every scenario."""
    from costcompare.volumes import WorkloadGrid
    from costcompare.workload import load_profile

    base = load_profile()
    rng = np.random.default_rng(seed)
    return WorkloadGrid.vary(
        base,
        sessions_per_instance_per_day=rng.uniform(0.1, 20, scenarios),
        session_bytes=rng.uniform(5_000, 2_000_000, scenarios),
        searches_per_month=rng.integers(0, 500, scenarios),
        growth_pct_per_month=rng.uniform(0, 5, scenarios),
    )


def best_of(repeat: int, run) -> tuple[float, float]:
    """Best wall and best CPU seconds of ``run()`` over ``repeat`` runs (CPU time is the
    steadier figure on a shared machine; wall is what a user waits)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


def engine_seconds(scenarios: int, repeat: int):
    """(wall, cpu) of evaluate_grid and of the plain-numpy floor, months and line count."""
    from costcompare.destinations import DESTINATIONS
    from costcompare.engine import evaluate_grid
    from costcompare.pricing import default_table

    grid = random_grid(scenarios)
    book = default_table().resolve(grid.base.region)
    dests = list(DESTINATIONS.values())
    result = evaluate_grid(grid, book, dests)
    assert all(result.monthly(d.name).shape == (scenarios, grid.months) for d in dests)
    del result
    engine = best_of(repeat, lambda: evaluate_grid(grid, book, dests))
    lines = sum(len(d.components) for d in dests)
    return engine, floor_seconds(scenarios, grid.months, dests, book, repeat), grid.months, lines


def floor_seconds(scenarios: int, months: int, dests, book, repeat: int) -> tuple[float, float]:
    """Plain numpy: per destination, Σ quantity × price over its lines, quantities given."""
    rng = np.random.default_rng(1)
    # One distinct (n, M) array per distinct quantity, as the engine sees them.
    names = sorted({c.quantity for d in dests for c in d.components})
    quantity = {name: rng.random((scenarios, months)) for name in names}
    rates = [[(c.quantity, book[c.price_key].first_rate) for c in d.components] for d in dests]

    def plain_numpy() -> None:
        for lines in rates:
            total = np.zeros((scenarios, months))
            for name, rate in lines:
                total += quantity[name] * rate

    return best_of(repeat, plain_numpy)


BIG_RUN = """
import sys
sys.path.insert(0, {here!r})
from bench_estimate import random_grid
from costcompare.destinations import DESTINATIONS
from costcompare.engine import evaluate_grid
from costcompare.pricing import default_table
grid = random_grid({n})
book = default_table().resolve(grid.base.region)
result = evaluate_grid(grid, book, list(DESTINATIONS.values()), months=[-1])
assert result.steady_state("s3").shape == ({n},) and result.total("s3").shape == ({n},)
# VmHWM: ru_maxrss would carry over the parent image across exec on Linux.
print([int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")][0])
"""


def big_grid_peak_bytes(scenarios: int) -> tuple[int, float]:
    """Peak RSS (bytes) and wall time of a fresh process costing ``scenarios`` workloads."""
    import pathlib

    here = str(pathlib.Path(__file__).resolve().parent)
    code = BIG_RUN.format(here=here, n=scenarios)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]), time.perf_counter() - start


def process_seconds(cmd: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of a fresh process, after one warm-up."""
    subprocess.run(cmd, check=True, capture_output=True)
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


STACK_IMPORTS = "import numpy, numpy.random, typer, yaml"


def start_up(repeat: int) -> dict[str, tuple[float, float]]:
    exe = shutil.which("costcompare")
    cli = [exe] if exe else [sys.executable, "-m", "costcompare"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import numpy"': [sys.executable, "-c", "import numpy"],
        # What any estimate on this stack imports before doing anything (issue 13's floor).
        "python -c <stack imports>": [sys.executable, "-c", STACK_IMPORTS],
        "costcompare estimate": [*cli, "estimate"],
        "costcompare estimate --draws 0": [*cli, "estimate", "--draws", "0"],
        "costcompare --help": [*cli, "--help"],
    }
    return {name: process_seconds(cmd, repeat) for name, cmd in commands.items()}


def print_engine(scenarios: int, repeat: int) -> dict:
    """Engine speed against its plain-numpy floor; returns the figures for --json."""
    (wall, cpu), (floor_wall, floor_cpu), months, lines = engine_seconds(scenarios, repeat)
    cells = scenarios * months * 4
    print(
        f"engine: {scenarios:,} scenarios × {months} months × 4 destinations ({lines} lines),"
        f" best of {repeat} (target ≥ 20 M scenario-months/s, ≤ 4× the floor)"
    )
    for label, engine_s, floor_s in (("wall", wall, floor_wall), ("cpu", cpu, floor_cpu)):
        print(
            f"  {label}: engine {engine_s:.3f} s = {cells / engine_s / 1e6:.1f} M/s;"
            f" plain-numpy floor {floor_s:.3f} s = {cells / floor_s / 1e6:.1f} M/s;"
            f" ratio {engine_s / floor_s:.2f}× the floor"
        )
    return {
        "engine_scenario_months_per_s": {"wall": cells / wall, "cpu": cells / cpu},
        "floor_scenario_months_per_s": {"wall": cells / floor_wall, "cpu": cells / floor_cpu},
        "ratio_to_floor": {"wall": wall / floor_wall, "cpu": cpu / floor_cpu},
    }


def print_start_up(repeat: int) -> dict:
    """Start-up of the CLI against the interpreter, numpy and the stack's imports."""
    times = start_up(repeat)
    (base, base_cpu), (numpy_s, numpy_cpu) = (
        times["python -c pass"],
        times['python -c "import numpy"'],
    )
    for name, (value, cpu_s) in times.items():
        print(
            f"start-up: {name}: median {value:.3f} s wall ({value / base:.1f}× python -c pass,"
            f" {value / numpy_s:.2f}× import numpy), {cpu_s:.3f} s CPU"
            f" ({cpu_s / base_cpu:.1f}×, {cpu_s / numpy_cpu:.2f}×) over {repeat} runs"
        )
    print("start-up targets: costcompare estimate < 0.25 s, costcompare --help < 0.2 s")
    return {"start_up_median_s": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--big", type=int, default=1_000_000, help="scenarios for the memory run")
    parser.add_argument(
        "--start-up-only", action="store_true", help="only the process start-up figures"
    )
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    figures = {}
    if not args.start_up_only:
        figures.update(print_engine(args.scenarios, args.repeat))
        peak, big_s = big_grid_peak_bytes(args.big)
        print(
            f"memory: {args.big:,} scenarios × the horizon × 4 destinations in {big_s:.1f} s,"
            f" peak RSS {peak / MIB:,.0f} MiB (target < 1024)"
        )
        figures["big_grid_peak_rss_bytes"] = peak
    figures.update(print_start_up(args.repeat))
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
