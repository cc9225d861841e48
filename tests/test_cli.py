"""The CLI as a user meets it: help, every output format, one-line errors with exit code 2."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from costcompare.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def all_command_paths(group=None, prefix=()):
    """Every command and sub-command of the app, for the --help sweep."""
    import typer
    import typer.main

    group = group or typer.main.get_command(app)
    ctx = typer.Context(group)
    paths = [prefix]
    names = group.list_commands(ctx) if hasattr(group, "list_commands") else []
    for name in names:  # list_commands/get_command: sub-commands are loaded lazily
        cmd = group.get_command(ctx, name)
        paths += (
            all_command_paths(cmd, (*prefix, name))
            if hasattr(cmd, "commands")
            else [(*prefix, name)]
        )
    return paths


@pytest.mark.parametrize("path", all_command_paths(), ids=lambda p: " ".join(p) or "root")
def test_help_on_every_command(path):
    result = run(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_estimate_help_has_examples():
    assert "costcompare estimate -w measured.yaml" in run("estimate", "--help").output


def test_default_table():
    result = run("estimate")
    assert result.exit_code == 0, result.output
    assert "ap-northeast-1" in result.stdout and "Cheapest: s3" in result.stdout


def test_json_parses_and_honours_flags():
    result = run("estimate", "-o", "json", "--region", "us-east-1", "--months", "12",
                 "-d", "s3,cloudwatch")  # fmt: skip
    data = json.loads(result.stdout)
    assert data["region"] == "us-east-1" and data["horizon_months"] == 12
    assert [d["name"] for d in data["destinations"]] == ["s3", "cloudwatch"]
    assert len(data["destinations"][0]["monthly_usd"]) == 12


def test_csv_parses():
    rows = list(csv.DictReader(io.StringIO(run("estimate", "-o", "csv").stdout)))
    assert rows and {"destination", "month", "monthly_usd", "price_key", "source"} <= rows[0].keys()


def test_markdown():
    assert run("estimate", "-o", "markdown").stdout.startswith("### Session Manager")


def test_flags_change_the_numbers():
    base = json.loads(run("estimate", "-o", "json").stdout)
    more = json.loads(run("estimate", "-o", "json", "--instances", "600").stdout)
    s3 = next(d for d in base["destinations"] if d["name"] == "s3")
    s3_more = next(d for d in more["destinations"] if d["name"] == "s3")
    put = next(c for c in s3["components"] if "PUT" in c["name"])
    put_more = next(c for c in s3_more["components"] if "PUT" in c["name"])
    assert put_more["quantity"] == pytest.approx(2 * put["quantity"])


def test_profile_file(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("region: us-east-1\nsessions_per_month: 1000\nretention_days: 30\n")
    data = json.loads(run("estimate", "--workload", str(profile), "-o", "json").stdout)
    assert data["region"] == "us-east-1" and data["workload"]["sessions_per_month"] == 1000


def test_out_file_written(tmp_path):
    target = tmp_path / "cost.json"
    result = run("estimate", "-o", "json", "--out", str(target))
    assert result.exit_code == 0
    assert json.loads(target.read_text())["currency"] == "USD"


def test_pricing_date_reproduces_an_old_estimate(tmp_path):
    table = tmp_path / "prices.csv"
    from costcompare.pricing import bundled_path

    text = bundled_path("prices.csv").read_text()
    newer = text.splitlines()[1].replace("0.5,2026-07-01", "0.4,2027-01-01")
    table.write_text(text + newer + "\n")
    args = ["estimate", "-o", "json", "--region", "us-east-1", "--pricing-file", str(table)]
    now = json.loads(run(*args).stdout)
    old = json.loads(run(*args, "--pricing-date", "2026-12-31").stdout)

    def rate(data):
        cw = next(d for d in data["destinations"] if d["name"] == "cloudwatch")
        return cw["components"][0]["unit_price_usd"]

    assert rate(now) == 0.4 and rate(old) == 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "ap-northeast1"], "did you mean 'ap-northeast-1'"),
        (["--region", "eu-west-1"], "no prices for region eu-west-1"),
        (["--session-bytes", "-3"], "session_bytes must be greater than 0"),
        (["--instances", "-1"], "instances cannot be negative"),
        (["--retention-days", "100"], "not a value CloudWatch Logs accepts"),
        (["--workload", "/nonexistent/profile.yaml"], "does not exist"),
        (["--pricing-file", "/nonexistent/prices.csv"], "does not exist"),
        (["--pricing-date", "yesterday"], "YYYY-MM-DD"),
        (["--pricing-date", "2001-01-01"], "earliest"),
        (["-d", "glacier"], "unknown destination 'glacier'"),
        (["--currency", "JPY"], "needs a positive --fx-rate"),
        (["--currency", "JPY", "--fx-rate", "nan"], "needs a positive --fx-rate"),
        (["--session-bytes", "1e308"], "at most"),
        (["--growth-pct-per-month", "1000000", "--months", "240"], "at most 100"),
        (["--out", "/nonexistent/dir/out.txt"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    result = run("estimate", *args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in result.output


def test_malformed_profile(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("instances: [1,\n")
    result = run("estimate", "--workload", str(bad))
    assert result.exit_code == 2 and "not valid YAML" in result.stderr


def test_malformed_pricing_file_leaves_no_output(tmp_path):
    bad = tmp_path / "prices.csv"
    bad.write_text("price_key,usd\nx,1\n")
    out = tmp_path / "out.json"
    result = run("estimate", "--pricing-file", str(bad), "--out", str(out))
    assert result.exit_code == 2 and "header" in result.stderr
    assert not out.exists()


def test_pricing_file_from_the_environment(tmp_path, monkeypatch):
    from costcompare.pricing import bundled_path

    table = tmp_path / "prices.csv"
    text = bundled_path("prices.csv").read_text()
    table.write_text(text + text.splitlines()[1].replace("0.5,2026-07-01", "0.4,2027-01-01") + "\n")
    monkeypatch.setenv("COSTCOMPARE_PRICING_FILE", str(table))
    data = json.loads(run("estimate", "-o", "json", "--region", "us-east-1").stdout)
    cw = next(d for d in data["destinations"] if d["name"] == "cloudwatch")
    assert cw["components"][0]["unit_price_usd"] == 0.4


# Start-up: what `estimate` and `--help` import (the speed itself is benchmarks/bench_estimate.py).
HEAVY_MODULES = (
    "provision",
    "costcompare.measure",
    "costcompare.pricediff",
    "costcompare.pricelist",
    "costcompare.pricing_cli",
    "matplotlib",
    "pandas",
    "boto3",
    "botocore",
    "pydantic",
)


@pytest.mark.parametrize("args", [["estimate"], ["estimate", "-o", "json"], ["--help"]])
def test_start_up_imports_nothing_heavy(args):
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from costcompare.cli import app\n"
        f"try: app({args!r}, prog_name='costcompare')\n"
        "except SystemExit as exc: assert not exc.code, exc.code\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = proc.stderr.split()
    assert "numpy" in loaded or args == ["--help"]  # the probe sees real imports
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY_MODULES or m.startswith(HEAVY_MODULES)]
    assert heavy == []


def test_lazy_commands_list_their_own_help():
    """--help lists measure, pricing and provision without loading them: same text as loaded."""
    import typer
    import typer.main

    from costcompare.cli import LAZY_COMMANDS

    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name, lazy in LAZY_COMMANDS.items():
        assert name not in group.commands  # not loaded by building the root group
        loaded = group.get_command(ctx, name)
        assert lazy.short_help(60) == loaded.get_short_help_str(60)
        assert loaded.name == name


@pytest.mark.parametrize(
    ("option", "values"),
    [
        ("months", ["12", "+7", "-3", "007", None]),
        ("session_bytes", ["5e4", ".5", "60000", "-1.5E-3", "1.", None]),
        ("output", ["json", "table"]),
        ("region", ["us-east-1", ""]),
    ],
)
def test_start_up_conversion_reads_values_as_typer_does(option, values):
    """The pydantic-free conversion gives exactly what typer's own converter gives."""
    import typer
    import typer.main

    from costcompare.cli import _PlainValue

    root = typer.main.get_command(app)
    command = root.get_command(typer.Context(root), "estimate")
    ctx = typer.Context(command)
    param = next(p for p in command.params if p.name == option)
    typers_own = type(param).get_runtime_param(param)
    for value in values:
        ours = _PlainValue(param).coerce(value, param, ctx)
        theirs = typers_own.coerce(value, param=param, ctx=ctx)
        assert ours == theirs and type(ours) is type(theirs), value


@pytest.mark.parametrize(
    "flag",
    ["--searches-per-month", "--session-bytes", "--sessions-per-month", "--monthly-ingest-gb"],
)
def test_a_value_at_the_workload_bound_is_estimated(flag):
    """1e15 is allowed; the verdict's flip search and the bands used to step past it and fail
    with a number the user never gave (1059253725177289.8)."""
    result = run("estimate", flag, "1e15", "-o", "json", "--draws", "100")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert all(d["steady_state_monthly_usd"] > 0 for d in data["destinations"])


def test_every_error_is_printed_on_one_line_and_cut_to_keep_the_fix(monkeypatch):
    """Issue 18.11: an endpoint's HTML error page was printed across many lines."""
    from costcompare import workload
    from costcompare.errors import WorkloadError

    page = "<html>\n<head><title>502 Bad Gateway</title></head>\n" + "<p>x</p>\n" * 500

    def load_profile(*args, **kwargs):
        raise WorkloadError(page, "retry\nlater")

    monkeypatch.setattr(workload, "load_profile", load_profile)
    result = run("estimate")
    assert result.exit_code == 2
    line = result.stderr.rstrip("\n")
    assert "\n" not in line and line.startswith("error: <html> <head><title>502")
    assert line.endswith("… — retry later") and len(line) < 340


def test_a_default_estimate_imports_only_what_it_shows():
    """Start-up (issue 13): tables that fit are laid out without rich, and nothing on the
    default path pulls numpy.ma (np.unique, np.percentile import it)."""
    import importlib.util
    import subprocess
    import sys

    code = (
        "import sys\nfrom costcompare.cli import app\n"
        "try:\n    app(['estimate'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('rich', 'numpy.ma', 'click') if m in sys.modules))\n"
    )
    if importlib.util.find_spec("typer._click") is None:  # an older typer formats with click
        code = code.replace("'click'", "'rich'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Cheapest: s3" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"


def test_short_process_tuning_keeps_the_user_s_thread_choice(monkeypatch):
    import gc
    import os

    from costcompare import cli

    before = gc.get_threshold()
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    try:
        cli._tune_for_a_short_process()
        assert gc.get_threshold() == (cli.GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"  # the user's choice wins
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    try:
        cli._tune_for_a_short_process()
    finally:
        gc.set_threshold(*before)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_the_console_entry_point_writes_whole_files_and_exit_codes(tmp_path):
    """main() freezes the collector on the way out (start-up, issue 13): what a command wrote
    is complete, and errors keep their one line and exit code 2."""
    import subprocess
    import sys

    out = tmp_path / "estimate.json"
    run = [sys.executable, "-m", "costcompare", "estimate", "--draws", "0", "-o", "json"]
    done = subprocess.run([*run, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["verdict"]["cheapest"] == "s3"
    bad = subprocess.run([*run, "--months", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
