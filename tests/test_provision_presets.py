"""provision plan/apply/verify/export --preset against moto: the preset's retention, lifecycle and
Object Lock reach the account, and verify names stores out of line with it."""

from __future__ import annotations

import json

import boto3
import pytest
import yaml
from test_provision_support import (  # noqa: F401  (bare_fixture provides "bare")
    REGION,
    ROLE,
    apply,
    bare_fixture,
    context,
    plan_for,
)
from typer.testing import CliRunner

from costcompare.cli import app
from provision.errors import SpecError
from provision.plan import render_plan
from provision.spec import build_spec
from provision.verify import VerifyTarget, verify

BUCKET = "session-logs-test"
GROUP = "/ssm/session-manager"


def spec(**options):
    return build_spec({"role": ROLE, **options}, REGION, account="123456789012")


def test_pci_both_sets_cloudwatch_90_days_and_a_year_in_s3(bare):
    wanted = spec(destination="both", bucket=BUCKET, preset="pci-dss-10.5.1")
    assert wanted.log_group.retention_days == 90
    assert wanted.bucket.expiration_days == 365
    assert [str(t) for t in wanted.bucket.transitions] == ["90:GLACIER_IR"]
    assert wanted.bucket.object_lock_days is None
    apply(wanted)
    logs = boto3.client("logs", region_name=REGION)
    group = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    assert group["retentionInDays"] == 90
    rule = boto3.client("s3", region_name=REGION).get_bucket_lifecycle_configuration(Bucket=BUCKET)[
        "Rules"
    ][0]
    assert rule["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER_IR"}]
    assert rule["Expiration"] == {"Days": 365}
    findings = verify(context(), VerifyTarget(REGION, "both", preset="pci-dss-10.5.1"))
    assert not [f for f in findings if f.check.startswith("preset-")]


def test_worm_plan_says_object_lock_and_apply_locks_and_expires_versions(bare):
    wanted = spec(destination="s3", bucket=BUCKET, preset="worm")
    text = " ".join(render_plan(plan_for(wanted)).split())  # prose wraps to the terminal
    assert "Object Lock + versioning, never turned off" in text
    assert "COMPLIANCE" in text
    apply(wanted)
    s3 = boto3.client("s3", region_name=REGION)
    lock = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    retention = lock["Rule"]["DefaultRetention"]  # moto also echoes "Years": 0
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 1096)
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rule = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"][0]
    assert rule["Expiration"] == {"Days": 1096}
    # expired versions behind delete markers would otherwise be kept (and billed) forever
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1
    assert apply(wanted) == []  # idempotent: the account matches the preset


def test_verify_names_stores_out_of_line_with_the_preset(bare):
    apply(spec(destination="both", bucket=BUCKET, retention_days=30, expiration_days=180,
               transition=["30:GLACIER"]))  # fmt: skip
    findings = verify(context(), VerifyTarget(REGION, "both", preset="pci-dss-10.5.1"))
    by_check = {f.check: f for f in findings if f.check.startswith("preset-")}
    assert set(by_check) == {"preset-retention", "preset-expiration", "preset-archived-early"}
    assert "30 days, the preset needs 90" in by_check["preset-retention"].message
    assert "180 days" in by_check["preset-expiration"].message
    assert by_check["preset-expiration"].severity == "error"
    worm = verify(context(), VerifyTarget(REGION, "both", preset="worm"))
    assert "preset-object-lock" in {f.check for f in worm}
    cli = CliRunner().invoke(
        app, ["provision", "verify", "--preset", "pci-dss-10.5.1", "--region", REGION, "-o", "json"]
    )
    assert cli.exit_code == 1  # errors found
    assert "preset-retention" in {f["check"] for f in json.loads(cli.stdout)["findings"]}


def test_export_carries_the_preset(tmp_path):
    out = tmp_path / "stack.yaml"
    result = CliRunner().invoke(
        app,
        ["provision", "export", "-d", "s3", "--bucket", BUCKET, "--preset", "worm",
         "--account-id", "123456789012", "--region", REGION, "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    template = yaml.load(out.read_text(), Loader=_CfnLoader)
    bucket = template["Resources"]["SessionLogBucket"]["Properties"]
    retention = bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": "COMPLIANCE", "Days": 1096}
    rule = bucket["LifecycleConfiguration"]["Rules"][0]
    assert rule["ExpirationInDays"] == 1096
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub …) as plain values."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.mark.parametrize(
    "options, words",
    [
        ({"destination": "cloudwatch", "preset": "worm"}, "cannot be met"),
        ({"destination": "cloudwatch", "preset": "pci-dss-10.5.1", "retention_days": 30},
         "--retention-days 30 is shorter"),
        ({"destination": "s3", "bucket": BUCKET, "preset": "nope"}, "unknown preset"),
    ],
)  # fmt: skip
def test_bad_preset_options_are_spec_errors(options, words):
    with pytest.raises(SpecError, match=words):
        spec(**options)


def test_plan_json_with_preset_from_a_config_file(tmp_path, bare):
    config = tmp_path / "c.yaml"
    config.write_text(f"destination: s3\nbucket: {BUCKET}\npreset: pci-dss-10.5.1\n")
    result = CliRunner().invoke(
        app, ["provision", "plan", "--config", str(config), "--region", REGION, "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    text = json.dumps(json.loads(result.stdout))
    assert '"Expiration": {"Days": 365}' in text and "GLACIER_IR" in text


def test_verify_fix_is_an_apply_that_runs_as_printed_on_these_stores(bare):
    """The fix read 'costcompare provision apply --preset pci-dss-10.5.1': apply refuses it
    without -d, and without --bucket it plans a new default-named bucket, not this one."""
    apply(spec(destination="both", bucket=BUCKET, retention_days=30, expiration_days=180))
    findings = verify(context(), VerifyTarget(REGION, "both", preset="pci-dss-10.5.1"))
    fixes = {f.fix.split(" (")[0] for f in findings if f.check.startswith("preset-")}
    command = f"costcompare provision apply -d both --bucket {BUCKET} --preset pci-dss-10.5.1"
    assert fixes == {command}
    args = ["provision", "plan", *command.split()[3:], "--role", ROLE, "--region", REGION]
    planned = CliRunner().invoke(app, [*args, "-o", "json"])
    assert planned.exit_code == 0, planned.output
    changes = json.loads(planned.stdout)["changes"]
    assert not [c for c in changes if c["action"] == "create" and "bucket" in c["resource"]]
    assert {c["resource"] for c in changes if c["action"] == "update"} >= {
        f"log group {GROUP}", f"s3 bucket {BUCKET}"
    }


def test_object_lock_retention_given_in_years_counts_as_days(bare):
    """A bucket locked by hand with DefaultRetention {Years: 5} (the console offers years) read
    as 'COMPLIANCE for 0 days': verify --preset worm called a 5-year lock too short, and its
    fix would have replaced the 5 years with the preset's 1096 days."""
    from provision.resources import bucket as bucket_resource

    apply(spec(destination="s3", bucket=BUCKET, preset="worm"))
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 5}},
        },
    )
    state = bucket_resource.read(context(), BUCKET)
    assert state.object_lock_days == 5 * 365
    findings = verify(context(), VerifyTarget(REGION, "s3", preset="worm"))
    assert not [f for f in findings if f.check == "preset-object-lock"]


@pytest.mark.parametrize(
    "existing, kept_days",
    [({"Days": 2000}, 2000), ({"Years": 5}, 5 * 365)],
)
def test_apply_never_shortens_a_longer_existing_object_lock(bare, existing, kept_days):
    """A bucket already locked longer than the preset asks (Days or Years) keeps its lock: plan
    says so, apply makes no PutObjectLockConfiguration call, verify accepts the longer lock."""
    wanted = spec(destination="s3", bucket=BUCKET, preset="worm")
    apply(wanted)
    s3 = boto3.client("s3", region_name=REGION)
    configuration = {"ObjectLockEnabled": "Enabled"}
    configuration["Rule"] = {"DefaultRetention": {"Mode": "COMPLIANCE", **existing}}
    s3.put_object_lock_configuration(Bucket=BUCKET, ObjectLockConfiguration=configuration)
    plan = plan_for(wanted)
    assert not [c for c in plan.pending if c.call.operation == "put_object_lock_configuration"]
    text = " ".join(render_plan(plan).split())
    assert f"already locks new objects for {kept_days} days" in text
    assert "longer than the 1096 asked" in text
    assert apply(wanted) == []
    retention = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    retention = retention["Rule"]["DefaultRetention"]
    assert (retention.get("Days") or 365 * retention.get("Years", 0)) == kept_days
    findings = verify(context(), VerifyTarget(REGION, "s3", preset="worm"))
    assert not [f for f in findings if "lock" in f.check]


def test_a_longer_governance_lock_becomes_compliance_for_as_long(bare):
    """Governance can be bypassed, so the preset's compliance mode is still applied, but for the
    bucket's longer period, never the preset's shorter one."""
    wanted = spec(destination="s3", bucket=BUCKET, preset="worm")
    apply(wanted)
    s3 = boto3.client("s3", region_name=REGION)
    retention = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2000}}
    s3.put_object_lock_configuration(
        Bucket=BUCKET, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": retention}
    )
    apply(wanted)
    got = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    got = got["Rule"]["DefaultRetention"]
    assert (got["Mode"], got["Days"]) == ("COMPLIANCE", 2000)
