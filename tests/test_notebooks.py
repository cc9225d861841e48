"""Every analyst notebook runs top to bottom on a fresh kernel, and is committed without outputs."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def inject(nb, parameters: dict) -> None:
    """papermill-style: a cell after the one tagged `parameters` overrides its values."""
    index = next(
        i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    )
    source = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)


def run(path: Path, parameters: dict | None = None):
    """Execute in the notebook's own folder, as `jupyter lab notebooks/` would (data/ is there)."""
    nb = nbformat.read(path, as_version=4)
    if parameters:
        inject(nb, parameters)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return nb


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts += [data.get("text/markdown", ""), data.get("text/plain", "")]
    return "\n".join(parts)


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_compare_destinations.ipynb",
        "02_sensitivity_and_break_even.ipynb",
        "03_from_measured_logs.ipynb",
        "04_organisation_and_bill.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_parameters(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", []), "first code cell must be parameters"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, "strip outputs before commit"


@dataclass(frozen=True)
class DefaultRun:
    """A notebook run once with its committed parameters, and its folder before and after."""

    nb: nbformat.NotebookNode
    files_before: list[str]
    files_after: list[str]


@functools.cache
def run_with_defaults(path: Path) -> DefaultRun:
    """Each notebook's default run, made once per session and shared by the tests that read it.

    Why: a run is a fresh kernel and the whole notebook (2-4 s); the clean-run test and the
    output tests of notebooks 3 and 4 read the same run. Tests only read the result.
    """
    before = sorted(p.name for p in path.parent.rglob("*"))
    nb = run(path)
    return DefaultRun(nb, before, sorted(p.name for p in path.parent.rglob("*")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_clean_on_a_fresh_kernel(path):
    default = run_with_defaults(path)
    nb = default.nb
    assert default.files_after == default.files_before, "a notebook wrote files"
    images = sum(
        "image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", [])
    )
    assert images >= 1
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_notebook_1_with_other_parameters():
    nb = run(NOTEBOOKS[0], {"region": "us-east-1", "destinations": ["s3", "both"]})
    text = outputs_text(nb)
    assert "us-east-1" in text and "Cheapest: s3" in text
    assert "cloudwatch-ia" not in text


def test_notebook_3_measures_the_shipped_corpus():
    text = outputs_text(run_with_defaults(NOTEBOOKS[2]).nb)
    assert "sessions                    24" in text  # the corpus: 24 sessions
    assert "session_bytes: 31833.5  # measured" in text
    assert "**Measured:** Cheapest:" in text
    # issue 12.2: the transcripts take their sessions' dates from the export, not copy times
    assert "sessions per day: 4.0 (first to last session" in text
    assert "4.00 sessions/day over 6 days" in text


def test_notebook_4_the_organisation_and_the_bill():
    text = outputs_text(run_with_defaults(NOTEBOOKS[3]).nb)
    assert "1 account/region(s) could not be read" in text
    assert "member-4" in text
    assert "Billed $" in text and "monthly_ingest_gb" in text
