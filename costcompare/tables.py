"""The one text-table renderer (rich): every table the CLI prints goes through ``render_table``.

A table fits the terminal: columns carry a priority, and the least important ones are left out
(and named under the table) until the rest fits; long text columns wrap. ``wide=True`` keeps
every column whatever the width. The output is plain text — no colour or escape codes — so it
reads the same on a terminal, piped into a file or pasted into a ticket.

A table that fits as it is (every table of a default ``estimate``) is laid out here, character
for character as rich would lay it out, without importing or running rich: rich's renderer is
a third of ``estimate``'s start-up (issue 13). Anything rich would change — wrapping to fit,
markup (``[``), emoji codes (``:``), wide or control characters — still goes through rich.
"""

from __future__ import annotations

import io
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

WIDE = 10_000  # "as wide as it needs": rich never wraps or drops below this


def _header_rule_box():
    """Headers underlined with ASCII dashes, no other lines: copy-pastes anywhere."""
    from rich.box import Box

    return Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)


@dataclass(frozen=True)
class Column:
    """One column: its header, alignment, and how much it matters when space runs out.

    ``priority`` 0 columns are always shown; higher numbers are dropped first. ``wrap`` lets a
    long text column (a name, a source) wrap onto several lines instead of being dropped.
    """

    header: str
    align: str = "right"
    priority: int = 0
    wrap: bool = False


def terminal_width() -> int:
    """The width to fit: ``COLUMNS`` or the terminal's, 80 when piped or unknown."""
    return shutil.get_terminal_size((80, 24)).columns


def _render(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int, header: bool = True
) -> str:
    cells = [[str(cell) for cell in row] for row in rows]
    plain = _plain_layout(columns, cells, width, header)
    return plain if plain is not None else _rich_render(columns, cells, width, header)


def _plain_cell(text: str) -> bool:
    """A cell rich prints exactly as given: printable ASCII, no markup, no emoji code, no edge
    whitespace (a right-aligned cell would lose its trailing spaces)."""
    return (
        text.isascii()
        and text.isprintable()
        and "[" not in text
        and ":" not in text
        and text == text.strip()
    )


def _plain_layout(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int, header: bool
) -> str | None:
    """The table as rich prints it when it fits ``width`` unwrapped; None when rich must decide.

    The layout of ``_rich_render``'s table: collapsed padding of one space right of every column
    but the last, one space as divider, headers over a rule of dashes as wide as the table.
    """
    if not columns or not cells:
        return None
    shown = [[c.header for c in columns], *cells] if header else list(cells)
    if any(len(row) != len(columns) or not all(map(_plain_cell, row)) for row in shown):
        return None
    last = len(columns) - 1
    pads = [0 if i == last else 1 for i in range(len(columns))]
    widths = [max(len(row[i]) for row in shown) + pads[i] or 1 for i in range(len(columns))]
    if sum(widths) + last > width:
        return None
    lines = []
    for row in shown:
        parts = [
            (text.ljust if column.align == "left" else text.rjust)(size - pad) + " " * pad
            for text, column, size, pad in zip(row, columns, widths, pads, strict=True)
        ]
        lines.append(" ".join(parts).rstrip())
    if header:
        lines.insert(1, "-" * (sum(widths) + last))
    return "\n".join(lines).strip("\n")


def _rich_render(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int, header: bool
) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        box=_header_rule_box(),
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        expand=False,
        show_header=header,
    )
    for column in columns:
        table.add_column(
            column.header,
            justify="left" if column.align == "left" else "right",
            no_wrap=not column.wrap,
            overflow="fold",
        )
    for row in cells:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=width, color_system=None, force_terminal=False, highlight=False
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()).strip("\n")


def render_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    wide: bool = False,
    indent: int = 0,
    header: bool = True,
) -> str:
    """Rows under their headers, fitted to ``width`` (the terminal's by default).

    Without ``wide``, columns of the highest priority number are dropped one at a time until the
    table fits; a last line names what was left out and how to see it. ``header=False`` prints a
    label/value listing without the header row. Ends without a newline.
    """
    available = (width or terminal_width()) - indent
    shown = list(range(len(columns)))
    if wide:
        text = _render(columns, rows, WIDE, header)
    else:
        while True:
            text = _render(
                [columns[i] for i in shown], [[r[i] for i in shown] for r in rows], WIDE, header
            )
            droppable = [i for i in shown if columns[i].priority > 0]
            if _width(text) <= available or not droppable:
                break
            shown.remove(max(droppable, key=lambda i: (columns[i].priority, i)))
        if _width(text) > available:  # only wrappable or essential columns left: let rich fit
            text = _render([columns[i] for i in shown], [[r[i] for i in shown] for r in rows],
                           available, header)  # fmt: skip
    hidden = [columns[i].header for i in range(len(columns)) if i not in shown]
    if hidden:
        note = f"({len(hidden)} more column(s) with --wide: {', '.join(hidden)})"
        text += "\n" + "\n".join(textwrap.wrap(note, max(available, 40)))
    return textwrap.indent(text, " " * indent) if indent else text


def _width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def fill(text: str, width: int | None = None, *, indent: str = "") -> str:
    """A paragraph wrapped to the terminal (never splitting words such as `ap-northeast-1`)."""
    return textwrap.fill(
        text,
        max((width or terminal_width()), 40),
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
    )
