"""search over CloudWatch Logs on moto: Logs Insights and FilterLogEvents give the sessions the
transcripts give.

Moto's Insights returns every event of the time range (it ignores ``filter``) and no statistics;
the backend matches lines itself, so the answer is still exact. The bytesScanned statistic real
Insights returns is added to moto's reply where a test needs it.
"""

from __future__ import annotations

import pytest
from moto import mock_aws
from search_corpus import (  # noqa: F401  (aws_fixture, book_fixture provide "aws", "book")
    LOG_GROUP,
    REGION,
    aws_fixture,
    book_fixture,
    load_cloudwatch,
    report_insights_bytes,
    sessions_with,
)

from costcompare.search.awsutil import AwsOptions
from costcompare.search.cloudwatch import (
    LogGroupTarget,
    choose_api,
    insights_query,
    search_cloudwatch,
)
from costcompare.search.query import SearchError, SearchQuery
from costcompare.workload import GIB


@pytest.fixture
def reported_bytes(monkeypatch):
    scanned = 123_456_789
    report_insights_bytes(monkeypatch, scanned)
    return scanned


def test_insights_finds_the_transcripts_sessions_and_prices_bytes_scanned(
    aws, book, reported_bytes
):
    load_cloudwatch(aws.client("logs"))
    result = search_cloudwatch(
        LogGroupTarget(LOG_GROUP, "insights"), SearchQuery("sudo"), aws, book
    )
    assert result.backend == "cloudwatch-insights" and result.destination == "cloudwatch"
    assert {s.session_id for s in result.sessions} == sessions_with(b"sudo")
    assert all(s.instance.startswith("i-") and s.first_time for s in result.sessions)
    assert all("sudo" in line for s in result.sessions for line in s.lines)
    assert result.bytes_scanned == reported_bytes
    [line] = result.cost
    assert line.price_key == "logs.insights.scanned"
    assert result.cost_usd == pytest.approx(
        reported_bytes / GIB * book["logs.insights.scanned"].first_rate
    )
    assert aws.calls["StartQuery"] == 1


def test_insights_without_statistics_is_not_priced(aws, book):
    load_cloudwatch(aws.client("logs"))
    result = search_cloudwatch(
        LogGroupTarget(LOG_GROUP, "insights"), SearchQuery("sudo"), aws, book
    )
    assert result.bytes_scanned is None and result.cost == [] and not result.priced
    assert any("no bytesScanned" in n for n in result.notes)


def test_filter_log_events_finds_the_same_sessions(aws, book):
    load_cloudwatch(aws.client("logs"))
    result = search_cloudwatch(LogGroupTarget(LOG_GROUP, "filter"), SearchQuery("sudo"), aws, book)
    assert result.backend == "cloudwatch-filter"
    assert {s.session_id for s in result.sessions} == sessions_with(b"sudo")
    assert result.query_text == '"sudo"'  # a plain word is filtered by the service
    assert result.cost == [] and result.bytes_scanned > 0


def test_filters_and_window(aws, book):
    _, last = load_cloudwatch(aws.client("logs"))
    target = LogGroupTarget(LOG_GROUP, "filter")
    sudo = sessions_with(b"sudo")
    bob = search_cloudwatch(target, SearchQuery("SUDO", ignore_case=True, user="bob"), aws, book)
    assert {s.session_id for s in bob.sessions} == {s for s in sudo if s.startswith("bob-")}
    one = sorted(sudo)[0]
    only = search_cloudwatch(target, SearchQuery("sudo", session=one), aws, book)
    assert [s.session_id for s in only.sessions] == [one]
    none = search_cloudwatch(target, SearchQuery("sudo", since=last + 1), aws, book)
    assert none.sessions == []
    instance = only.sessions[0].instance
    on = search_cloudwatch(target, SearchQuery("sudo", instance=instance), aws, book)
    assert all(s.instance == instance for s in on.sessions) and one in {
        s.session_id for s in on.sessions
    }


def test_auto_picks_filter_for_an_hour_or_a_session_and_insights_otherwise():
    target = LogGroupTarget(LOG_GROUP)
    assert choose_api(target, SearchQuery("x", since=1000.0, until=4600.0)) == "filter"
    assert choose_api(target, SearchQuery("x", session="a-0123456789abcdef0")) == "filter"
    assert choose_api(target, SearchQuery("x", since=1000.0, until=4601.0)) == "insights"
    assert choose_api(target, SearchQuery("x")) == "insights"


def test_insights_query_text():
    text = insights_query(SearchQuery("a/b", ignore_case=True, user="bob", instance="i-1"))
    assert text.splitlines() == [
        "fields @timestamp, @logStream, @message",
        r"| filter @message like /(?i)a\/b/",
        "| filter @logStream like /^bob-[0-9a-f]{17}$/",
        '| filter target.id = "i-1"',
        "| sort @timestamp asc",
        "| limit 10000",
    ]


def test_a_missing_log_group_is_one_line(aws, book):
    with pytest.raises(SearchError, match="does not exist") as err:
        search_cloudwatch(LogGroupTarget("/nope"), SearchQuery("sudo"), aws, book)
    assert "\n" not in str(err.value)


def test_missing_permissions_name_what_the_backend_needs_and_others_still_answer(tmp_path):
    """AccessDenied on the log group: a one-line error naming the permissions; run_search still
    returns the local folder's sessions and marks the CloudWatch backend failed."""
    from botocore.exceptions import ClientError
    from search_corpus import SAMPLE

    from costcompare.search.run import Sources, run_search

    def deny(client):
        def refuse(model, **_):
            if model.name in ("StartQuery", "DescribeLogGroups"):
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
                    model.name,
                )

        client.meta.events.register("before-call", refuse)

    with mock_aws():
        aws = AwsOptions(region=REGION, on_client=deny)
        sources = Sources(paths=[SAMPLE / "s3"], log_groups=[LogGroupTarget(LOG_GROUP)])
        result = run_search(SearchQuery("sudo"), sources, aws)
    local, cloudwatch = result.backends
    assert {s.session_id for s in local.sessions} == sessions_with(b"sudo")
    assert not cloudwatch.ok and cloudwatch.sessions == []
    assert "access denied" in cloudwatch.error and "logs:StartQuery" in cloudwatch.error
    assert "\n" not in cloudwatch.error
    assert result.failed == [cloudwatch]
