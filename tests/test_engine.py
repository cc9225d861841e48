"""The array engine: blocks, kept months, totals, categories and lines agree with each other
and with the one-workload estimate; memory is set by the block, not by the grid."""

from __future__ import annotations

import dataclasses
import tracemalloc

import numpy as np
import pytest

from costcompare.destinations import CATEGORIES, DESTINATIONS
from costcompare.engine import evaluate_grid
from costcompare.errors import WorkloadError
from costcompare.model import estimate
from costcompare.volumes import WorkloadGrid
from costcompare.workload import load_profile

DESTS = list(DESTINATIONS.values())


def random_grid(n: int, seed: int = 3) -> WorkloadGrid:
    """The bundled workload with volumes, sizes (across the 128 KB transition floor),
    searches and growth drawn per scenario."""
    rng = np.random.default_rng(seed)
    return WorkloadGrid.vary(
        load_profile(),
        sessions_per_instance_per_day=rng.uniform(0.1, 20, n),
        session_bytes=rng.uniform(5_000, 400_000, n),
        searches_per_month=rng.integers(0, 500, n).astype(float),
        growth_pct_per_month=rng.uniform(0, 5, n),
    )


@pytest.fixture(scope="module")
def grid() -> WorkloadGrid:
    return random_grid(300)


@pytest.fixture(scope="module")
def book(grid):
    from costcompare.pricing import default_table

    return default_table().resolve(grid.base.region)


@pytest.fixture(scope="module")
def full(grid, book):
    return evaluate_grid(grid, book, DESTS, breakdown="category")


def test_block_size_does_not_change_a_figure(grid, book, full):
    one_row_blocks = evaluate_grid(grid, book, DESTS, block_cells=1)
    for dest in DESTS:
        np.testing.assert_allclose(
            one_row_blocks.monthly(dest.name), full.monthly(dest.name), rtol=1e-13
        )


def test_every_scenario_matches_its_own_estimate(grid, book, full):
    for i in (0, 17, 299):
        workload = dataclasses.replace(grid.base, **{k: float(v[i]) for k, v in grid.axes.items()})
        single = estimate(workload)
        for dest in DESTS:
            np.testing.assert_allclose(
                full.monthly(dest.name)[i], single.get(dest.name).monthly_usd, rtol=1e-12
            )


def test_only_the_months_asked_for(grid, book, full):
    last = evaluate_grid(grid, book, DESTS, months=[-1], horizon_total=False)
    picked = evaluate_grid(grid, book, DESTS, months=[0, 11, -1])
    assert last.total_usd is None
    with pytest.raises(ValueError, match="horizon_total"):
        last.total("s3")
    for dest in DESTS:
        assert last.monthly(dest.name).shape == (grid.n, 1)
        np.testing.assert_allclose(last.steady_state(dest.name), full.monthly(dest.name)[:, -1])
        np.testing.assert_allclose(
            picked.monthly(dest.name), full.monthly(dest.name)[:, [0, 11, 35]]
        )
        np.testing.assert_allclose(picked.total(dest.name), full.monthly(dest.name).sum(axis=1))
    with pytest.raises(ValueError, match="month 5 was not costed"):
        picked.month("s3", 5)


def test_months_outside_the_horizon_are_an_input_error(grid, book):
    with pytest.raises(WorkloadError, match="outside the 36-month horizon"):
        evaluate_grid(grid, book, DESTS, months=[36])


def test_categories_add_up_to_the_total(full):
    for dest in DESTS:
        parts = full.by_category(dest.name)
        assert set(parts) <= set(CATEGORIES)
        np.testing.assert_allclose(sum(parts.values()), full.monthly(dest.name), rtol=1e-12)
    # Athena's scans are the query cost: nothing without searches, something with them.
    searches = full.grid.axes["searches_per_month"]
    athena = full.by_category("s3")["query"][:, -1]
    assert np.all((athena > 0) == (searches > 0)) and np.any(searches == 0)


def test_lines_are_kept_only_when_asked(grid, book, full):
    assert full.lines == {}
    kept = evaluate_grid(grid, book, DESTS, lines=True, block_cells=36 * 50)
    for dest in DESTS:
        rows = kept.lines[dest.name]
        assert [r.component for r in rows] == list(dest.components)  # declared order
        assert all(r.cost.shape == (grid.n, grid.months) for r in rows)
        np.testing.assert_allclose(sum(r.cost for r in rows), full.monthly(dest.name), rtol=1e-12)
        for category, part in full.by_category(dest.name).items():
            in_category = sum(r.cost for r in rows if r.component.category == category)
            np.testing.assert_allclose(in_category, part, rtol=1e-12, atol=1e-12)


def test_month_invariant_lines_cost_the_same_every_month(full, book):
    # Metric filters and alarms do not change with the month: one column, broadcast.
    alerting = full.by_category("cloudwatch")["alerting"]
    expected = (
        full.grid.base.metric_filters * book["cloudwatch.metric"].first_rate
        + full.grid.base.alarms * book["cloudwatch.alarm"].first_rate
    )
    np.testing.assert_allclose(alerting, expected)


def test_memory_is_set_by_the_block_not_the_grid(book):
    grid = random_grid(20_000)
    tracemalloc.start()
    try:
        result = evaluate_grid(grid, book, DESTS, months=[-1])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.steady_state("s3").shape == (20_000,)
    # One (n, 36) array per line would be 20,000 × 36 × 8 B = 5.5 MiB each, ~80 of them.
    assert peak < 32 * 2**20


def test_price_key_breakdown_adds_up_and_matches_the_lines(grid, book):
    by_price = evaluate_grid(grid, book, DESTS, breakdown="price_key", lines=True)
    for dest in DESTS:
        parts = by_price.by_price_key(dest.name)
        assert "kms.key" in parts and set(parts) <= {c.price_key for c in dest.components}
        np.testing.assert_allclose(sum(parts.values()), by_price.monthly(dest.name), rtol=1e-12)
        for key, part in parts.items():
            in_key = sum(r.cost for r in by_price.lines[dest.name] if r.price.key == key)
            np.testing.assert_allclose(in_key, part, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="breakdown='category'"):
        by_price.by_category("s3")


def test_only_the_keys_asked_for_are_kept_apart(grid, book, full):
    every = evaluate_grid(grid, book, DESTS, breakdown="price_key", block_cells=4_096)
    apart = ["kms.key", "s3.requests.put.STANDARD"]
    some = evaluate_grid(grid, book, DESTS, breakdown="price_key", apart=apart, block_cells=4_096)
    for dest in DESTS:
        kept = some.by_price_key(dest.name)
        assert set(kept) == set(apart) & {c.price_key for c in dest.components}
        for key, part in kept.items():
            np.testing.assert_array_equal(part, every.by_price_key(dest.name)[key])
        np.testing.assert_allclose(some.monthly(dest.name), full.monthly(dest.name), rtol=1e-12)
    assert set(some.by_price_key("s3")) == set(apart)


def test_a_destination_named_twice_is_costed_once(grid, book, full):
    twice = evaluate_grid(grid, book, [DESTINATIONS["s3"], DESTINATIONS["s3"]])
    np.testing.assert_allclose(twice.monthly("s3"), full.monthly("s3"), rtol=1e-13)


def test_a_price_book_resolved_again_is_checked_again(grid):
    """Set-up is reused per price book object; another book (another date or table) is new."""
    from costcompare.errors import PricingError
    from costcompare.pricing import default_table

    table = default_table()
    evaluate_grid(grid, table.resolve("ap-northeast-1"), DESTS, months=[-1])
    broken = table.resolve("ap-northeast-1")
    del broken.prices["athena.scanned"]
    with pytest.raises(PricingError, match=r"athena\.scanned"):
        evaluate_grid(grid, broken, DESTS, months=[-1])
