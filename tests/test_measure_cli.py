"""`costcompare measure`: thin CLI over the library; one-line errors, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from session_corpus import build_corpus, load_s3, write_s3_folder
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.comparison import estimate
from costcompare.jsoncontract import SCHEMA_VERSION
from costcompare.workload import load_profile

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(12, seed=9)


def test_path_writes_a_profile_that_estimate_reads(tmp_path, corpus):
    write_s3_folder(corpus, tmp_path / "logs")
    out = tmp_path / "measured.yaml"
    result = runner.invoke(
        app,
        [
            "measure",
            "--path",
            str(tmp_path / "logs"),
            "--write-workload",
            str(out),
            "--instances",
            "3",
            "--file-times",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bytes/session mean" in result.stdout
    text = out.read_text()
    assert text.startswith("# Workload profile measured by `costcompare measure`")
    assert "session_bytes:" in text and "# measured: mean of 12 transcripts" in text
    workload = load_profile(out)
    assert workload.instances == 3
    assert workload.session_bytes == pytest.approx(
        sum(len(s.transcript) for s in corpus) / 12, abs=0.1
    )
    assert estimate(workload).destinations
    est = runner.invoke(app, ["estimate", "--workload", str(out), "--output", "json"])
    assert est.exit_code == 0 and json.loads(est.stdout)["workload"]["instances"] == 3


def test_json_output_for_s3(corpus):
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        s3.create_bucket(
            Bucket="ssm-transcripts",
            CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"},
        )
        load_s3(s3, "ssm-transcripts", "s", corpus)
        result = runner.invoke(
            app,
            [
                "measure",
                "--s3",
                "s3://ssm-transcripts/s/",
                "--region",
                "ap-northeast-1",
                "--output",
                "json",
                "--sample",
                "3",
            ],
        )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == SCHEMA_VERSION
    (source,) = data["sources"]
    assert source["sessions"] == 12 and source["api_calls"]["GetObject"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "nothing to measure"),
        (["--path", "/no/such/folder"], "does not exist"),
        (["--s3", "bucket/prefix"], "not an S3 URI"),
        (["--path", "."], None),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, message):
    if message is None:  # an empty folder and --write-workload: nothing written
        out = tmp_path / "p.yaml"
        args = ["--path", str(tmp_path), "--write-workload", str(out)]
        message = "nothing was measured"
    result = runner.invoke(app, ["measure", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert not (tmp_path / "p.yaml").exists()


SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "sample-sessions"


def test_copied_transcripts_are_not_dated_by_their_copy_time(tmp_path):
    """Issue 12.2: the shipped transcripts carry checkout times; measure asks for the period
    instead of reading 24 sessions in one day, and measures 4/day once given --days 6."""
    out = tmp_path / "m.yaml"
    args = ["measure", "--path", str(SAMPLE / "s3"), "--instances", "40", "--no-progress"]
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "sessions/day" not in shown.stdout.replace("in sessions/day", "")
    assert "pass --days" in shown.stdout
    refused = runner.invoke(app, [*args, "--write-workload", str(out)])
    assert refused.exit_code == 2 and "--days" in refused.stderr
    assert refused.stderr.count("\n") == 1 and not out.exists()
    given = runner.invoke(app, [*args, "--days", "6", "--write-workload", str(out), "-o", "json"])
    assert given.exit_code == 0, given.output
    (source,) = json.loads(given.stdout)["sources"]
    assert source["sessions"] == 24 and source["sessions_per_day"] == 4
    assert load_profile(out).sessions_per_instance_per_day == pytest.approx(4 / 40)


def test_transcripts_next_to_their_cloudwatch_export_take_its_dates():
    result = runner.invoke(app, ["measure", "--path", str(SAMPLE), "-o", "json"])
    (source,) = json.loads(result.stdout)["sources"]
    assert source["sessions"] == 24 and source["size_basis"] == "transcript"
    assert source["sessions_per_day"] == 4
    assert (source["first_day"], source["last_day"]) == ("2025-03-01", "2025-03-06")
