"""`costcompare coverage` on the committed CloudTrail fixtures (tests/fixtures/cloudtrail):
24 sample sessions with transcripts, two shell sessions that left none, one port-forwarding and
one SSH session, a refused StartSession."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from search_corpus import BUCKET, LOG_GROUP, PREFIX, REGION, load_cloudwatch, load_s3
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.coverage import Only, join, local_arrivals, read_trail
from costcompare.jsoncontract import SCHEMA_VERSION

runner = CliRunner()
TRAIL = Path(__file__).parent / "fixtures" / "cloudtrail"
SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "sample-sessions"
MISSING = {"dave-0a1b2c3d4e5f60718", "dave-0a1b2c3d4e5f60719"}
PORT_FORWARDING = "erin-0f0e0d0c0b0a09080"
SSH = "erin-0f0e0d0c0b0a09081"


def _status(cov) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for s in cov.sessions:
        found.setdefault(s.status, set()).add(s.session.session_id)
    return found


def test_the_trail_fixtures_read_as_documented():
    trail = read_trail(TRAIL)
    assert trail.files == 2 and trail.refused == 1 and trail.unreadable == []
    assert len(trail.sessions) == 28  # 24 + 2 missing + port forwarding + SSH
    resumed = [s for s in trail.sessions.values() if s.resumed]
    assert len(resumed) == 1
    ended = [s for s in trail.sessions.values() if s.ended]
    assert len(ended) == 24 and all(s.ended > s.started for s in ended)
    alice = next(s for s in trail.sessions.values() if s.user == "alice")
    assert alice.instance.startswith("i-") and alice.document == "SSM-SessionManagerRunShell"


def test_missing_and_never_logged_sessions_and_the_percentage():
    cov = join(read_trail(TRAIL), local_arrivals(SAMPLE / "s3"))
    status = _status(cov)
    assert status["missing"] == MISSING
    assert status["never logged"] == {PORT_FORWARDING, SSH}
    assert len(status["recorded"]) == 24 and "partial" not in status
    assert cov.percent == pytest.approx(100 * 24 / 28)
    by_user = cov.by("user")
    assert by_user["dave"] == {"sessions": 2, "covered": 0, "percent": 0.0}
    assert by_user["alice"]["percent"] == 100.0
    by_account = cov.by("account")
    assert by_account["210987654321"] == {"sessions": 5, "covered": 4, "percent": 80.0}


def test_a_session_in_only_one_of_two_destinations_is_partial(tmp_path):
    copy = tmp_path / "s3"
    shutil.copytree(SAMPLE / "s3", copy)
    lost = sorted(copy.iterdir())[0]
    lost.unlink()  # the instance stopped before the end-of-session upload
    arrivals = local_arrivals(copy) + local_arrivals(SAMPLE / "cloudwatch")
    cov = join(read_trail(TRAIL), arrivals)
    [partial] = cov.with_status("partial")
    assert partial.session.session_id == lost.stem
    assert partial.as_dict()["missing_from"] == ["s3"] and partial.covered
    assert cov.percent == pytest.approx(100 * 24 / 28)  # still has a log in CloudWatch


def test_window_user_and_instance_filters():
    trail = read_trail(TRAIL)
    arrivals = local_arrivals(SAMPLE / "s3")
    dave = join(trail, arrivals, Only(user="dave"))
    assert {s.session.session_id for s in dave.sessions} == MISSING and dave.percent == 0
    first = min(s.started for s in trail.sessions.values())
    early = join(trail, arrivals, Only(until=first + 1))
    assert len(early.sessions) == 1


def test_text_fits_80_columns_and_wide_shows_every_column():
    args = ["coverage", "--cloudtrail", str(TRAIL), "--path", str(SAMPLE / "s3")]
    narrow = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert "dave-0a1b2c3d4e5f60718  dave" in narrow.stdout  # session and user always shown
    assert "port forwarding (AWS-StartPortForwardingSession)" in narrow.stdout
    assert "more column(s) with --wide: account" in narrow.stdout
    wide = runner.invoke(app, [*args, "--wide"], env={"COLUMNS": "80"})
    row = next(line for line in wide.stdout.splitlines() if "erin-0f0e0d0c0b0a09080" in line)
    assert row.split()[1:5] == [
        "erin",
        "i-0d1e2f3a4b5c6d7e8",
        "123456789012",
        "2025-03-01T11:56:31Z",
    ]
    assert "with --wide" not in wide.stdout


def test_cli_exit_codes_and_outputs(tmp_path):
    args = ["coverage", "--cloudtrail", str(TRAIL), "--path", str(SAMPLE / "s3")]
    below = runner.invoke(app, [*args, "--min-coverage", "90"])
    assert below.exit_code == 1
    assert "Coverage 85.7%: 24 of 28" in below.stdout and "below --min-coverage 90%" in below.stderr
    assert runner.invoke(app, [*args, "--min-coverage", "85"]).exit_code == 0
    doc = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["counts"] == {
        "recorded": 24,
        "partial": 0,
        "missing": 2,
        "never logged": 2,
        "in progress": 0,
    }
    assert doc["trail"]["refused_starts"] == 1
    out = tmp_path / "coverage.csv"
    assert runner.invoke(app, [*args, "-o", "csv", "--out", str(out)]).exit_code == 0
    rows = out.read_text().splitlines()
    assert rows[0].startswith("session_id,status,") and len(rows) == 29


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--min-coverage", "120"], "from 0 to 100"),
        (["--cloudtrail", "/nonexistent"], "does not exist"),
        (["--since", "2025-03-02", "--until", "2025-03-01"], "window is empty"),
    ],
)
def test_cli_bad_input(extra, words):
    args = ["coverage", "--cloudtrail", str(TRAIL), "--path", str(SAMPLE / "s3"), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_needs_trail_files_and_a_destination(tmp_path):
    empty = runner.invoke(app, ["coverage", "--cloudtrail", str(tmp_path), "--path", str(SAMPLE)])
    assert empty.exit_code == 2 and "no CloudTrail log files" in empty.stderr
    none = runner.invoke(app, ["coverage", "--cloudtrail", str(TRAIL)])
    assert none.exit_code == 2 and "no destination" in none.stderr


def test_trail_in_s3_against_a_bucket_and_a_log_group_on_moto():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        load_s3(s3)
        logs = boto3.client("logs", region_name=REGION)
        load_cloudwatch(logs)
        s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/alice-4686e80a9f8af8c79.log")
        s3.create_bucket(
            Bucket="org-trail", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        base = "AWSLogs/123456789012/CloudTrail/ap-northeast-1/2025/03/01/"
        for file in TRAIL.glob("*.json*"):
            s3.put_object(Bucket="org-trail", Key=base + file.name, Body=file.read_bytes())
        result = runner.invoke(
            app,
            ["coverage", "--cloudtrail", "s3://org-trail/AWSLogs/", "--s3",
             f"s3://{BUCKET}/{PREFIX}/", "--log-group", LOG_GROUP, "--region", REGION,
             "-o", "json"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {
        "recorded": 23,
        "partial": 1,
        "missing": 2,
        "never logged": 2,
        "in progress": 0,
    }
    [partial] = [s for s in doc["session_list"] if s["status"] == "partial"]
    assert partial["session_id"] == "alice-4686e80a9f8af8c79"
    assert partial["found_in"] == ["cloudwatch"] and partial["missing_from"] == ["s3"]


def test_a_recent_session_without_log_or_end_is_in_progress_not_missing():
    trail = read_trail(TRAIL)
    arrivals = local_arrivals(SAMPLE / "s3")
    dave = trail.sessions["dave-0a1b2c3d4e5f60719"]  # no TerminateSession in the trail
    now = dave.started + 3600  # the other lost session started an hour earlier still
    cov = join(trail, arrivals, now=now, grace_s=5400)
    assert _status(cov)["in progress"] == {"dave-0a1b2c3d4e5f60719"}
    assert _status(cov)["missing"] == {"dave-0a1b2c3d4e5f60718"}
    assert cov.percent == pytest.approx(100 * 24 / 27)  # the running one is not yet due
    assert "dave" in cov.by("user") and cov.by("user")["dave"]["sessions"] == 1
    assert join(trail, arrivals, now=now, grace_s=0).percent == pytest.approx(100 * 24 / 28)
