"""`costcompare provision ...` via the root app: options, output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from test_provision_support import (  # noqa: F401  (account_fixture provides "account")
    REGION,
    ROLE,
    account_fixture,
    bare_fixture,
)
from typer.testing import CliRunner

from costcompare import __version__
from costcompare.cli import app
from costcompare.jsoncontract import SCHEMA_VERSION
from provision.spec import DOCUMENT_NAME, KEY_ALIASES

runner = CliRunner()
GROUP = "/ssm/session-manager"


def run(*args: str, input: str | None = None):
    return runner.invoke(app, ["provision", *args], input=input)


def _args(account, *extra: str) -> list[str]:
    return [
        "--destination",
        "both",
        "--bucket",
        "session-logs-cli",
        "--role",
        ROLE,
        "--vpc-id",
        account.vpc_id,
        "--subnet",
        ",".join(account.subnet_ids),
        "--region",
        REGION,
        *extra,
    ]


def _nothing_created() -> None:
    aliases = boto3.client("kms", region_name=REGION).list_aliases()["Aliases"]
    assert not [a for a in aliases if a["AliasName"].startswith("alias/costcompare")]
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []


def test_plan_json_and_table_write_nothing(account):
    result = run("plan", *_args(account), "--output", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["schema_version"] == SCHEMA_VERSION
    assert plan["region"] == REGION and plan["account_id"] == "123456789012"
    assert plan["destination"] == "both" and plan["empty"] is False
    # Resources, not calls. To add: 3 keys (log group, bucket, session data), log group,
    # bucket, bucket policy, IAM policy, security group, 6 endpoints, document. To change:
    # account Block Public Access, the role (AmazonSSMManagedInstanceCore), VPC DNS hostnames.
    assert plan["summary"] == {"add": 15, "change": 3, "remove": 0, "keep": 0, "conflict": 0}
    first = plan["changes"][0]
    assert first["resource"] == f"kms key {KEY_ALIASES['cloudwatch']}"
    assert first["call"] == "kms.create_key" and first["action"] == "create"
    assert first["fields"][0]["field"] == "policy" and first["fields"][0]["old"] is None
    assert plan["changes"][-1]["call"] == "ssm.create_document"
    table = run("plan", *_args(account))
    assert table.exit_code == 0, table.output
    assert table.stdout.endswith("\nPlan: 15 to add, 3 to change, 0 to remove.\n")
    assert "\x1b[" not in table.stdout  # colour only on a terminal
    assert "# attach the AWS managed AmazonSSMManagedInstanceCore" in table.stdout
    assert "\n  + log group /ssm/session-manager\n" in table.stdout
    assert "\n  ~ iam role ssm-instance-role\n" in table.stdout
    assert "+ retention_days = 365" in table.stdout
    assert '      + policy = {\n            "Version": "2012-10-17",' in table.stdout
    _nothing_created()


def test_apply_asks_and_no_changes_nothing(bare):
    result = run(
        "apply", "-d", "s3", "--bucket", "session-logs-cli", "--region", REGION, input="n\n"
    )
    assert result.exit_code == 1
    assert "Nothing changed." in result.stderr
    _nothing_created()


def test_apply_yes_then_second_apply_is_empty(account):
    result = runner.invoke(app, ["provision", "apply", *_args(account), "--yes"],
                           env={"COLUMNS": "80"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[1/30] kms key alias/costcompare/session-logs-cloudwatch" in result.stderr
    assert max(len(line) for line in result.stderr.splitlines()) <= 80  # steps wrap
    assert "[30/30] preferences document SSM-SessionManagerRunShell" in result.stderr
    assert "Applied 30 change(s)" in result.stdout
    ssm = boto3.client("ssm", region_name=REGION)
    content = json.loads(ssm.get_document(Name=DOCUMENT_NAME)["Content"])
    assert content["inputs"]["s3BucketName"] == "session-logs-cli"
    again = run("apply", *_args(account))  # no --yes needed when there is nothing to do
    assert again.exit_code == 0, again.output
    assert again.stdout.endswith("\nNo changes. The account matches the options.\n")
    plan = json.loads(run("plan", *_args(account), "-o", "json").stdout)
    assert plan["empty"] is True
    assert plan["summary"]["keep"] == 18


def test_yaml_config_and_region_from_environment(bare, tmp_path, monkeypatch):
    config = tmp_path / "provision.yaml"
    config.write_text("destination: cloudwatch\nretention_days: 731\nlog-group: /audit/ssm\n")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    result = run("apply", "--config", str(config), "--retention-days", "400", "--yes")
    assert result.exit_code == 0, result.output
    group = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"][0]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/audit/ssm", 400)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-d", "cloudwatch", "--retention-days", "13"], "retention_days 13 is not a value"),
        (["-d", "s3", "--bucket", "My.Bucket"], "contains dots"),
        (["-d", "cloudwatch", "--idle-timeout", "90"], "idle_timeout 90 is out of range"),
        (["-d", "s3", "--bucket", "ok-bucket", "--bucket-kms-key", "arn:aws:kms:us-east-1:"
          "123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"], "is in us-east-1"),
        (["-d", "cloudwatch", "--role", "missing-role"], "instance role 'missing-role' not found"),
        (["-d", "cloudwatch", "--retention-days", "0"], "--retain-forever to keep logs forever"),
        (["-d", "cloudwatch", "--endpoint-url", "not a url"], "--endpoint-url 'not a url' is not"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_nothing_written(bare, args, message):
    result = run("apply", *args, "--region", REGION, "--yes")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    _nothing_created()


def test_unknown_profile_is_one_line(bare):
    result = run("plan", "-d", "cloudwatch", "--region", REGION, "--profile", "nope")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: AWS profile 'nope' is not configured — check --profile / AWS_PROFILE "
        "against ~/.aws/config\n"
    )


def test_destroy_needs_no_flags_and_keeps_stores_holding_logs(account):
    """Issue 11: destroy finds what the tool manages by tag; a store with logs stays."""
    assert run("apply", *_args(account), "--yes").exit_code == 0
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_stream(logGroupName="/ssm/session-manager", logStreamName="i-0abc-session")
    result = run("destroy", "--region", REGION, "--yes")
    assert result.exit_code == 0, result.output
    assert "Kept because they hold logs (--force-delete-logs deletes them):" in result.stdout
    assert "  log group /ssm/session-manager: holds session log streams" in result.stdout
    assert logs.describe_log_groups()["logGroups"][0]["logGroupName"] == "/ssm/session-manager"
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []
    ssm = boto3.client("ssm", region_name=REGION)
    with pytest.raises(ssm.exceptions.InvalidDocument):
        ssm.get_document(Name=DOCUMENT_NAME)


def test_help_has_examples():
    for command in ("plan", "apply", "verify", "destroy"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
        assert f"costcompare provision {command}" in result.stdout
        assert "--endpoint-url" in result.stdout


def test_provision_cli_does_not_import_boto3_at_startup():
    code = "import sys, costcompare.cli; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_aws_profile_from_environment_is_honoured(bare, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "from-env")
    result = run("plan", "-d", "cloudwatch", "--region", REGION)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: AWS profile 'from-env' is not configured")


def _tagged_everywhere() -> dict[str, list[str]]:
    """Every live resource carrying the managed tag, read back with boto3 (not the tool)."""
    managed = {"Key": "costcompare:managed", "Value": "true"}
    kms = boto3.client("kms", region_name=REGION)
    keys = []
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        tags = kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]
        if meta["KeyState"] == "Enabled" and {"TagKey": managed["Key"], "TagValue": "true"} in tags:
            keys.append(key["KeyId"])
    logs = boto3.client("logs", region_name=REGION)
    groups = [
        g["logGroupName"]
        for g in logs.describe_log_groups()["logGroups"]
        if logs.list_tags_log_group(logGroupName=g["logGroupName"])["tags"]
    ]
    s3 = boto3.client("s3", region_name=REGION)
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    ec2 = boto3.client("ec2", region_name=REGION)
    tagged = [{"Name": "tag:costcompare:managed", "Values": ["true"]}]
    endpoints = [
        e["VpcEndpointId"]
        for e in ec2.describe_vpc_endpoints(Filters=tagged)["VpcEndpoints"]
        if e["State"] != "deleted"
    ]
    return {"keys": keys, "log_groups": groups, "buckets": buckets, "endpoints": endpoints}


def test_switch_destination_then_destroy_by_tag(account):
    """Issue 11 acceptance: apply both → plan cloudwatch shows '- s3 target' and keeps the
    bucket → apply → destroy --yes with no other flags removes what holds no logs and restores
    the document; the bucket with transcripts is all that stays tagged."""
    ssm = boto3.client("ssm", region_name=REGION)
    before = {
        "schemaVersion": "1.0",
        "description": "before the tool",
        "sessionType": "Standard_Stream",
        "inputs": {"idleSessionTimeout": "30"},
    }
    ssm.create_document(
        Content=json.dumps(before), Name=DOCUMENT_NAME, DocumentType="Session",
        DocumentFormat="JSON",
    )  # fmt: skip
    assert run("apply", *_args(account), "--yes").exit_code == 0
    verified = run("verify", "--region", REGION, "--role", ROLE, "-o", "json")
    assert verified.exit_code == 0
    assert json.loads(verified.stdout) == {
        "schema_version": SCHEMA_VERSION, "costcompare_version": __version__, "findings": []
    }
    s3 = boto3.client("s3", region_name=REGION)
    policy = s3.get_bucket_policy(Bucket="session-logs-cli")["Policy"]
    s3.delete_bucket_policy(Bucket="session-logs-cli")  # moto: TLS-only denies every upload
    for n in range(3):
        s3.put_object(Bucket="session-logs-cli", Key=f"session-logs/s-{n}.log", Body=b"x")
    s3.put_bucket_policy(Bucket="session-logs-cli", Policy=policy)

    cloudwatch = ["-d", "cloudwatch", "--role", ROLE, "--region", REGION]
    planned = run("plan", *cloudwatch)
    assert planned.exit_code == 0, planned.output
    assert "\n  - s3 target session-logs-cli\n" in planned.stdout
    assert "  = s3 bucket session-logs-cli  (kept: holds 3 transcripts)\n" in planned.stdout
    assert "Plan: 0 to add, 2 to change, 1 to remove." in planned.stdout
    assert run("apply", *cloudwatch, "--yes").exit_code == 0
    inputs = json.loads(ssm.get_document(Name=DOCUMENT_NAME)["Content"])["inputs"]
    assert (inputs["s3BucketName"], inputs["cloudWatchLogGroupName"]) == ("", GROUP)
    assert s3.list_objects_v2(Bucket="session-logs-cli")["KeyCount"] == 3
    found = json.loads(run("verify", "--region", REGION, "-o", "json").stdout)["findings"]
    assert [(f["check"], f["resource"]) for f in found] == [
        ("store-not-a-target", "s3 bucket session-logs-cli")
    ]

    destroyed = run("destroy", "--region", REGION, "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    assert "s3 bucket session-logs-cli: holds 3 transcripts" in destroyed.stdout
    described = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]
    assert described["DefaultVersion"] == described["LatestVersion"]
    assert json.loads(ssm.get_document(Name=DOCUMENT_NAME)["Content"]) == before
    left = _tagged_everywhere()
    bucket_key = s3.get_bucket_encryption(Bucket="session-logs-cli")
    key_id = bucket_key["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"
    ]["KMSMasterKeyID"].rsplit("/", 1)[1]
    assert left == {
        "keys": [key_id],  # it still encrypts the transcripts
        "log_groups": [],
        "buckets": ["session-logs-cli"],
        "endpoints": [],
    }


def test_detailed_exitcode_and_saved_plan_refused_after_a_change(bare, tmp_path):
    """Issue 11: 2 before apply, 0 after; 'apply plan.json' refuses once the account moved."""
    args = ["-d", "cloudwatch", "--role", ROLE, "--region", REGION]
    assert run("plan", *args, "--detailed-exitcode").exit_code == 2
    saved = tmp_path / "plan.json"
    assert run("plan", *args, "--out", str(saved)).exit_code == 0
    applied = run("apply", str(saved))
    assert applied.exit_code == 0, applied.output
    assert run("plan", *args, "--detailed-exitcode").exit_code == 0
    # A new saved plan, then an out-of-band change: the saved plan no longer holds.
    assert run("plan", *args, "--retention-days", "731", "--out", str(saved)).exit_code == 0
    logs = boto3.client("logs", region_name=REGION)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=30)
    refused = run("apply", str(saved))
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: the account changed since the plan was saved")
    assert logs.describe_log_groups()["logGroups"][0]["retentionInDays"] == 30
    # An error with --detailed-exitcode is 1, not 2 (2 means "changes").
    assert (
        run("plan", "-d", "cloudwatch", "--region", "mars-1", "--detailed-exitcode").exit_code == 1
    )


def test_saved_plan_that_is_not_a_plan_is_one_line(tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text("{}")
    result = run("apply", str(bad))
    assert result.exit_code == 2
    assert result.stderr == f"error: {bad} is not a saved plan — write one with 'plan --out FILE'\n"


def test_create_role_makes_role_and_instance_profile(bare):
    result = run(
        "apply", "-d", "cloudwatch", "--create-role", "new-role", "--region", REGION, "--yes"
    )
    assert result.exit_code == 0, result.output
    iam = boto3.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName="new-role")["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == ["new-role"]
    trust = iam.get_role(RoleName="new-role")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="new-role")[
        "AttachedPolicies"]]  # fmt: skip
    assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in attached
    verified = run("verify", "--region", REGION, "--role", "new-role", "-o", "json")
    assert verified.exit_code == 0
    assert json.loads(verified.stdout) == {
        "schema_version": SCHEMA_VERSION, "costcompare_version": __version__, "findings": []
    }
    # destroy removes the role it created, with its profile.
    assert run("destroy", "--region", REGION, "--yes").exit_code == 0
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert "new-role" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_default_bucket_name_from_account(bare):
    result = run("plan", "-d", "s3", "--region", REGION, "-o", "json")
    assert result.exit_code == 0, result.output
    resources = [c["resource"] for c in json.loads(result.stdout)["changes"]]
    assert f"s3 bucket ssm-session-logs-123456789012-{REGION}" in resources


def test_saved_plan_takes_no_other_options(tmp_path):
    saved = tmp_path / "plan.json"
    saved.write_text("{}")
    result = run("apply", str(saved), "-d", "s3")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --destination cannot change a saved plan")
