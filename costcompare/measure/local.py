"""Measure a local folder: S3-style transcripts and CloudWatch exports, recursively.

- ``<sessionId>.log`` (or ``.txt``), optionally gzipped: one transcript per session.
- ``*.json``/``*.jsonl``/``*.ndjson`` (optionally gzipped) and export-task ``*.gz`` files:
  CloudWatch events, one session per ``sessionId`` (or log stream); see ``exports``.

When did a transcript's session happen? A file copied from elsewhere carries its copy time, not
the session's, so file times are used only when asked (``file_times``: ``aws s3 sync`` and
``aws s3 cp`` set them to the object's LastModified). Otherwise a transcript is dated by a header
it holds (``script``'s "Script started on", a PowerShell transcript's "Start time"), by a date in
its path (``2025/03/01/``), or by the CloudWatch events of the same session in the folder. When
none of these says, sessions per day need the period: ``days``.

One walk of the tree; every byte is read once into a reused buffer (sizes of gzipped files,
binary garbage). The costlier figures come from byte ranges of hash-chosen files whose total
grows with the corpus between a floor and a cap: escape/control bytes and UTF-8 validity from
the noise sample, gzip and the simulated streamed JSON from the (smaller) stream sample. A file
gives a whole-file range or, when large, a range of its share, so four files of 256 MiB give
every ratio within the budget. Unreadable and malformed files are counted, never fatal.
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from costcompare.errors import MeasureError
from costcompare.measure.content import CHUNK, WHOLE, Range, TranscriptScanner
from costcompare.measure.exports import Corrupt, StreamedSession, read_events
from costcompare.measure.measurement import Collector, Measurement
from costcompare.measure.times import path_time, transcript_time
from costcompare.progress import NoProgress, Progress

TRANSCRIPT_SUFFIXES = (".log", ".txt")
EVENT_SUFFIXES = (".json", ".jsonl", ".ndjson")
MIN_RANGE = 256 << 10  # a sampled range is at least this long (or the whole file)


@dataclass(frozen=True)
class SamplePlan:
    """How many bytes a sample takes: ``fraction`` of the corpus, within [floor, cap]."""

    fraction: float
    floor: int
    cap: int

    def budget(self, total: int, fixed: int | None = None) -> int:
        """Bytes to sample from a corpus of ``total`` bytes (``fixed`` when the user set it)."""
        if fixed is not None:
            return fixed
        return max(self.floor, min(self.cap, int(total * self.fraction)))


# gzip + the simulated stream run at ~10 MB/s and the escape-sequence count at ~50 MB/s (2
# cores under load), against ~700 MB/s to read a file: the samples take a small share of the
# bytes; the floors (a dozen to fifty typical sessions) keep a small corpus's ratios from
# resting on one or two sessions, and the whole of a corpus smaller than the floor is sampled.
STREAM_SAMPLE = SamplePlan(1 / 512, 1 << 20, 32 << 20)
NOISE_SAMPLE = SamplePlan(1 / 64, 4 << 20, 256 << 20)


@dataclass(frozen=True)
class LocalFile:
    path: str
    rel: str  # relative to the measured root
    size: int  # on disk (compressed for .gz)
    mtime: float


def walk(root: Path) -> Iterator[LocalFile]:
    """Regular files under root, recursively and in name order (one ``scandir`` per folder,
    one ``stat`` per file); hidden ones and symlinked folders skipped. A file root yields itself."""
    if root.is_file():
        info = root.stat()
        yield LocalFile(str(root), root.name, info.st_size, info.st_mtime)
        return
    base = len(str(root).rstrip(os.sep)) + 1
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
                    info = entry.stat(follow_symlinks=False)
                    yield LocalFile(entry.path, entry.path[base:], info.st_size, info.st_mtime)
            except OSError:
                continue


def file_kind(name: str) -> str | None:
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


def read_chunks(
    fh: IO[bytes], progress: Progress, buffer: bytearray | None = None
) -> Iterator[bytes | memoryview]:
    """The file's bytes in chunks, gunzipped when it starts with the gzip magic (concatenated
    members too, bounded output per step); reports bytes read from disk to ``progress``.

    With ``buffer``, plain files are read into it and yielded as views of it, each valid only
    until the next one is asked for: no allocation per chunk."""
    if buffer is None:
        buffer = bytearray(CHUNK)
        view = None
    else:
        view = memoryview(buffer)
    n = fh.readinto(buffer)
    progress.advance(n)
    if buffer[:2] != b"\x1f\x8b" or n < 2:
        while n:
            yield view[:n] if view is not None else bytes(buffer[:n])
            n = fh.readinto(buffer)
            progress.advance(n)
        return
    yield from _gunzip(bytes(buffer[:n]), fh, progress)


def _gunzip(data: bytes, fh: IO[bytes], progress: Progress) -> Iterator[bytes]:
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


def measure_local(
    path: str | Path,
    *,
    days: float | None = None,
    file_times: bool = False,
    sample_bytes: int | None = None,
    noise_bytes: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Measurement:
    """Measure every session log under ``path``.

    ``days``: the period the logs cover (sessions per day = sessions ÷ days), needed when the
    transcripts carry no dates. ``file_times``: date transcripts by file modification time
    (right for folders written by ``aws s3 sync``). ``sample_bytes``/``noise_bytes``: fixed
    sample sizes instead of the corpus-proportional defaults."""
    root = Path(path)
    if not root.exists():
        raise MeasureError(f"{root} does not exist", "pass an existing folder to --path")
    if days is not None and not days > 0:
        raise MeasureError(f"--days {days:g}", "give the number of days the logs cover, above 0")
    run = _Run(Collector(), file_times, seed)
    files = []
    for f in walk(root):
        if file_kind(f.rel):
            files.append(f)
        else:
            run.col.ignored += 1
    total = sum(f.size for f in files)
    stream = STREAM_SAMPLE.budget(total, sample_bytes)
    noise = max(stream, NOISE_SAMPLE.budget(total, noise_bytes))  # never the smaller one
    run.shares = (min(1.0, stream / total), min(1.0, noise / total)) if total else (1.0, 1.0)
    progress = progress or NoProgress()
    progress.start(f"reading {root}", total)
    for f in files:
        run.read(f, progress)
    return run.finish(f"local folder {root}", days)


@dataclass
class _Transcript:
    session_id: str
    size: int


class _Run:
    """One measurement of a folder: the collector, streamed sessions, undated transcripts."""

    def __init__(self, col: Collector, file_times: bool, seed: int) -> None:
        self.col = col
        self.file_times = file_times
        self.seed = seed & 0xFFFFFFFF
        self.shares = (1.0, 1.0)  # stream sample, noise sample: share of the corpus bytes
        self.streamed: dict[str, StreamedSession] = {}
        self.transcript_ids: set[str] = set()
        self.undated: list[_Transcript] = []
        self.buffer = bytearray(CHUNK)

    def read(self, f: LocalFile, progress: Progress) -> None:
        kind = file_kind(f.rel)
        try:
            with open(f.path, "rb", buffering=0) as fh:
                chunks = read_chunks(fh, progress, self.buffer)
                if kind == "sniff":
                    kind, chunks = _sniff(chunks)
                if kind == "events":
                    read_events(chunks, self.streamed, self.col, f.rel)
                else:
                    self._transcript(chunks, f)
        except Corrupt as exc:
            self.col.skip(str(exc), f.rel)
        except OSError as exc:
            self.col.skip(f"unreadable ({exc.strerror or exc})", f.rel)

    def ranges(self, f: LocalFile) -> tuple[Range | None, Range | None]:
        """(stream sample, noise sample) ranges of one file, chosen by a hash of its path (the
        same file is in the noise sample whenever it is in the smaller stream sample)."""
        key = f.rel.encode("utf-8", "surrogateescape")
        pick = zlib.crc32(key, self.seed) / 2**32
        stream, noise = self.shares
        return (
            _range(f.size, stream, pick, key, self.seed),
            _range(f.size, noise, pick, key, self.seed),
        )

    def _transcript(self, chunks: Iterator[bytes | memoryview], f: LocalFile) -> None:
        scanner = TranscriptScanner(*self.ranges(f))
        when = None
        for number, chunk in enumerate(chunks):
            if number == 0:
                when = transcript_time(bytes(chunk[:2048]))
            if not scanner.feed(chunk):
                break
        scan = scanner.close()
        if scan.kind != "transcript":
            self.col.skip("binary, not a transcript" if scan.kind == "binary" else "empty", f.rel)
            return
        session_id = f.rel.rsplit("/", 1)[-1].split(".")[0]
        self.transcript_ids.add(session_id)
        self.col.add_scan(scan)
        when = when or path_time(f.rel) or (f.mtime if self.file_times else None)
        if when is None:
            self.undated.append(_Transcript(session_id, scan.size))
        else:
            self.col.add_session(scan.size, when)

    def finish(self, source: str, days: float | None) -> Measurement:
        col = self.col
        by_events = 0
        for t in self.undated:  # dated by the CloudWatch events of the same session, if any
            s = self.streamed.get(t.session_id)
            by_events += s is not None and s.first is not None
            col.add_session(t.size, s.first if s is not None else None)
        for sid, s in self.streamed.items():
            if sid in self.transcript_ids:
                continue  # the same session as a transcript: counted once, by its transcript size
            duration = s.last - s.first if s.first is not None and s.last is not None else None
            col.add_session(s.raw, s.last, s.target, duration)
        if self.transcript_ids and self.streamed:
            col.notes.append(
                "folder holds transcripts and CloudWatch exports; sizes are transcripts"
            )
        if by_events:
            col.notes.append(
                f"{by_events:,} transcripts dated by their sessions' CloudWatch events"
            )
        if col.undated and not days:
            col.notes.append(
                f"{col.undated:,} transcripts carry no date (a copied file's time is its copy "
                "time): pass --days, the number of days they cover, or --file-times if they "
                "came from `aws s3 sync`"
            )
        basis = "transcript" if self.transcript_ids else "stream"
        if days:
            return col.finish(
                source, "local", size_basis=basis, window_days=days,
                window_basis=f"{days:g} days, given with --days",
            )  # fmt: skip
        return col.finish(source, "local", size_basis=basis)


def _range(size: int, share: float, pick: float, key: bytes, seed: int) -> Range | None:
    """The byte range a file gives to a sample of ``share`` of the corpus: the whole of a small
    file with probability ``share``, else ``share`` of a large one (at least MIN_RANGE, picked
    with the matching probability); expected bytes ``share × size`` either way."""
    if share >= 1:
        return WHOLE
    wanted = share * size
    length = min(size, max(MIN_RANGE, int(wanted)))
    if length <= 0 or pick >= wanted / length:
        return None
    if length >= size:
        return WHOLE  # the whole file (for a .gz, all of it once decompressed)
    where = zlib.crc32(key, seed ^ 0x9E3779B9) / 2**32  # an independent hash for the offset
    start = int(where * (size - length))
    return start, start + length


def _sniff(chunks: Iterator[bytes | memoryview]) -> tuple[str, Iterator[bytes | memoryview]]:
    """A bare ``.gz`` (export task): events if it starts like JSON or ``<time> {``."""
    head = bytes(next(chunks, b""))
    stripped = head.lstrip()
    events = stripped.startswith((b"{", b"[")) or (
        stripped[:4].isdigit() and b" {" in stripped[:40]
    )
    return ("events" if events else "transcript"), itertools.chain([head], chunks)
