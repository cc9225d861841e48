"""The organization's table at 80 columns: title wrapped, AWS errors as notes under it."""

from __future__ import annotations

import json
from pathlib import Path

from moto import mock_aws
from typer.testing import CliRunner

from costcompare import orgresult
from costcompare.cli import app
from costcompare.orgmeasure_cli import render_org

SAVED = Path(__file__).parent / "fixtures" / "org" / "measure-org.json"


def test_the_table_fits_80_columns_and_keeps_each_error_whole():
    """A denied role's error used to wrap one word per line in the status column (23 lines for
    one account) and the title ran to 137 columns."""
    saved = json.loads(SAVED.read_text())
    result = orgresult.load_result(saved)
    failure = saved["failures"][0]
    out = render_org(result, "table", width=80)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    row = next(line for line in lines if line.startswith(failure["account_id"]))
    assert row.rstrip().endswith("see [1]")
    notes = out[out.index("[1] ") :]
    assert " ".join(notes.split()).startswith(f"[1] {failure['account_id']}: {failure['error']}")
    assert len(lines) < 30


def test_no_organization_is_one_line_not_an_empty_table():
    """Outside an organization (moto lists no account) the command printed an empty table,
    '0 account(s)', and exit 0."""
    with mock_aws():
        result = CliRunner().invoke(app, ["measure", "--org", "--region", "us-east-1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "no active account" in result.stderr
    assert "--accounts" in result.stderr and not result.stdout
