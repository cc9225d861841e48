"""Compliance presets: loaded from the shipped data, priced from the loaded price table, applied
to provisioning options, and conflicts with explicit flags refused in one line."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from costcompare.cli import app
from costcompare.errors import CostCompareError, WorkloadError
from costcompare.jsoncontract import SCHEMA_VERSION
from costcompare.model import estimate
from costcompare.presets import (
    apply_to_workload,
    estimate_with_preset,
    get_preset,
    load_presets,
    provision_options,
)
from costcompare.workload import DAYS_PER_MONTH, GIB, LifecycleRule

SESSIONS = 10_000
SESSION_BYTES = GIB / SESSIONS  # 1 GB of transcripts a month


@pytest.fixture
def w(plain_workload):
    """us-east-1, 1 GB of transcripts a month (2 GB to CloudWatch), four years, no extras."""
    return dataclasses.replace(
        plain_workload,
        sessions_per_month=SESSIONS,
        session_bytes=SESSION_BYTES,
        s3_transition_min_object_bytes=0,
        horizon_months=48,
    )


def line(est, destination: str, name_part: str):
    found = [ln for ln in est.get(destination).lines if name_part in ln.name]
    assert len(found) == 1, [ln.name for ln in est.get(destination).lines]
    return found[0]


def rate(table, key: str, region: str = "us-east-1") -> float:
    return table.resolve(region).__getitem__(key).first_rate


def test_every_shipped_preset_states_its_clause_and_source():
    presets = load_presets()
    assert {"pci-dss-10.5.1", "worm", "iso27001", "fisc"} <= set(presets)
    for preset in presets.values():
        assert len(preset.clause) > 40 and preset.source and preset.title
    pci = presets["pci-dss-10.5.1"]
    assert (pci.retention_days, pci.immediately_available_days) == (365, 90)
    assert pci.both_cloudwatch_retention_days == 90 and not pci.object_lock
    worm = presets["worm"]
    assert worm.object_lock and worm.destinations == ("s3", "both")


def test_every_preset_cites_a_public_source_not_the_teams_notes():
    """Users have the clause's public text, not the team's research notes: a source that
    names shared/reference/*.md points them at a file they do not have."""
    for preset in load_presets().values():
        assert "shared/" not in preset.source and ".md" not in preset.source, preset.name
        assert "http" in preset.source or "PCI DSS" in preset.source, preset.name


def test_unknown_preset_names_the_ones_there_are():
    with pytest.raises(WorkloadError) as err:
        get_preset("pci")
    assert "pci-dss-10.5.1" in str(err.value) and "costcompare presets" in str(err.value)


def test_pci_keeps_cloudwatch_90_days_in_both_and_365_alone(w, table):
    applied = apply_to_workload(get_preset("pci-dss-10.5.1"), w, {})
    est = estimate(dataclasses.replace(w, **applied.overrides), table=table)
    storage = rate(table, "logs.storage")
    cw_gb = 2.0  # 1 GB of transcripts × overhead ratio 2
    both = line(est, "both", "archive storage")
    alone = line(est, "cloudwatch", "archive storage")
    # steady state: compressed stock of the retained months × the table's GB-month price
    assert float(both.quantity[-1]) == pytest.approx(cw_gb * 90 / DAYS_PER_MONTH * 0.15)
    assert float(alone.quantity[-1]) == pytest.approx(cw_gb * 365 / DAYS_PER_MONTH * 0.15)
    assert float(both.cost[-1]) == pytest.approx(cw_gb * 90 / DAYS_PER_MONTH * 0.15 * storage)
    # S3 in both keeps the year: 90 days Standard, then Glacier Instant Retrieval to day 365
    gir = line(est, "both", "S3 storage (GLACIER_IR)")
    # … each object billed at least the class's minimum size (128 KB for GLACIER_IR)
    billable = max(
        SESSION_BYTES, table.resolve("us-east-1").storage_classes["GLACIER_IR"].min_billable_bytes
    )
    gb = SESSIONS * billable / GIB * (365 - 90) / DAYS_PER_MONTH
    expected = gb * rate(table, "s3.storage.GLACIER_IR")
    assert float(gir.cost[-1]) == pytest.approx(expected)
    standard = line(est, "both", "S3 storage (STANDARD)")
    assert float(standard.quantity[-1]) == pytest.approx(90 / DAYS_PER_MONTH)


def test_worm_bills_s3_storage_for_the_whole_lock(w, table):
    """Object Lock has no price of its own; a lock longer than retention keeps objects."""
    locked = dataclasses.replace(w, retention_days=365, s3_object_lock_days=1096)
    est = estimate(locked, table=table, destinations=["s3"])
    standard = line(est, "s3", "S3 storage (STANDARD)")
    expected_gb = 1.0 * 1096 / DAYS_PER_MONTH
    assert float(standard.quantity[-1]) == pytest.approx(expected_gb)
    assert float(standard.cost[-1]) == pytest.approx(
        expected_gb * rate(table, "s3.storage.STANDARD")
    )
    unlocked = estimate(dataclasses.replace(w, retention_days=365), table=table)
    assert float(line(unlocked, "s3", "S3 storage (STANDARD)").quantity[-1]) == pytest.approx(
        365 / DAYS_PER_MONTH
    )


def test_a_lock_past_expiration_keeps_objects_where_expiration_found_them(w, table):
    """Expiration on a locked, versioned bucket only adds a delete marker: the locked version
    turns noncurrent and stays until its lock ends. Transition rules move current versions
    only (provision writes no NoncurrentVersionTransition), so a rule due after the expiration
    never runs: the version stays in STANDARD for the whole lock, not in GLACIER_IR."""
    locked = dataclasses.replace(
        w,
        retention_days=30,
        s3_object_lock_days=365,
        s3_lifecycle=(LifecycleRule(90, "GLACIER_IR"),),
    )
    est = estimate(locked, table=table, destinations=["s3"])
    standard = line(est, "s3", "S3 storage (STANDARD)")
    expected_gb = 1.0 * 365 / DAYS_PER_MONTH  # 1 GB a month, each kept 365 days in STANDARD
    assert float(standard.quantity[-1]) == pytest.approx(expected_gb)
    assert float(standard.cost[-1]) == pytest.approx(
        expected_gb * rate(table, "s3.storage.STANDARD")
    )
    moved = [ln for ln in est.get("s3").lines if "GLACIER_IR" in ln.name]
    assert all(float(ln.cost[-1]) == 0 for ln in moved), [ln.name for ln in moved]


def test_athena_reads_only_the_current_versions_of_a_locked_bucket(w, table):
    """Past expiration a locked object is a noncurrent version: ListObjectsV2, and so Athena,
    no longer sees it, however long its lock keeps it billed."""
    for scope in ("prefix", "window"):
        locked = dataclasses.replace(
            w, retention_days=7, s3_object_lock_days=365, searches_per_month=20,
            search_window_days=30, athena_scan_scope=scope, s3_lifecycle=(),
        )  # fmt: skip
        est = estimate(locked, table=table, destinations=["s3"])
        gets = line(est, "s3", "S3 GET requests by Athena (STANDARD)")
        expected = 20 * SESSIONS * 7 / DAYS_PER_MONTH
        assert float(gets.quantity[-1]) == pytest.approx(expected), scope
        rate_get = rate(table, "s3.requests.get.STANDARD")
        assert float(gets.cost[-1]) == pytest.approx(expected * rate_get), scope


def test_worm_preset_sets_lock_to_retention_and_says_what_changed(w):
    applied = apply_to_workload(get_preset("worm"), w, {})
    assert applied.overrides["retention_days"] == 1096
    assert applied.overrides["s3_object_lock_days"] == 1096
    assert ("s3_object_lock_days", None, 1096) in applied.changes
    notes = " ".join(applied.notes(["cloudwatch", "s3"]))
    assert "cloudwatch cannot meet preset worm" in notes
    assert "SEC 17a-4" in notes and "Object Lock has no charge" in notes


def test_flags_may_exceed_a_preset_never_undercut_it(w):
    pci = get_preset("pci-dss-10.5.1")
    longer = apply_to_workload(pci, w, {"retention_days": 731})
    assert longer.overrides["retention_days"] == 731
    with pytest.raises(WorkloadError, match=r"shorter than --preset pci-dss-10\.5\.1"):
        apply_to_workload(pci, w, {"retention_days": 180})
    early = (LifecycleRule(30, "GLACIER"),)
    with pytest.raises(WorkloadError, match="immediately available"):
        apply_to_workload(pci, w, {"s3_lifecycle": early})
    fine = apply_to_workload(pci, w, {"s3_lifecycle": (LifecycleRule(30, "GLACIER_IR"),)})
    assert fine.overrides["s3_lifecycle"] == (LifecycleRule(30, "GLACIER_IR"),)


def test_fisc_locks_for_the_workloads_retention_and_refuses_forever(w):
    fisc = get_preset("fisc")
    assert apply_to_workload(fisc, w, {}).overrides["s3_object_lock_days"] == 365
    with pytest.raises(WorkloadError, match="Object Lock"):
        apply_to_workload(fisc, dataclasses.replace(w, retention_days=None), {})


def test_estimate_with_preset_notes_the_clause_and_the_cost_change(w, table):
    def run(workload):
        return estimate(workload, table=table, destinations=["both"])

    result = estimate_with_preset("pci-dss-10.5.1", w, run, None, None)
    notes = "\n".join(result.notes)
    assert "immediately available for analysis" in notes
    assert "both_cloudwatch_retention_days unset → 90" in notes
    before = run(w).get("both").steady_state_monthly_usd
    after = result.get("both").steady_state_monthly_usd
    assert after < before  # CloudWatch keeps 90 days instead of 365
    assert f"${before:,.2f} → ${after:,.2f}" in notes


def test_cli_estimate_preset_json_matches_the_library(tmp_path, table):
    profile = tmp_path / "w.yaml"
    profile.write_text("region: us-east-1\nsessions_per_month: 10000\ns3_lifecycle: []\n")
    args = ["estimate", "-w", str(profile), "-d", "s3,both", "-o", "json", "--draws", "0"]
    result = CliRunner().invoke(app, [*args, "--preset", "worm"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["workload"]["s3_object_lock_days"] == 1096
    assert data["workload"]["retention_days"] == 1096
    assert any("Preset worm" in n for n in data["notes"])
    assert data["preset"]["name"] == "worm" and "SEC 17a-4" in data["preset"]["source"]
    assert {"key": "s3_object_lock_days", "from": None, "to": 1096} in data["preset"]["changes"]
    assert data["destinations"][0]["searchability"]["levels"]["immutability"] == 3  # earned
    without = data["preset"]["steady_state_monthly_usd_without"]
    assert without["s3"] < data["destinations"][0]["steady_state_monthly_usd"]
    storage = next(
        c for c in data["destinations"][0]["components"] if c["name"] == "S3 storage (STANDARD)"
    )
    # every line still explainable: quantity × unit price = cost, price from the table
    assert storage["unit_price_usd"] == pytest.approx(rate(table, "s3.storage.STANDARD"))
    assert storage["monthly_usd"] == pytest.approx(storage["quantity"] * storage["unit_price_usd"])


@pytest.mark.parametrize(
    "args, words",
    [
        (["--preset", "nope"], "unknown preset"),
        (["--preset", "worm", "--retention-days", "365"], "--retention-days 365 is shorter"),
        (["--preset", "pci-dss-10.5.1", "--s3-lifecycle", "DEEP_ARCHIVE:30"], "DEEP_ARCHIVE"),
    ],
)
def test_cli_bad_preset_input_is_one_line_exit_2(args, words):
    result = CliRunner().invoke(app, ["estimate", "--draws", "0", *args])
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_presets_command_lists_every_preset_with_its_clause():
    result = CliRunner().invoke(app, ["presets"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80  # wrapped, not cut
    words = " ".join(result.stdout.split())
    for preset in load_presets().values():
        assert f"{preset.name} — {preset.title}" in words
        assert " ".join(preset.clause.split()) in words
    data = json.loads(CliRunner().invoke(app, ["presets", "-o", "json"]).stdout)
    assert data["schema_version"] == SCHEMA_VERSION
    assert {p["name"] for p in data["presets"]} == set(load_presets())


# -- provisioning options -----------------------------------------------------------------------


def test_provision_options_for_pci_both():
    out = provision_options(
        {"destination": "both", "preset": "pci-dss-10.5.1"}, error=CostCompareError
    )
    assert out["retention_days"] == 90  # CloudWatch: the 3 months immediately available
    assert out["expiration_days"] == 365  # S3: the year
    assert out["transition"] == ["90:GLACIER_IR"]
    assert "object_lock_days" not in out and "preset" not in out


def test_provision_options_for_pci_cloudwatch_alone_keeps_the_year():
    out = provision_options(
        {"destination": "cloudwatch", "preset": "pci-dss-10.5.1"}, error=CostCompareError
    )
    assert out["retention_days"] == 365 and "expiration_days" not in out


def test_provision_options_for_worm_lock_and_conflicts():
    out = provision_options({"destination": "s3", "preset": "worm"}, error=CostCompareError)
    assert out["object_lock_days"] == out["expiration_days"] == 1096
    longer = provision_options(
        {"destination": "s3", "preset": "worm", "expiration_days": 2557}, error=CostCompareError
    )
    assert longer["object_lock_days"] == 2557
    with pytest.raises(CostCompareError, match="cannot be met with --destination cloudwatch"):
        provision_options({"destination": "cloudwatch", "preset": "worm"}, error=CostCompareError)
    with pytest.raises(CostCompareError, match="--expiration-days 365 is shorter"):
        provision_options(
            {"destination": "s3", "preset": "worm", "expiration_days": 365},
            error=CostCompareError,
        )
    with pytest.raises(CostCompareError, match="--transition moves logs to GLACIER"):
        provision_options(
            {"destination": "s3", "preset": "pci-dss-10.5.1", "transition": ["30:GLACIER"]},
            error=CostCompareError,
        )


def test_chart_report_with_a_preset_cites_the_clause(tmp_path):
    report = tmp_path / "worm.html"
    args = ["chart", "--report", str(report), "--preset", "worm", "--draws", "0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Preset worm" in report.read_text(encoding="utf-8")


def test_fisc_provisioning_needs_an_expiration_for_its_lock():
    with pytest.raises(CostCompareError, match="give --expiration-days N"):
        provision_options({"destination": "s3", "preset": "fisc"}, error=CostCompareError)
    out = provision_options(
        {"destination": "s3", "preset": "fisc", "expiration_days": 2557}, error=CostCompareError
    )
    assert out["object_lock_days"] == 2557 and out["expiration_days"] == 2557


def test_a_preset_keeps_what_it_does_not_set(w):
    locked = dataclasses.replace(w, s3_object_lock_days=2557, both_cloudwatch_retention_days=30)
    pci = apply_to_workload(get_preset("pci-dss-10.5.1"), locked, {})
    assert pci.overrides["s3_object_lock_days"] == 2557  # PCI asks for no lock; it stays
    assert pci.overrides["both_cloudwatch_retention_days"] == 90
    worm = apply_to_workload(get_preset("worm"), locked, {})
    assert worm.overrides["s3_object_lock_days"] == 2557  # longer than the preset's: kept
    assert worm.overrides["both_cloudwatch_retention_days"] == 30
