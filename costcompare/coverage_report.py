"""How a coverage result reads: a table for people, JSON and CSV for scripts."""

from __future__ import annotations

import csv
import io
from typing import Any

from costcompare import jsoncontract
from costcompare.coverage import Coverage
from costcompare.search.query import iso_time
from costcompare.tables import WIDE, Column, fill, render_table


def to_dict(cov: Coverage) -> dict[str, Any]:
    return {
        "coverage_percent": cov.percent,
        "sessions": len(cov.sessions),
        "covered": sum(s.covered for s in cov.sessions),
        "counts": {
            status: len(cov.with_status(status))
            for status in ("recorded", "partial", "missing", "never logged", "in progress")
        },
        "destinations": [
            {"destination": a.destination, "source": a.source, "sessions": len(a.session_ids)}
            for a in cov.destinations
        ],
        "trail": {
            "files": cov.trail.files,
            "records": cov.trail.records,
            "refused_starts": cov.trail.refused,
            "unreadable_files": cov.trail.unreadable,
        },
        "by_account": cov.by("account"),
        "by_instance": cov.by("instance"),
        "by_user": cov.by("user"),
        "session_list": [s.as_dict() for s in cov.sessions],
    }


def render(cov: Coverage, fmt: str, *, wide: bool = False, width: int | None = None) -> str:
    """``fmt`` text (fitted to ``width``, the terminal's, unless ``wide``), JSON or CSV."""
    if fmt == "json":
        return jsoncontract.dumps(to_dict(cov))
    if fmt == "csv":
        return _csv(cov)
    return _text(cov, wide=wide, width=width)


def _csv(cov: Coverage) -> str:
    buf = io.StringIO()
    fields = ["session_id", "status", "account", "region", "user", "instance", "document",
              "started", "ended", "found_in", "missing_from"]  # fmt: skip
    writer = csv.DictWriter(buf, fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for s in cov.sessions:
        row = s.as_dict()
        row["found_in"] = " ".join(row["found_in"])
        row["missing_from"] = " ".join(row["missing_from"])
        writer.writerow(row)
    return buf.getvalue()


# The session tables: id, user and (wrapped) note always; the start time, instance and account
# give way, in that order from the last, when the terminal is narrow (--wide keeps them).
SESSION_COLUMNS = (
    Column("session", "left"),
    Column("user", "left"),
    Column("instance", "left", priority=2),
    Column("account", "left", priority=3),
    Column("started", "left", priority=1),
    Column("note", "left", wrap=True),
)


def _session_rows(status: str, rows: list) -> list[list[str]]:
    table = []
    for s in rows:
        t = s.session
        note = {
            "partial": f"missing from {', '.join(s.as_dict()['missing_from'])}",
            "never logged": f"{t.never_logged} ({t.document})",
        }.get(status, "")
        table.append(
            [t.session_id, t.user, t.instance or "?", t.account, iso_time(t.started) or "?", note]
        )
    return table


def _text(cov: Coverage, *, wide: bool = False, width: int | None = None) -> str:
    covered = sum(s.covered for s in cov.sessions)
    pct = "n/a" if cov.percent is None else f"{cov.percent:.1f}%"
    where = ", ".join(
        f"{a.destination} ({a.source}: {len(a.session_ids)})" for a in cov.destinations
    )
    wrap_width = WIDE if wide else width
    out = [
        f"Coverage {pct}: {covered} of {len(cov.sessions)} sessions started have a log",
        fill(
            f"  CloudTrail: {cov.trail.files} files, {len(cov.trail.sessions)} sessions started, "
            f"{cov.trail.refused} refused starts; destinations: {where}",
            wrap_width,
            indent="    ",
        ),
    ]
    if cov.trail.unreadable:
        unreadable = f"  unreadable CloudTrail files: {', '.join(cov.trail.unreadable[:5])}"
        out.append(fill(unreadable, wrap_width, indent="    "))
    sections = (
        ("missing", "No log anywhere"),
        ("partial", "Logged in only some destinations"),
        ("never logged", "Never logged (document type Session Manager does not record)"),
        ("in progress", "No log yet, may still be running (not counted)"),
    )
    for status, title in sections:
        rows = cov.with_status(status)
        if not rows:
            continue
        out += ["", f"{title}: {len(rows)}"]
        table = _session_rows(status, rows)
        columns = SESSION_COLUMNS if any(r[-1] for r in table) else SESSION_COLUMNS[:-1]
        table = [r[: len(columns)] for r in table]
        out.append(render_table(columns, table, width=width, wide=wide, indent=2))
    for label, attribute in (("account", "account"), ("instance", "instance"), ("user", "user")):
        out += ["", f"Coverage by {label}:"]
        for key, g in cov.by(attribute).items():
            out.append(
                f"  {key:<24} {g['percent']:6.1f}%  ({g['covered']:.0f} of {g['sessions']:.0f})"
            )
    return "\n".join(out) + "\n"
