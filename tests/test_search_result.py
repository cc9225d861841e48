"""A search's text output fits the terminal: priced lines, long URIs and errors wrap."""

from __future__ import annotations

from costcompare.pricing import default_table
from costcompare.search.result import (
    BackendResult,
    SearchResult,
    SessionMatch,
    price_lines,
    to_text,
)

SOURCE = "s3://ssm-session-logs-123456789012-ap-northeast-1/sessions/2025/03/"


def _result() -> SearchResult:
    book = default_table().resolve("ap-northeast-1")
    keys = [("S3 LIST requests", "s3.requests.put.STANDARD", 1),
            ("S3 GET requests (STANDARD)", "s3.requests.get.STANDARD", 24)]  # fmt: skip
    scan = BackendResult("s3-scan", "s3", SOURCE, seconds=0.19, bytes_scanned=764_000,
                         cost=price_lines(book, keys))  # fmt: skip
    scan.sessions.append(SessionMatch("alice-4686e80a9f8af8c79", "alice", lines=["$ sudo -n"]))
    failed = BackendResult("athena", "s3", "ssm_session_logs.session_lines (workgroup costcompare)",
                           error="AccessDeniedException: User: arn:aws:sts::123456789012:"
                           "assumed-role/auditor/alice is not authorized to perform: "
                           "athena:StartQueryExecution")  # fmt: skip
    return SearchResult(query=None, backends=[scan, failed])  # type: ignore[arg-type]


def test_text_fits_80_columns_and_keeps_every_figure(monkeypatch):
    """At 80 columns a priced request line was 95 characters wide, an error longer still."""
    monkeypatch.setenv("COLUMNS", "80")
    result = _result()
    text = to_text(result)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    joined = " ".join(text.split())
    for line in result.backends[0].cost:
        assert f"({line.price_key})" in joined and f"{line.quantity:,.6g} {line.unit}" in joined
    assert result.backends[1].error in joined and SOURCE in joined


def test_wide_keeps_one_line_each(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = _result()
    lines = to_text(result, wide=True).splitlines()
    assert sum(1 for line in lines if "× $" in line) == len(result.backends[0].cost)
    assert any(len(line) > 80 for line in lines)
