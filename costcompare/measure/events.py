"""Streamed CloudWatch events: reading one event, and the gzip stand-in for archive compression.

Formats (the AWS Session Manager documentation): with streaming on, each event is JSON with the
output lines in ``sessionData`` (≤ 33,000 raw bytes per event, escape sequences written as
``\\u001b``); with streaming off, plain text sent at session end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from costcompare.measure.content import deflater
from costcompare.measure.times import iso_seconds


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


class MalformedEvent(ValueError):
    """One event (an export line) that cannot be read; ``str()`` is the reason counted."""


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` for untrusted input: nesting too deep for the parser is a ValueError
    like any syntax error, so one hostile line cannot abort a measurement."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


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


class EventCompressor:
    """gzip of ingested event messages: the stand-in for CloudWatch's archive compression."""

    def __init__(self) -> None:
        self._gz = deflater()
        self.raw = 0
        self.compressed = 0

    def add(self, message: str) -> None:
        data = message.encode("utf-8", "surrogatepass")
        self.raw += len(data)
        self.compressed += len(self._gz.compress(data))

    def close(self) -> None:
        self.compressed += len(self._gz.flush())
