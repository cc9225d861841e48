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
from costcompare.measure.content import CHUNK, TranscriptScanner, iso_seconds, parse_event
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
    good = bad = 0
    lines = _lines(chunks)
    first = next(lines, None)
    if first is None:
        col.skip("empty", rel)
        return
    records: Iterator[Any]
    try:
        json.loads(first)
        records = _records(first, lines)
    except ValueError:
        if first.lstrip().startswith((b"{", b"[")):
            records = _document(first, lines)  # a pretty-printed filter-log-events document
        else:
            records = _records(first, lines)
    for record in records:
        if _add_record(record, sessions, col, rel):
            good += 1
        else:
            bad += 1
    if not good:
        col.skip("malformed, no CloudWatch events", rel)
    elif bad:
        col.notes.append(f"{rel}: {bad:,} lines are not events (skipped)")


def _records(first: bytes, rest: Iterator[bytes]) -> Iterator[Any]:
    """JSON lines, or export-task lines ``<ISO time> <message>``."""
    for raw in itertools.chain([first], rest):
        line = raw.strip()
        if not line:
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield None
            continue
        if text.startswith("{"):
            try:
                yield json.loads(text), text
            except ValueError:
                yield None
        elif text[:4].isdigit() and " " in text:
            stamp, message = text.split(" ", 1)
            yield {"message": message, "_iso": stamp}, message
        else:
            yield None


def _document(first: bytes, rest: Iterator[bytes]) -> Iterator[Any]:
    buf = bytearray(first)
    for line in rest:
        buf += b"\n" + line
        if len(buf) > MAX_JSON_DOCUMENT:
            raise Corrupt("JSON document over 256 MB: export it as JSON lines")
    try:
        doc = json.loads(bytes(buf))
    except (ValueError, UnicodeDecodeError):
        raise Corrupt("malformed JSON") from None
    events = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(events, list):
        raise Corrupt("JSON without an events list")
    for item in events:
        yield (item, None) if isinstance(item, dict) else None


def _add_record(record: Any, sessions: dict[str, _Session], col: Collector, rel: str) -> bool:
    if record is None:
        return False
    body, text = record
    if not isinstance(body, dict):
        return False
    if isinstance(body.get("message"), str):  # an event record wrapping the message
        message = body["message"]
        stamp = body.get("timestamp")
        when = stamp / 1000 if isinstance(stamp, int | float) else None
        stream = body.get("logStreamName")
    elif isinstance(body.get("sessionData"), list):  # the streamed event itself
        message = text if text is not None else json.dumps(body, ensure_ascii=False)
        when, stream = None, None
    else:
        return False
    event = parse_event(message, when)
    if event.timestamp is None and "_iso" in body:
        event.timestamp = iso_seconds(body["_iso"])
    key = event.session_id or stream or rel
    s = sessions.setdefault(key, _Session())
    s.raw += event.raw_bytes
    if event.timestamp is not None:
        s.first = event.timestamp if s.first is None else min(s.first, event.timestamp)
        s.last = event.timestamp if s.last is None else max(s.last, event.timestamp)
    s.target = s.target or event.target
    col.add_event(event, message)
    return True
