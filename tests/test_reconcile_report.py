"""The reconcile table read at 80 columns: every row still says what it is."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from costcompare.cli import app
from tests import make_cur_fixture as cur

WORKLOAD = Path(__file__).parent / "fixtures" / "cur" / "workload-2026-10.yaml"


def test_rows_read_apart_when_the_service_column_is_left_out():
    """S3 and CloudWatch both bill APN1-TimedStorage-ByteHrs, and at 80 columns the service
    column (and the 'total' label with it) was the first to go: two identical rows, and a
    total row with no name."""
    args = ["reconcile", "--cur", str(cur.FIXTURE), "--month", "2026-10", "-w", str(WORKLOAD)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "service" in next(line for line in lines if "--wide" in line)  # it is left out
    table = lines[lines.index(next(line for line in lines if line.startswith("---"))) + 1 :]
    labels = [line.split()[0] for line in table[: table.index("") if "" in table else None]]
    rows = [label for label in labels if label.startswith(("APN1", "ap-northeast-1"))]
    assert len(rows) == len(set(rows)), rows
    assert "APN1-TimedStorage-ByteHrs/S3" in rows and "APN1-TimedStorage-ByteHrs/CloudWatch" in rows
    assert "total" in labels
