"""CloudWatch exports in a folder: the events of sessions, one JSON line (or document) at a time.

Formats read: JSON lines of event records (``{"timestamp", "message", "logStreamName"}``, as
``aws logs filter-log-events`` prints them one per line), JSON lines of the streamed events
themselves, export-task lines (``<ISO time> <message>``), and one ``filter-log-events`` document
(pretty-printed, or on one line). A line that is not a readable event is counted by reason and
skipped; it never aborts the file or the measurement.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from costcompare.measure.events import MalformedEvent, parse_event, parse_json
from costcompare.measure.measurement import Collector
from costcompare.measure.times import epoch_seconds, iso_seconds

MAX_JSON_DOCUMENT = 256 << 20  # a filter-log-events document is parsed whole up to this size


class Corrupt(Exception):
    """A file that cannot be decoded; its message is the reason shown in the report."""


@dataclass
class StreamedSession:
    """One session as its events show it: transcript bytes carried, first/last time, target."""

    raw: int = 0
    first: float | None = None
    last: float | None = None
    target: str | None = None


def event_records(chunks: Iterator[bytes]) -> Iterator[tuple[int, Any]]:
    """(line number, ``(body, text)`` or MalformedEvent) of one export file, in any of the
    formats above; shared with ``costcompare search`` so both read exports the same way."""
    lines = _lines(chunks)
    first = next(lines, None)
    if first is not None:
        yield from _document(first, lines) if _opens_document(first) else _records(first, lines)


def read_events(
    chunks: Iterator[bytes], sessions: dict[str, StreamedSession], col: Collector, rel: str
) -> None:
    """Every event of one export file. A line that is not a readable event is counted (by
    reason, with its line number among the examples) and skipped; it never aborts the file."""
    good = lines = 0
    for number, record in event_records(chunks):
        lines += 1
        try:
            _add_record(record, sessions, col, rel)
            good += 1
        except MalformedEvent as exc:
            col.bad_line(str(exc), f"{rel}:{number}")
    if not lines:
        col.skip("empty", rel)
    elif not good:
        col.skip("malformed, no CloudWatch events", rel)


def _opens_document(first: bytes) -> bool:
    """True when the first line opens a multi-line JSON document (``{``, ``[``,
    ``{"events": [``) rather than being a JSON line of its own."""
    head = first.strip()
    return head in (b"{", b"[") or (head.startswith(b"{") and head.endswith((b"[", b"{")))


def _records(first: bytes, rest: Iterator[bytes]) -> Iterator[tuple[int, Any]]:
    """(line number, record or MalformedEvent) of JSON lines, or of export-task lines
    ``<ISO time> <message>``; a one-line filter-log-events document yields its events."""
    for number, raw in enumerate(itertools.chain([first], rest), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield number, MalformedEvent("not UTF-8")
            continue
        if text.startswith("{"):
            try:
                body = parse_json(text)
            except ValueError:
                yield number, MalformedEvent("not JSON")
                continue
            if isinstance(body, dict) and isinstance(body.get("events"), list):
                for item in body["events"]:
                    yield number, (item, None)
            else:
                yield number, (body, text)
        elif text[:4].isdigit() and " " in text:
            stamp, message = text.split(" ", 1)
            yield number, ({"message": message, "_iso": stamp}, message)
        else:
            yield number, MalformedEvent("not an event")


def _document(first: bytes, rest: Iterator[bytes]) -> Iterator[tuple[int, Any]]:
    buf = bytearray(first)
    for line in rest:
        buf += b"\n" + line
        if len(buf) > MAX_JSON_DOCUMENT:
            raise Corrupt("JSON document over 256 MB: export it as JSON lines")
    try:
        doc = parse_json(bytes(buf))
    except (ValueError, UnicodeDecodeError):
        raise Corrupt("malformed JSON") from None
    events = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(events, list):
        raise Corrupt("JSON without an events list")
    for number, item in enumerate(events, 1):
        yield number, (item, None)


def _add_record(
    record: Any, sessions: dict[str, StreamedSession], col: Collector, rel: str
) -> None:
    """Add one event to its session; MalformedEvent (the reason) when it is not one."""
    if isinstance(record, MalformedEvent):
        raise record
    body, text = record
    if not isinstance(body, dict):
        raise MalformedEvent("not an event object")
    if isinstance(body.get("message"), str):  # an event record wrapping the message
        message = body["message"]
        when = record_time(body)
        stream = body.get("logStreamName")
        if stream is not None and not isinstance(stream, str):
            raise MalformedEvent("logStreamName is not a string")
    elif isinstance(body.get("sessionData"), list):  # the streamed event itself
        message = text if text is not None else json.dumps(body, ensure_ascii=False)
        when, stream = None, None
    else:
        raise MalformedEvent("no message or sessionData")
    event = parse_event(message, when)
    key = event.session_id or stream or rel
    s = sessions.setdefault(key, StreamedSession())
    s.raw += event.raw_bytes
    if event.timestamp is not None:
        s.first = event.timestamp if s.first is None else min(s.first, event.timestamp)
        s.last = event.timestamp if s.last is None else max(s.last, event.timestamp)
    s.target = s.target or event.target
    col.add_event(event, message)


def record_time(body: dict[str, Any]) -> float | None:
    """Epoch seconds of an event record: ``timestamp`` (ms) or an export-task line's time.
    A time that is present but not a plausible one makes the line malformed."""
    if "_iso" in body:
        when = iso_seconds(body["_iso"])
        if when is None:
            raise MalformedEvent("time out of range")
        return when
    stamp = body.get("timestamp")
    if stamp is None:
        return None
    when = epoch_seconds(stamp, 1000)
    if when is None:
        raise MalformedEvent("timestamp out of range")
    return when


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    tail = b""
    for chunk in chunks:
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        yield from parts
    if tail:
        yield tail
