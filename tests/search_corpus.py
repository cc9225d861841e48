"""The bundled sample corpus loaded into moto's S3 and CloudWatch Logs, for the search tests.

Moto accepts only events of the last 14 days, so the streamed events are moved to end an hour
ago (their ``eventTime`` too); the transcripts keep their bytes.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest
from moto import mock_aws

from costcompare.pricing import default_table
from costcompare.search.awsutil import AwsOptions

SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "sample-sessions"
BUCKET = "ssm-session-logs"
PREFIX = "sessions"
LOG_GROUP = "/ssm/sessions"
REGION = "ap-northeast-1"


def sample_transcripts() -> dict[str, bytes]:
    return {p.name[: -len(".log")]: p.read_bytes() for p in sorted((SAMPLE / "s3").glob("*.log"))}


def sessions_with(word: bytes) -> set[str]:
    """What a grep of the transcripts finds: the expected answer of every backend."""
    return {sid for sid, data in sample_transcripts().items() if word in data}


def load_s3(s3, bucket: str = BUCKET, prefix: str = PREFIX) -> int:
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    total = 0
    for sid, data in sample_transcripts().items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{sid}.log", Body=data)
        total += len(data)
    return total


def load_cloudwatch(logs, group: str = LOG_GROUP) -> tuple[float, float]:
    """Stream the sample's events into ``group``; returns (first, last) event time, seconds."""
    records = [
        json.loads(line)
        for line in (SAMPLE / "cloudwatch" / "filter-log-events.jsonl").read_text().splitlines()
    ]
    shift = (time.time() - 3600) * 1000 - max(r["timestamp"] for r in records)
    shift = int(shift // 1000 * 1000)
    logs.create_log_group(logGroupName=group)
    streams: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        stamp = r["timestamp"] + shift
        body = json.loads(r["message"])
        body["eventTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp / 1000))
        message = json.dumps(body, separators=(",", ":"))
        streams[r["logStreamName"]].append({"timestamp": stamp, "message": message})
    for name, events in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=name)
        events.sort(key=lambda e: e["timestamp"])
        logs.put_log_events(logGroupName=group, logStreamName=name, logEvents=events)
    stamps = [e["timestamp"] / 1000 for events in streams.values() for e in events]
    return min(stamps), max(stamps)


def report_insights_bytes(monkeypatch, scanned: int) -> None:
    """Make moto's GetQueryResults carry statistics.bytesScanned, as Logs Insights does."""
    from moto.logs.models import LogQuery

    plain = LogQuery.to_result_json

    def with_statistics(self):
        reply = plain(self)
        reply["statistics"] = {"bytesScanned": float(scanned), "recordsMatched": 1.0}
        return reply

    monkeypatch.setattr(LogQuery, "to_result_json", with_statistics)


def canned_athena_rows(word: bytes):
    """What Athena returns for the query: a header row, then one row per matching line."""
    from moto.athena.models import QueryResults

    rows = [{"Data": [{"VarCharValue": "session_id"}, {"VarCharValue": "modified"},
                      {"VarCharValue": "line"}]}]  # fmt: skip
    for sid, data in sample_transcripts().items():
        for line in data.split(b"\n"):
            if word in line:
                cells = [sid, "1740800000.0", line.decode("utf-8", "replace")]
                rows.append({"Data": [{"VarCharValue": c} for c in cells]})
    columns = [{"Name": n, "Type": "varchar"} for n in ("session_id", "modified", "line")]
    return QueryResults(rows=rows, column_info=columns)


# Fixtures the search tests share: import ``aws_fixture, book_fixture`` to use ``aws``, ``book``.
@pytest.fixture(name="aws")
def aws_fixture():
    """moto for the test's duration; the search backends' connection options in REGION."""
    with mock_aws():
        yield AwsOptions(region=REGION)


@pytest.fixture(name="book")
def book_fixture():
    """REGION's prices from the bundled table: expected costs are computed from it."""
    return default_table().resolve(REGION)
