"""What the bytes of a session log are: terminal noise, compressibility, streamed-JSON overhead.

Two formats (shared/reference/searchability.md, "Formats the tool must read"):
- a transcript (the S3 object): raw terminal output, ANSI and control characters intact;
- streamed CloudWatch events: JSON with the output lines in ``sessionData`` (≤ 33,000 raw bytes per
  event, escape sequences written as ``\\u001b``), or plain text when streaming is off.

Cheap figures (size, ANSI/control share, UTF-8 validity) are computed on every byte with numpy;
the costly ones (gzip, the simulated JSON stream) only on files chosen for the sample.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CHUNK = 1 << 20
HEAD_BYTES = 64 * 1024
MAX_EVENT_RAW_BYTES = 33_000  # the agent's limit of raw output bytes per streamed event
GZIP_LEVEL = 6  # gzip's default level: the stand-in for CloudWatch's (unpublished) archive codec
# Below this many sampled bytes a compression ratio says more about gzip's block overhead than
# about the logs (a few events can give a ratio over 1): the ratio is left unmeasured.
MIN_RATIO_SAMPLE_BYTES = 16 << 10
_LF, _TAB, _ESC, _BEL, _DEL = 0x0A, 0x09, 0x1B, 0x07, 0x7F
_CARRY_LIMIT = 4096  # an escape sequence longer than this is counted as ended at the chunk end


def _gzip() -> Any:
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

# A typical envelope; the agent fills these per session (reference: searchability.md).
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


class StreamSimulator:
    """Turns a transcript into the streamed JSON the agent would send, counting its bytes and
    their gzip size. Lines are packed as densely as the 33,000-byte rule allows, so the overhead
    is a lower bound: real per-second flushing sends more, smaller events."""

    def __init__(self) -> None:
        self.raw_bytes = 0
        self.json_bytes = 0
        self.events = 0
        self._gz = _gzip()
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
            text = stream_event([p.decode("utf-8", "replace") for p in group]).encode()
            self.events += 1
            self.json_bytes += len(text)
            self.gzip_bytes += len(self._gz.compress(text))

    def close(self) -> None:
        self.feed(b"", final=True)
        self.gzip_bytes += len(self._gz.flush())


# -- one transcript ---------------------------------------------------------------------------


@dataclass
class TranscriptScan:
    """What one transcript held. ``kind`` is "transcript", "binary" or "empty"."""

    size: int = 0
    kind: str = "transcript"
    non_utf8: bool = False
    escape_bytes: int = 0
    control_bytes: int = 0
    sampled: bool = False  # gzipped and stream-simulated
    noise: bool = True  # escape/control bytes counted
    gzip_bytes: int = 0
    stream_json_bytes: int = 0
    stream_gzip_bytes: int = 0
    stream_events: int = 0


def looks_binary(head: bytes) -> bool:
    """NUL bytes or mostly undecodable bytes: not terminal output (a zip, an image, garbage)."""
    if not head:
        return False
    bad = head.count(b"\x00") + head.decode("utf-8", "replace").count("\ufffd")
    return bad / len(head) > 0.10


class TranscriptScanner:
    """Feed a transcript chunk by chunk; ``close()`` gives its TranscriptScan.

    ``sample=True`` also gzips it and simulates its streamed JSON (the costly part);
    ``noise=False`` skips counting escape/control bytes (the next costliest).
    """

    def __init__(self, sample: bool = False, noise: bool = True) -> None:
        self.scan = TranscriptScan(sampled=sample, noise=noise or sample)
        self._noise = NoiseCounter()
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._gz = _gzip() if sample else None
        self._stream = StreamSimulator() if sample else None
        self._first = True

    def feed(self, data: bytes) -> bool:
        """Returns False once the content is known to be binary (stop reading)."""
        if self._first:
            self._first = False
            if looks_binary(data[:HEAD_BYTES]):
                self.scan.kind = "binary"
                return False
        self.scan.size += len(data)
        if self.scan.noise:
            self._noise.feed(data)
        if not self.scan.non_utf8 and not data.isascii():
            try:
                self._utf8.decode(data)
            except UnicodeDecodeError:
                self.scan.non_utf8 = True
        if self._gz is not None:
            self.scan.gzip_bytes += len(self._gz.compress(data))
        if self._stream is not None:
            self._stream.feed(data)
        return True

    def close(self) -> TranscriptScan:
        scan = self.scan
        if scan.kind == "binary":
            return scan
        if scan.size == 0:
            scan.kind = "empty"
            return scan
        self._noise.feed(b"", final=True)
        scan.escape_bytes, scan.control_bytes = self._noise.escape_bytes, self._noise.control_bytes
        if not scan.non_utf8:
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                scan.non_utf8 = True
        if self._gz is not None and self._stream is not None:
            scan.gzip_bytes += len(self._gz.flush())
            self._stream.close()
            scan.stream_json_bytes = self._stream.json_bytes
            scan.stream_gzip_bytes = self._stream.gzip_bytes
            scan.stream_events = self._stream.events
        return scan


def scan_transcript(chunks: Iterable[bytes], sample: bool = False) -> TranscriptScan:
    scanner = TranscriptScanner(sample)
    for chunk in chunks:
        if not scanner.feed(chunk):
            break
    return scanner.close()


# -- streamed events (CloudWatch) -------------------------------------------------------------


@dataclass
class StreamEvent:
    """One CloudWatch event of a session, as ingested."""

    message_bytes: int  # what CloudWatch ingests and bills (UTF-8 bytes of the message)
    raw_bytes: int  # the transcript bytes it carries (sessionData lines plus their newlines)
    session_id: str | None = None
    target: str | None = None
    timestamp: float | None = None  # epoch seconds
    json: bool = True  # False: a plain-text event (streaming off)
    lines: list[str] = field(default_factory=list, repr=False)


# Times outside these bounds are corrupt: Session Manager launched in 2018.
EARLIEST_EPOCH = 946_684_800.0  # 2000-01-01T00:00:00Z
LATEST_EPOCH = 4_102_444_800.0  # 2100-01-01T00:00:00Z


class MalformedEvent(ValueError):
    """One event (an export line) that cannot be read; ``str()`` is the reason counted."""


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` for untrusted input: nesting too deep for the parser is a ValueError
    like any syntax error, so one hostile line cannot abort a measurement."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def epoch_seconds(value: Any, scale: float = 1.0) -> float | None:
    """``value / scale`` as epoch seconds if it is a real number within 2000–2100, else None
    (NaN, infinities, 1e20, booleans, strings)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value) / scale
    except OverflowError:  # an int beyond float range
        return None
    return seconds if EARLIEST_EPOCH <= seconds < LATEST_EPOCH else None


def parse_event(message: str, timestamp: float | None = None) -> StreamEvent:
    """Read one event message. JSON with ``sessionData`` is a streamed event; anything else is
    a plain-text event (streaming off), whose raw bytes are its message bytes. A streamed event
    whose ``sessionId`` is not a string raises MalformedEvent."""
    size = len(message.encode("utf-8", "surrogatepass"))
    if message.startswith("{"):
        try:
            body = parse_json(message)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("sessionData"), list):
            session_id = body.get("sessionId")
            if session_id is not None and not isinstance(session_id, str):
                raise MalformedEvent("sessionId is not a string")
            lines = [str(x) for x in body["sessionData"]]
            raw = sum(len(x.encode("utf-8", "surrogatepass")) + 1 for x in lines)
            target = body.get("target")
            target_id = target.get("id") if isinstance(target, dict) else None
            return StreamEvent(
                size,
                raw,
                session_id=session_id,
                target=target_id if isinstance(target_id, str) else None,
                timestamp=iso_seconds(body.get("eventTime")) or timestamp,
                lines=lines,
            )
    return StreamEvent(size, size, timestamp=timestamp, json=False)


def iso_seconds(value: Any) -> float | None:
    """Epoch seconds of an ISO-8601 time (``Z`` accepted, no zone = UTC), None when it is not
    one or lies outside 2000–2100."""
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return epoch_seconds(when.timestamp())
    except (ValueError, OverflowError):
        return None


class EventCompressor:
    """gzip of ingested event messages: the stand-in for CloudWatch's archive compression."""

    def __init__(self) -> None:
        self._gz = _gzip()
        self.raw = 0
        self.compressed = 0

    def add(self, message: str) -> None:
        data = message.encode("utf-8", "surrogatepass")
        self.raw += len(data)
        self.compressed += len(self._gz.compress(data))

    def close(self) -> None:
        self.compressed += len(self._gz.flush())
