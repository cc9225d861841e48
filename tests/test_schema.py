"""`estimate -o json` written to a file matches the JSON Schema the package publishes."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from typer.testing import CliRunner

from costcompare import __version__
from costcompare.cli import app
from costcompare.report import SCHEMA_VERSION, estimate_schema


@pytest.fixture(scope="module")
def validator():
    schema = estimate_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _estimate(tmp_path, *args: str) -> dict:
    target = tmp_path / "estimate.json"
    result = CliRunner().invoke(app, ["estimate", "-o", "json", "--out", str(target), *args])
    assert result.exit_code == 0, result.output
    return json.loads(target.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("--region", "us-east-1", "-d", "s3,both", "--months", "12"),
        ("--currency", "JPY", "--fx-rate", "150", "--draws", "0"),
        ("--no-vpc-endpoints", "--no-kms", "--free-tier"),
    ],
    ids=["default", "subset-us-east-1", "yen", "no-baseline"],
)
def test_estimate_json_file_matches_the_published_schema(tmp_path, validator, args):
    data = _estimate(tmp_path, *args)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["costcompare_version"] == __version__


def test_the_schema_rejects_what_breaks_the_contract(tmp_path, validator):
    data = _estimate(tmp_path, "--draws", "0")
    for breaking in (
        lambda d: d["destinations"][0].pop("components"),
        lambda d: d["destinations"][0]["components"][0].update(unit_price_usd="0.76"),
        lambda d: d["destinations"][0].update(name="glacier"),
        lambda d: d.update(schema_version=2),
        lambda d: d.pop("costcompare_version"),
    ):
        broken = copy.deepcopy(data)
        breaking(broken)
        assert not validator.is_valid(broken)


def test_schema_command_prints_the_shipped_schema():
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == estimate_schema()


def test_version_option():
    for flag in ("--version", "-V"):
        result = CliRunner().invoke(app, [flag])
        assert result.exit_code == 0
        assert result.stdout == f"costcompare {__version__}\n"


def test_version_is_the_distributions():
    from importlib.metadata import version

    assert version("costcompare") == __version__
