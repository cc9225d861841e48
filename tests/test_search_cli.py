"""`costcompare search`: thin CLI over the search library; one-line errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcompare.cli import app

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
