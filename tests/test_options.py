"""One name, one meaning: every command's options checked against the table of shared names."""

from __future__ import annotations

import json
import re
import typing

import pytest
import typer
from typer.testing import CliRunner

from costcompare import options as opt
from costcompare.cli import app

OPTION_LINE = re.compile(r"^  (?:-\w, )?(--[a-z][a-z0-9-]*)(?:\s|/|$)")


def _commands(command, path=()):
    """Every leaf command of the app, lazy ones included, as its path (``("pricing", "show")``)."""
    import click

    ctx = click.Context(command)
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if hasattr(sub, "list_commands"):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name), sub


COMMANDS = dict(_commands(typer.main.get_command(app)))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout


def _shown_names(help_text: str) -> list[str]:
    options = help_text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    return [m.group(1) for line in options.splitlines() if (m := OPTION_LINE.match(line))]


def _declared_helps() -> dict[str, set[str]]:
    """Option name → the help texts ``costcompare.options`` declares for it."""
    helps: dict[str, set[str]] = {}
    for value in vars(opt).values():
        if typing.get_origin(value) is not typing.Annotated:
            continue
        info = value.__metadata__[0]
        if isinstance(info, typer.models.OptionInfo) and not info.hidden:
            for decl in info.param_decls or ():
                if decl.startswith("--"):
                    helps.setdefault(decl, set()).add(info.help)
    return helps


def _declared_name(param) -> list[str]:
    return [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]


def test_every_command_is_found():
    assert {("estimate",), ("chart",), ("measure",), ("pricing", "show")} <= set(COMMANDS)
    assert any(path[0] == "provision" for path in COMMANDS)


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_help_shows_shared_names_with_their_one_meaning(path):
    text = _help(path)
    shown = _shown_names(text)
    assert shown, text
    declared = _declared_helps()
    params = {name: p for p in COMMANDS[path].params for name in _declared_name(p) if not p.hidden}
    for name in shown:
        if name == "--help":
            continue
        assert name not in opt.DEPRECATED_NAMES, f"{name} is deprecated: use its new name"
        param = params.get(name)
        assert param is not None, f"{name} shown but not declared"
        assert param.help, f"{' '.join(path)} {name} has no help"
        if name in opt.SHARED_NAMES and name in declared:
            assert param.help in declared[name], (
                f"{' '.join(path)} {name} is declared locally; use costcompare.options"
            )
    # Python type names must not leak into option placeholders (`<str>`, `<list[str]>`).
    options = text.split("\nOptions:\n", 1)[1]
    assert not re.search(r"<\w+(\[\w+\])?>", options), options
    assert "--profile" not in shown or "AWS" in params["--profile"].help


@pytest.mark.parametrize("path", [(), *sorted(COMMANDS)], ids=lambda p: " ".join(p) or "root")
def test_help_fits_80_columns(path):
    """Every line of every --help fits an 80-column terminal, examples included (a long
    example is continued with a backslash); only a line that is one unbreakable token (a URL
    that must paste whole) may run over."""
    too_wide = [line for line in _help(path).splitlines() if len(line) > 80 and " " in line.strip()]
    assert not too_wide, "\n".join(too_wide)


def test_an_option_repeated_across_commands_has_one_meaning():
    meanings: dict[str, set[str]] = {}
    for command in COMMANDS.values():
        for param in command.params:
            if param.hidden:
                continue
            for name in _declared_name(param):
                meanings.setdefault(name, set()).add(param.help or "")
    several = {
        name: sorted(helps)
        for name, helps in meanings.items()
        if name not in opt.SHARED_NAMES and len(helps) > 1
    }
    assert not several, f"one name, several meanings: {several}"


def test_examples_are_printed_as_written():
    text = _help(("pricing", "refresh"))
    assert "  costcompare pricing refresh --region ap-northeast-1 \\\n" in text
    assert "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/OFFER/current/" in text
    assert "ap-\n" not in _help(("estimate",))


def test_old_names_still_work_and_warn(tmp_path):
    workload = tmp_path / "w.yaml"
    workload.write_text("instances: 10\n")
    runner = CliRunner()
    old = runner.invoke(
        app, ["estimate", "--profile", str(workload), "--destinations", "s3", "-o", "json"]
    )
    new = runner.invoke(app, ["estimate", "-w", str(workload), "-d", "s3", "-o", "json"])
    assert old.exit_code == new.exit_code == 0, old.output
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert json.loads(new.stdout)["workload"]["instances"] == 10
    assert "--profile is deprecated" in old.stderr and "use --workload" in old.stderr
    assert "--destinations is deprecated" in old.stderr
    assert "deprecated" not in new.stderr


def test_old_name_with_a_bad_value_is_one_error_line():
    result = CliRunner().invoke(app, ["estimate", "--profile", "nope.yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: ") and "nope.yaml" in result.stderr
    assert "deprecated" not in result.stderr


def test_the_notice_of_an_old_name_outside_a_command_is_printed_at_once(capsys):
    assert opt.deprecated(None, "a.yaml", "--profile", "--workload") == "a.yaml"
    assert "--profile is deprecated" in capsys.readouterr().err


def test_old_and_new_name_together_is_bad_input(tmp_path):
    result = CliRunner().invoke(app, ["estimate", "--profile", "a.yaml", "-w", "b.yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --profile and --workload")


def test_workload_found_in_the_working_folder_then_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(opt.WORKLOAD_ENV, raising=False)
    (tmp_path / "costcompare.yaml").write_text("instances: 7\n")
    (tmp_path / "env.yaml").write_text("instances: 9\n")
    runner = CliRunner()
    found = runner.invoke(app, ["estimate", "-o", "json"])
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["workload"]["instances"] == 7
    assert "costcompare.yaml" in found.stderr
    from_env = runner.invoke(app, ["estimate", "-o", "json"], env={opt.WORKLOAD_ENV: "env.yaml"})
    assert json.loads(from_env.stdout)["workload"]["instances"] == 9


def test_output_format_outside_a_commands_subset_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["pricing", "diff", "--from", "2026-07-01", "--to",
                                      "2026-07-02", "-o", "markdown"])  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --output markdown is not available here — use one of table|json"
    )


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_has_examples_that_paste(path):
    """Example lines are printed exactly as written (never re-wrapped mid-command)."""
    epilog = COMMANDS[path].epilog or ""
    assert "Examples:" in epilog and "\b" in epilog
    block = epilog.split("\b", 1)[1].split("\n\n", 1)[0]
    shown = {line.strip() for line in _help(path).splitlines()}
    for line in filter(None, (raw.strip() for raw in block.splitlines())):
        assert line in shown, f"{line!r} is re-wrapped in {' '.join(path)} --help"
