"""search over S3 on moto: the direct scan (real results) and Athena (query text, workgroup,
canned rows, bytes billed with the 10 MB minimum)."""

from __future__ import annotations

import pytest
from search_corpus import (  # noqa: F401  (aws_fixture, book_fixture provide "aws", "book")
    BUCKET,
    PREFIX,
    REGION,
    aws_fixture,
    book_fixture,
    canned_athena_rows,
    load_s3,
    sample_transcripts,
    sessions_with,
)

from costcompare.search.query import SearchError, SearchQuery
from costcompare.search.s3 import AthenaTarget, athena_sql, search_athena, search_s3_scan
from costcompare.volumes import ATHENA_MIN_BYTES_PER_QUERY, TIB

URI = f"s3://{BUCKET}/{PREFIX}/"


def test_scan_finds_the_sessions_a_grep_finds_and_prices_its_requests(aws, book):
    uploaded = load_s3(aws.client("s3"))
    result = search_s3_scan(URI, SearchQuery("sudo"), aws, book)
    assert {s.session_id for s in result.sessions} == sessions_with(b"sudo")
    assert result.bytes_scanned == uploaded
    objects = len(sample_transcripts())
    lines = {line.price_key: line for line in result.cost}
    assert lines["s3.requests.put.STANDARD"].quantity == 1  # one LIST call for 24 keys
    assert lines["s3.requests.get.STANDARD"].quantity == objects
    expected = (
        book["s3.requests.put.STANDARD"].first_rate
        + objects * book["s3.requests.get.STANDARD"].first_rate
    )
    assert result.cost_usd == pytest.approx(expected)
    assert aws.calls["GetObject"] == objects


def test_scan_reads_only_the_sessions_the_filters_keep(aws, book):
    load_s3(aws.client("s3"))
    result = search_s3_scan(URI, SearchQuery("sudo", user="bob"), aws, book)
    assert {s.session_id for s in result.sessions} == {
        s for s in sessions_with(b"sudo") if s.startswith("bob-")
    }
    bobs = sum(1 for sid in sample_transcripts() if sid.startswith("bob-"))
    assert aws.calls["GetObject"] == bobs


def test_scan_refuses_a_prefix_too_big_to_download(aws, book):
    load_s3(aws.client("s3"))
    with pytest.raises(SearchError, match=r"more than 10 transcripts.*Athena"):
        search_s3_scan(URI, SearchQuery("sudo"), aws, book, max_objects=10)
    assert aws.calls["GetObject"] == 0


def test_scan_of_a_missing_bucket_is_one_line(aws, book):
    with pytest.raises(Exception, match="NoSuchBucket") as err:
        search_s3_scan("s3://no-such-bucket/x/", SearchQuery("sudo"), aws, book)
    assert "\n" not in str(err.value)


def test_athena_sends_the_query_to_the_workgroup_and_reads_its_rows(aws, book):
    from moto.athena.models import athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    athena = aws.client("athena")
    athena.create_work_group(
        Name="costcompare",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/"},
                       "BytesScannedCutoffPerQuery": 1 << 30},
    )  # fmt: skip
    queue = athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue
    queue.append(canned_athena_rows(b"sudo"))
    query = SearchQuery("sudo", since=1_740_787_200, user="alice")
    result = search_athena(AthenaTarget("ssm_logs.session_lines", "costcompare"), query, aws, book)

    [qid] = athena.list_query_executions(WorkGroup="costcompare")["QueryExecutionIds"]
    sent = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert sent["Query"] == result.query_text == athena_sql(query, "ssm_logs.session_lines")
    assert sent["WorkGroup"] == "costcompare"
    assert sent["QueryExecutionContext"] == {"Database": "ssm_logs"}
    text = sent["Query"]
    assert "regexp_like(line, 'sudo')" in text
    assert '"$file_modified_time" >= from_unixtime(1740787200)' in text
    assert "LIKE 'alice-%'" in text and 'FROM "ssm_logs"."session_lines"' in text
    # moto returns the canned rows whatever the query; the backend reads them as Athena's.
    assert {s.session_id for s in result.sessions} == sessions_with(b"sudo")
    # moto reports 0 bytes scanned: billed as the 10 MB minimum per query
    assert result.bytes_scanned == 0
    [line] = result.cost
    assert line.quantity == ATHENA_MIN_BYTES_PER_QUERY / TIB
    assert result.cost_usd == pytest.approx(line.quantity * book["athena.scanned"].first_rate)


def test_athena_sql_escapes_quotes_and_case():
    sql = athena_sql(SearchQuery("it's", ignore_case=True, session="a-0123456789abcdef0"), "d.t")
    assert "regexp_like(line, '(?i)it''s')" in sql
    assert "= 'a-0123456789abcdef0'" in sql


def test_athena_table_needs_a_database(aws, book):
    with pytest.raises(SearchError, match=r"database\.table"):
        search_athena(AthenaTarget("lines", "primary"), SearchQuery("x"), aws, book)
