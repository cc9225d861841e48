"""What a search found and what it cost: matching sessions per backend, the measured time to
result, bytes scanned, and the cost priced from the same table the model uses.

A saved result (``search -o json --out FILE``) is what ``estimate --searches-from FILE`` reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costcompare import jsoncontract
from costcompare.files import read_json
from costcompare.pricing import PriceBook
from costcompare.search.query import SearchError, SearchQuery, iso_time
from costcompare.tables import Column, fill, render_table

RESULT_KIND = "costcompare.search"
RESULT_VERSION = 1
MAX_LINES_PER_SESSION = 50  # matching lines kept per session; the count covers all of them


@dataclass
class SessionMatch:
    """One session with matching lines: who (user), where (instance), when (first/last time)."""

    session_id: str
    user: str
    instance: str | None = None
    first_time: float | None = None
    last_time: float | None = None
    source: str = ""  # the file, S3 key or log stream it came from
    lines: list[str] = field(default_factory=list)
    matches: int = 0

    def add(self, line: str, when: float | None = None) -> None:
        self.matches += 1
        if len(self.lines) < MAX_LINES_PER_SESSION:
            self.lines.append(line)
        self.seen(when)

    def seen(self, when: float | None) -> None:
        if when is None:
            return
        self.first_time = when if self.first_time is None else min(self.first_time, when)
        self.last_time = when if self.last_time is None else max(self.last_time, when)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "user": self.user,
            "instance": self.instance,
            "first_time": iso_time(self.first_time),
            "last_time": iso_time(self.last_time),
            "source": self.source,
            "matches": self.matches,
            "lines": list(self.lines),
        }


@dataclass(frozen=True)
class CostLine:
    """One priced quantity of a search: quantity × unit price, traceable to a price row."""

    name: str
    price_key: str
    quantity: float
    unit: str
    unit_price_usd: float
    usd: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "price_key": self.price_key,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price_usd": self.unit_price_usd,
            "usd": self.usd,
            "source": self.source,
        }


def price_lines(book: PriceBook, quantities: list[tuple[str, str, float]]) -> list[CostLine]:
    """(name, price key, quantity) → priced lines, with the book's unit, rate and source. One
    search is billed on its own, so no free tier applies."""
    lines = []
    for name, key, quantity in quantities:
        price = book[key]
        usd = float(price.cost(quantity))
        rate = usd / quantity if quantity else price.first_rate
        lines.append(CostLine(name, key, quantity, price.unit, rate, usd, price.source))
    return lines


@dataclass
class BackendResult:
    """One backend's answer. ``error`` set: it failed, and the others still report."""

    backend: str  # local | s3-scan | athena | cloudwatch-insights | cloudwatch-filter
    destination: str | None  # the modelled destination it measures (s3, cloudwatch), or None
    source: str
    sessions: list[SessionMatch] = field(default_factory=list)
    seconds: float = 0.0
    bytes_scanned: int | None = None
    bytes_basis: str = ""
    cost: list[CostLine] = field(default_factory=list)
    query_text: str | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    priced: bool = True  # False: the service reported no usage to price (cost_usd is not it)

    @property
    def cost_usd(self) -> float:
        return sum(line.usd for line in self.cost)

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "destination": self.destination,
            "source": self.source,
            "ok": self.ok,
            "error": self.error,
            "seconds": self.seconds,
            "bytes_scanned": self.bytes_scanned,
            "bytes_basis": self.bytes_basis,
            "cost_usd": self.cost_usd,
            "priced": self.priced,
            "cost": [line.as_dict() for line in self.cost],
            "query_text": self.query_text,
            "notes": list(self.notes),
            "sessions": [s.as_dict() for s in self.sessions],
        }


@dataclass
class SearchResult:
    query: SearchQuery
    backends: list[BackendResult]
    region: str | None = None
    pricing_date: dt.date | None = None

    @property
    def failed(self) -> list[BackendResult]:
        return [b for b in self.backends if not b.ok]

    def session_ids(self, backend: str) -> set[str]:
        return {s.session_id for b in self.backends if b.backend == backend for s in b.sessions}

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": RESULT_KIND,
            "version": RESULT_VERSION,
            "query": self.query.describe(),
            "region": self.region,
            "pricing_date": self.pricing_date.isoformat() if self.pricing_date else None,
            "currency": "USD",
            "backends": [b.as_dict() for b in self.backends],
        }


def render(result: SearchResult, fmt: str, *, wide: bool = False) -> str:
    if fmt == "json":
        return jsoncontract.dumps(result.as_dict())
    if fmt == "csv":
        return to_csv(result)
    return to_text(result, wide=wide)


def to_csv(result: SearchResult) -> str:
    """One row per matching line (the spreadsheet view); backend figures repeat on each row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["backend", "session_id", "user", "instance", "first_time", "last_time", "line",
         "seconds", "bytes_scanned", "cost_usd"]
    )  # fmt: skip
    for b in result.backends:
        for s in b.sessions:
            for line in s.lines or [""]:
                writer.writerow(
                    [b.backend, s.session_id, s.user, s.instance or "", iso_time(s.first_time),
                     iso_time(s.last_time), line, f"{b.seconds:.3f}", b.bytes_scanned,
                     f"{b.cost_usd:.8f}"]
                )  # fmt: skip
    return buf.getvalue()


def to_text(result: SearchResult, *, wide: bool = False) -> str:
    """Per backend: its figures and priced lines as paragraphs wrapped to the terminal (an S3
    URI or an AWS error is long), then the matching sessions as a table that fits it."""
    out = []
    width = 10**6 if wide else None  # --wide: one line each, as the table's columns
    for b in result.backends:
        head = f"{b.backend} — {b.source}"
        if not b.ok:
            out.append(fill(f"{head}: FAILED: {b.error}", width, indent="  ") + "\n")
            continue
        scanned = "not reported" if b.bytes_scanned is None else _bytes(b.bytes_scanned)
        out.append(fill(head, width, indent="  "))
        out.append(fill(
            f"  {len(b.sessions)} sessions, {sum(s.matches for s in b.sessions):,} "
            f"matching lines in {b.seconds:.2f} s; scanned {scanned}; "
            f"cost {_usd(b.cost_usd)}", width, indent="    "
        ))  # fmt: skip
        for line in b.cost:
            rate = f"{line.unit_price_usd:.10f}".rstrip("0").rstrip(".")
            text = (
                f"    {line.name}: {line.quantity:,.6g} {line.unit} × ${rate}"
                f" = {_usd(line.usd)} ({line.price_key})"
            )
            out.append(fill(text, width, indent="      "))
        if b.sessions:
            rows = [
                [s.session_id, s.user, s.instance or "?", iso_time(s.first_time) or "?",
                 str(s.matches), _short(s.lines[0] if s.lines else "")]
                for s in sorted(b.sessions, key=lambda s: (s.first_time or 0, s.session_id))
            ]  # fmt: skip
            out.append(render_table(_SESSION_COLUMNS, rows, indent=2, wide=wide))
        out.extend(fill(f"  note: {n}", width, indent="    ") for n in b.notes)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# Ids and text read best left-aligned; the count on the right; the match may wrap, the
# instance and time go first when the terminal is narrow.
_SESSION_COLUMNS = [
    Column("session", "left"),
    Column("user", "left"),
    Column("instance", "left", priority=2),
    Column("when (UTC)", "left", priority=1),
    Column("lines"),
    Column("first match", "left", wrap=True),
]


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"  # pragma: no cover - unreachable


def _usd(x: float) -> str:
    return f"${x:.6f}" if x < 0.01 else f"${x:,.4f}"


# -- a saved result, read back ---------------------------------------------------------------


@dataclass(frozen=True)
class MeasuredSearch:
    """What one saved search measured for one destination: the figures the model replaces."""

    destination: str
    backend: str
    cost_usd: float
    seconds: float
    bytes_scanned: int | None
    source: str


def load_measured(path: str | Path) -> dict[str, MeasuredSearch]:
    """Destination → measured search from a saved ``search -o json`` file. When a destination
    was searched by several backends, the cheapest successful one counts (it is what an auditor
    would use); failed backends and local searches measure no destination."""
    file = Path(path)
    fix = "save one with `costcompare search PATTERN ... -o json --out FILE`"
    data = read_json(file, what="--searches-from", error=SearchError, fix=fix)
    if not isinstance(data, dict) or data.get("kind") != RESULT_KIND:
        raise SearchError(f"--searches-from {file} is not a saved search result", fix)
    measured: dict[str, MeasuredSearch] = {}
    for raw in data.get("backends") or []:
        try:
            item = MeasuredSearch(
                destination=raw["destination"],
                backend=str(raw["backend"]),
                cost_usd=float(raw["cost_usd"]),
                seconds=float(raw["seconds"]),
                bytes_scanned=raw.get("bytes_scanned"),
                source=str(raw.get("source", "")),
            )
        except (KeyError, TypeError, ValueError):
            raise SearchError(
                f"--searches-from {file} has a malformed backend entry", fix
            ) from None
        if not raw.get("ok") or not raw.get("priced", True) or not item.destination:
            continue
        if not (math.isfinite(item.cost_usd) and item.cost_usd >= 0 and item.seconds >= 0):
            raise SearchError(f"--searches-from {file} has a negative or infinite figure", fix)
        best = measured.get(item.destination)
        if best is None or item.cost_usd < best.cost_usd:
            measured[item.destination] = item
    if not measured:
        raise SearchError(
            f"--searches-from {file} holds no successful, priced S3 or CloudWatch search",
            "search an S3 prefix (--s3, --athena-table) or a log group (--log-group); a local "
            "folder measures no destination, an unpriced search no cost",
        )
    return measured
