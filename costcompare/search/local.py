"""Search a local folder of transcripts (``<sessionId>.log``) and CloudWatch exports, no set-up.

A streaming scan: each file is read once in 1 MiB chunks (gunzipped on the fly) and the
compiled pattern runs over the raw bytes of the chunk, so a transcript is searched at memory
speed; only lines that hold a match are decoded. Files are found, classified and decoded by the
same code ``costcompare measure --path`` uses. Event files are parsed event by event
(``sessionData`` lines), skipping events whose raw text cannot hold a plain-word pattern.

Who: the user part of the session id. Where: the instance (``target.id``) of streamed events;
transcripts do not record it (the same session's events in the folder do). When: event times;
for a transcript, as ``costcompare measure`` dates it: a header it holds (``script``'s "Script
started on", PowerShell's "Start time"), a date in its path, the same session's events, or —
only with ``file_times`` — the file's modification time (what ``aws s3 sync``/``cp`` set to the
object's LastModified; a plain copy carries the copy time).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from costcompare.errors import MeasureError
from costcompare.measure.content import CHUNK
from costcompare.measure.events import MalformedEvent, parse_event
from costcompare.measure.exports import Corrupt, event_records, record_time
from costcompare.measure.local import file_kind, read_chunks, walk
from costcompare.measure.times import path_time, transcript_time
from costcompare.progress import NoProgress, Progress
from costcompare.search.query import SearchError, SearchQuery, clean_line, user_of
from costcompare.search.result import BackendResult, SessionMatch


def search_local(
    path: str | Path,
    query: SearchQuery,
    progress: Progress | None = None,
    *,
    file_times: bool = False,
) -> BackendResult:
    """Every matching session under ``path`` (a folder, recursively, or one file)."""
    root = Path(path)
    if not root.exists():
        raise SearchError(f"{root} does not exist", "pass an existing folder to --path")
    progress = progress or NoProgress()
    started = time.perf_counter()
    files = [(f.path, f.rel, kind) for f in walk(root) if (kind := file_kind(f.rel))]
    transcript_ids = {_session_of(rel) for _, rel, kind in files if kind == "transcript"}
    result = BackendResult("local", None, f"local folder {root}", bytes_basis="read from disk")
    sessions: dict[str, SessionMatch] = {}
    scanner = Scanner(query)
    skipped: list[str] = []
    read = 0
    buffer = bytearray(CHUNK)  # reused for every file: no 1 MiB allocation per transcript
    progress.start(f"searching {root}", sum(_size(name) for name, _, _ in files))
    for name, rel, kind in files:
        try:
            with open(name, "rb") as fh:
                chunks = Counted(read_chunks(fh, progress, buffer))
                if kind == "sniff":
                    kind = "events" if _looks_like_events(name) else "transcript"
                if kind == "transcript":
                    hint = os.stat(name).st_mtime if file_times else None
                    scanner.transcript(chunks, rel, hint, sessions)
                else:
                    scanner.events(chunks, rel, sessions, transcript_ids)
                read += chunks.total
        except (Corrupt, MeasureError) as exc:
            skipped.append(f"{rel} ({exc})")
        except OSError as exc:
            skipped.append(f"{rel} (unreadable: {exc.strerror or exc})")
    for match in sessions.values():
        match.instance = match.instance or scanner.instances.get(match.session_id)
        if match.first_time is None:
            for when in scanner.times.get(match.session_id, ()):
                match.seen(when)
    result.sessions = [s for s in sessions.values() if s.matches and query.in_window(s.first_time)]
    result.seconds = time.perf_counter() - started
    result.bytes_scanned = read
    result.notes.append("a local search costs nothing in AWS; it measures no destination")
    if skipped:
        result.notes.append(f"{len(skipped)} files skipped: " + "; ".join(skipped[:5]))
    if query.instance and transcript_ids:
        result.notes.append(
            "transcripts do not record their instance: with --instance only streamed events "
            "can match"
        )
    return result


class Counted:
    """Counts the (uncompressed) bytes that pass through a chunk iterator."""

    def __init__(self, chunks):
        self._chunks = chunks
        self.total = 0

    def __iter__(self):
        for chunk in self._chunks:
            self.total += len(chunk)
            yield chunk


def _size(name: str) -> int:
    try:
        return os.stat(name).st_size
    except OSError:
        return 0


def _session_of(rel: str) -> str:
    return rel.rsplit(os.sep, 1)[-1].split(".", 1)[0]


def _lines_holding(buf: bytes, literals: list[bytes]) -> list[tuple[int, int]]:
    """(start, end) of every line of ``buf`` that holds one of ``literals``, in order."""
    size = len(buf)
    spans = set()
    for literal in literals:
        pos = 0
        while (at := buf.find(literal, pos)) >= 0:
            start = buf.rfind(b"\n", 0, at) + 1
            end = buf.find(b"\n", at)
            end = size if end < 0 else end
            spans.add((start, end))
            pos = end + 1
    return sorted(spans)


def _looks_like_events(name: str) -> bool:
    """A bare ``.gz`` (an export task) holds events when it starts like JSON or ``<time> {``."""
    import gzip

    try:
        with gzip.open(name, "rb") as fh:
            head = fh.read(64).lstrip()
    except (OSError, EOFError):
        return False
    return head.startswith((b"{", b"[")) or (head[:4].isdigit() and b" {" in head[:40])


class Scanner:
    """Runs one query over transcripts (raw bytes) and event records; shared with the S3 scan."""

    def __init__(self, query: SearchQuery) -> None:
        self.query = query
        self.rx_bytes = query.compiled_bytes()
        self.rx_text = query.compiled_text()
        # A pattern of plain word characters survives JSON escaping unchanged, so an event
        # whose raw text lacks it cannot match and is not parsed.
        plain = query.regex == re.escape(query.regex) and query.regex.isascii()
        self.word = query.pattern.lower() if query.ignore_case else query.pattern
        self.prefilter = plain
        self.literal = query.regex.encode() if plain and not query.ignore_case else None
        self.literals = None if self.literal else query.required_literals()
        # What a transcript session's events in the same folder say: where, and when.
        self.instances: dict[str, str] = {}
        self.times: dict[str, tuple[float, float]] = {}

    def transcript(
        self, chunks, rel: str, when: float | None, sessions: dict[str, SessionMatch]
    ) -> None:
        """Search one transcript; ``when`` dates it unless a header or its path does. The date
        is read only when a window asks for it or the transcript matches."""
        sid = _session_of(rel)
        wanted = self.query.wants_session(sid)
        head = None
        hits: list[str] = []
        tail = b""
        for chunk in chunks:
            if not wanted:
                continue  # still read: bytes scanned is what a scan reads
            buf = tail + chunk if tail else bytes(chunk)
            if head is None:
                head = buf[:2048]
            cut = buf.rfind(b"\n") + 1
            if cut == 0 and len(buf) < 1 << 24:
                tail = buf
                continue
            cut = cut or len(buf)
            self._lines_in(buf if cut == len(buf) else buf[:cut], hits)
            tail = buf[cut:]
        if tail:
            self._lines_in(tail, hits)
        if not hits:
            return
        when = transcript_time(head or b"") or path_time(rel) or when
        if not self.query.in_window(when):
            return
        match = sessions.setdefault(sid, SessionMatch(sid, user_of(sid), source=rel))
        for line in hits:
            match.add(line)
        match.seen(when)

    def _lines_in(self, buf: bytes, hits: list[str]) -> None:
        """Each line of ``buf`` that holds a match, found by searching the whole buffer (a
        plain word with ``bytes.find``, which is faster than the regex engine)."""
        pos = 0
        size = len(buf)
        search = self.rx_bytes.search
        literal = self.literal
        if literal is None and self.literals:
            for start, end in _lines_holding(buf, self.literals):
                line = buf[start:end]
                if search(line):
                    hits.append(clean_line(line.decode("utf-8", "replace")))
            return
        while pos < size:
            if literal is not None:
                at = buf.find(literal, pos)
                if at < 0:
                    return
                found = None
            else:
                found = search(buf, pos)
                if found is None:
                    return
                at = found.start()
            start = buf.rfind(b"\n", 0, at) + 1
            end = buf.find(b"\n", at)
            end = size if end < 0 else end
            line = buf[start:end]
            if found is None or b"\n" not in found.group() or search(line):
                hits.append(clean_line(line.decode("utf-8", "replace")))
            pos = end + 1

    def events(self, chunks, rel: str, sessions: dict[str, SessionMatch], transcripts: set[str]):
        for _, record in event_records(chunks):
            if not isinstance(record, MalformedEvent):
                try:
                    self._event(record, rel, sessions, transcripts)
                except MalformedEvent:
                    continue  # `costcompare measure` counts these; a search skips them

    def _event(self, record, rel: str, sessions: dict[str, SessionMatch], transcripts: set[str]):
        body, text = record
        if not isinstance(body, dict):
            return
        if self.prefilter and text is not None:
            raw = text.lower() if self.query.ignore_case else text
            if self.word not in raw:
                return
        if isinstance(body.get("message"), str):
            event = parse_event(body["message"], record_time(body))
            stream = body.get("logStreamName")
        elif isinstance(body.get("sessionData"), list):
            import json

            event = parse_event(text or json.dumps(body, ensure_ascii=False))
            stream = None
        else:
            return
        sid = event.session_id or stream or _session_of(rel)
        if sid in transcripts:
            # The same session's transcript is searched instead; its events say where it ran.
            if event.target:
                self.instances.setdefault(sid, event.target)
            if event.timestamp is not None:
                low, high = self.times.get(sid, (event.timestamp, event.timestamp))
                self.times[sid] = (min(low, event.timestamp), max(high, event.timestamp))
            return
        lines = event.lines if event.json else body["message"].splitlines()
        if not self.query.wants_session(sid, event.target) or not self.query.in_window(
            event.timestamp
        ):
            return
        hits = [clean_line(x) for x in lines if self.rx_text.search(x)]
        if not hits:
            return
        match = sessions.setdefault(sid, SessionMatch(sid, user_of(sid), source=rel))
        match.instance = match.instance or event.target
        for line in hits:
            match.add(line, event.timestamp)
