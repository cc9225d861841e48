"""What the bytes of a session log are: terminal noise, compressibility, streamed-JSON overhead.

Two formats (the AWS Session Manager documentation on session logging):
- a transcript (the S3 object): raw terminal output, ANSI and control characters intact;
- streamed CloudWatch events: JSON with the output lines in ``sessionData`` (≤ 33,000 raw bytes per
  event, escape sequences written as ``\\u001b``), or plain text when streaming is off.

Size is counted on every byte; ANSI/control share and UTF-8 validity (numpy) on a noise range,
gzip and the simulated JSON stream (the costliest) on a sample range, each chosen per file by
the caller so that samples grow with the corpus but stay within a budget.
"""

from __future__ import annotations

import bisect
import codecs
import itertools
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

CHUNK = 1 << 20
HEAD_BYTES = 8 * 1024  # enough to tell binary files, as git's 8,000-byte check does
MAX_EVENT_RAW_BYTES = 33_000  # the agent's limit of raw output bytes per streamed event
GZIP_LEVEL = 6  # gzip's default level: the stand-in for CloudWatch's (unpublished) archive codec
# Below this many sampled bytes a compression ratio says more about gzip's block overhead than
# about the logs (a few events can give a ratio over 1): the ratio is left unmeasured.
MIN_RATIO_SAMPLE_BYTES = 16 << 10
_LF, _TAB, _ESC, _BEL, _DEL = 0x0A, 0x09, 0x1B, 0x07, 0x7F
_CARRY_LIMIT = 4096  # an escape sequence longer than this is counted as ended at the chunk end


def deflater() -> Any:
    """gzip -6's deflate stream without gzip's 18-byte header and trailer: a container per
    file or stream would otherwise weigh on small samples, and no archive stores it per line."""
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)


_CONTROL = np.zeros(256, bool)
_CONTROL[:0x20] = True
_CONTROL[[_LF, _TAB]] = False
_CONTROL[_DEL] = True
_NOT_CONTROL = bytes(i for i in range(256) if not _CONTROL[i])
_WINDOWS = (8, 40)  # gather widths: most sequences end within 8 bytes, nearly all within 40


class NoiseCounter:
    """Counts escape-sequence bytes and other control bytes (C0 and DEL, not LF/TAB) in a stream.

    Sequences: CSI ``ESC [`` then parameter/intermediate bytes (0x20–0x3F) and a final byte
    (0x40–0x7E); OSC ``ESC ]`` up to BEL (or up to the next ESC, which starts the ST); otherwise
    ``ESC`` intermediates (0x20–0x2F) and a final byte (0x30–0x7E). A control byte inside a
    sequence counts as escape bytes. Vectorised so that it runs at memory speed; a sequence cut
    by a chunk boundary is carried to the next chunk.
    """

    def __init__(self) -> None:
        self.escape_bytes = 0
        self.control_bytes = 0
        self._carry = b""

    def feed(self, data: bytes, final: bool = False) -> None:
        buf = self._carry + data if self._carry else data
        self._carry = b""
        if not buf:
            return
        a = np.frombuffer(buf, np.uint8)
        end = a.size
        esc = np.flatnonzero(a == _ESC)
        inside_controls = 0
        if esc.size:
            stops, osc, complete = _sequence_ends(a, esc)
            if not complete and not final and a.size - int(esc[-1]) < _CARRY_LIMIT:
                end = int(esc[-1])
                self._carry = bytes(buf[end:])
                esc, stops, osc = esc[:-1], stops[:-1], osc[:-1]
            self.escape_bytes += int((stops - esc).sum())
            inside_controls = int(esc.size)
            for begin, stop in zip(esc[osc].tolist(), stops[osc].tolist(), strict=True):
                inside_controls += int(np.count_nonzero(_CONTROL[a[begin + 1 : stop]]))
        head = buf if end == len(buf) else buf[:end]
        self.control_bytes += len(head.translate(None, _NOT_CONTROL)) - inside_controls


def _sequence_ends(a: np.ndarray, esc: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """For each ESC position: one past the end of its sequence, whether it is an OSC, and
    whether the last sequence is complete (False: it runs off the end of the buffer).

    Most sequences are short: they are resolved in a narrow vectorised gather, the few longer
    ones in a wider one, and the rest (long OSC titles, the end of the buffer) one by one.
    """
    n = a.size
    stops = np.empty(esc.size, np.int64)
    kinds = np.zeros(esc.size, np.uint8)
    slow = esc + _WINDOWS[-1] + 1 >= n
    pending = np.flatnonzero(~slow)
    for width in _WINDOWS:
        if not pending.size:
            break
        found = _resolve(a, esc, pending, width, stops, kinds)
        pending = pending[~found]
    slow[pending] = True
    complete = True
    for row in np.flatnonzero(slow).tolist():
        kinds[row], stops[row], complete = _one_sequence(a, int(esc[row]))
    return stops, kinds == 0x5D, complete


def _resolve(
    a: np.ndarray,
    esc: np.ndarray,
    rows: np.ndarray,
    width: int,
    stops: np.ndarray,
    kinds: np.ndarray,
) -> np.ndarray:
    """Fill stops/kinds of the sequences at ``esc[rows]`` that end within ``width`` bytes;
    returns which did."""
    begin = esc[rows]
    win = a[begin[:, None] + np.arange(1, width + 1)]
    kind = win[:, 0]
    kinds[rows] = kind
    found = np.zeros(rows.size, bool)
    for sel, cond, skip, final_lo, final_hi in (
        (kind == 0x5B, _stop_csi, 1, 0x40, 0x7E),
        (kind == 0x5D, _stop_osc, 1, _BEL, _BEL),
        ((kind != 0x5B) & (kind != 0x5D), _stop_other, 0, 0x30, 0x7E),
    ):
        if not sel.any():
            continue
        stop = cond(win[sel, skip:])
        first = np.argmax(stop, axis=1)
        hit = stop[np.arange(first.size), first]
        j = begin[sel] + 1 + skip + first
        byte = a[j]
        stops[rows[sel]] = np.where((byte >= final_lo) & (byte <= final_hi), j + 1, j)
        found[sel] = hit
    return found


def _stop_csi(b: np.ndarray) -> np.ndarray:
    return (b < 0x20) | (b > 0x3F)


def _stop_osc(b: np.ndarray) -> np.ndarray:
    return (b == _BEL) | (b == _ESC)


def _stop_other(b: np.ndarray) -> np.ndarray:
    return (b < 0x20) | (b > 0x2F)


def _one_sequence(a: np.ndarray, begin: int) -> tuple[int, int, bool]:
    """(kind byte, stop, complete) of the sequence at ``begin``, looking as far as needed."""
    n = a.size
    if begin + 1 >= n:
        return 0, n, False
    kind = int(a[begin + 1])
    skip, cond, lo, hi = {
        0x5B: (1, _stop_csi, 0x40, 0x7E),
        0x5D: (1, _stop_osc, _BEL, _BEL),
    }.get(kind, (0, _stop_other, 0x30, 0x7E))
    rest = a[begin + 1 + skip :]
    hits = np.flatnonzero(cond(rest))
    if not hits.size:
        return kind, n, False
    j = begin + 1 + skip + int(hits[0])
    return kind, (j + 1 if lo <= a[j] <= hi else j), True


# -- the streamed CloudWatch format ----------------------------------------------------------

# A typical envelope; the agent fills these per session (the SSM agent's streamed event format).
_ENVELOPE = {
    "eventVersion": "1.0",
    "eventTime": "2025-01-01T00:00:00Z",
    "awsRegion": "ap-northeast-1",
    "target": {"id": "i-0123456789abcdef0"},
    "userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice"},
    "runAsUser": "ssm-user",
    "sessionId": "alice-0123456789abcdef0",
}


def stream_event(lines: list[str], envelope: dict[str, Any] | None = None) -> str:
    """One streamed event as the agent writes it: the envelope plus ``sessionData`` lines."""
    body = dict(envelope or _ENVELOPE)
    body["sessionData"] = lines
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def pack_lines(lines: Iterable[bytes]) -> Iterator[list[bytes]]:
    """Group output lines into events of at most MAX_EVENT_RAW_BYTES raw bytes (longer lines
    are split), the agent's size rule. Without timing this is the fewest events possible."""
    lines = lines if isinstance(lines, list) else list(lines)
    sizes = list(map(len, lines))
    if sizes and max(sizes) <= MAX_EVENT_RAW_BYTES:
        yield from _pack_short(lines, sizes)
        return
    event: list[bytes] = []
    size = 0
    for line in lines:
        while len(line) > MAX_EVENT_RAW_BYTES:
            if event:
                yield event
                event, size = [], 0
            yield [line[:MAX_EVENT_RAW_BYTES]]
            line = line[MAX_EVENT_RAW_BYTES:]
        if size + len(line) > MAX_EVENT_RAW_BYTES and event:
            yield event
            event, size = [], 0
        event.append(line)
        size += len(line)
    if event:
        yield event


def _pack_short(lines: list[bytes], sizes: list[int]) -> Iterator[list[bytes]]:
    """pack_lines when no line needs splitting: each event is the longest run of lines whose
    sizes sum to at most the limit, found by bisection on the running total (no per-line loop
    in Python)."""
    ends = list(itertools.accumulate(sizes))
    start, before = 0, 0
    while start < len(lines):
        stop = bisect.bisect_right(ends, before + MAX_EVENT_RAW_BYTES, lo=start)
        yield lines[start:stop]
        before, start = ends[stop - 1], stop


class StreamSimulator:
    """Turns a transcript into the streamed JSON the agent would send, counting its bytes and
    their gzip size. Lines are packed as densely as the 33,000-byte rule allows, so the overhead
    is a lower bound: real per-second flushing sends more, smaller events."""

    def __init__(self) -> None:
        self.raw_bytes = 0
        self.json_bytes = 0
        self.events = 0
        self._gz = deflater()
        self.gzip_bytes = 0
        self._tail = b""

    def feed(self, data: bytes, final: bool = False) -> None:
        buf = self._tail + data
        self.raw_bytes += len(data)
        if final:
            parts, self._tail = buf.split(b"\n"), b""
            if parts and parts[-1] == b"":
                parts.pop()
        else:
            cut = buf.rfind(b"\n")
            if cut < 0 and len(buf) < MAX_EVENT_RAW_BYTES:
                self._tail = buf
                return
            cut = cut if cut >= 0 else len(buf)
            parts, self._tail = buf[:cut].split(b"\n"), buf[cut + 1 :]
        for group in pack_lines(parts):
            # one decode per event: "\n" is never inside a UTF-8 sequence, so this equals
            # decoding line by line
            lines = b"\n".join(group).decode("utf-8", "replace").split("\n")
            text = stream_event(lines).encode()
            self.events += 1
            self.json_bytes += len(text)
            self.gzip_bytes += len(self._gz.compress(text))

    def close(self) -> None:
        self.feed(b"", final=True)
        self.gzip_bytes += len(self._gz.flush())


# -- one transcript ---------------------------------------------------------------------------

Range = tuple[int, int]  # [start, stop) byte offsets within one transcript
WHOLE: Range = (0, 1 << 62)


@dataclass
class TranscriptScan:
    """What one transcript held. ``kind`` is "transcript", "binary" or "empty".

    Escape/control bytes and UTF-8 validity are counted over ``noise_bytes`` (the noise range),
    gzip and the simulated stream over ``sample_bytes`` (the sample range)."""

    size: int = 0
    kind: str = "transcript"
    non_utf8: bool = False
    escape_bytes: int = 0
    control_bytes: int = 0
    noise_bytes: int = 0
    sample_bytes: int = 0
    gzip_bytes: int = 0
    stream_json_bytes: int = 0
    stream_gzip_bytes: int = 0
    stream_events: int = 0


def looks_binary(head: bytes) -> bool:
    """NUL bytes or mostly undecodable bytes: not terminal output (a zip, an image, garbage)."""
    if not head or (head.isascii() and b"\x00" not in head):  # the common case, at memory speed
        return False
    bad = head.count(b"\x00")
    if not head.isascii():
        bad += head.decode("utf-8", "replace").count("\ufffd")
    return bad / len(head) > 0.10


def _part(data: bytes | memoryview, start: int, wanted: Range | None) -> bytes:
    """The bytes of ``data`` (which starts at offset ``start``) that fall in ``wanted``."""
    if wanted is None:
        return b""
    lo, hi = max(wanted[0] - start, 0), min(wanted[1] - start, len(data))
    return bytes(data[lo:hi]) if lo < hi else b""


class TranscriptScanner:
    """Feed a transcript chunk by chunk (bytes or a memoryview the caller reuses afterwards);
    ``close()`` gives its TranscriptScan.

    Every byte counts to the size. Bytes in ``noise`` also have their escape/control bytes
    counted and their UTF-8 checked; bytes in ``sample`` are also gzipped and turned into the
    simulated JSON stream (the costly part). ``None`` skips a figure; ``WHOLE`` is every byte.
    """

    def __init__(self, sample: Range | None = None, noise: Range | None = WHOLE) -> None:
        self.scan = TranscriptScan()
        self._ranges = (sample, noise)
        # Made only for the files that need them: most files of a large corpus are in no sample.
        self._noise = NoiseCounter() if noise else None
        self._utf8 = codecs.getincrementaldecoder("utf-8")() if noise else None
        self._gz = deflater() if sample else None
        self._stream = StreamSimulator() if sample else None

    def feed(self, data: bytes | memoryview) -> bool:
        """Returns False once the content is known to be binary (stop reading)."""
        scan = self.scan
        start = scan.size
        if start == 0 and looks_binary(bytes(data[:HEAD_BYTES])):
            scan.kind = "binary"
            return False
        scan.size += len(data)
        sample, noise = self._ranges
        if part := _part(data, start, noise):
            self._count_noise(part, first=scan.noise_bytes == 0 and start > 0)
        if part := _part(data, start, sample):
            scan.sample_bytes += len(part)
            assert self._gz is not None and self._stream is not None
            scan.gzip_bytes += len(self._gz.compress(part))
            self._stream.feed(part)
        return True

    def _count_noise(self, part: bytes, first: bool) -> None:
        assert self._noise is not None and self._utf8 is not None
        self.scan.noise_bytes += len(part)
        self._noise.feed(part)
        if self.scan.non_utf8 or part.isascii():
            return
        if first:  # a range that starts inside a character: skip its continuation bytes
            part = part[next((i for i, b in enumerate(part[:4]) if b & 0xC0 != 0x80), 0) :]
        try:
            self._utf8.decode(part)
        except UnicodeDecodeError:
            self.scan.non_utf8 = True

    def close(self) -> TranscriptScan:
        scan = self.scan
        if scan.kind == "binary":
            return scan
        if scan.size == 0:
            scan.kind = "empty"
            return scan
        if scan.noise_bytes:
            self._close_noise()
        if self._gz is not None and self._stream is not None:
            scan.gzip_bytes += len(self._gz.flush())
            self._stream.close()
            scan.stream_json_bytes = self._stream.json_bytes
            scan.stream_gzip_bytes = self._stream.gzip_bytes
            scan.stream_events = self._stream.events
        return scan

    def _close_noise(self) -> None:
        assert self._noise is not None and self._utf8 is not None
        scan = self.scan
        self._noise.feed(b"", final=True)
        scan.escape_bytes, scan.control_bytes = self._noise.escape_bytes, self._noise.control_bytes
        noise = self._ranges[1]
        if not scan.non_utf8 and noise is not None and noise[1] >= scan.size:
            try:
                self._utf8.decode(b"", final=True)  # a character cut by the end of the file
            except UnicodeDecodeError:
                scan.non_utf8 = True


def scan_transcript(chunks: Iterable[bytes], sample: bool = False) -> TranscriptScan:
    """Every figure of one whole transcript (gzip and stream too when ``sample``)."""
    scanner = TranscriptScanner(WHOLE if sample else None)
    for chunk in chunks:
        if not scanner.feed(chunk):
            break
    return scanner.close()
    return scanner.close()
