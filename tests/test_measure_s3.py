"""S3 prefix through moto: listing figures for every object, content from a bounded sample."""

from __future__ import annotations

import statistics

import boto3
import pytest
from moto import mock_aws
from session_corpus import build_corpus, load_s3

from costcompare.errors import MeasureError
from costcompare.measure import AwsOptions, measure_s3, to_workload
from costcompare.measure.s3 import parse_s3_uri

REGION = "ap-northeast-1"
# moto routes a bucket named "logs" to CloudWatch Logs: any other name.
BUCKET = "ssm-session-transcripts"


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield client


def test_listing_and_sample(s3):
    corpus = build_corpus(20, seed=7)
    load_s3(s3, BUCKET, "sessions", corpus)
    s3.put_object(Bucket=BUCKET, Key="sessions/README.txt", Body=b"not a session")
    s3.put_object(Bucket=BUCKET, Key="other/x.log", Body=b"outside the prefix")
    aws = AwsOptions(region=REGION)
    m = measure_s3(f"s3://{BUCKET}/sessions/", aws, sample=5)
    sizes = [len(s.transcript) for s in corpus]
    assert m.sessions == 20 and m.ignored == 1
    assert m.sizes["mean"] == pytest.approx(statistics.fmean(sizes))
    p95 = statistics.quantiles(sizes, n=20, method="inclusive")[-1]
    assert m.sizes["p95"] == pytest.approx(p95)
    assert m.api_calls == {"ListObjectsV2": 1, "GetObject": 5}
    assert 0 < m.transcript_compression_ratio < 1
    assert m.overhead_basis == "simulated"
    workload, comments = to_workload([m])
    assert workload.session_bytes == pytest.approx(m.sizes["mean"], abs=0.1)
    assert f"s3://{BUCKET}/sessions/" in comments["session_bytes"]


def test_pagination_costs_one_list_call_per_thousand_objects(s3):
    for i in range(1100):
        s3.put_object(Bucket=BUCKET, Key=f"p/alice-{i:017x}.log", Body=b"$ ls\r\n" * (1 + i % 7))
    m = measure_s3(f"s3://{BUCKET}/p/", AwsOptions(region=REGION), sample=3)
    assert m.sessions == 1100
    assert m.sizes["total_bytes"] == sum(6 * (1 + i % 7) for i in range(1100))
    assert m.api_calls["ListObjectsV2"] == 2 and m.api_calls["GetObject"] == 3


def test_empty_bucket_is_a_clear_result(s3):
    m = measure_s3(f"s3://{BUCKET}/", AwsOptions(region=REGION))
    assert m.sessions == 0 and m.sizes["mean"] is None
    assert "no session logs found" in m.notes[-1]
    with pytest.raises(MeasureError, match="nothing was measured"):
        to_workload([m])


def test_garbage_object_in_sample_is_noted_not_fatal(s3):
    s3.put_object(Bucket=BUCKET, Key="g/bob-1.log", Body=bytes(range(256)) * 40)
    s3.put_object(Bucket=BUCKET, Key="g/bob-2.log", Body=b"")
    m = measure_s3(f"s3://{BUCKET}/g/", AwsOptions(region=REGION))
    assert m.sessions == 1
    assert m.skipped == {"empty": 1, "sampled object binary, still counted as a session": 1}


def test_missing_bucket_and_bad_uri(s3):
    with pytest.raises(MeasureError, match="NoSuchBucket"):
        measure_s3("s3://no-such-bucket-here/x", AwsOptions(region=REGION))
    with pytest.raises(MeasureError, match="not an S3 URI"):
        parse_s3_uri("bucket/prefix")


def test_large_objects_give_ranges_within_the_sample_budget(s3):
    """Issue 12.3 for S3: objects larger than their share of the budget are read by Range GET
    (whole lines), not whole; every ratio is still there."""
    block = b"\x1b[01;34mdir\x1b[0m  file.txt  some output line of text\r\n" * 1000
    for n in range(3):
        s3.put_object(Bucket=BUCKET, Key=f"s/alice-{n:017x}.log", Body=block * 40)
    m = measure_s3(f"s3://{BUCKET}/s/", AwsOptions(region=REGION), sample_bytes=600 << 10)
    assert m.sessions == 3 and m.sizes["total_bytes"] == 3 * 40 * len(block)
    assert m.api_calls["GetObject"] == 3
    assert 3 * 200 << 10 < m.overhead_sample_bytes <= 3 * 256 << 10  # a range each
    whole = measure_s3(f"s3://{BUCKET}/s/", AwsOptions(region=REGION), sample_bytes=64 << 20)
    assert whole.overhead_sample_bytes == 3 * 40 * len(block)
    assert m.overhead_ratio == pytest.approx(whole.overhead_ratio, rel=0.02)
    assert m.ansi_share == pytest.approx(whole.ansi_share, rel=0.02)
