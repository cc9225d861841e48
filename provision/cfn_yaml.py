"""CloudFormation templates as YAML text: the body and the comment header, written one way.

Shared by the one-account template (``provision.export``) and the StackSets member template
(``provision.stackset``), so both dump and fold alike.
"""

from __future__ import annotations

from typing import Any

import yaml

WIDTH = 100  # the line length of the YAML body and of its comment header


class NoAliasDumper(yaml.SafeDumper):
    """CloudFormation rejects YAML anchors/aliases, which a GetAtt used twice would produce."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_template(template: dict[str, Any]) -> str:
    """The template as YAML in its own key order, with no anchors, lines folded at ``WIDTH``."""
    return yaml.dump(template, Dumper=NoAliasDumper, sort_keys=False, width=WIDTH)


def wrap_comment(line: str, width: int = WIDTH) -> str:
    """A comment line folded at ``width`` so the header stays readable (and yamllint-clean)."""
    words, lines, current = line.removeprefix("# ").split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width - 2:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "\n".join(f"# {text}" for text in lines)
