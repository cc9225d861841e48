"""The S3 Inventory measurement as SQL: one query text for DuckDB (local files) and Athena.

Both engines read a relation with AWS's inventory column names (as in the Athena table AWS
documents over an inventory): ``key`` (decoded), ``size``, ``last_modified_date`` (a UTC
timestamp), ``is_latest`` and ``is_delete_marker`` (NULL when the report has no versions). On
DuckDB the relation is a view over the report's files (``inventory_duckdb``); on Athena it is the
user's table. The text uses only SQL both read alike (LIKE … ESCAPE, ln, floor, CAST, GROUPING
SETS).

``summary_query`` classifies every row (session, empty, bad, ignored) and returns, in one pass,
counts per class, sessions and bytes per UTC day, and sessions per size bin (0.5 % wide, split at
the histogram's edges) with each bin's smallest and largest size. ``quantile_query`` then reads
the exact sizes inside the one or two bins that hold the median and p95, so quantiles are exact
(numpy's linear interpolation) and the rows that come back stay few. That second query scans the
inventory again (time locally, money on Athena), so above ``EXACT_LIMIT`` sessions, as
``SizeStats`` does, quantiles are read off the bins instead: within 0.5 % of the true value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from costcompare.measure.measurement import Collector, Measurement
from costcompare.measure.stats import EXACT_LIMIT, HISTOGRAM_EDGES, KnownSizes

SIZE_BINS_PER_E = 100  # bin = floor(ln(size) × 100): each bin spans sizes within 1.005×
QUANTILES = (0.5, 0.95)
SKIP_BAD = "inventory row without size or date"
SUMMARY_COLUMNS = ("part", "label", "size_bin", "coarse_bin", "objects", "bytes", "smallest",
                   "largest")  # fmt: skip
_EPOCH = dt.date(1970, 1, 1)
Runner = Callable[[str], Sequence[Sequence[object]]]  # runs a query text, returns its rows


def _like_literal(text: str) -> str:
    """``text`` as the body of a LIKE pattern with ``\\`` as escape, in a quoted SQL string."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("'", "''")


def _objects_cte(relation: str, prefix: str, suffix: str) -> str:
    """Every row of the inventory with its class: a session is the latest version, not a delete
    marker, of a key under ``prefix`` ending ``suffix``, with a size above 0 and a date."""
    return (
        "WITH objects AS (\n"
        "  SELECT size, last_modified_date,\n"
        "         CASE\n"
        f"           WHEN key IS NULL OR NOT (key LIKE '{_like_literal(prefix)}%' ESCAPE '\\'\n"
        f"                AND key LIKE '%{_like_literal(suffix)}' ESCAPE '\\') THEN 'ignored'\n"
        "           WHEN NOT COALESCE(is_latest, TRUE)\n"
        "                OR COALESCE(is_delete_marker, FALSE) THEN 'ignored'\n"
        "           WHEN size = 0 THEN 'empty'\n"
        "           WHEN size > 0 AND last_modified_date IS NOT NULL THEN 'session'\n"
        "           ELSE 'bad'\n"
        "         END AS kind\n"
        f"  FROM {relation}\n"
        ")"
    )


def _coarse_bin() -> str:
    """The histogram bin of ``size``: 0 up to 1 KiB, 1 up to 4 KiB, … (``HISTOGRAM_EDGES``)."""
    whens = " ".join(f"WHEN size <= {edge} THEN {i}" for i, edge in enumerate(HISTOGRAM_EDGES))
    return f"CASE {whens} ELSE {len(HISTOGRAM_EDGES)} END"


def summary_query(relation: str, prefix: str = "", suffix: str = ".log") -> str:
    """Counts per class, per UTC day and per size bin, in one scan of ``relation``.

    One GROUP BY with GROUPING SETS, not a UNION of three: the relation is referenced once, so
    Athena (which inlines a CTE at every reference) scans it once, and DuckDB streams it into
    the aggregates without materialising the rows (memory independent of their number).
    ``GROUPING(day, size_bin, coarse_bin)`` tells the sets apart: 7 per class, 3 per day,
    4 per size bin; days and bins are kept for sessions only."""
    only_sessions = "CASE WHEN kind = 'session' THEN {} END"
    grouping = "GROUPING(day, size_bin, coarse_bin)"
    return (
        _objects_cte(relation, prefix, suffix) + ",\n"
        "classified AS (\n"
        "  SELECT kind, size,\n"
        "         "
        + only_sessions.format("CAST(CAST(last_modified_date AS DATE) AS VARCHAR)")
        + " AS day,\n"
        "         "
        + only_sessions.format(f"CAST(floor(ln(size) * {SIZE_BINS_PER_E}) AS BIGINT)")
        + " AS size_bin,\n"
        f"         {only_sessions.format(_coarse_bin())} AS coarse_bin\n"
        "  FROM objects\n"
        ")\n"
        f"SELECT CASE {grouping} WHEN 3 THEN 'day' WHEN 4 THEN 'size' ELSE 'class' END AS part,\n"
        f"       CASE {grouping} WHEN 3 THEN day WHEN 4 THEN NULL ELSE kind END AS label,\n"
        "       size_bin, coarse_bin, COUNT(*) AS objects, SUM(size) AS bytes,\n"
        "       MIN(size) AS smallest, MAX(size) AS largest\n"
        "FROM classified\n"
        "GROUP BY GROUPING SETS ((kind), (kind, day), (kind, size_bin, coarse_bin))\n"
        f"HAVING {grouping} = 7 OR kind = 'session'\n"
        "ORDER BY part, label, size_bin, coarse_bin"
    )


def quantile_query(
    relation: str, ranges: Sequence[tuple[int, int]], prefix: str = "", suffix: str = ".log"
) -> str:
    """The sessions' exact sizes (with their counts) inside the given inclusive size ranges."""
    within = " OR ".join(f"size BETWEEN {int(lo)} AND {int(hi)}" for lo, hi in ranges)
    return (
        _objects_cte(relation, prefix, suffix) + "\n"
        "SELECT size, COUNT(*) AS objects\n"
        f"FROM objects WHERE kind = 'session' AND ({within})\n"
        "GROUP BY size\n"
        "ORDER BY size"
    )


def _int(value: object) -> int:
    """A count or size as either engine returns it (DuckDB: a number, Athena: text)."""
    return 0 if value is None else int(value)  # type: ignore[call-overload]


@dataclass(frozen=True)
class SizeBin:
    """Sessions whose size falls in one bin, in size order."""

    coarse: int
    objects: int
    bytes: int
    smallest: int
    largest: int


@dataclass
class InventorySummary:
    """The summary query's rows, typed: what each class counted, each day, each size bin."""

    classes: dict[str, int] = field(default_factory=dict)
    days: dict[dt.date, int] = field(default_factory=dict)
    bins: list[SizeBin] = field(default_factory=list)  # in size order

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[object]]) -> InventorySummary:
        out = cls()
        binned = []
        for part, label, size_bin, coarse, objects, total, smallest, largest in rows:
            if part == "class":
                out.classes[str(label)] = _int(objects)
            elif part == "day":
                out.days[dt.date.fromisoformat(str(label)[:10])] = _int(objects)
            elif part == "size":
                key = (_int(size_bin), _int(coarse))
                size = SizeBin(_int(coarse), _int(objects), _int(total), _int(smallest),
                               _int(largest))  # fmt: skip
                binned.append((key, size))
        out.bins = [b for _, b in sorted(binned, key=lambda kv: kv[0])]
        return out

    @property
    def sessions(self) -> int:
        return sum(b.objects for b in self.bins)

    @property
    def exact(self) -> bool:
        """Quantiles come from the sizes themselves (False: from the bins, above the limit)."""
        return self.sessions <= EXACT_LIMIT

    def ranks(self) -> list[int]:
        """The 0-based ranks numpy's linear quantiles interpolate between."""
        n = self.sessions
        return sorted({f(q * (n - 1)) for q in QUANTILES for f in (math.floor, math.ceil)})

    def bin_of(self, rank: int) -> tuple[int, SizeBin]:
        """The bin that holds the session of this rank, and the rank of its first session."""
        start = 0
        for size_bin in self.bins:
            if rank < start + size_bin.objects:
                return start, size_bin
            start += size_bin.objects
        raise IndexError(rank)

    def ranges_to_refine(self) -> list[tuple[int, int]]:
        """Size ranges of the quantile bins that hold more than one size (others are known)."""
        if not self.bins or not self.exact:
            return []
        found = {self.bin_of(r)[1] for r in self.ranks()}
        return sorted((b.smallest, b.largest) for b in found if b.smallest != b.largest)

    def size_at(self, rank: int, exact: Sequence[tuple[int, int]]) -> int:
        """The size of the session of ``rank``, from its bin (``exact``: quantile_query rows;
        without them, interpolated between the bin's smallest and largest size)."""
        start, size_bin = self.bin_of(rank)
        if size_bin.smallest == size_bin.largest:
            return size_bin.smallest
        if not self.exact:
            share = (rank - start) / max(size_bin.objects - 1, 1)
            return round(size_bin.smallest + (size_bin.largest - size_bin.smallest) * share)
        seen = start
        for size, objects in exact:
            if size_bin.smallest <= size <= size_bin.largest:
                seen += objects
                if rank < seen:
                    return size
        raise ValueError(f"the sizes of rank {rank} did not come back from the quantile query")

    def quantile(self, q: float, exact: Sequence[tuple[int, int]]) -> float:
        """numpy's default (linear) quantile of the sessions' sizes."""
        position = q * (self.sessions - 1)
        lo, hi = math.floor(position), math.ceil(position)
        low, high = self.size_at(lo, exact), self.size_at(hi, exact)
        return low + (high - low) * (position - lo)

    def sizes(self, exact: Sequence[tuple[int, int]]) -> KnownSizes:
        coarse = [0] * (len(HISTOGRAM_EDGES) + 1)
        for size_bin in self.bins:
            coarse[size_bin.coarse] += size_bin.objects
        n = self.sessions
        return KnownSizes(
            count=n,
            total=sum(b.bytes for b in self.bins),
            minimum=self.bins[0].smallest if n else None,
            maximum=self.bins[-1].largest if n else None,
            p50=self.quantile(0.5, exact) if n else None,
            p95=self.quantile(0.95, exact) if n else None,
            coarse=tuple(coarse),
            exact=self.exact,
        )


def exact_rows(rows: Sequence[Sequence[object]]) -> list[tuple[int, int]]:
    """quantile_query's rows (size, sessions) as integers, in size order."""
    return sorted((_int(size), _int(n)) for size, n in rows)


def to_measurement(
    summary: InventorySummary, exact: Sequence[tuple[int, int]], where: str
) -> Measurement:
    """The Measurement both engines give: the same rows make the same figures."""
    col = Collector(sizes=summary.sizes(exact))
    col.days.days.update({(day - _EPOCH).days: n for day, n in summary.days.items()})
    col.ignored = summary.classes.get("ignored", 0)
    if empty := summary.classes.get("empty", 0):
        col.skipped["empty"] += empty
    if bad := summary.classes.get("bad", 0):
        col.skipped[SKIP_BAD] += bad
    return col.finish(where, "inventory")


def measure_with(
    run: Runner, relation: str, where: str, *, prefix: str = "", suffix: str = ".log"
) -> Measurement:
    """The measurement, whatever engine ``run`` sends the text to: the summary, then (when the
    median's or p95's bin holds several sizes) the exact sizes of those bins."""
    summary = InventorySummary.from_rows(run(summary_query(relation, prefix, suffix)))
    ranges = summary.ranges_to_refine()
    exact = exact_rows(run(quantile_query(relation, ranges, prefix, suffix))) if ranges else []
    return to_measurement(summary, exact, where)
