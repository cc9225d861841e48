"""When a session happened, from what its logs say: event times, transcript headers, paths.

Every time read from user input goes through here, so that an implausible one (NaN, 1e20, a year
9999, an int too large for a float) becomes None rather than an exception deep in a report.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

# Times outside these bounds are corrupt: Session Manager launched in 2018.
EARLIEST_EPOCH = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_EPOCH = 4_102_444_800.0  # 2100-01-01T00:00:00Z


def epoch_seconds(value: Any, scale: float = 1.0) -> float | None:
    """``value / scale`` as epoch seconds if it is a real number within 2000–2100, else None
    (NaN, infinities, 1e20, booleans, strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value) / scale
    except OverflowError:  # an int beyond float range
        return None
    return seconds if EARLIEST_EPOCH <= seconds < LATEST_EPOCH else None


def iso_seconds(value: Any) -> float | None:
    """Epoch seconds of an ISO-8601 time (``Z`` accepted, no zone = UTC), None when it is not
    one or lies outside 2000–2100."""
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return epoch_seconds(when.timestamp())
    except (ValueError, OverflowError):
        return None


# Dates a transcript may carry: util-linux ``script``'s first line ("Script started on
# 2025-03-01 16:32:32+00:00 [...]") and a PowerShell transcript's header ("Start time:
# 20250301163232", Windows sessions). Linux transcripts of the agent carry none.
_SCRIPT_STARTED = re.compile(rb"Script started on (\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})")
_START_TIME = re.compile(rb"^Start time: (\d{14})\s*$", re.MULTILINE)
# A date in a file's path (``2025/03/01/``, ``2025-03-01``): separators are required, so that
# a session id's hex digits are never read as one.
_PATH_DATE = re.compile(r"(?<!\d)(20\d\d)([-/_])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")


def transcript_time(head: bytes) -> float | None:
    """Epoch seconds (UTC) of the session start written in a transcript's first bytes."""
    if b"Script started on" not in head and b"Start time:" not in head:
        return None  # the common case (an agent's Linux transcript), without a regex
    if m := _SCRIPT_STARTED.search(head[:512]):
        return iso_seconds(f"{m[1].decode()}T{m[2].decode()}")
    if m := _START_TIME.search(head[:2048]):
        d = m[1].decode()
        return iso_seconds(f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}")
    return None


def path_time(relative_path: str) -> float | None:
    """Epoch seconds of midnight UTC of a date written in a path (``sessions/2025/03/01/…``)."""
    m = _PATH_DATE.search(relative_path)
    return iso_seconds(f"{m[1]}-{m[3]}-{m[4]}") if m else None  # None for 2025-02-30
