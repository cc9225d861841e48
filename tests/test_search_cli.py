"""`costcompare search`: thin CLI over the search library; one-line errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.jsoncontract import SCHEMA_VERSION

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "data" / "sample-sessions"
SUDO_SESSIONS = {
    "alice-4686e80a9f8af8c79",
    "alice-ef6ced90a71d2af72",
    "bob-5dc52bdcab2d87d5e",
    "bob-fec007b1be1830294",
    "carol-fd4e441c3a20ab57c",
}


def _sessions(doc: dict, backend: str) -> set[str]:
    return {
        s["session_id"] for b in doc["backends"] if b["backend"] == backend for s in b["sessions"]
    }


def test_transcripts_and_exports_of_the_sample_corpus_give_the_same_sessions():
    result = runner.invoke(
        app,
        ["search", "sudo", "--path", str(SAMPLE / "s3"), "--path", str(SAMPLE / "cloudwatch"),
         "-o", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["kind"] == "costcompare.search" and doc["query"]["pattern"] == "sudo"
    transcripts, exports = doc["backends"]
    assert {s["session_id"] for s in transcripts["sessions"]} == SUDO_SESSIONS
    assert {s["session_id"] for s in exports["sessions"]} == SUDO_SESSIONS
    sizes = sum(p.stat().st_size for p in (SAMPLE / "s3").iterdir())
    assert transcripts["bytes_scanned"] == sizes
    assert all(s["instance"].startswith("i-") for s in exports["sessions"])


def test_table_and_csv(tmp_path):
    table = runner.invoke(app, ["search", "sudo", "--path", str(SAMPLE / "s3"), "--user", "bob"])
    assert table.exit_code == 0, table.output
    assert "2 sessions" in table.stdout and "bob-5dc52bdcab2d87d5e" in table.stdout
    out = tmp_path / "hits.csv"
    written = runner.invoke(
        app,
        ["search", "no sudo", "-F", "--path", str(SAMPLE / "s3"), "-o", "csv", "--out", str(out)],
    )
    assert written.exit_code == 0, written.output
    rows = out.read_text().splitlines()
    assert rows[0].startswith("backend,session_id,user,instance")
    assert len(rows) > 1 and all("no sudo" in r for r in rows[1:])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["sud(", "--path", "."], "not a valid regular expression"),
        (["x*", "--path", "."], "matches an empty line"),
        (["sudo", "--path", ".", "--since", "2025-03-05", "--until", "2025-03-01"], "window"),
        (["sudo", "--path", ".", "--since", "last tuesday"], "not a time"),
        (["sudo"], "nothing to search"),
        (["sudo", "--path", "/nonexistent"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, words):
    result = runner.invoke(app, ["search", *args])
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_failing_backend_still_reports_the_others():
    result = runner.invoke(
        app, ["search", "sudo", "--path", str(SAMPLE / "s3"), "--path", "/nonexistent"]
    )
    assert result.exit_code == 3
    assert "5 sessions" in result.stdout and "FAILED" in result.stdout
    assert result.stderr.strip().splitlines() == [
        "error: local folder /nonexistent: /nonexistent does not exist — pass an existing "
        "folder to --path"
    ]


def test_every_backend_finds_the_same_sessions_and_estimate_reads_the_result(tmp_path, monkeypatch):
    """The acceptance run on moto: the sample transcripts in S3, their events streamed to a log
    group; `search sudo` on the folder, the S3 scan, Athena and Insights gives one answer, and
    `estimate --searches-from` takes the measured cost and time per search from it."""
    import boto3
    from moto import mock_aws
    from moto.athena.models import athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from search_corpus import (
        BUCKET,
        LOG_GROUP,
        PREFIX,
        REGION,
        canned_athena_rows,
        load_cloudwatch,
        load_s3,
        report_insights_bytes,
    )

    saved = tmp_path / "search.json"
    report_insights_bytes(monkeypatch, 5 << 30)
    with mock_aws():
        load_s3(boto3.client("s3", region_name=REGION))
        load_cloudwatch(boto3.client("logs", region_name=REGION))
        boto3.client("athena", region_name=REGION).create_work_group(Name="costcompare")
        athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(
            canned_athena_rows(b"sudo")
        )
        result = runner.invoke(
            app,
            ["search", "sudo", "--path", str(SAMPLE / "s3"), "--s3", f"s3://{BUCKET}/{PREFIX}/",
             "--athena-table", "ssm_logs.session_lines", "--athena-workgroup", "costcompare",
             "--athena-output", "s3://results/", "--log-group", LOG_GROUP,
             "--region", REGION, "-o", "json", "--out", str(saved)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(saved.read_text())
    backends = [b["backend"] for b in doc["backends"]]
    assert backends == ["local", "s3-scan", "athena", "cloudwatch-insights"]
    for backend in backends:
        assert _sessions(doc, backend) == SUDO_SESSIONS, backend
    assert doc["region"] == REGION and doc["pricing_date"]
    scan = doc["backends"][1]
    assert scan["cost_usd"] == pytest.approx(sum(line["usd"] for line in scan["cost"]))
    assert scan["cost_usd"] > 0 and scan["seconds"] > 0

    estimate = runner.invoke(
        app, ["estimate", "--region", REGION, "--searches-from", str(saved), "-o", "json"]
    )
    assert estimate.exit_code == 0, estimate.output
    out = {d["name"]: d["searchability"] for d in json.loads(estimate.stdout)["destinations"]}
    athena = doc["backends"][2]  # cheaper than the scan? the cheapest S3 search counts
    cheapest_s3 = min(scan["cost_usd"], athena["cost_usd"])
    assert out["s3"]["cost_per_search_usd"] == pytest.approx(cheapest_s3)
    assert out["s3"]["measured"] == ["cost_per_search_usd", "monthly_search_usd", "search_seconds"]
    insights = doc["backends"][3]
    assert insights["bytes_scanned"] == 5 << 30 and insights["priced"]
    for name in ("cloudwatch", "both"):
        assert out[name]["cost_per_search_usd"] == pytest.approx(insights["cost_usd"])
        assert out[name]["search_seconds"] == pytest.approx(insights["seconds"])
        assert out[name]["measured_from"].startswith("cloudwatch-insights search of log group")
    assert out["cloudwatch-ia"]["measured"] == [] and out["cloudwatch-ia"]["search_seconds"] is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist"),
        ("not json", "is not JSON (line 1 column 1"),
        ('{"kind": "something else"}', "not a saved search result"),
    ],
)
def test_estimate_rejects_a_bad_searches_from_file(tmp_path, content, words):
    path = tmp_path / "search.json"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["estimate", "--searches-from", str(path)])
    assert result.exit_code == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_local_search_measures_no_destination(tmp_path):
    saved = tmp_path / "local.json"
    runner.invoke(
        app, ["search", "sudo", "--path", str(SAMPLE / "s3"), "-o", "json", "--out", str(saved)]
    )
    result = runner.invoke(app, ["estimate", "--searches-from", str(saved)])
    assert (
        result.exit_code == 2 and "no successful, priced S3 or CloudWatch search" in result.stderr
    )
