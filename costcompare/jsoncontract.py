"""The one JSON contract of every ``-o json`` output: a top-level ``schema_version``.

Scripts read estimate, measure, reconcile, search, coverage, pricing, presets and provision
output alike; each document is an object whose first keys say which contract it follows
(``schema_version``) and which tool wrote it (``costcompare_version``), so a script can refuse
a document it does not understand instead of misreading it. Every command builds its JSON here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

# Raised when a documented key of any `-o json` output changes meaning or disappears; new keys
# do not raise it (costcompare/schemas/estimate.schema.json publishes estimate's keys).
SCHEMA_VERSION = 1


def versioned(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``schema_version`` and ``costcompare_version`` first."""
    from costcompare import __version__

    return {"schema_version": SCHEMA_VERSION, "costcompare_version": __version__, **data}


def dumps(data: Mapping[str, Any], *, default: Callable[[Any], Any] | None = None) -> str:
    """The versioned document as indented JSON text, ending in a newline."""
    return json.dumps(versioned(data), indent=2, ensure_ascii=False, default=default) + "\n"
