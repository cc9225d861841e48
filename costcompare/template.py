"""`costcompare init`: a workload file with every key, its value and where that number comes from.

Like Infracost's usage file, the template is the documentation: each key is preceded by what it
means (the field comments of ``Workload``, the one place they are written) and followed by the
reason for its default (the bundled profile's notes). Keys without a default are written
commented out, so the file as written loads to exactly the bundled default workload.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

from costcompare.workload import Workload, default_profile_path, load_profile

_FIELD = re.compile(r"^    (\w+): [^=]+=")
_NOTE = re.compile(r"^(\w+):[^#]*#\s*(.+)$")


def field_docs() -> dict[str, list[str]]:
    """Each Workload field → the comment lines written just above it in ``workload.py``."""
    docs: dict[str, list[str]] = {}
    pending: list[str] = []
    for line in inspect.getsource(Workload).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
        elif match := _FIELD.match(line):
            docs[match.group(1)] = pending
            pending = []
        elif not stripped or stripped.startswith(('"""', "def ", "@")):
            pending = []
    return docs


def default_notes(profile: Path | None = None) -> dict[str, str]:
    """Key → the note after its value in the bundled profile (why that number)."""
    text = (profile or default_profile_path()).read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for line in text.splitlines() if (m := _NOTE.match(line))}


def _scalar(value: object) -> str:
    import yaml

    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=1000)
    return text.removesuffix("\n...\n").strip()


def _value_text(key: str, value: object) -> str:
    """``key: value`` as YAML; a list (the lifecycle rules) one flow mapping per line."""
    if isinstance(value, list):
        if not value:
            return f"{key}: []"
        return "\n".join([f"{key}:", *(f"  - {_scalar(item)}" for item in value)])
    return f"{key}: {_scalar(value)}"


def workload_template(workload: Workload | None = None) -> str:
    """The commented YAML of ``workload`` (default: the bundled one), every key included."""
    workload = workload or load_profile(None)
    values = workload.to_dict()
    docs, notes = field_docs(), default_notes()
    lines = [
        "# costcompare workload profile, written by `costcompare init`.",
        "# Every key is optional: delete one to get its default back. `costcompare estimate` reads",
        "# ./costcompare.yaml (or -w FILE, or $COSTCOMPARE_WORKLOAD); `costcompare measure",
        "# --write-workload FILE` replaces the assumed volumes with measured ones.",
        "# GB = 2^30 bytes; a month = 365/12 days.",
    ]
    for field in dataclasses.fields(Workload):
        key = field.name
        about = docs.get(key, [])
        if about:
            lines += ["", *(f"# {text}" for text in about)]
        value = values.get(key)
        note = notes.get(key)
        if value is None:
            lines.append(f"# {key}:   # unset by default; give a value to use it")
            continue
        text = _value_text(key, value).rstrip("\n")
        if note and "\n" not in text:
            text += f"   # {note}"
        lines.append(text)
    return "\n".join(lines) + "\n"
