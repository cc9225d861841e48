"""Content figures: escape/control bytes, streamed-event packing, event parsing."""

from __future__ import annotations

import json
import random

from noise_reference import reference
from session_corpus import recordings

from costcompare.measure.content import (
    MAX_EVENT_RAW_BYTES,
    NoiseCounter,
    pack_lines,
    scan_transcript,
)
from costcompare.measure.events import parse_event


def count(data: bytes, chunk: int) -> tuple[int, int]:
    nc = NoiseCounter()
    for i in range(0, len(data), chunk):
        nc.feed(data[i : i + chunk])
    nc.feed(b"", final=True)
    return nc.escape_bytes, nc.control_bytes


def test_noise_matches_reference_on_recordings_in_any_chunking():
    for rec in recordings():
        expected = reference(rec.transcript)
        assert expected[0] > 0
        for chunk in (7, 4096, 1 << 20):
            assert count(rec.transcript, chunk) == expected, (rec.name, chunk)


def test_noise_matches_reference_on_random_control_soup():
    rng = random.Random(5)
    alphabet = [b"a", b" ", b"\n", b"\r", b"\x1b", b"[", b"]", b"3", b";", b"m", b"\x07",
                b"(", b"B", b"\\", b"?", b"\x08", b"\x7f", b"\t", b"\x00"]  # fmt: skip
    for _ in range(300):
        data = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        expected = reference(data)
        for chunk in (1, 3, 64):
            assert count(data, chunk) == expected, data


def test_long_osc_title_is_one_sequence():
    data = b"\x1b]0;" + b"x" * 500 + b"\x07done\r\n"
    assert count(data, 1 << 20) == (len(data) - 6, 1)


def test_pack_lines_respects_the_agent_limit():
    lines = [b"x" * 1000] * 100 + [b"y" * 70_000]
    events = list(pack_lines(lines))
    assert all(sum(len(x) for x in e) <= MAX_EVENT_RAW_BYTES for e in events)
    assert b"".join(b"".join(e) for e in events) == b"".join(lines)


def test_parse_event_reads_streamed_json_and_plain_text():
    body = {
        "sessionId": "alice-0123456789abcdef0",
        "target": {"id": "i-1"},
        "eventTime": "2025-03-01T00:00:01Z",
        "sessionData": ["\u001b[31mred", "é"],
    }
    message = json.dumps(body)
    event = parse_event(message)
    assert event.session_id == "alice-0123456789abcdef0"
    assert event.target == "i-1"
    assert event.raw_bytes == len(b"\x1b[31mred") + 1 + len("é".encode()) + 1
    assert event.message_bytes == len(message.encode())
    plain = parse_event("plain text at session end")
    assert not plain.json and plain.raw_bytes == plain.message_bytes


def test_binary_and_empty_are_told_apart_from_transcripts():
    assert scan_transcript([random.Random(1).randbytes(5000)]).kind == "binary"
    assert scan_transcript([]).kind == "empty"
    latin = scan_transcript([b"caf\xe9 ol\xe9\r\n" + b"plain text\r\n" * 50])
    assert latin.kind == "transcript" and latin.non_utf8
