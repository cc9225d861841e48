"""The one YAML loader: bounded, UTF-8 only, one-line errors that never echo a huge value."""

from __future__ import annotations

import pytest

from costcompare.errors import WorkloadError
from costcompare.yamlio import (
    MAX_ALIASES,
    MAX_BYTES,
    MAX_DEPTH,
    clip,
    load_yaml_mapping,
    reject_unknown_keys,
)


def billion_laughs() -> str:
    """The classic alias bomb: nine levels of nine aliases, 9**9 strings once expanded."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def load(path):
    return load_yaml_mapping(path, what="profile", error=WorkloadError)


def one_line_error(path) -> str:
    with pytest.raises(WorkloadError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_plain_mapping_loads(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("region: us-east-1\ninstances: 3\ns3_lifecycle:\n  - {after_days: 30}\n")
    assert load(path) == {
        "region": "us-east-1",
        "instances": 3,
        "s3_lifecycle": [{"after_days": 30}],
    }


def test_an_empty_file_is_an_empty_mapping(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("# nothing set\n")
    assert load(path) == {}


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xef\xbb\xbfinstances: 3\n")
    assert load(path) == {"instances": 3}


def test_billion_laughs_is_refused_in_under_500_bytes(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    assert path.stat().st_size < 500
    message = one_line_error(path)
    assert f"more than {MAX_ALIASES} aliases" in message and "lol" not in message


def test_a_few_aliases_are_still_fine(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("base: &b {after_days: 30}\nother: *b\n")
    assert load(path) == {"base": {"after_days": 30}, "other": {"after_days": 30}}


@pytest.mark.parametrize("depth", [MAX_DEPTH, 20_000])
def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path, depth):
    path = tmp_path / "deep.yaml"
    path.write_text(nested(depth))
    message = one_line_error(path)
    # ours, or libyaml's own limit (1,000) when it stops the parse first
    assert f"deeper than {MAX_DEPTH} levels" in message or "maximum nesting depth" in message


def test_nesting_within_the_bound_loads(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(nested(MAX_DEPTH - 2))
    assert "a" in load(path)


def test_syntax_error_is_one_line_with_its_position(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("region: us-east-1\ninstances: [3\n")
    message = one_line_error(path)
    assert "line 3 column 1 is not valid YAML" in message and "write it as" in message


def test_duplicate_keys_are_refused(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("instances: 3\ninstances: 30\n")
    assert "line 2 column 1: key 'instances' appears twice" in one_line_error(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("instances: 3\n".encode("utf-16"), "is UTF-16 text — save it as UTF-8"),
        ("instances: 3\n".encode("utf-16-le"), "is UTF-16 text"),
        (b"instances: \xff\xfe\x80\n", "not UTF-8 text (byte 0xff at offset 11)"),
        (b"instances: 3\x00\n", "character #x0000 is not allowed"),
    ],
    ids=["utf16-bom", "utf16-no-bom", "binary", "nul"],
)
def test_encodings_other_than_utf8_are_named(tmp_path, content, expected):
    path = tmp_path / "p.yaml"
    path.write_bytes(content)
    assert expected in one_line_error(path)


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("note: " + "x" * MAX_BYTES + "\n")
    assert "larger than 1024 KiB" in one_line_error(path)


@pytest.mark.parametrize(
    ("content", "kind"), [("- 1\n- 2\n", "list"), ("just text\n", "str"), ("3\n", "int")]
)
def test_the_top_must_be_a_mapping(tmp_path, content, kind):
    path = tmp_path / "p.yaml"
    path.write_text(content)
    assert f"must be a mapping, not a {kind}" in one_line_error(path)


def test_missing_file_and_folder(tmp_path):
    assert "does not exist — check the path" in one_line_error(tmp_path / "nope.yaml")
    assert "is a folder" in one_line_error(tmp_path)


def test_clip_never_echoes_a_huge_value():
    assert clip("x" * 10_000) == "'" + "x" * 58 + "…"
    assert clip([1, 2]) == "[1, 2]"


def test_unknown_keys_suggest_the_closest_and_clip_the_key():
    with pytest.raises(WorkloadError, match=r"unknown key 'regoin' — did you mean 'region'\?"):
        reject_unknown_keys(
            {"regoin": 1}, ["region"], where="p.yaml", kind="key", error=WorkloadError,
            fallback="see --help",
        )  # fmt: skip
    with pytest.raises(WorkloadError) as caught:
        reject_unknown_keys(
            {"k" * 5000: 1}, ["region"], where="p.yaml", kind="key", error=WorkloadError,
            fallback="see --help",
        )  # fmt: skip
    assert len(str(caught.value)) < 120 and str(caught.value).endswith("see --help")
