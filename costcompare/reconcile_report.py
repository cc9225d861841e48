"""Billed vs modelled as a table, JSON or CSV (the CLI and notebooks print these)."""

from __future__ import annotations

import csv
import io

from costcompare import jsoncontract
from costcompare.reconcile import Reconciliation
from costcompare.tables import Column, fill, render_table

CSV_FIELDS = (
    "usage_type",
    "service",
    "category",
    "unit",
    "billed_quantity",
    "modelled_quantity",
    "billed_usd",
    "modelled_usd",
    "error_usd",
    "error_pct",
    "price_keys",
    "explanation",
)


def render(result: Reconciliation, fmt: str, *, wide: bool = False) -> str:
    if fmt == "json":
        return jsoncontract.dumps(result.as_dict())
    if fmt == "csv":
        return _csv(result)
    return _text(result, wide)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


def _csv(result: Reconciliation) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for check in result.checks:
        row = check.as_dict()
        row["price_keys"] = " ".join(check.price_keys)
        writer.writerow(row)
    return buffer.getvalue()


COLUMNS = (
    Column("service", "left", priority=1),
    Column("usage type", "left"),
    Column("category", "left", priority=3),
    Column("billed qty", priority=2),
    Column("modelled qty", priority=2),
    Column("unit", "left", priority=2),
    Column("billed $"),
    Column("modelled $"),
    Column("error $"),
    Column("error %"),
    Column("", "left"),
)


def _text(result: Reconciliation, wide: bool) -> str:
    rows = [
        [
            c.service,
            c.usage_type,
            c.category,
            f"{c.billed_quantity:,.4f}",
            f"{c.modelled_quantity:,.4f}",
            c.unit,
            f"{c.billed_usd:,.2f}",
            f"{c.modelled_usd:,.2f}",
            f"{c.error_usd:+,.2f}",
            _pct(c.error_pct),
            "!" if c.explanation else "",
        ]
        for c in result.checks
    ]
    rows.append(
        [
            "total",
            "",
            "",
            "",
            "",
            "",
            f"{result.billed_usd:,.2f}",
            f"{result.modelled_usd:,.2f}",
            f"{result.error_usd:+,.2f}",
            _pct(result.error_pct),
            "",
        ]
    )
    head = (
        f"Bill {result.month:%Y-%m} ({result.engine}) vs model, {result.region}, "
        f"destination {result.destination} (USD)"
    )
    out = [head, "", render_table(COLUMNS, rows, wide=wide)]
    flagged = [c for c in result.checks if c.explanation]
    if flagged:
        out += ["", f"Errors of {result.tolerance_pct:g}% or more (!):"]
        out += [fill(f"- {c.usage_type}: {c.explanation}", indent="  ") for c in flagged]
    out += ["", *(fill(note) for note in result.notes)]
    return "\n".join(out) + "\n"
