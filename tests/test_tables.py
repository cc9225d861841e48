"""The one table renderer: fits the width by leaving out the least important columns."""

from __future__ import annotations

import subprocess
import sys

from costcompare.tables import Column, fill, render_table

COLUMNS = [
    Column("destination", "left"),
    Column("per month"),
    Column("share", priority=2),
    Column("note", "left", priority=1, wrap=True),
]
ROWS = [
    ["s3", "$4.61", "3 %", "the cheapest by far, searchable only after the session ends"],
    ["cloudwatch-ia", "$34.34", "89 %", "no metric filters"],
]


def test_everything_shown_when_it_fits():
    text = render_table(COLUMNS, ROWS, width=200)
    assert text.splitlines()[0].split() == ["destination", "per", "month", "share", "note"]
    assert "searchable only after the session ends" in text
    assert "--wide" not in text


def test_least_important_columns_go_first_and_are_named():
    text = render_table(COLUMNS, ROWS, width=40)
    assert max(map(len, text.splitlines())) <= 40
    assert "note" not in text.splitlines()[0] and "share" not in text.splitlines()[0]
    assert "(2 more column(s) with --wide: share, note)" in " ".join(text.split("\n")[-2:])
    ranked = [Column("a", "left"), Column("b", priority=1), Column("c", priority=2)]
    row = [["x" * 10, "y" * 10, "z" * 10]]
    assert render_table(ranked, row, width=22).splitlines()[0].split() == ["a", "b"]
    assert render_table(ranked, row, width=12).splitlines()[0].split() == ["a"]


def test_wide_keeps_every_column_whatever_the_width():
    text = render_table(COLUMNS, ROWS, width=30, wide=True)
    assert "the cheapest by far, searchable only after the session ends" in text
    assert "--wide" not in text


def test_plain_ascii_rule_and_right_aligned_figures():
    lines = render_table(COLUMNS[:2], ROWS, width=80).splitlines()
    assert set(lines[1]) == {"-"}
    assert lines[2].endswith("$4.61") and lines[3].endswith("$34.34")
    assert "\x1b" not in "".join(lines)


def test_fill_never_splits_a_region_code():
    text = fill("prices for " + "ap-northeast-1 " * 10, 40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "ap-\n" not in text


def test_estimate_fits_80_columns_and_is_plain_when_piped():
    """The acceptance check of issue 12: `COLUMNS=80 costcompare estimate`, piped."""
    result = subprocess.run(
        [sys.executable, "-m", "costcompare", "estimate", "--explain"],
        env={"COLUMNS": "80", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "\x1b" not in result.stdout
    assert any(line.startswith("s3 ") for line in lines)
    assert "+ baseline" in result.stdout


def test_a_listing_has_no_header_and_wraps_long_values():
    rows = [["sessions", "24"], ["note", "word " * 30]]
    text = render_table([Column("k", "left"), Column("v", "left", wrap=True)], rows, width=40,
                        header=False)  # fmt: skip
    lines = text.splitlines()
    assert lines[0].split() == ["sessions", "24"] and "-" not in lines[1]
    assert max(map(len, lines)) <= 40 and text.count("word") == 30


def test_the_plain_layout_is_rich_s_layout_character_for_character():
    """Tables that fit are laid out without rich (issue 13): the text must be exactly rich's."""
    import random

    from costcompare.tables import _plain_layout, _rich_render

    rng = random.Random(13)
    alphabet = "ab $%.,-+()/09xyZ  "
    compared = 0
    for _ in range(400):
        width = rng.choice([10_000, 40, 12])
        columns = [
            Column(
                "".join(rng.choices(alphabet, k=rng.randint(0, 8))).strip(),
                rng.choice(["left", "right"]),
                wrap=rng.random() < 0.3,
            )
            for _ in range(rng.randint(1, 5))
        ]
        rows = [
            ["".join(rng.choices(alphabet, k=rng.randint(0, 10))).strip() for _ in columns]
            for _ in range(rng.randint(1, 4))
        ]
        header = rng.random() < 0.7
        plain = _plain_layout(columns, rows, width, header)
        if plain is not None:
            compared += 1
            assert plain == _rich_render(columns, rows, width, header), (columns, rows, width)
    assert compared > 200


def test_what_rich_would_change_still_goes_through_rich():
    from costcompare.tables import _plain_layout

    columns = [Column("a", "left"), Column("b")]
    for cell in ("[bold]x[/bold]", ":thumbs_up: ok", "tab\there", "wide 東京", " padded "):
        assert _plain_layout(columns, [["x", cell]], 10_000, True) is None
    assert _plain_layout(columns, [["x" * 30, "y"]], 20, True) is None  # must wrap: rich
    assert _plain_layout(columns, [["x", "y"]], 20, True) == "a  b\n----\nx  y"

