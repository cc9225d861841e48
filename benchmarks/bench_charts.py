"""How long the break-even map takes: grid evaluation and the rendered PNG (issue 3: "a couple
of seconds"). Run: python benchmarks/bench_charts.py"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")


def main() -> None:
    from costcompare.breakeven import break_even_map
    from costcompare.charts import new_figure, plot_break_even
    from costcompare.comparison import estimate
    from costcompare.workload import load_profile

    workload = load_profile()
    est = estimate(workload)
    start = time.perf_counter()
    bemap = break_even_map(workload)
    grid_s = time.perf_counter() - start
    cells = bemap.cheapest.size
    start = time.perf_counter()
    fig = new_figure()
    plot_break_even(bemap, fig.subplots(), est)
    with tempfile.TemporaryDirectory() as tmp:
        fig.savefig(Path(tmp) / "break_even.png")
    render_s = time.perf_counter() - start
    print(f"break-even map: {cells:,} cells × {len(bemap.destinations)} destinations costed in "
          f"{grid_s:.3f} s, drawn and saved as PNG in {render_s:.3f} s "
          f"(total {grid_s + render_s:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
