"""Local folders: known corpora give known figures; bad files are reported, never fatal."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import random
import statistics

import numpy as np
import pytest
from noise_reference import reference
from session_corpus import build_corpus, write_cloudwatch_export, write_s3_folder

from costcompare.comparison import estimate
from costcompare.errors import MeasureError
from costcompare.measure import measure_local, to_workload
from costcompare.workload import DAYS_PER_MONTH, Workload, dump_profile, load_profile


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(24, seed=3, days=8, instances=4)


@pytest.fixture
def s3_folder(tmp_path, corpus):
    write_s3_folder(corpus, tmp_path / "s3" / "sessions")
    return tmp_path / "s3"


def test_transcripts_give_counts_sizes_dates_and_content(s3_folder):
    files = sorted((s3_folder / "sessions").glob("*.log"))
    sizes = [f.stat().st_size for f in files]
    data = b"".join(f.read_bytes() for f in files)
    m = measure_local(s3_folder, file_times=True)
    assert m.sessions == len(files) == 24
    assert m.sizes["total_bytes"] == sum(sizes)
    assert m.sizes["mean"] == pytest.approx(statistics.fmean(sizes))
    assert m.sizes["p50"] == pytest.approx(statistics.median(sizes))
    assert m.sizes["max"] == max(sizes)
    days = {dt.datetime.fromtimestamp(f.stat().st_mtime, dt.UTC).date() for f in files}
    assert (m.first_day, m.last_day) == (min(days), max(days))
    assert m.sessions_per_day == pytest.approx(24 / ((max(days) - min(days)).days + 1))
    escape = sum(reference(f.read_bytes())[0] for f in files)
    assert m.ansi_share == pytest.approx(escape / len(data))
    # everything fits the default sample: the transcript ratio is gzip of every file
    expected = sum(len(gzip.compress(f.read_bytes(), 6)) - 18 for f in files) / len(data)
    assert m.transcript_compression_ratio == pytest.approx(expected, rel=0.01)
    assert m.overhead_basis == "simulated" and m.overhead_ratio > 1
    assert not m.skipped and m.instances is None


def test_cloudwatch_export_gives_measured_overhead_targets_and_durations(tmp_path, corpus):
    export = write_cloudwatch_export(corpus, tmp_path / "cw" / "events.jsonl")
    messages = [json.loads(line)["message"] for line in export.read_text().splitlines()]
    ingested = sum(len(m.encode()) for m in messages)
    carried = sum(len(x.encode()) + 1 for m in messages for x in json.loads(m)["sessionData"])
    m = measure_local(tmp_path / "cw")
    assert m.sessions == 24
    assert m.instances == 4
    assert m.overhead_basis == "measured"
    assert m.overhead_ratio == pytest.approx(ingested / carried)
    assert m.sizes["total_bytes"] == carried
    durations = [(s.events[-1][0] - s.events[0][0]) / 60_000 for s in corpus]
    assert m.duration_minutes["mean"] == pytest.approx(statistics.fmean(durations))


def test_gzipped_files_and_export_task_lines(tmp_path, corpus):
    (tmp_path / "a").mkdir()
    for s in corpus[:3]:
        (tmp_path / "a" / f"{s.session_id}.log.gz").write_bytes(gzip.compress(s.transcript))
    lines = "".join(
        dt.datetime.fromtimestamp(t / 1000, dt.UTC).isoformat() + " " + msg + "\n"
        for s in corpus[3:5]
        for t, msg in s.events
    )
    (tmp_path / "a" / "000000.gz").write_bytes(gzip.compress(lines.encode()))
    m = measure_local(tmp_path / "a")
    assert m.sessions == 5
    first3 = sum(len(s.transcript) for s in corpus[:3])
    assert m.sizes["total_bytes"] > first3


def test_bad_files_are_counted_not_fatal(tmp_path, corpus):
    good = tmp_path / "mixed"
    write_s3_folder(corpus[:2], good)
    (good / "corrupt.log.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate" * 10)
    (good / "truncated.log.gz").write_bytes(gzip.compress(b"hello\r\n" * 1000)[:40])
    (good / "garbage.log").write_bytes(random.Random(0).randbytes(10_000))
    (good / "empty.log").write_bytes(b"")
    (good / "latin1.log").write_bytes(b"caf\xe9 \x1b[1mbold\x1b[0m\r\n" * 20)
    (good / "broken.jsonl").write_text("{not json\nstill not\n")
    (good / "notes.md").write_text("not a session log")
    m = measure_local(good)
    assert m.sessions == 3  # two transcripts + the Latin-1 one
    assert m.skipped == {
        "corrupt gzip": 1,
        "truncated gzip": 1,
        "binary, not a transcript": 1,
        "empty": 1,
        "malformed, no CloudWatch events": 1,
    }
    assert m.malformed_lines == {"not JSON": 1, "not an event": 1}
    assert m.non_utf8_sessions == 1
    assert m.ignored == 1


def test_unreadable_file_is_reported(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "locked.log"
    path.write_text("x")
    path.chmod(0)
    assert "unreadable" in next(iter(measure_local(tmp_path).skipped))


def test_fifty_megabyte_transcript(tmp_path):
    block = b"\x1b[01;34mdir\x1b[0m  file.txt  some output line of text\r\n" * 1000
    path = tmp_path / "big" / "alice-00000000000000001.log"
    path.parent.mkdir()
    with path.open("wb") as fh:
        for _ in range(50 * 2**20 // len(block) + 1):
            fh.write(block)
    size = path.stat().st_size
    m = measure_local(path.parent, sample_bytes=1 << 20)
    assert m.sessions == 1 and m.sizes["max"] == size
    per_block = reference(block)[0]
    assert m.ansi_share == pytest.approx(per_block / len(block), rel=1e-3)


def test_empty_or_missing_folder(tmp_path):
    m = measure_local(tmp_path)
    assert m.sessions == 0 and "no session logs found" in m.notes[-1]
    with pytest.raises(MeasureError, match="nothing was measured"):
        to_workload([m])
    with pytest.raises(MeasureError, match="does not exist"):
        measure_local(tmp_path / "nope")


def test_profile_round_trips_into_estimate(tmp_path, s3_folder):
    m = measure_local(s3_folder, days=8)
    assert m.sessions_per_day == 24 / 8
    workload, comments = to_workload([m], Workload(), instances=4)
    assert workload.session_bytes == pytest.approx(m.sizes["mean"], abs=0.1)
    assert workload.instances == 4
    assert workload.sessions_per_instance_per_day == pytest.approx(m.sessions_per_day / 4)
    assert workload.sessions_per_month is None
    assert workload.cloudwatch_overhead_ratio == pytest.approx(m.overhead_ratio, abs=1e-4)
    path = tmp_path / "measured.yaml"
    path.write_text(dump_profile(workload, comments))
    text = path.read_text()
    assert "session_bytes:" in text and "# measured: mean of 24 transcripts" in text
    assert "# gzip -6" in text
    loaded = load_profile(path)
    assert loaded == workload
    result = estimate(loaded)
    assert result.workload.session_bytes == workload.session_bytes
    expected_sessions = m.sessions_per_day * DAYS_PER_MONTH
    assert loaded.base_sessions_per_month == pytest.approx(expected_sessions, rel=1e-5)
    assert np.isfinite([d.steady_state_monthly_usd for d in result.destinations]).all()


GOOD_EVENT = {
    "logStreamName": "alice-0123456789abcdef0",
    "timestamp": 1_740_846_752_000,
    "message": json.dumps(
        {"eventTime": "2025-03-01T16:32:32Z", "sessionId": "alice-0123456789abcdef0",
         "target": {"id": "i-0123456789abcdef0"}, "sessionData": ["$ ls", "file.txt"]}
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"timestamp": 1e20, "message": "x", "logStreamName": "s"}', "timestamp out of range"),
        ('{"timestamp": NaN, "message": "x", "logStreamName": "s"}', "timestamp out of range"),
        ('{"timestamp": 1e400, "message": "x", "logStreamName": "s"}', "timestamp out of range"),
        ('{"timestamp": -1e18, "message": "x", "logStreamName": "s"}', "timestamp out of range"),
        ('{"timestamp": ' + "9" * 400 + ', "message": "x"}', "timestamp out of range"),
        ('99999-01-01T00:00:00Z {"sessionData": ["x"]}', "time out of range"),
        ('{"sessionId": ["a"], "sessionData": ["x"]}', "sessionId is not a string"),
        (json.dumps({"message": json.dumps({"sessionId": {"a": 1}, "sessionData": []})}),
         "sessionId is not a string"),
        ('{"message": "x", "logStreamName": ["a"]}', "logStreamName is not a string"),
        ('{"message": ' + "[" * 100_000 + "]" * 100_000 + "}", "not JSON"),
        ("[1, 2]", "not an event"),
        ('{"unrelated": true}', "no message or sessionData"),
    ],
)  # fmt: skip
def test_one_malformed_export_line_is_counted_never_fatal(tmp_path, line, reason):
    export = tmp_path / "events.jsonl"
    export.write_text(json.dumps(GOOD_EVENT) + "\n" + line + "\n" + json.dumps(GOOD_EVENT) + "\n")
    m = measure_local(tmp_path)
    assert m.malformed_lines == {reason: 1}
    assert f"events.jsonl:2: {reason}" in m.skipped_examples
    assert m.sessions == 1 and m.first_day == dt.date(2025, 3, 1)
    assert m.sizes["total_bytes"] == 2 * len("$ ls\nfile.txt\n")


def test_out_of_range_event_time_falls_back_to_the_record_timestamp(tmp_path):
    body = json.loads(GOOD_EVENT["message"]) | {"eventTime": "9999-12-31T23:59:59-23:00"}
    record = GOOD_EVENT | {"message": json.dumps(body)}
    (tmp_path / "e.jsonl").write_text(json.dumps(record) + "\n")
    m = measure_local(tmp_path)
    assert m.first_day == dt.date(2025, 3, 1) and not m.malformed_lines


def test_tiny_export_writes_a_valid_profile_without_a_compression_ratio(tmp_path):
    """18.13: a few events compress 'to' more than they hold; no impossible ratio is written."""
    (tmp_path / "e.jsonl").write_text(json.dumps(GOOD_EVENT) + "\n")
    m = measure_local(tmp_path)
    assert m.compression_ratio is None and m.overhead_ratio > 1
    assert any("compression not measured" in note for note in m.notes)
    base = Workload()
    workload, comments = to_workload([m], base)
    assert workload.compression_ratio == base.compression_ratio
    assert "compression_ratio" not in comments


def test_compression_ratios_are_deflate_without_gzip_headers(s3_folder):
    """Each sampled transcript is deflated on its own: the ratio is their deflate bytes (gzip -6
    minus its 18-byte container) over their bytes, never above 1."""
    files = sorted((s3_folder / "sessions").glob("*.log"))
    data = [f.read_bytes() for f in files]
    m = measure_local(s3_folder)
    expected = sum(len(gzip.compress(d, 6)) - 18 for d in data) / sum(map(len, data))
    assert m.transcript_compression_ratio == pytest.approx(expected, rel=1e-3)


def test_transcripts_dated_by_their_header_or_path_not_by_file_time(tmp_path):
    """Issue 12.2: copy times (all today) never make a rate; dates written in the transcript or
    its path do, and undated ones need --days."""
    (tmp_path / "2025" / "03" / "02").mkdir(parents=True)
    (tmp_path / "2025" / "03" / "02" / "bob-0000000000000000a.log").write_bytes(b"$ ls\r\n")
    (tmp_path / "carol-0000000000000000b.log").write_bytes(
        b"Script started on 2025-03-05 09:00:00+00:00 [TERM=xterm]\n$ ls\r\n"
    )
    (tmp_path / "dave-0000000000000000c.log").write_bytes(
        b"**********************\r\nWindows PowerShell transcript start\r\n"
        b"Start time: 20250303120000\r\nUsername: EC2AMAZ\\ssm-user\r\n"
    )
    m = measure_local(tmp_path)
    assert (m.first_day, m.last_day) == (dt.date(2025, 3, 2), dt.date(2025, 3, 5))
    assert m.sessions_per_day == pytest.approx(3 / 4)
    (tmp_path / "eve-0000000000000000d.log").write_bytes(b"$ whoami\r\n")
    m = measure_local(tmp_path)
    assert m.sessions == 4 and m.sessions_per_day == pytest.approx(3 / 4)
    assert any("had no date" in note for note in m.notes)
    assert measure_local(tmp_path, days=8).sessions_per_day == pytest.approx(4 / 8)


def test_undated_transcripts_need_days_for_a_profile(tmp_path, s3_folder):
    today = dt.datetime.now(dt.UTC).timestamp()
    for f in (s3_folder / "sessions").glob("*.log"):
        os.utime(f, (today, today))  # as a copy leaves them
    m = measure_local(s3_folder)
    assert m.sessions == 24 and m.sessions_per_day is None and m.first_day is None
    with pytest.raises(MeasureError, match=r"carry no dates.*--days"):
        to_workload([m], Workload())
    with pytest.raises(MeasureError, match="--days"):
        measure_local(s3_folder, days=0)


def test_four_large_files_give_every_ratio_within_the_sample_budget(tmp_path):
    """Issue 12.3: every file is larger than the budget's share of it; each gives a range of
    its share instead of being skipped (or read whole)."""
    block = b"\x1b[01;34mdir\x1b[0m  file.txt  some output line of text\r\n" * 1000
    for n in range(4):
        with (tmp_path / f"alice-{n:017x}.log").open("wb") as fh:
            for _ in range(4 * 2**20 // len(block) + 1):
                fh.write(block)
    total = sum(f.stat().st_size for f in tmp_path.iterdir())
    budget = 2 << 20
    m = measure_local(tmp_path, sample_bytes=budget, noise_bytes=budget)
    assert m.sessions == 4 and m.sizes["total_bytes"] == total
    assert budget * 0.99 <= m.overhead_sample_bytes <= budget * 1.01
    assert budget * 0.99 <= m.noise_scanned_bytes <= budget * 1.01
    gz = (len(gzip.compress(block * 40, 6)) - 18) / (len(block) * 40)
    assert m.transcript_compression_ratio == pytest.approx(gz, rel=0.05)
    assert m.ansi_share == pytest.approx(reference(block)[0] / len(block), rel=0.01)
    assert m.overhead_ratio > 1 and 0 < m.compression_ratio < 1


def test_samples_grow_with_the_corpus_between_floor_and_cap():
    from costcompare.measure.local import NOISE_SAMPLE, STREAM_SAMPLE

    assert STREAM_SAMPLE.budget(1 << 20) == STREAM_SAMPLE.floor
    assert STREAM_SAMPLE.budget(2 << 30) == (2 << 30) // 512
    assert STREAM_SAMPLE.budget(1 << 40) == STREAM_SAMPLE.cap
    assert NOISE_SAMPLE.budget(1 << 30) == (1 << 30) // 64
    assert STREAM_SAMPLE.budget(1 << 40, fixed=5) == 5


def test_streamed_events_feed_the_per_event_model(tmp_path, corpus):
    """An export gives events per session and the envelope; the profile takes them instead of
    a flat overhead ratio, and the model then reproduces the measured ingested bytes."""
    export = write_cloudwatch_export(corpus, tmp_path / "cw" / "events.jsonl")
    m = measure_local(export.parent)
    events = sum(len(s.events) for s in corpus)
    message_bytes = sum(len(msg.encode()) for s in corpus for _, msg in s.events)
    assert m.stream_events_per_session == pytest.approx(events / len(corpus))
    # every byte of an event that is not transcript (sessionData) is envelope
    envelope = (message_bytes - m.sizes["total_bytes"]) / events
    assert m.stream_envelope_bytes == pytest.approx(envelope)
    assert 200 < envelope < 2000
    workload, comments = to_workload([m], Workload())
    assert workload.cloudwatch_overhead_ratio is None
    assert workload.stream_events_per_session == pytest.approx(events / len(corpus), abs=0.01)
    assert workload.control_bytes_share == 0  # sessionData sizes are already stripped
    assert "per event" in comments["stream_envelope_bytes"]
    assert workload.session_bytes_p95 >= workload.session_bytes_p50 > 0
