"""What is searched for: the pattern and the filters, validated once for every backend.

A pattern is a regular expression over one line of terminal output (or a fixed string with
``fixed=True``). Lines are matched as the destination stores them — raw transcript bytes with
ANSI sequences intact for S3 and local transcripts, the ``sessionData`` lines (escape sequences
included, as the agent streams them) for CloudWatch — and shown with the escape sequences removed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from costcompare.errors import CostCompareError

# Session ids look like ``<user-or-role-session-name>-<17 hex digits>`` (the Session Manager
# logging documentation); the name part is the only "who" a transcript carries.
SESSION_ID = re.compile(r"^(?P<user>.+)-(?P<hex>[0-9a-f]{17})$")
# CSI, OSC (to BEL or ST) and two-byte escape sequences, then remaining C0 controls but TAB.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -/]*[0-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class SearchError(CostCompareError):
    """A search cannot run as asked: bad pattern, empty window, missing source or permission."""


@dataclass(frozen=True)
class SearchQuery:
    """One search. Times are epoch seconds (UTC); ``None`` means unbounded."""

    pattern: str
    fixed: bool = False
    ignore_case: bool = False
    since: float | None = None
    until: float | None = None
    user: str | None = None
    instance: str | None = None
    session: str | None = None

    def __post_init__(self) -> None:
        if not self.pattern:
            raise SearchError("the search pattern is empty", "give a word or regular expression")
        if "\n" in self.pattern or "\r" in self.pattern:
            raise SearchError(
                "the search pattern spans lines", "search one line at a time (no newlines)"
            )
        try:
            compiled = re.compile(self.regex, re.IGNORECASE if self.ignore_case else 0)
        except re.error as exc:
            raise SearchError(
                f"the pattern {self.pattern!r} is not a valid regular expression ({exc})",
                "fix it, or pass --fixed-strings to search for the text as written",
            ) from None
        if compiled.search("") is not None:
            raise SearchError(
                f"the pattern {self.pattern!r} matches an empty line, so every line would match",
                "search for some text, e.g. 'sudo'",
            )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise SearchError(
                f"the window is empty: --since {_iso(self.since)} is not before --until "
                f"{_iso(self.until)}",
                "swap them or widen the window",
            )

    @property
    def regex(self) -> str:
        """The pattern as a regular expression (a fixed string escaped)."""
        return re.escape(self.pattern) if self.fixed else self.pattern

    def compiled_bytes(self) -> re.Pattern[bytes]:
        flags = re.IGNORECASE if self.ignore_case else 0
        return re.compile(self.regex.encode("utf-8"), flags)

    def compiled_text(self) -> re.Pattern[str]:
        return re.compile(self.regex, re.IGNORECASE if self.ignore_case else 0)

    def required_literals(self) -> list[bytes] | None:
        """Byte strings one of which every matching line must hold (one per top-level
        alternative: the longest run of plain characters of it), or None when some alternative
        has none of two characters or more, or case is ignored. Lets a scan look for a few
        literals with ``bytes.find`` and run the regex only on the lines that hold one."""
        try:
            from re import _constants as sre
            from re import _parser

            parsed = _parser.parse(self.regex, 0)
        except (ImportError, AttributeError, re.error):  # pragma: no cover - other Pythons
            return None
        if self.ignore_case or parsed.state.flags & sre.SRE_FLAG_IGNORECASE:
            return None
        items = list(parsed)
        branches = [items]
        if len(items) == 1 and items[0][0] is sre.BRANCH:
            branches = items[0][1][1]
        literals = []
        for branch in branches:
            best = run = ""
            for op, arg in [*branch, (None, None)]:
                if op is sre.LITERAL:
                    run += chr(arg)
                    continue
                best, run = max(best, run, key=len), ""
            if len(best) < 2:
                return None
            literals.append(best.encode("utf-8"))
        return literals

    def in_window(self, when: float | None) -> bool:
        """Whether a time falls in [since, until); an unknown time passes (it cannot be
        excluded)."""
        if when is None:
            return True
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )

    def wants_session(self, session_id: str, instance: str | None = None) -> bool:
        """The --session, --user and --instance filters. A session whose instance is unknown
        does not pass an --instance filter."""
        if self.session and session_id != self.session:
            return False
        if self.user and user_of(session_id) != self.user:
            return False
        return not (self.instance and instance != self.instance)

    def describe(self) -> dict[str, object]:
        return {
            "pattern": self.pattern,
            "fixed_strings": self.fixed,
            "ignore_case": self.ignore_case,
            "since": _iso(self.since) if self.since is not None else None,
            "until": _iso(self.until) if self.until is not None else None,
            "user": self.user,
            "instance": self.instance,
            "session": self.session,
        }


def user_of(session_id: str) -> str:
    """The user (or role session name) part of a session id; the id itself if it has none."""
    found = SESSION_ID.match(session_id)
    return found.group("user") if found else session_id


def clean_line(line: str) -> str:
    """A line as a person reads it: escape sequences and control characters removed."""
    return _CONTROL.sub("", _ANSI.sub("", line)).rstrip()


def parse_time(value: str | None, option: str, now: dt.datetime | None = None) -> float | None:
    """``2025-03-01``, ``2025-03-01T16:00:00Z`` (UTC unless an offset is given) or a time ago:
    ``30m``, ``12h``, ``7d``, ``2w``. Returns epoch seconds."""
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.match(text.lower())
    if relative:
        ago = float(relative.group(1)) * _UNIT_SECONDS[relative.group(2)]
        return (now or dt.datetime.now(dt.UTC)).timestamp() - ago
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(
            f"{option} {value!r} is not a time",
            "write YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or a time ago such as 12h or 7d",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _iso(seconds: float) -> str:
    when = dt.datetime.fromtimestamp(round(seconds), dt.UTC)
    return when.isoformat().replace("+00:00", "Z")


def iso_time(seconds: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC (``Z``), None stays None."""
    return None if seconds is None else _iso(seconds)
