"""Prove every session was recorded: CloudTrail's session starts joined with what arrived.

CloudTrail records every ``StartSession`` (who, which instance, which document, the session id
in ``responseElements``), ``ResumeSession`` and ``TerminateSession``. Session Manager writes one
S3 object ``<prefix>/<sessionId>.log`` and one CloudWatch log stream named by the session id per
session. A session is *recorded* when every destination holds it, *partial* when only some do,
*missing* when none does — the agent uploads to S3 only at session end, so an instance stopped
mid-session loses it — and *never logged* when its document is one Session Manager does not log
at all (SSH, port forwarding, non-interactive commands).

Coverage counts a session as covered when at least one destination holds its log; sessions that
are never logged count as not covered, since nobody can audit what they did. A session with no
log, no TerminateSession and a start less than the grace period (default 24 h, the longest
session Session Manager allows) before now may still be running — its S3 object comes at the
end — so it is *in progress* and left out of the percentage.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costcompare.errors import CostCompareError
from costcompare.measure.events import parse_json
from costcompare.measure.exports import event_records
from costcompare.measure.local import file_kind, read_chunks, walk
from costcompare.measure.times import iso_seconds
from costcompare.search.query import iso_time, user_of

# Documents whose sessions Session Manager never logs (AWS's Session Manager logging docs).
NEVER_LOGGED = {
    "AWS-StartSSHSession": "SSH",
    "AWS-StartPortForwardingSession": "port forwarding",
    "AWS-StartPortForwardingSessionToRemoteHost": "port forwarding",
    "AWS-StartPortForwardingSessionToSocket": "port forwarding",
    "AWS-StartNonInteractiveCommand": "non-interactive command",
}
SHELL_DOCUMENT = "SSM-SessionManagerRunShell"  # used when StartSession names no document
SESSION_EVENTS = ("StartSession", "ResumeSession", "TerminateSession")


class CoverageError(CostCompareError):
    """The trail or a destination cannot be read, or the options make no sense."""


@dataclass
class TrailSession:
    """One session as CloudTrail saw it."""

    session_id: str
    account: str
    region: str
    user: str
    instance: str | None
    document: str
    started: float | None
    ended: float | None = None
    resumed: int = 0

    @property
    def never_logged(self) -> str | None:
        return NEVER_LOGGED.get(self.document)


@dataclass
class Trail:
    sessions: dict[str, TrailSession] = field(default_factory=dict)
    files: int = 0
    records: int = 0
    refused: int = 0  # StartSession calls that failed (no session)
    unreadable: list[str] = field(default_factory=list)
    # Resume/Terminate events, applied once every file is read: files come in any order.
    _later: list[tuple[str, str, float | None]] = field(default_factory=list, repr=False)

    def add(self, record: dict[str, Any]) -> None:
        """One CloudTrail record; anything but a session event of Session Manager is ignored."""
        self.records += 1
        if record.get("eventSource") != "ssm.amazonaws.com":
            return
        name = record.get("eventName")
        if name not in SESSION_EVENTS:
            return
        if record.get("errorCode"):
            self.refused += name == "StartSession"
            return
        request = record.get("requestParameters") or {}
        response = record.get("responseElements") or {}
        when = iso_seconds(record.get("eventTime"))
        if name == "StartSession":
            sid = response.get("sessionId")
            if isinstance(sid, str):
                self.sessions[sid] = _started(sid, record, request, when)
            return
        sid = request.get("sessionId")
        if isinstance(sid, str):
            self._later.append((name, sid, when))

    def finish(self) -> Trail:
        """Apply resumes and ends to the sessions they belong to (started before the files
        read: ignored)."""
        for name, sid, when in self._later:
            session = self.sessions.get(sid)
            if session is None:
                continue
            if name == "ResumeSession":
                session.resumed += 1
            elif when is not None:
                session.ended = when if session.ended is None else max(session.ended, when)
        self._later.clear()
        return self


def _started(sid: str, record: dict, request: dict, when: float | None) -> TrailSession:
    identity = record.get("userIdentity") or {}
    arn = str(identity.get("arn") or "")
    user = arn.rsplit("/", 1)[-1] if "/" in arn else user_of(sid)
    target = request.get("target")
    return TrailSession(
        session_id=sid,
        account=str(record.get("recipientAccountId") or identity.get("accountId") or "?"),
        region=str(record.get("awsRegion") or "?"),
        user=user,
        instance=target if isinstance(target, str) else None,
        document=str(request.get("documentName") or SHELL_DOCUMENT),
        started=when,
    )


def read_trail(sources: str | Path | list[str | Path], aws=None) -> Trail:
    """CloudTrail log files (``{"Records": [...]}``, gzipped or not) under local folders or
    files and ``s3://bucket/AWSLogs/...`` prefixes, in any order."""
    trail = Trail()
    for source in sources if isinstance(sources, list) else [sources]:
        files = trail.files
        if str(source).startswith("s3://"):
            for name, data in _s3_objects(str(source), aws):
                _read_file(trail, name, data)
        else:
            root = Path(source)
            if not root.exists():
                raise CoverageError(f"{root} does not exist", "pass the trail's logs or s3:// URI")
            for file in walk(root):
                if file.rel.endswith((".json", ".json.gz")):
                    _read_file(trail, file.rel, Path(file.path).read_bytes())
        if trail.files == files:
            raise CoverageError(
                f"no CloudTrail log files (*.json, *.json.gz) under {source}",
                "pass the trail's S3 prefix (…/AWSLogs/<account>/CloudTrail/) or a local copy",
            )
    return trail.finish()


def _read_file(trail: Trail, name: str, data: bytes) -> None:
    try:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        doc = parse_json(data)
    except (OSError, EOFError, ValueError, UnicodeDecodeError):
        trail.unreadable.append(name)
        return
    records = doc.get("Records") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        trail.unreadable.append(name)
        return
    trail.files += 1
    for record in records:
        if isinstance(record, dict):
            trail.add(record)


def _s3_objects(uri: str, aws):
    from costcompare.aws import translated
    from costcompare.measure.s3 import parse_s3_uri

    where = parse_s3_uri(uri)
    s3 = aws.client("s3")
    with translated(f"reading CloudTrail logs under {where}", error=CoverageError):
        keys = [
            obj["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=where.bucket, Prefix=where.prefix
            )
            for obj in page.get("Contents", [])
            if obj["Key"].endswith((".json", ".json.gz"))
        ]
        for key in keys:
            yield key, s3.get_object(Bucket=where.bucket, Key=key)["Body"].read()


# -- what arrived ---------------------------------------------------------------------------


@dataclass
class Arrivals:
    """Session ids one destination holds."""

    destination: str  # s3 | cloudwatch
    source: str
    session_ids: set[str]


def s3_arrivals(uri: str, aws) -> Arrivals:
    """Keys ``<prefix>/<sessionId>.log`` under the prefix (one LIST call per 1,000)."""
    from costcompare.aws import translated
    from costcompare.measure.s3 import parse_s3_uri

    where = parse_s3_uri(uri)
    ids = set()
    with translated(f"listing {where}", error=CoverageError):
        pages = aws.client("s3").get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=where.bucket, Prefix=where.prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".log"):
                    ids.add(obj["Key"].rsplit("/", 1)[-1][: -len(".log")])
    return Arrivals("s3", str(where), ids)


def cloudwatch_arrivals(group: str, aws) -> Arrivals:
    """Log streams of the group: one per session, named by the session id."""
    from costcompare.aws import translated

    ids = set()
    with translated(f"listing the streams of log group {group}", error=CoverageError):
        pages = aws.client("logs").get_paginator("describe_log_streams")
        for page in pages.paginate(logGroupName=group):
            ids.update(s["logStreamName"] for s in page.get("logStreams", []))
    return Arrivals("cloudwatch", f"log group {group}", ids)


def local_arrivals(path: str | Path) -> list[Arrivals]:
    """A local copy: transcripts stand for S3, CloudWatch exports for the log group."""
    from costcompare.progress import NoProgress

    root = Path(path)
    if not root.exists():
        raise CoverageError(f"{root} does not exist", "pass an existing folder to --path")
    transcripts: set[str] = set()
    streams: set[str] = set()
    for file in walk(root):
        name, rel = file.path, file.rel
        kind = file_kind(rel)
        if kind == "transcript":
            transcripts.add(Path(rel).name.split(".")[0])
        elif kind == "events":
            with open(name, "rb") as fh:
                for _, record in event_records(read_chunks(fh, NoProgress())):
                    streams.update(_stream_of(record))
    found = []
    if transcripts:
        found.append(Arrivals("s3", f"transcripts in {root}", transcripts))
    if streams:
        found.append(Arrivals("cloudwatch", f"CloudWatch exports in {root}", streams))
    if not found:
        raise CoverageError(f"no transcripts or CloudWatch exports under {root}", "check --path")
    return found


def _stream_of(record: Any) -> list[str]:
    if not isinstance(record, tuple) or not isinstance(record[0], dict):
        return []
    body = record[0]
    name = body.get("logStreamName")
    if isinstance(name, str):
        return [name]
    sid = body.get("sessionId")
    if sid is None and isinstance(body.get("message"), str) and body["message"].startswith("{"):
        try:
            sid = json.loads(body["message"]).get("sessionId")
        except (ValueError, AttributeError):
            sid = None
    return [sid] if isinstance(sid, str) else []


# -- the join -------------------------------------------------------------------------------


@dataclass
class SessionCoverage:
    session: TrailSession
    found_in: list[str]
    expected: list[str]
    may_be_running: bool = False  # no end seen, started within the grace period

    @property
    def status(self) -> str:
        if self.session.never_logged:
            return "never logged"
        if not self.found_in:
            return "in progress" if self.may_be_running else "missing"
        return "recorded" if len(self.found_in) == len(self.expected) else "partial"

    @property
    def covered(self) -> bool:
        return self.status in ("recorded", "partial")

    def as_dict(self) -> dict[str, Any]:
        s = self.session
        return {
            "session_id": s.session_id,
            "status": self.status,
            "account": s.account,
            "region": s.region,
            "user": s.user,
            "instance": s.instance,
            "document": s.document,
            "never_logged": s.never_logged,
            "started": iso_time(s.started),
            "ended": iso_time(s.ended),
            "resumed": s.resumed,
            "found_in": self.found_in,
            "missing_from": [d for d in self.expected if d not in self.found_in],
        }


@dataclass
class Coverage:
    sessions: list[SessionCoverage]
    destinations: list[Arrivals]
    trail: Trail

    @property
    def percent(self) -> float | None:
        due = [s for s in self.sessions if s.status != "in progress"]
        if not due:
            return None
        return 100 * sum(s.covered for s in due) / len(due)

    def with_status(self, status: str) -> list[SessionCoverage]:
        return [s for s in self.sessions if s.status == status]

    def by(self, attribute: str) -> dict[str, dict[str, float]]:
        """Per account, instance or user: sessions started, covered, and the percentage."""
        groups: dict[str, list[SessionCoverage]] = defaultdict(list)
        for s in self.sessions:
            if s.status == "in progress":
                continue
            groups[str(getattr(s.session, attribute) or "?")].append(s)
        return {
            key: {
                "sessions": len(items),
                "covered": sum(i.covered for i in items),
                "percent": 100 * sum(i.covered for i in items) / len(items),
            }
            for key, items in sorted(groups.items())
        }


@dataclass(frozen=True)
class Only:
    """Which sessions to report: started in [since, until) (epoch seconds), by user, on instance."""

    since: float | None = None
    until: float | None = None
    user: str | None = None
    instance: str | None = None

    def wants(self, s: TrailSession) -> bool:
        if (self.user and s.user != self.user) or (self.instance and s.instance != self.instance):
            return False
        when = s.started
        if when is None:
            return self.since is None and self.until is None
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )


DEFAULT_GRACE_S = 24 * 3600  # maxSessionDuration is at most 1,440 minutes


def join(
    trail: Trail,
    destinations: list[Arrivals],
    only: Only = Only(),
    *,
    now: float | None = None,
    grace_s: float = DEFAULT_GRACE_S,
) -> Coverage:
    """Every session CloudTrail saw start (in the window, for the user/instance asked), with the
    destinations that hold its log. Several sources of one destination are pooled."""
    if not destinations:
        raise CoverageError(
            "no destination to check", "give --s3, --log-group or --path (a local copy)"
        )
    held: dict[str, set[str]] = defaultdict(set)
    for arrivals in destinations:
        held[arrivals.destination] |= arrivals.session_ids
    expected = sorted(held)
    rows = []
    for session in sorted(trail.sessions.values(), key=lambda s: (s.started or 0, s.session_id)):
        if not only.wants(session):
            continue
        found = [d for d in expected if session.session_id in held[d]]
        running = (
            session.ended is None
            and session.started is not None
            and session.started >= (time.time() if now is None else now) - grace_s
        )
        rows.append(SessionCoverage(session, found, expected, running))
    return Coverage(rows, destinations, trail)
