"""CloudWatch log group through moto: metrics (seeded: moto does not derive AWS/Logs), streams,
sampled events."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws
from session_corpus import build_corpus, load_cloudwatch

from costcompare.errors import MeasureError
from costcompare.measure import AwsOptions, measure_cloudwatch, to_workload
from costcompare.workload import DAYS_PER_MONTH, GIB

REGION = "ap-northeast-1"
GROUP = "/ssm/sessions"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def aws():
    with mock_aws():
        logs = boto3.client("logs", region_name=REGION)
        yield logs, boto3.client("cloudwatch", region_name=REGION)


def test_metrics_streams_and_sampled_events(aws):
    logs, cw = aws
    recent = build_corpus(12, seed=1, start=NOW - dt.timedelta(days=4), days=3, instances=3)
    old = build_corpus(5, seed=2, start=NOW - dt.timedelta(days=11), days=2)
    seeded_bytes, seeded_events = load_cloudwatch(logs, cw, GROUP, recent)
    for s in old:  # older than the window: neither counted nor sampled
        logs.create_log_stream(logGroupName=GROUP, logStreamName=s.session_id)
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName=s.session_id,
            logEvents=[{"timestamp": t, "message": msg} for t, msg in s.events],
        )
    m = measure_cloudwatch(GROUP, AwsOptions(region=REGION), days=7, sample=50, now=NOW)
    assert m.sessions == 12
    assert m.ingested_bytes == seeded_bytes and m.ingested_events == seeded_events
    assert m.monthly_ingest_gb == pytest.approx(seeded_bytes / 7 * DAYS_PER_MONTH / GIB)
    assert m.sessions_per_day == pytest.approx(12 / 7)
    assert m.instances == 3  # every session sampled: every target known
    ingested = sum(len(msg.encode()) for s in recent for _, msg in s.events)
    carried = sum(
        len(x.encode()) + 1 for s in recent for _, msg in s.events
        for x in json.loads(msg)["sessionData"]
    )  # fmt: skip
    assert m.overhead_basis == "measured"
    assert m.overhead_ratio == pytest.approx(ingested / carried)
    assert 0 < m.compression_ratio < 1
    assert m.api_calls["GetMetricData"] == 1
    workload, comments = to_workload([m])
    assert workload.monthly_ingest_gb == pytest.approx(m.monthly_ingest_gb, rel=1e-4)
    assert "IncomingBytes" in comments["monthly_ingest_gb"]
    assert workload.instances == 3


def test_sample_is_bounded_and_metric_calls_do_not_grow(aws):
    logs, cw = aws
    corpus = build_corpus(30, seed=4, start=NOW - dt.timedelta(days=3), days=3, max_scenes=1)
    load_cloudwatch(logs, cw, GROUP, corpus)
    m = measure_cloudwatch(GROUP, AwsOptions(region=REGION), days=7, sample=4, now=NOW)
    assert m.sessions == 30 and m.sizes["count"] == 4
    assert m.instances is None and m.targets_seen >= 1
    assert m.api_calls["GetMetricData"] == 1 and m.api_calls["DescribeLogGroups"] == 1
    assert any("random sample of 4 of 30" in n for n in m.notes)


def test_plain_text_events_mean_streaming_off(aws):
    logs, _ = aws
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="carol-00000000000000001")
    stamp = int((NOW - dt.timedelta(hours=1)).timestamp() * 1000)
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="carol-00000000000000001",
        logEvents=[{"timestamp": stamp, "message": "$ ls\r\nfile\r\n"}],
    )
    m = measure_cloudwatch(GROUP, AwsOptions(region=REGION), days=1, now=NOW)
    assert m.overhead_ratio == 1.0
    assert any("streaming is off" in n for n in m.notes)
    assert any("IncomingBytes is 0" in n for n in m.notes)


def test_missing_log_group(aws):
    with pytest.raises(MeasureError, match="does not exist"):
        measure_cloudwatch("/nope", AwsOptions(region=REGION), now=NOW)
    with pytest.raises(MeasureError, match="at least 1 day"):
        measure_cloudwatch(GROUP, AwsOptions(region=REGION), days=0)


def test_a_malformed_event_in_a_sampled_stream_is_counted_not_fatal(aws):
    """Issue 18.2 for log groups: one bad event among good ones is counted by reason."""
    logs, _ = aws
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="alice-0123456789abcdef0")
    stamp = int((NOW - dt.timedelta(hours=1)).timestamp() * 1000)
    good = json.dumps({"sessionId": "alice-0123456789abcdef0", "sessionData": ["$ ls"]})
    bad = json.dumps({"sessionId": ["a"], "sessionData": ["x"]})
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="alice-0123456789abcdef0",
        logEvents=[{"timestamp": stamp + i, "message": m} for i, m in enumerate((good, bad, good))],
    )
    m = measure_cloudwatch(GROUP, AwsOptions(region=REGION), days=1, now=NOW)
    assert m.sessions == 1 and m.malformed_lines == {"sessionId is not a string": 1}
    assert m.sizes["total_bytes"] == 2 * len("$ ls\n")
