"""The array engine: every component's quantity × its price, for a grid of workloads.

Scenarios are costed in blocks of rows, so memory is set by the block, not the grid: a block's
quantities are computed (``costcompare.volumes``), multiplied by their prices and added in place
into per-destination sums (and, when asked, per category or price key), then dropped. Only what
the caller asks for is kept: the months it names, the horizon total, per-line arrays.
Lines that do not change from month to month (a key, an endpoint's hours) or from scenario to
scenario are costed once, as one column or row, and broadcast into the sums.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from costcompare.destinations import BASELINE, Component, Destination
from costcompare.errors import PricingError, WorkloadError
from costcompare.pricing import Price, PriceBook
from costcompare.volumes import Volumes, WorkloadGrid, quantity_spec

# Scenario-months per block: large enough that numpy's per-call cost is amortised, small enough
# that a block's few dozen quantity arrays stay near the CPU caches (2**15 cells = 256 KiB each).
BLOCK_CELLS = 2**15
BREAKDOWNS = (None, "category", "price_key")


@dataclass
class LineCosts:
    """One component over a grid: quantity and cost, each (scenarios, kept months)."""

    component: Component
    price: Price
    quantity: np.ndarray
    cost: np.ndarray


@dataclass
class GridResult:
    """Costs of several destinations over a grid of workloads.

    ``months`` are the month indices (0-based) whose costs were kept; ``lines`` is filled only
    when ``evaluate_grid`` was asked for them.
    """

    grid: WorkloadGrid
    book: PriceBook
    lines: dict[str, list[LineCosts]]
    months: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    monthly_usd: dict[str, np.ndarray] = field(default_factory=dict)
    total_usd: dict[str, np.ndarray] | None = None
    breakdown: str | None = None  # "category" or "price_key": how breakdown_usd is keyed
    breakdown_usd: dict[str, dict[str, np.ndarray]] | None = None

    def monthly(self, destination: str) -> np.ndarray:
        """USD per scenario per kept month, (n, len(months))."""
        return self.monthly_usd[destination]

    def steady_state(self, destination: str) -> np.ndarray:
        """USD per scenario in the last month of the horizon, (n,)."""
        return self.month(destination, self.grid.months - 1)

    def month(self, destination: str, month: int) -> np.ndarray:
        """USD per scenario in one kept month (0-based; negative counts from the end)."""
        month = month % self.grid.months
        where = np.flatnonzero(self.months == month)
        if not where.size:
            raise ValueError(f"month {month} was not costed; pass it in evaluate_grid(months=…)")
        return self.monthly_usd[destination][:, where[0]]

    def total(self, destination: str) -> np.ndarray:
        """USD per scenario over the whole horizon, (n,)."""
        if self.total_usd is None:
            raise ValueError(
                "horizon totals were not costed; pass evaluate_grid(horizon_total=True)"
            )
        return self.total_usd[destination]

    def by_category(self, destination: str) -> dict[str, np.ndarray]:
        """USD per scenario per kept month for each category, {category: (n, len(months))}."""
        return self._breakdown("category", destination)

    def by_price_key(self, destination: str) -> dict[str, np.ndarray]:
        """USD per scenario per kept month for each price key, {key: (n, len(months))}."""
        return self._breakdown("price_key", destination)

    def _breakdown(self, by: str, destination: str) -> dict[str, np.ndarray]:
        if self.breakdown != by or self.breakdown_usd is None:
            raise ValueError(f"costs were not kept by {by}; pass evaluate_grid(breakdown={by!r})")
        return self.breakdown_usd[destination]


def check_units(book: PriceBook, destinations: Iterable[Destination]) -> None:
    """A price's unit must be the unit its quantity is counted in, or the product is nonsense."""
    for dest in destinations:
        for comp in dest.components:
            price = book[comp.price_key]
            want = quantity_spec(comp.quantity).unit
            if price.unit != want:
                raise PricingError(
                    f"price {comp.price_key} ({book.region}) is per {price.unit!r}, but "
                    f"'{comp.name}' is counted in {want!r}",
                    f"express the price per {want} in the pricing table",
                )


def evaluate_grid(
    grid: WorkloadGrid,
    book: PriceBook,
    destinations: Sequence[Destination],
    *,
    include_baseline: bool = False,
    months: Sequence[int] | None = None,
    horizon_total: bool = True,
    breakdown: str | None = None,
    apart: Collection[str] | None = None,
    lines: bool = False,
    block_cells: int = BLOCK_CELLS,
) -> GridResult:
    """Cost every component of every destination for every scenario.

    ``months`` (0-based, negative from the end; default all) are the months whose cost is kept
    per scenario; ``horizon_total`` also sums every month (it costs them all, kept or not);
    ``breakdown`` ("category" or "price_key") also keeps the kept months split that way (only
    the keys in ``apart``, when given: the rest is in the total alone, saving their copies), and
    ``lines`` every line's quantity and cost. With neither a total nor all months, only the
    named months are costed.
    """
    if breakdown not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {BREAKDOWNS}, not {breakdown!r}")
    # One entry per name: sums accumulate in place, so a repeated destination must not add twice.
    named = {d.name: d for d in [*destinations, *([BASELINE] if include_baseline else [])]}
    dests = list(named.values())
    plans = _prepared(book, dests, bool(grid.base.free_tier))
    horizon = grid.months
    kept = _month_indices(months, horizon)
    costed = np.arange(horizon) if horizon_total else kept
    keep_at = np.searchsorted(costed, kept)
    out = _Outputs(dests, book, grid.n, len(kept), horizon_total, (breakdown, apart), lines)
    rows = max(1, block_cells // max(len(costed), 1))
    scratch = np.empty((min(rows, grid.n), len(costed)))
    for start in range(0, grid.n, rows):
        stop = min(start + rows, grid.n)
        block = _block(grid, start, stop)
        volumes = Volumes(block, book.storage_classes)
        quantities_of = _BlockQuantities(block, volumes, costed)
        # Overflow shows up as inf/NaN, which _check_finite turns into one clear input error.
        with np.errstate(over="ignore", invalid="ignore"):
            for dest in dests:
                sums = out.block_sums(dest.name, slice(start, stop), len(costed), scratch)
                line_costs = _cost_block(plans[dest.name], quantities_of, sums, lines)
                _check_finite(dest, sums, volumes)
                out.store(dest.name, slice(start, stop), sums, keep_at, line_costs)
    return GridResult(
        grid, book, out.lines(), kept, out.monthly, out.totals, breakdown, out.breakdown
    )


def _month_indices(months: Sequence[int] | None, horizon: int) -> np.ndarray:
    if months is None:
        return np.arange(horizon)
    wanted = np.asarray(months, dtype=np.intp).reshape(-1)
    if wanted.size == 0 or np.any((wanted < -horizon) | (wanted >= horizon)):
        raise WorkloadError(
            f"months {list(map(int, wanted))} are outside the {horizon}-month horizon",
            f"name months 0..{horizon - 1} (or -1 for the last)",
        )
    return np.array(sorted(set((wanted % horizon).tolist())), dtype=np.intp)


def _block(grid: WorkloadGrid, start: int, stop: int) -> WorkloadGrid:
    """Rows start:stop of a grid (views of its axes, validated when the grid was made)."""
    if not grid.axes:
        return grid
    return WorkloadGrid(grid.base, {k: v[start:stop] for k, v in grid.axes.items()})


# -- pricing plan: lines grouped by price, as AWS bills a month ----------------------------------


@dataclass(frozen=True)
class _PriceGroup:
    """Lines of one destination that share a price: tiers and free allowance apply to their sum.

    ``linear`` prices (one rate, no allowance in play, no tier ceiling) need no pooling: each
    line is its quantity × the rate.
    """

    price: Price
    members: tuple[Component, ...]
    positions: tuple[int, ...]  # of the members in the destination's declared components
    linear: bool
    free_tier: bool


# The last few (book, destinations) checked and planned: the verdict's search and the bands call
# the engine dozens of times with the same ones, and small grids are mostly this set-up.
_PREPARED: dict[tuple, tuple[PriceBook, dict[str, list[_PriceGroup]]]] = {}
_PREPARED_KEEP = 8


def _prepared(
    book: PriceBook, dests: list[Destination], free_tier: bool
) -> dict[str, list[_PriceGroup]]:
    """Prices present and in the right units, then each destination's lines grouped by price."""
    key = (id(book), free_tier, tuple(dests))
    cached = _PREPARED.get(key)
    if cached is not None and cached[0] is book:
        return cached[1]
    book.require(c.price_key for d in dests for c in d.components)
    check_units(book, dests)
    plans = {d.name: _plan(d, book, free_tier) for d in dests}
    if len(_PREPARED) >= _PREPARED_KEEP:
        _PREPARED.pop(next(iter(_PREPARED)))
    _PREPARED[key] = (book, plans)
    return plans


def _plan(dest: Destination, book: PriceBook, free_tier: bool) -> list[_PriceGroup]:
    by_key: dict[str, list[int]] = {}
    for position, comp in enumerate(dest.components):
        by_key.setdefault(comp.price_key, []).append(position)
    groups = []
    for key, positions in by_key.items():
        price = book[key]
        linear = (
            not price.is_tiered
            and price.rows[-1].tier_end is None
            and not (free_tier and price.free_quantity)
        )
        members = tuple(dest.components[p] for p in positions)
        groups.append(_PriceGroup(price, members, tuple(positions), linear, free_tier))
    return groups


# -- one block ------------------------------------------------------------------------------------


def _compact(array: np.ndarray) -> np.ndarray:
    """The smallest view that broadcasts back to ``array``: one column for month-invariant
    quantities, one row for scenario-invariant ones (``Volumes`` broadcasts, it does not copy)."""
    if array.ndim == 2 and array.strides[0] == 0 and array.shape[0] > 1:
        array = array[:1]
    if array.ndim == 2 and array.strides[1] == 0 and array.shape[1] > 1:
        array = array[:, :1]
    return array


class _BlockQuantities:
    """The quantities of one block as the engine uses them: compact, over the costed months,
    and None for a line that is switched off or zero in every cell (nothing to add)."""

    def __init__(self, block: WorkloadGrid, volumes: Volumes, costed: np.ndarray) -> None:
        self.block, self.volumes, self.costed = block, volumes, costed
        self._memo: dict[str, np.ndarray | None] = {}

    def _of(self, ref: str) -> np.ndarray | None:
        if ref not in self._memo:
            qty = _compact(self.volumes[ref])
            if qty.shape[1] > 1 and len(self.costed) != qty.shape[1]:
                qty = qty[:, self.costed]
            self._memo[ref] = qty if qty.any() else None
        return self._memo[ref]

    def line(self, comp: Component) -> np.ndarray | None:
        qty = self._of(comp.quantity)
        for flag in comp.enabled_by:
            if qty is None:
                break
            if flag in self.block.axes:
                qty = qty * (self.block.param(flag) > 0)
            elif not getattr(self.block.base, flag):
                return None
        return qty


class _Sums:
    """One destination's cost over one block, added to in place: into the total, or into one
    part per category or price key when a breakdown is kept (the total is then their sum)."""

    def __init__(
        self,
        total: np.ndarray,
        scratch: np.ndarray,
        breakdown: str | None,
        apart: Collection[str] | None = None,
    ) -> None:
        self.total = total  # zeros
        self.shape = total.shape
        self.scratch = scratch[: total.shape[0]]
        self.breakdown = breakdown
        self.apart = apart  # the breakdown's keys kept apart (None: every key)
        self.parts: dict[str, np.ndarray] = {}

    def _target(self, comp: Component) -> np.ndarray:
        if self.breakdown is None:
            return self.total
        key = comp.category if self.breakdown == "category" else comp.price_key
        if self.apart is not None and key not in self.apart:
            return self.total
        if key not in self.parts:
            self.parts[key] = np.zeros(self.shape)
        return self.parts[key]

    def add(self, comp: Component, cost: np.ndarray) -> None:
        target = self._target(comp)
        target += cost

    def add_scaled(self, comp: Component, quantity: np.ndarray, rate: float) -> None:
        """Add quantity × rate without a temporary the size of the block."""
        target = self._target(comp)
        if quantity.shape == self.shape:
            target += np.multiply(quantity, rate, out=self.scratch)
        else:
            target += quantity * rate

    def finish(self) -> np.ndarray:
        for part in self.parts.values():
            self.total += part
        return self.total

    def all_finite(self) -> bool:
        return bool(np.isfinite(self.total).all())


def _cost_block(
    plan: list[_PriceGroup], quantities_of: _BlockQuantities, sums: _Sums, keep_lines: bool
) -> list[tuple[Component, np.ndarray, np.ndarray]] | None:
    """Add one destination's lines over one block into ``sums`` (and return them, if kept)."""
    shape = sums.shape
    line_costs: dict[int, tuple[Component, np.ndarray, np.ndarray]] = {}
    for group in plan:
        quantities = [quantities_of.line(c) for c in group.members]
        if keep_lines:
            full = [np.zeros(shape) if q is None else np.broadcast_to(q, shape) for q in quantities]
            costs = _pooled(group, full)
            for comp, position, qty, cost in zip(
                group.members, group.positions, full, costs, strict=True
            ):
                sums.add(comp, cost)
                line_costs[position] = (comp, qty, cost)
        elif group.linear:
            rate = group.price.first_rate
            for comp, qty in zip(group.members, quantities, strict=True):
                if qty is not None:
                    sums.add_scaled(comp, qty, rate)
        else:
            _add_pooled(group, quantities, sums)
    sums.finish()
    return [line_costs[p] for p in sorted(line_costs)] if keep_lines else None


def _pooled(group: _PriceGroup, quantities: list[np.ndarray]) -> list[np.ndarray]:
    """Each line's cost when the group is billed together: the cost of the summed quantity,
    shared out in proportion to each line's quantity."""
    if len(quantities) == 1:
        return [group.price.cost(quantities[0], free_tier=group.free_tier)]
    total_qty = sum(quantities)
    total_cost = group.price.cost(total_qty, free_tier=group.free_tier)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total_qty > 0, total_cost / total_qty, 0.0)
    return [qty * share for qty in quantities]


def _add_pooled(group: _PriceGroup, quantities: list[np.ndarray | None], sums: _Sums) -> None:
    present = [(c, q) for c, q in zip(group.members, quantities, strict=True) if q is not None]
    if not present:
        return
    if len({c.category for c, _ in present}) == 1:
        total_qty = present[0][1] if len(present) == 1 else sum(q for _, q in present)
        sums.add(present[0][0], group.price.cost(total_qty, free_tier=group.free_tier))
        return
    shape = np.broadcast_shapes(*(q.shape for _, q in present))
    full = [np.broadcast_to(q, shape) for _, q in present]
    for (comp, _), cost in zip(present, _pooled(group, full), strict=True):
        sums.add(comp, cost)


def _check_finite(dest: Destination, sums: _Sums, volumes: Volumes) -> None:
    """Inputs so large that a figure overflows are an input error, not a NaN in the output."""
    if sums.all_finite():
        return
    culprit = next(
        (c for c in dest.components if not np.isfinite(volumes[c.quantity]).all()),
        dest.components[0],
    )
    raise WorkloadError(
        f"'{culprit.name}' overflows with these inputs",
        "check the workload for an implausibly large value (volumes, growth, horizon)",
    )


class _Outputs:
    """What evaluate_grid keeps, filled block by block."""

    def __init__(self, dests, book, n, kept, horizon_total, split, lines) -> None:
        breakdown, self.apart = split
        self.book = book
        self.monthly = {d.name: np.zeros((n, kept)) for d in dests}
        self.totals = {d.name: np.empty(n) for d in dests} if horizon_total else None
        self.breakdown_by = breakdown
        self.breakdown: dict[str, dict[str, np.ndarray]] | None = (
            {d.name: {} for d in dests} if breakdown else None
        )
        self.n, self.kept = n, kept
        self.keep_lines = lines
        self._line_parts: dict[str, list[list[tuple[Component, np.ndarray, np.ndarray]]]] = {
            d.name: [] for d in dests
        }

    def block_sums(self, name, rows: slice, costed: int, scratch: np.ndarray) -> _Sums:
        """Sums for one block: written straight into the output when every month is kept."""
        total = self.monthly[name][rows] if costed == self.kept else np.empty((0, 0))
        if total.shape[0] != rows.stop - rows.start:
            total = np.zeros((rows.stop - rows.start, costed))
        return _Sums(total, scratch, self.breakdown_by, self.apart)

    def store(self, name, rows: slice, sums: _Sums, keep_at, line_costs) -> None:
        total = sums.total
        if total.base is not self.monthly[name]:
            self.monthly[name][rows] = total[:, keep_at]
        if self.totals is not None:
            self.totals[name][rows] = total.sum(axis=1)
        if self.breakdown is not None:
            for key, part in sums.parts.items():
                target = self.breakdown[name].setdefault(key, np.zeros((self.n, self.kept)))
                target[rows] = part[:, keep_at]
        if line_costs is not None:
            self._line_parts[name].append(
                [(c, q[:, keep_at], cost[:, keep_at]) for c, q, cost in line_costs]
            )

    def lines(self) -> dict[str, list[LineCosts]]:
        """Every line's blocks joined: (n, kept months) quantity and cost per line."""
        if not self.keep_lines:
            return {}
        return {
            name: [
                LineCosts(
                    parts[0][0],
                    self.book[parts[0][0].price_key],
                    np.concatenate([p[1] for p in parts]),
                    np.concatenate([p[2] for p in parts]),
                )
                for parts in zip(*blocks, strict=True)
            ]
            for name, blocks in self._line_parts.items()
        }
