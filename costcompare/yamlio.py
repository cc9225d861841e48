"""The one way costcompare reads YAML: workload profiles, ``--weights`` and provision ``--config``.

Users hand these files over, so they are read defensively: a bounded size, UTF-8 only (a UTF-16
or binary file is named as such), a small bound on aliases (a 497-byte "billion laughs" file
must not exhaust memory) and on nesting (20,000 levels must not hit Python's recursion limit),
both checked on the parser's event stream before any tree is built; no duplicate keys; a mapping
at the top. Every problem is one line naming the file, the line where it is, and the fix —
never a parser's multi-line report, never a huge value echoed.
"""

from __future__ import annotations

import codecs
import difflib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml

from costcompare.errors import CostCompareError

MAX_BYTES = 1024 * 1024  # a profile or config is a few hundred bytes; SSM's shell profile ≤ 64 KB
MAX_ALIASES = 16
MAX_DEPTH = 20
CLIP_CHARS = 60


def clip(value: Any, limit: int = CLIP_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages that echo user input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


class _Refused(yaml.MarkedYAMLError):
    """A document the bounded loader will not build (too many aliases, too deep, a key twice)."""

    def __init__(self, problem: str, mark: yaml.Mark, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


_PLAIN = "write the values out: anchors, aliases and deep nesting are refused"


# libyaml's parser where PyYAML has it (the same safe subset, parsed in C: start-up stays fast).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _check_events(text: str) -> None:
    """Walk the event stream (no tree is built yet): count aliases and nesting, refuse early."""
    loader = _SafeLoader(text)
    aliases = depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _Refused(f"more than {MAX_ALIASES} aliases", event.start_mark, _PLAIN)
            elif isinstance(event, _OPENS):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Refused(
                        f"nested deeper than {MAX_DEPTH} levels", event.start_mark, _PLAIN
                    )
            elif isinstance(event, _CLOSES):
                depth -= 1
    finally:
        loader.dispose()


class _Loader(_SafeLoader):
    """The safe loader, refusing a key that appears twice (YAML says keys are unique)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue  # unhashable: the base class reports it
                if duplicate:
                    raise _Refused(
                        f"key {clip(key)} appears twice", key_node.start_mark, "keep one of them"
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _looks_utf16(raw: bytes) -> bool:
    """UTF-16 without a BOM: ASCII text with a zero byte beside every character."""
    head = raw[:16]
    if len(head) < 4 or len(head) % 2:
        return False
    low, high = head[0::2], head[1::2]
    return (not any(high) and all(low)) or (not any(low) and all(high))


def _read_text(path: Path, what: str, error: type[CostCompareError], missing_fix: str) -> str:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist", missing_fix) from None
    except IsADirectoryError:
        raise error(f"{what} {path} is a folder", "give the path of a YAML file") from None
    except OSError as exc:
        raise error(
            f"cannot read {what} {path}: {exc.strerror or exc}", "check the path and permissions"
        ) from None
    if len(raw) > MAX_BYTES:
        raise error(
            f"{what} {path} is larger than {MAX_BYTES // 1024} KiB",
            "it should be a short YAML file; check the path",
        )
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(raw):
        raise error(f"{what} {path} is UTF-16 text", "save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            "save it as UTF-8 YAML",
        ) from None


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return f" line {mark.line + 1} column {mark.column + 1}" if mark else ""


def _problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        return f"character #x{exc.character:04x} is not allowed in YAML"
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None) or "invalid YAML"
    problem = problem.strip()
    return problem if len(problem) <= 100 else f"{problem[:99]}…"


def load_yaml_mapping(
    path: str | Path,
    *,
    what: str,
    error: type[CostCompareError],
    shape: str = "`key: value` lines",
    missing_fix: str = "check the path",
) -> dict[str, Any]:
    """The top-level mapping of a small YAML file (an empty file is ``{}``).

    ``what`` names the file in messages ("profile", "weights file", "--config file"), ``error``
    is the domain error to raise, ``shape`` says how the file should look.
    """
    path = Path(path)
    text = _read_text(path, what, error, missing_fix)
    loader = None
    try:
        _check_events(text)
        loader = _Loader(text)
        data = loader.get_single_data()
    except _Refused as exc:
        raise error(f"{what} {path}{_where(exc)}: {exc.problem}", exc.fix) from None
    except yaml.YAMLError as exc:
        raise error(
            f"{what} {path}{_where(exc)} is not valid YAML: {_problem(exc)}", f"write it as {shape}"
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise error(
            f"{what} {path} must be a mapping, not a {type(data).__name__}", f"write it as {shape}"
        )
    return dict(data)


def reject_unknown_keys(
    data: Mapping[Any, Any],
    known: Collection[str],
    *,
    where: str,
    kind: str,
    error: type[CostCompareError],
    fallback: str,
) -> None:
    """Raise ``error`` for the first key not in ``known``, suggesting the closest known one."""
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f"did you mean '{close[0]}'?" if close else fallback
            raise error(f"{where}: unknown {kind} {clip(str(key))}", hint)
