"""The measure table fits the terminal, title included, whatever the source's path."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from costcompare.cli import app

INVENTORY = Path(__file__).parent / "fixtures" / "inventory" / "parquet" / "manifest.json"


def test_a_long_source_title_and_its_rule_fit_80_columns(monkeypatch):
    """The title names the manifest's path and prefix: at 80 columns it wraps, not overflows."""
    monkeypatch.setenv("COLUMNS", "80")
    args = ["measure", "--s3-inventory", str(INVENTORY), "--inventory-prefix", "sessions/"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert str(INVENTORY) in result.output.replace("\n  ", " ")
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    rule = next(line for line in lines if line and set(line) == {"-"})
    assert len(rule) == max(len(line) for line in lines[: lines.index(rule)])
