"""Measure a local folder: S3-style transcripts and CloudWatch exports, recursively.

- ``<sessionId>.log`` (or ``.txt``), optionally gzipped: one transcript per session, dated by
  the file's modification time (``aws s3 sync``/``cp`` set it to the object's LastModified).
- ``*.json``/``*.jsonl``/``*.ndjson`` (optionally gzipped) and export-task ``*.gz`` files:
  CloudWatch events, one session per ``sessionId`` (or log stream). JSON lines of event records
  (``{"timestamp", "message", "logStreamName"}``), of the streamed events themselves, export-task
  lines (``<ISO time> <message>``), or one ``aws logs filter-log-events`` document.

Unreadable and malformed files are counted and reported, never fatal. Every byte is read (sizes
of gzipped files, UTF-8 validity, binary garbage); the costlier figures come from hash-chosen
samples of files: escape/control bytes from ``noise_bytes`` (default 256 MiB), gzip and the
simulated streamed JSON from ``sample_bytes`` (default 32 MiB). Ratios estimated from a sample of
whole files are byte-weighted like the whole; the sample is deterministic for a seed.
"""

from __future__ import annotations

import itertools
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from costcompare.errors import MeasureError
from costcompare.measure.content import (
    CHUNK,
    MalformedEvent,
    TranscriptScanner,
    epoch_seconds,
    iso_seconds,
    parse_event,
    parse_json,
)
from costcompare.measure.measurement import Collector, Measurement, NoProgress, Progress

TRANSCRIPT_SUFFIXES = (".log", ".txt")
EVENT_SUFFIXES = (".json", ".jsonl", ".ndjson")
MAX_JSON_DOCUMENT = 256 << 20  # a filter-log-events document is parsed whole up to this size
DEFAULT_SAMPLE_BYTES = 32 << 20
DEFAULT_NOISE_BYTES = 256 << 20


class Corrupt(Exception):
    """A file that cannot be decoded; its message is the reason shown in the report."""


def _files(root: Path) -> Iterator[tuple[str, str]]:
    """(path, path relative to root) of regular files under root, recursively and in name
    order; hidden ones and symlinked folders skipped. A file root yields itself."""
    if root.is_file():
        yield str(root), root.name
        return
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name, reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    yield entry.path, os.path.relpath(entry.path, root)
            except OSError:
                continue


def _kind(name: str) -> str | None:
    """transcript | events | sniff (a bare .gz) | None (not a session log)."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
        if not lower.endswith(TRANSCRIPT_SUFFIXES + EVENT_SUFFIXES):
            return "sniff"
    if lower.endswith(TRANSCRIPT_SUFFIXES):
        return "transcript"
    if lower.endswith(EVENT_SUFFIXES):
        return "events"
    return None


def _size(name: str) -> int:
    try:
        return os.stat(name).st_size
    except OSError:
        return 0


def _chunks(fh: IO[bytes], progress: Progress) -> Iterator[bytes]:
    """The file's bytes in chunks, gunzipped when it starts with the gzip magic (concatenated
    members too, bounded output per step); reports bytes read from disk to ``progress``."""
    data = fh.read(CHUNK)
    progress.advance(len(data))
    if data[:2] != b"\x1f\x8b":
        while data:
            yield data
            data = fh.read(CHUNK)
            progress.advance(len(data))
        return
    d = zlib.decompressobj(47)
    try:
        while data:
            out = d.decompress(data, CHUNK)
            if out:
                yield out
            if d.unconsumed_tail:
                data = d.unconsumed_tail
                continue
            if d.eof and d.unused_data:
                data = d.unused_data
                d = zlib.decompressobj(47)
                continue
            data = fh.read(CHUNK)
            progress.advance(len(data))
            if data and d.eof:
                d = zlib.decompressobj(47)
    except zlib.error:
        raise Corrupt("corrupt gzip") from None
    if not d.eof:
        raise Corrupt("truncated gzip")


@dataclass
class _Session:
    raw: int = 0
    first: float | None = None
    last: float | None = None
    target: str | None = None


def measure_local(
    path: str | Path,
    *,
    sample_bytes: int = DEFAULT_SAMPLE_BYTES,
    noise_bytes: int = DEFAULT_NOISE_BYTES,
    seed: int = 0,
    progress: Progress | None = None,
) -> Measurement:
    """Measure every session log under ``path``."""
    root = Path(path)
    if not root.exists():
        raise MeasureError(f"{root} does not exist", "pass an existing folder to --path")
    progress = progress or NoProgress()
    total = sum(_size(name) for name, rel in _files(root) if _kind(rel))
    share = min(1.0, sample_bytes / total) if total else 1.0
    noise_share = max(share, min(1.0, noise_bytes / total) if total else 1.0)
    col = Collector()
    streamed: dict[str, _Session] = {}
    transcript_ids: set[str] = set()
    progress.start(f"reading {root}", total)
    for name, rel in _files(root):
        kind = _kind(rel)
        if kind is None:
            col.ignored += 1
            continue
        try:
            mtime = os.stat(name).st_mtime
            with open(name, "rb") as fh:
                chunks = _chunks(fh, progress)
                if kind == "sniff":
                    kind, chunks = _sniff(chunks)
                if kind == "events":
                    _read_events(chunks, streamed, col, rel)
                else:
                    pick = zlib.crc32(f"{seed}:{rel}".encode()) / 2**32
                    _read_transcript(
                        chunks, (pick < share, pick < noise_share), col, rel, mtime, transcript_ids
                    )
        except Corrupt as exc:
            col.skip(str(exc), rel)
        except OSError as exc:
            col.skip(f"unreadable ({exc.strerror or exc})", rel)
    for sid, s in streamed.items():
        if sid in transcript_ids:
            continue  # the same session as a transcript: counted once, by its transcript size
        duration = s.last - s.first if s.first is not None and s.last is not None else None
        col.add_session(s.raw, s.last, s.target, duration)
    kinds = []
    if transcript_ids:
        kinds.append("transcripts")
    if streamed:
        kinds.append("CloudWatch exports")
    basis = "transcript" if transcript_ids else "stream"
    if len(kinds) == 2:
        col.notes.append("folder holds transcripts and CloudWatch exports; sizes are transcripts")
    return col.finish(f"local folder {root}", "local", size_basis=basis)


def _sniff(chunks: Iterator[bytes]) -> tuple[str, Iterator[bytes]]:
    """A bare ``.gz`` (export task): events if it starts like JSON or ``<time> {``."""
    head = next(chunks, b"")
    stripped = head.lstrip()
    events = stripped.startswith((b"{", b"[")) or (
        stripped[:4].isdigit() and b" {" in stripped[:40]
    )
    return ("events" if events else "transcript"), itertools.chain([head], chunks)


def _read_transcript(
    chunks: Iterator[bytes],
    sample: tuple[bool, bool],
    col: Collector,
    rel: str,
    mtime: float,
    transcript_ids: set[str],
) -> None:
    scanner = TranscriptScanner(*sample)
    for chunk in chunks:
        if not scanner.feed(chunk):
            break
    scan = scanner.close()
    if scan.kind == "binary":
        col.skip("binary, not a transcript", rel)
    elif scan.kind == "empty":
        col.skip("empty", rel)
    else:
        col.add_session(scan.size, mtime)
        col.add_scan(scan)
        session_id = Path(rel).name.split(".")[0]
        transcript_ids.add(session_id)


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    tail = b""
    for chunk in chunks:
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        yield from parts
    if tail:
        yield tail


def _read_events(
    chunks: Iterator[bytes], sessions: dict[str, _Session], col: Collector, rel: str
) -> None:
    """Every event of one export file. A line that is not a readable event is counted (by
    reason, with its line number among the examples) and skipped; it never aborts the file."""
    good = 0
    lines = _lines(chunks)
    first = next(lines, None)
    if first is None:
        col.skip("empty", rel)
        return
    # a pretty-printed filter-log-events document, or JSON/export-task lines
    records = _document(first, lines) if _opens_document(first) else _records(first, lines)
    for number, record in records:
        try:
            _add_record(record, sessions, col, rel)
            good += 1
        except MalformedEvent as exc:
            col.bad_line(str(exc), f"{rel}:{number}")
    if not good:
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


def _add_record(record: Any, sessions: dict[str, _Session], col: Collector, rel: str) -> None:
    """Add one event to its session; MalformedEvent (the reason) when it is not one."""
    if isinstance(record, MalformedEvent):
        raise record
    body, text = record
    if not isinstance(body, dict):
        raise MalformedEvent("not an event object")
    if isinstance(body.get("message"), str):  # an event record wrapping the message
        message = body["message"]
        when = _record_time(body)
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
    s = sessions.setdefault(key, _Session())
    s.raw += event.raw_bytes
    if event.timestamp is not None:
        s.first = event.timestamp if s.first is None else min(s.first, event.timestamp)
        s.last = event.timestamp if s.last is None else max(s.last, event.timestamp)
    s.target = s.target or event.target
    col.add_event(event, message)


def _record_time(body: dict[str, Any]) -> float | None:
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


def event_records(chunks: Iterator[bytes]) -> Iterator[tuple[int, Any]]:
    """(line number, ``(body, text)`` or MalformedEvent) of one export file, in any of the
    formats above; shared with ``costcompare search`` so both read exports the same way."""
    lines = _lines(chunks)
    first = next(lines, None)
    if first is not None:
        yield from _document(first, lines) if _opens_document(first) else _records(first, lines)


def record_time(body: dict[str, Any]) -> float | None:
    """Epoch seconds of an event record (MalformedEvent when present but implausible)."""
    return _record_time(body)
