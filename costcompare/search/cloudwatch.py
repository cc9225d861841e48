"""Search a CloudWatch Logs log group: a Logs Insights query, or FilterLogEvents for small windows.

Insights bills the bytes of the log group in the time range, whatever the query text says, so a
search is priced from the ``bytesScanned`` statistic Insights returns. FilterLogEvents bills no
bytes scanned, but pages through events a request at a time: fast for one session or an hour,
slow for months — hence Insights by default and FilterLogEvents for windows up to an hour or a
single session (``--cloudwatch-api`` overrides).

Each event is the agent's streamed JSON (``sessionData`` lines), read by the same parser
``costcompare measure`` uses; the pattern is matched line by line here, after the service's own
filter, so both paths return exactly the matching lines.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass

from costcompare.measure.events import parse_event
from costcompare.pricing import PriceBook
from costcompare.search.awsutil import AwsOptions, translate, wait
from costcompare.search.query import SearchError, SearchQuery, clean_line, user_of
from costcompare.search.result import BackendResult, SessionMatch, price_lines
from costcompare.workload import GIB

INSIGHTS_ROW_LIMIT = 10_000
FILTER_MAX_WINDOW_S = 3600.0
OLDEST_EVENT_AGE_S = 14 * 86_400  # PutLogEvents rejects events older than 14 days


@dataclass(frozen=True)
class LogGroupTarget:
    name: str
    api: str = "auto"  # auto | insights | filter
    timeout_s: float = 300.0


def choose_api(target: LogGroupTarget, query: SearchQuery) -> str:
    if target.api != "auto":
        return target.api
    small = (
        query.since is not None
        and (query.until or time.time()) - query.since <= FILTER_MAX_WINDOW_S
    )
    return "filter" if small or query.session else "insights"


def insights_query(query: SearchQuery) -> str:
    """The Logs Insights query text (the regex is matched against the event's JSON text)."""
    regex = ("(?i)" if query.ignore_case else "") + query.regex.replace("/", r"\/")
    parts = ["fields @timestamp, @logStream, @message", f"filter @message like /{regex}/"]
    if query.session:
        parts.append(f"filter @logStream = {_quoted(query.session)}")
    if query.user:
        parts.append(f"filter @logStream like /^{re.escape(query.user)}-[0-9a-f]{{17}}$/")
    if query.instance:
        parts.append(f"filter target.id = {_quoted(query.instance)}")
    parts += ["sort @timestamp asc", f"limit {INSIGHTS_ROW_LIMIT}"]
    return "\n| ".join(parts)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_cloudwatch(
    target: LogGroupTarget, query: SearchQuery, aws: AwsOptions, book: PriceBook | None
) -> BackendResult:
    api = choose_api(target, query)
    logs = aws.client("logs")
    backend = "cloudwatch-insights" if api == "insights" else "cloudwatch-filter"
    started = time.perf_counter()
    try:
        created = _created(logs, target.name)
        since = query.since if query.since is not None else created
        until = query.until if query.until is not None else time.time()
        if api == "insights":
            result = _insights(logs, target, query, since, until, book)
        else:
            result = _filter(logs, target, query, since, until)
    except Exception as exc:
        raise translate(exc, backend, f"searching log group {target.name}") from None
    result.seconds = time.perf_counter() - started
    return result


def _created(logs, name: str) -> float:
    """The oldest time an event of the group can carry: its creation time less the 14 days
    PutLogEvents accepts events back in time. A clear error when the group is missing."""
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return group.get("creationTime", 0) / 1000 - OLDEST_EVENT_AGE_S
    raise SearchError(
        f"log group {name!r} does not exist in this region",
        "check --log-group and --region (Session Manager's group is set in its preferences)",
    )


def _insights(logs, target, query, since, until, book) -> BackendResult:
    text = insights_query(query)
    result = BackendResult(
        "cloudwatch-insights", "cloudwatch", f"log group {target.name}",
        bytes_basis="reported by Logs Insights (statistics.bytesScanned)", query_text=text,
    )  # fmt: skip
    qid = logs.start_query(
        logGroupName=target.name,
        startTime=int(since),
        endTime=int(until) + 1,
        queryString=text,
        limit=INSIGHTS_ROW_LIMIT,
    )["queryId"]
    reply = wait(lambda: _query_state(logs, qid), target.timeout_s, "the Logs Insights query")
    if reply["status"] != "Complete":
        raise SearchError(
            f"the Logs Insights query ended {reply['status']}", "narrow the window and retry"
        )
    sessions: dict[str, SessionMatch] = {}
    rows = reply.get("results", [])
    for row in rows:
        fields = {f["field"]: f.get("value") for f in row}
        message = fields.get("@message")
        if message is not None:
            _add_event(sessions, query, message, fields.get("@logStream"), _ts(fields))
    result.sessions = [s for s in sessions.values() if s.matches]
    scanned = reply.get("statistics", {}).get("bytesScanned")
    if scanned is None:
        result.priced = False
        result.notes.append("the service returned no bytesScanned statistic: cost not priced")
    else:
        result.bytes_scanned = int(scanned)
        if book is not None:
            result.cost = price_lines(
                book,
                [
                    (
                        "Logs Insights data scanned",
                        "logs.insights.scanned",
                        result.bytes_scanned / GIB,
                    )
                ],
            )
    if len(rows) >= INSIGHTS_ROW_LIMIT:
        result.notes.append(f"stopped at {INSIGHTS_ROW_LIMIT:,} events: narrow the search")
    return result


def _query_state(logs, qid: str):
    reply = logs.get_query_results(queryId=qid)
    return reply["status"] not in ("Scheduled", "Running"), reply


def _ts(fields: dict) -> float | None:
    """@timestamp as Insights returns it ("2025-03-01 16:32:32.000", UTC) or epoch ms."""
    value = fields.get("@timestamp")
    if not value:
        return None
    if value.isdigit():
        return int(value) / 1000
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        return None


def _filter(logs, target, query, since, until) -> BackendResult:
    result = BackendResult(
        "cloudwatch-filter", "cloudwatch", f"log group {target.name}",
        bytes_basis="event bytes returned to this tool (FilterLogEvents reports no scan)",
    )  # fmt: skip
    kwargs = {
        "logGroupName": target.name,
        "startTime": int(since * 1000),
        "endTime": int(until * 1000),
    }
    plain = query.regex == re.escape(query.regex) and not query.ignore_case
    if plain:
        kwargs["filterPattern"] = _quoted(query.pattern)
    if query.session:
        kwargs["logStreamNames"] = [query.session]
    result.query_text = kwargs.get("filterPattern")
    sessions: dict[str, SessionMatch] = {}
    returned = calls = 0
    for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
        calls += 1
        for event in page.get("events", []):
            returned += len(event["message"].encode("utf-8", "surrogatepass"))
            when = event.get("timestamp")
            stamp = when / 1000 if when is not None else None
            _add_event(sessions, query, event["message"], event.get("logStreamName"), stamp)
    result.sessions = [s for s in sessions.values() if s.matches]
    result.bytes_scanned = returned
    result.notes.append(
        f"{calls} FilterLogEvents calls; the price table has no per-GB charge for them"
    )
    return result


def _add_event(sessions, query: SearchQuery, message: str, stream, when) -> None:
    event = parse_event(message, when)
    sid = event.session_id or stream
    if not sid or not query.wants_session(sid, event.target):
        return
    if not query.in_window(event.timestamp):
        return
    lines = event.lines if event.json else message.splitlines()
    rx = query.compiled_text()
    hits = [clean_line(x) for x in lines if rx.search(x)]
    if not hits:
        return
    match = sessions.setdefault(sid, SessionMatch(sid, user_of(sid), source=stream or sid))
    match.instance = match.instance or event.target
    for line in hits:
        match.add(line, event.timestamp)
