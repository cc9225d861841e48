"""A streaming reader for the Price List's bulk offer files (hundreds of MB, stdlib only)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from costcompare.errors import PricingError

# --------------------------------------------------------------------------------------------
# Bulk offer files, streamed
# --------------------------------------------------------------------------------------------


class OfferFileError(PricingError):
    """The offer file is not the JSON document AWS publishes."""


_WS = re.compile(r"[ \t\n\r]*")
_DELIMITER = re.compile(r"[,}\] \t\n\r]")


class JsonStream:
    """Walk a JSON document in a file without loading it whole.

    Offer files run to hundreds of MB. Containers are entered one level at a time and only the
    values asked for are decoded (by the C decoder), so memory stays at one product or SKU's
    terms plus a read buffer. Standard library only.
    """

    def __init__(self, fh: TextIO, name: str, chunk_size: int = 1 << 20) -> None:
        self._fh = fh
        self._name = name
        self._chunk = max(1, chunk_size)
        self._buf = ""
        self._pos = 0
        self._base = 0  # characters dropped before the buffer
        self._eof = False
        self._decoder = json.JSONDecoder()

    def error(self, what: str) -> OfferFileError:
        return OfferFileError(
            f"{self._name} is not a valid offer file at character {self._base + self._pos}: {what}",
            "download it again (…/offers/v1.0/aws/<offerCode>/current/<region>/index.json) "
            "and pass it to --offer-file; nothing was written",
        )

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self._fh.read(self._chunk)
        if not data:
            self._eof = True
            return False
        if self._pos >= self._chunk:
            self._base += self._pos
            self._buf = self._buf[self._pos :]
            self._pos = 0
        self._buf += data
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise self.error(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next whole value (small ones only: a product, one SKU's terms)."""
        first = self.peek()
        if not first:
            raise self.error("unexpected end of file")
        if first not in '{["':
            # a number or literal ends only at a delimiter: "-12." may be "-12.5e3" in the file
            while not _DELIMITER.search(self._buf, self._pos) and self._more():
                pass
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise self.error(exc.msg) from None
            except RecursionError:  # the C decoder recurses once per nested level
                raise self.error("values are nested too deeply") from None
            self._pos = end
            return obj

    def members(self) -> Iterator[str]:
        """Enter an object; yield each key with the stream at its value, which the caller
        must consume (``value``, ``skip`` or ``members``) before asking for the next key."""
        self._expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.error("expected a quoted key")
            key = self.value()
            self._expect(":")
            yield key
            found = self.peek()
            self._pos += 1
            if found == "}":
                return
            if found != ",":
                raise self.error(f"expected ',' or '}}' after {key!r}")

    def skip(self, levels: int = 1) -> None:
        """Pass over the next value, entering ``levels`` of containers so none is held whole."""
        char = self.peek()
        if levels > 0 and char == "{":
            for _ in self.members():
                self.skip(levels - 1)
        elif levels > 0 and char == "[":
            self._pos += 1
            if self.peek() == "]":
                self._pos += 1
                return
            while True:
                self.skip(levels - 1)
                found = self.peek()
                self._pos += 1
                if found == "]":
                    return
                if found != ",":
                    raise self.error("expected ',' or ']' in an array")
        else:
            self.value()

    def end(self) -> None:
        if self.peek():
            raise self.error("unexpected data after the document")
