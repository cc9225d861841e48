"""`costcompare init`: every key, commented; the file as written is the bundled default."""

from __future__ import annotations

import dataclasses

import yaml
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.template import field_docs, workload_template
from costcompare.workload import Workload, from_mapping, load_profile


def test_template_loads_to_the_bundled_default():
    text = workload_template()
    assert from_mapping(yaml.safe_load(text)) == load_profile(None)


def test_every_key_is_in_the_file_with_what_it_means():
    text = workload_template()
    docs = field_docs()
    for field in dataclasses.fields(Workload):
        assert f"\n{field.name}:" in text or f"\n# {field.name}:" in text, field.name
    assert (
        "# Mean transcript bytes per session" in docs["session_bytes"][0] or docs["session_bytes"]
    )
    assert "session_bytes: 60000   # ~60 KB transcript per session" in text
    assert "# compression_ratio" not in text and "compression_ratio: 0.15" in text


def test_init_writes_costcompare_yaml_which_estimate_then_finds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSTCOMPARE_WORKLOAD", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    target = tmp_path / "costcompare.yaml"
    target.write_text(target.read_text().replace("\ninstances: 300\n", "\ninstances: 42\n"))
    result = runner.invoke(app, ["estimate", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert '"instances": 42' in result.stdout


def test_init_refuses_to_overwrite_unless_forced(tmp_path):
    target = tmp_path / "w.yaml"
    target.write_text("instances: 7\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["init", str(target)])
    assert refused.exit_code == 2
    assert refused.stderr.strip().startswith(f"error: {target} already exists — pass --force")
    assert target.read_text() == "instances: 7\n"
    assert runner.invoke(app, ["init", str(target), "--force"]).exit_code == 0
    assert from_mapping(yaml.safe_load(target.read_text())) == load_profile(None)


def test_init_from_a_workload_keeps_its_values(tmp_path):
    measured = tmp_path / "measured.yaml"
    measured.write_text("session_bytes: 12345\nregion: us-east-1\n")
    target = tmp_path / "annotated.yaml"
    result = CliRunner().invoke(app, ["init", "-w", str(measured), str(target)])
    assert result.exit_code == 0, result.output
    assert load_profile(target) == load_profile(measured)
    assert "# Mean transcript bytes per session" in target.read_text()
