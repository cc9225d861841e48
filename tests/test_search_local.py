"""search: the query rules and the local backend, on small transcripts and exports written here."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from costcompare.search.local import search_local
from costcompare.search.query import SearchError, SearchQuery, clean_line, parse_time, user_of

T0 = 1_740_800_000  # 2025-03-01T03:33:20Z


def _event(sid: str, instance: str, when: int, lines: list[str]) -> str:
    body = {
        "eventVersion": "1.0",
        "eventTime": f"{_iso(when)}",
        "awsRegion": "ap-northeast-1",
        "target": {"id": instance},
        "userIdentity": {"arn": f"arn:aws:sts::123456789012:assumed-role/Admin/{sid[:-18]}"},
        "runAsUser": "ssm-user",
        "sessionId": sid,
        "sessionData": lines,
    }
    message = json.dumps(body, separators=(",", ":"))
    return json.dumps({"logStreamName": sid, "timestamp": when * 1000, "message": message})


def _iso(when: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


ALICE = "alice-0123456789abcdef0"
BOB = "bob-0fedcba98765432100"[:-1]  # 17 hex digits
CAROL = "carol-00000000000000001"


@pytest.fixture
def folder(tmp_path):
    """Three transcripts (one gzipped) and a CloudWatch export of a fourth session."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{ALICE}.log").write_bytes(
        b"\x1b[?2004h[ssm-user@ip ~]$ sudo su -\r\n\x1b[?2004l\r\nroot# id\r\nuid=0(root)\r\n"
    )
    (logs / f"{BOB}.log").write_bytes(b"[ssm-user@ip ~]$ ls\r\nfile\r\n")
    with gzip.open(logs / f"{CAROL}.log.gz", "wb") as fh:
        fh.write(b"[ssm-user@ip ~]$ SUDO -l\r\n" + b"x" * 100 + b"\r\n" + b"sudo again\r\n")
    for name, when in ((ALICE, T0), (BOB, T0 + 3600), (CAROL, T0 + 7200)):
        suffix = ".log.gz" if name == CAROL else ".log"
        os.utime(logs / f"{name}{suffix}", (when, when))
    dave = "dave-0000000000000000a"
    (logs / "export.jsonl").write_text(
        _event(dave, "i-0aaaaaaaaaaaaaaaa", T0 + 60, ["$ echo hi", "hi"])
        + "\n"
        + _event(dave, "i-0aaaaaaaaaaaaaaaa", T0 + 61, ["$ sudo reboot", "\u001b[31mno\u001b[0m"])
        + "\n"
    )
    return logs


def _ids(result) -> set[str]:
    return {s.session_id for s in result.sessions}


def test_finds_matching_sessions_in_transcripts_gzip_and_exports(folder):
    result = search_local(folder, SearchQuery("sudo"), file_times=True)
    assert _ids(result) == {ALICE, CAROL, "dave-0000000000000000a"}
    alice = next(s for s in result.sessions if s.session_id == ALICE)
    assert alice.user == "alice" and alice.lines == ["[ssm-user@ip ~]$ sudo su -"]
    assert alice.first_time == T0  # the transcript's modification time
    carol = next(s for s in result.sessions if s.session_id == CAROL)
    assert carol.lines == ["sudo again"]  # case-sensitive: SUDO does not match
    dave = next(s for s in result.sessions if s.session_id.startswith("dave"))
    assert dave.instance == "i-0aaaaaaaaaaaaaaaa" and dave.lines == ["$ sudo reboot"]
    assert dave.first_time == T0 + 61
    total = sum(p.stat().st_size for p in folder.iterdir() if p.suffix != ".gz")
    assert result.bytes_scanned > total  # the gzipped transcript counts uncompressed
    assert result.cost == [] and result.destination is None


def test_filters_user_session_window_instance_and_case(folder):
    assert _ids(search_local(folder, SearchQuery("sudo", ignore_case=True, user="carol"))) == {
        CAROL
    }
    carol = search_local(folder, SearchQuery("sudo", ignore_case=True, session=CAROL)).sessions
    assert carol[0].lines == ["[ssm-user@ip ~]$ SUDO -l", "sudo again"]
    windowed = search_local(
        folder, SearchQuery("sudo", since=T0 + 30, until=T0 + 7200), file_times=True
    )
    assert _ids(windowed) == {"dave-0000000000000000a"}  # carol's ends at T0+7200: excluded
    by_instance = search_local(
        folder, SearchQuery("sudo", instance="i-0aaaaaaaaaaaaaaaa"), file_times=True
    )
    assert _ids(by_instance) == {"dave-0000000000000000a"}
    assert any("do not record their instance" in n for n in by_instance.notes)


def test_transcripts_are_dated_by_header_path_or_events_not_by_copy_time(tmp_path):
    dated = tmp_path / "2025" / "03" / "02"
    dated.mkdir(parents=True)
    (dated / f"{ALICE}.log").write_bytes(b"$ sudo ls\r\n")  # dated by its path
    (tmp_path / f"{BOB}.log").write_bytes(
        b"Script started on 2025-03-01 16:32:32+00:00 [TERM=xterm]\n$ sudo id\n"
    )
    (tmp_path / f"{CAROL}.log").write_bytes(b"$ sudo -v\r\n")  # dated by its events below
    (tmp_path / "carol.jsonl").write_text(_event(CAROL, "i-0c", T0, ["$ sudo -v"]) + "\n")
    (tmp_path / "dave-0000000000000000a.log").write_bytes(b"$ sudo true\r\n")  # undated
    result = {s.session_id: s for s in search_local(tmp_path, SearchQuery("sudo")).sessions}
    assert result[ALICE].first_time == 1_740_873_600  # 2025-03-02
    assert result[BOB].first_time == 1_740_846_752  # 2025-03-01T16:32:32Z
    assert result[CAROL].first_time == T0 and result[CAROL].instance == "i-0c"
    assert result["dave-0000000000000000a"].first_time is None
    march_2 = search_local(tmp_path, SearchQuery("sudo", since=1_740_873_600))
    # the undated session cannot be excluded by a window: it is kept
    assert {s.session_id for s in march_2.sessions} == {ALICE, "dave-0000000000000000a"}


def test_regex_fixed_strings_and_lines_split_across_chunks(tmp_path):
    big = tmp_path / "eve-00000000000000abc.log"
    filler = b"y" * ((1 << 20) - 5)  # the match straddles the first 1 MiB chunk boundary
    big.write_bytes(filler + b"\r\nrm -rf /tmp/x\r\n" + b"z\r\n" * 10)
    assert search_local(tmp_path, SearchQuery(r"rm\s+-rf")).sessions[0].lines == ["rm -rf /tmp/x"]
    assert search_local(tmp_path, SearchQuery("rm -rf /tmp/x", fixed=True)).sessions[0].matches == 1
    assert search_local(tmp_path, SearchQuery("r.*x", fixed=True)).sessions == []


@pytest.mark.parametrize(
    ("pattern", "words"),
    [("sud(", "not a valid regular expression"), ("x*", "matches an empty line"), ("", "empty")],
)
def test_bad_patterns_are_one_line_errors(pattern, words):
    with pytest.raises(SearchError, match=words) as err:
        SearchQuery(pattern)
    assert "\n" not in str(err.value)


def test_empty_window_and_bad_times():
    with pytest.raises(SearchError, match="window is empty"):
        SearchQuery("x", since=T0, until=T0)
    with pytest.raises(SearchError, match="not a time"):
        parse_time("yesterday", "--since")
    assert parse_time("2025-03-01", "--since") == 1_740_787_200
    assert parse_time("2025-03-01T09:00:00+09:00", "--since") == 1_740_787_200
    import datetime as dt

    now = dt.datetime(2025, 3, 8, tzinfo=dt.UTC)
    assert parse_time("7d", "--since", now=now) == 1_740_787_200


def test_missing_folder_is_an_error():
    with pytest.raises(SearchError, match="does not exist"):
        search_local("/nonexistent/folder", SearchQuery("sudo"))


def test_helpers():
    assert user_of("alice-0123456789abcdef0") == "alice"
    assert user_of("role-session.name-0123456789abcdef0") == "role-session.name"
    assert user_of("not-a-session") == "not-a-session"
    assert clean_line("\x1b[1;31mFAILED\x1b[0m\r") == "FAILED"
    assert clean_line("\x1b]0;title\x07$ ls\x08") == "$ ls"


def test_required_literals_let_a_regex_scan_only_candidate_lines(tmp_path):
    assert SearchQuery(r"rm\s+-rf|passwd").required_literals() == [b"-rf", b"passwd"]
    assert SearchQuery(r"sudo\s+su").required_literals() == [b"sudo"]
    assert SearchQuery(r"a(b|c)def").required_literals() == [b"def"]
    for no_literal in (r"[ab]c", "x|yz", "(?i)sudo"):
        assert SearchQuery(no_literal).required_literals() is None
    assert SearchQuery("sudo", ignore_case=True).required_literals() is None
    (tmp_path / "eve-00000000000000abc.log").write_bytes(
        b"$ rm  -rf /tmp/x\r\n$ ls -rf\r\n$ cat /etc/passwd\r\n$ rm -r x\r\n"
    )
    result = search_local(tmp_path, SearchQuery(r"rm\s+-rf|passwd"))
    assert result.sessions[0].lines == ["$ rm  -rf /tmp/x", "$ cat /etc/passwd"]
