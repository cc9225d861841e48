"""How a coverage result reads: a table for people, JSON and CSV for scripts."""

from __future__ import annotations

import csv
import io
from typing import Any

from costcompare import jsoncontract
from costcompare.coverage import Coverage
from costcompare.search.query import iso_time


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


def render(cov: Coverage, fmt: str) -> str:
    if fmt == "json":
        return jsoncontract.dumps(to_dict(cov))
    if fmt == "csv":
        return _csv(cov)
    return _text(cov)


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


def _text(cov: Coverage) -> str:
    covered = sum(s.covered for s in cov.sessions)
    pct = "n/a" if cov.percent is None else f"{cov.percent:.1f}%"
    where = ", ".join(
        f"{a.destination} ({a.source}: {len(a.session_ids)})" for a in cov.destinations
    )
    out = [
        f"Coverage {pct}: {covered} of {len(cov.sessions)} sessions started have a log",
        f"  CloudTrail: {cov.trail.files} files, {len(cov.trail.sessions)} sessions started, "
        f"{cov.trail.refused} refused starts; destinations: {where}",
    ]
    if cov.trail.unreadable:
        out.append(f"  unreadable CloudTrail files: {', '.join(cov.trail.unreadable[:5])}")
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
        for s in rows:
            t = s.session
            extra = {
                "partial": f"missing from {', '.join(s.as_dict()['missing_from'])}",
                "never logged": f"{t.never_logged} ({t.document})",
            }.get(status, "")
            out.append(
                f"  {t.session_id}  {t.user}  {t.instance or '?'}  account {t.account}  "
                f"{iso_time(t.started) or '?'}  {extra}".rstrip()
            )
    for label, attribute in (("account", "account"), ("instance", "instance"), ("user", "user")):
        out += ["", f"Coverage by {label}:"]
        for key, g in cov.by(attribute).items():
            out.append(
                f"  {key:<24} {g['percent']:6.1f}%  ({g['covered']:.0f} of {g['sessions']:.0f})"
            )
    return "\n".join(out) + "\n"
