"""Measure a CloudWatch Logs log group over the last ``days`` days.

- Billed volume: the ``AWS/Logs`` metrics ``IncomingBytes`` and ``IncomingLogEvents``
  (dimension ``LogGroupName``, statistic Sum, one value a day): one GetMetricData call, whatever
  the volume.
- Sessions: one log stream per session (named by the session id). DescribeLogStreams, newest
  first (``orderBy=LastEventTime``), stops at the first stream older than the window; durations
  are last minus first event time (near zero when streaming is off: events come at the end).
- Content: the events of a bounded random sample of streams give transcript bytes per session,
  the streamed-JSON overhead, targets and the gzip stand-in for archive compression.
"""

from __future__ import annotations

import datetime as dt
import random

from costcompare.errors import MeasureError
from costcompare.measure.aws import AwsOptions, aws_error
from costcompare.measure.events import MalformedEvent, parse_event
from costcompare.measure.measurement import Collector, Measurement
from costcompare.measure.times import epoch_seconds
from costcompare.progress import NoProgress, Progress

DEFAULT_SAMPLE = 50
DEFAULT_DAYS = 30
MAX_SAMPLE_SESSION_BYTES = 16 << 20  # stop reading one sampled stream after this many bytes
DAY = 86_400


def measure_cloudwatch(
    log_group: str,
    aws: AwsOptions | None = None,
    *,
    days: int = DEFAULT_DAYS,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> Measurement:
    """Sessions, durations, billed bytes and sampled content of one log group."""
    if days < 1:
        raise MeasureError(f"--days {days}", "measure at least 1 day")
    aws = aws or AwsOptions()
    progress = progress or NoProgress()
    end = now or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=days)
    start_ms = int(start.timestamp() * 1000)
    logs = aws.client("logs")
    col = Collector()
    what = f"log group {log_group}"
    try:
        stored = _stored_bytes(logs, log_group)
        ingested, events = _metrics(aws.client("cloudwatch"), log_group, start, end)
        progress.start(f"listing streams of {log_group}", None)
        sessions, reservoir = _list_streams(logs, log_group, start_ms, col, sample, seed, progress)
        progress.start(f"reading {len(reservoir)} sampled sessions", len(reservoir))
        for name in reservoir:
            _read_stream(logs, log_group, name, col)
            progress.advance(1)
    except MeasureError:
        raise
    except Exception as exc:
        raise aws_error(exc, what) from None
    m = col.finish(
        what,
        "cloudwatch",
        size_basis="stream",
        window_days=days,
        all_targets_known=len(reservoir) == sessions,
        sessions=sessions,
    )
    m.ingested_bytes, m.ingested_events, m.metric_days = ingested, events, days
    m.stored_bytes = stored
    m.api_calls = dict(aws.calls)
    if sessions and ingested == 0:
        m.notes.append(
            "AWS/Logs IncomingBytes is 0 or missing while streams exist: metrics may lag, "
            "or the region is wrong"
        )
    if sessions > len(reservoir):
        m.notes.append(f"content from a random sample of {len(reservoir)} of {sessions} sessions")
    return m


def _list_streams(
    logs, log_group: str, start_ms: int, col: Collector, sample: int, seed: int, progress: Progress
) -> tuple[int, list[str]]:
    """Count the sessions (streams) active since ``start_ms``, recording their days and
    durations in ``col``, and pick a uniform random sample of ``sample`` of them in one pass
    (reservoir sampling: the count is not known until the listing ends)."""
    rng = random.Random(seed)
    reservoir: list[str] = []
    sessions = 0
    pages = logs.get_paginator("describe_log_streams").paginate(
        logGroupName=log_group, orderBy="LastEventTime", descending=True
    )
    for page in pages:
        for stream in page.get("logStreams", []):
            last = stream.get("lastEventTimestamp") or stream.get("creationTime", 0)
            if last < start_ms:
                # newest first: every later stream is older still
                progress.advance(len(page.get("logStreams", [])))
                return sessions, reservoir
            first = stream.get("firstEventTimestamp", last)
            col.days.add(last / 1000)
            col.durations_s.append(max(0, last - first) / 1000)
            sessions += 1
            if len(reservoir) < sample:
                reservoir.append(stream["logStreamName"])
            elif (slot := rng.randrange(sessions)) < sample:
                reservoir[slot] = stream["logStreamName"]
        progress.advance(len(page.get("logStreams", [])))
    return sessions, reservoir


def _stored_bytes(logs, log_group: str) -> int | None:
    """storedBytes of the group (lagging; stream-level storedBytes is always 0). Missing group:
    a MeasureError naming it."""
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=log_group):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == log_group:
                return group.get("storedBytes")
    raise MeasureError(
        f"log group {log_group!r} does not exist in this region",
        "check the name and --region (Session Manager's group is set in its preferences)",
    )


def _metrics(cloudwatch, log_group: str, start: dt.datetime, end: dt.datetime):
    """Sum of IncomingBytes and IncomingLogEvents over the window, in one GetMetricData call
    (daily values, summed here; more pages only past 100,800 values)."""
    dims = [{"Name": "LogGroupName", "Value": log_group}]
    queries = [
        {
            "Id": ident,
            "MetricStat": {
                "Metric": {"Namespace": "AWS/Logs", "MetricName": metric, "Dimensions": dims},
                "Period": DAY,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for ident, metric in (("bytes", "IncomingBytes"), ("events", "IncomingLogEvents"))
    ]
    totals = {"bytes": 0.0, "events": 0.0}
    kwargs = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        reply = cloudwatch.get_metric_data(**kwargs)
        for result in reply.get("MetricDataResults", []):
            totals[result["Id"]] += float(sum(result.get("Values", [])))
        token = reply.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return totals["bytes"], totals["events"]


def _read_stream(logs, log_group: str, stream: str, col: Collector) -> None:
    """All events of one sampled session (up to MAX_SAMPLE_SESSION_BYTES)."""
    raw = 0
    target = None
    token = None
    while True:
        kwargs = {"logGroupName": log_group, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        reply = logs.get_log_events(**kwargs)
        for item in reply.get("events", []):
            try:
                event = parse_event(item["message"], epoch_seconds(item.get("timestamp"), 1000))
            except MalformedEvent as exc:
                col.bad_line(str(exc), f"stream {stream}")
                continue
            col.add_event(event, item["message"])
            raw += event.raw_bytes
            target = target or event.target
        nxt = reply.get("nextForwardToken")
        if not reply.get("events") or nxt == token or raw >= MAX_SAMPLE_SESSION_BYTES:
            break
        token = nxt
    if raw >= MAX_SAMPLE_SESSION_BYTES:
        col.notes.append(f"stream {stream} read only up to {MAX_SAMPLE_SESSION_BYTES:,} bytes")
    col.sizes.add(raw)
    if target:
        col.targets.add(target)
