"""Every `-o json` output follows one contract: an object whose first keys are the version."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from costcompare import __version__, jsoncontract
from costcompare.cli import app
from costcompare.report import SCHEMA_VERSION, estimate_schema


def test_versioned_puts_the_version_keys_first_and_keeps_the_rest():
    doc = jsoncontract.versioned({"b": 1, "a": [2]})
    assert list(doc) == ["schema_version", "costcompare_version", "b", "a"]
    assert doc["schema_version"] == 1 and doc["costcompare_version"] == __version__


def test_dumps_is_one_document_ending_in_a_newline():
    text = jsoncontract.dumps({"when": object()}, default=lambda _: "x")
    assert text.endswith("}\n") and json.loads(text)["when"] == "x"


def test_estimate_and_its_schema_use_the_one_version():
    assert SCHEMA_VERSION == jsoncontract.SCHEMA_VERSION
    assert estimate_schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_presets_json_is_a_versioned_object():
    result = CliRunner().invoke(app, ["presets", "-o", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc)[:2] == ["schema_version", "costcompare_version"] and doc["presets"]
