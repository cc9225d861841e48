"""Billed vs modelled as a table, JSON or CSV (the CLI and notebooks print these)."""

from __future__ import annotations

import csv
import io
from collections import Counter

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


SHORT_SERVICE = {"AmazonCloudWatch": "CloudWatch", "AmazonS3": "S3", "AmazonVPC": "VPC",
                 "awskms": "KMS", "AmazonAthena": "Athena"}  # fmt: skip


def _labels(result: Reconciliation) -> list[str]:
    """Each check's usage type, with its service where another service bills the same one
    (S3 and CloudWatch both bill ``APN1-TimedStorage-ByteHrs``): the service column is the
    first to go on a narrow terminal, and the two rows must still read apart."""
    seen = Counter(c.usage_type for c in result.checks)
    return [
        f"{c.usage_type}/{SHORT_SERVICE.get(c.service, c.service)}"
        if seen[c.usage_type] > 1
        else c.usage_type
        for c in result.checks
    ]


def _text(result: Reconciliation, wide: bool) -> str:
    labels = _labels(result)
    rows = [
        [
            c.service,
            label,
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
        for c, label in zip(result.checks, labels, strict=True)
    ]
    rows.append(
        [
            "",
            "total",  # in the usage type column, which a narrow terminal keeps
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
    flagged = [(c, label) for c, label in zip(result.checks, labels, strict=True) if c.explanation]
    if flagged:
        out += ["", f"Errors of {result.tolerance_pct:g}% or more (!):"]
        out += [fill(f"- {label}: {c.explanation}", indent="  ") for c, label in flagged]
    out += ["", *(fill(note) for note in result.notes)]
    return "\n".join(out) + "\n"
