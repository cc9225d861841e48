"""An independent count of terminal noise (escape and control bytes), the oracle that
``costcompare.measure.content`` is checked against by the content and local-measure tests."""

from __future__ import annotations

import re

# Independent definition: CSI (params/intermediates 0x20-0x3F, final 0x40-0x7E), OSC up to BEL
# or the next ESC, else ESC + intermediates + final 0x30-0x7E; controls are C0 + DEL outside
# sequences, except LF and TAB.
SEQUENCE = re.compile(rb"\x1b(?:\[[ -?]*[@-~]?|\][^\x07\x1b]*\x07?|[ -/]*[0-~]?)")


def reference(data: bytes) -> tuple[int, int]:
    inside = bytearray(len(data))
    escape = 0
    for m in SEQUENCE.finditer(data):
        escape += m.end() - m.start()
        inside[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
    control = sum(
        1
        for i, b in enumerate(data)
        if not inside[i] and (b < 0x20 or b == 0x7F) and b not in (0x0A, 0x09)
    )
    return escape, control
