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

from costcompare.cli import app
from provision.spec import DOCUMENT_NAME, KEY_ALIASES

runner = CliRunner()


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
    assert plan["region"] == REGION and plan["account_id"] == "123456789012"
    assert plan["destination"] == "both" and plan["empty"] is False
    # create: 2 keys + 2 aliases, log group, bucket, bucket policy, IAM policy, security group,
    # 6 endpoints, document; update: 2 rotations, retention, bucket tag, encryption, public
    # access block, AmazonSSMManagedInstanceCore and policy attachments, VPC DNS hostnames,
    # security group ingress.
    assert plan["summary"] == {"create": 16, "update": 10, "unchanged": 0, "conflict": 0}
    first = plan["changes"][0]
    assert first["resource"] == f"kms key {KEY_ALIASES['cloudwatch']}"
    assert first["call"] == "kms.create_key" and first["action"] == "create"
    assert first["fields"][0]["field"] == "policy" and first["fields"][0]["old"] is None
    assert plan["changes"][-1]["call"] == "ssm.create_document"
    table = run("plan", *_args(account))
    assert table.exit_code == 0, table.output
    assert "16 to create, 10 to update, 0 unchanged" in table.stdout
    assert "attach the AWS managed AmazonSSMManagedInstanceCore" in table.stdout
    assert "+ log group /ssm/session-manager" in table.stdout
    assert "retention_days: (none) → 365" in table.stdout
    _nothing_created()


def test_apply_asks_and_no_changes_nothing(bare):
    result = run(
        "apply", "-d", "s3", "--bucket", "session-logs-cli", "--region", REGION, input="n\n"
    )
    assert result.exit_code == 1
    assert "Nothing changed." in result.stderr
    _nothing_created()


def test_apply_yes_then_second_apply_is_empty(account):
    result = run("apply", *_args(account), "--yes")
    assert result.exit_code == 0, result.output
    assert "[1/26] kms key alias/costcompare/session-logs-cloudwatch" in result.stderr
    assert "[26/26] preferences document SSM-SessionManagerRunShell" in result.stderr
    assert "Applied 26 change(s)" in result.stdout
    ssm = boto3.client("ssm", region_name=REGION)
    content = json.loads(ssm.get_document(Name=DOCUMENT_NAME)["Content"])
    assert content["inputs"]["s3BucketName"] == "session-logs-cli"
    again = run("apply", *_args(account))  # no --yes needed when there is nothing to do
    assert again.exit_code == 0, again.output
    assert "Nothing to do" in again.stdout
    plan = json.loads(run("plan", *_args(account), "-o", "json").stdout)
    assert plan["empty"] is True
    assert plan["summary"]["unchanged"] == 16


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


def test_destroy_refuses_stores_with_logs_in_one_line(account):
    assert run("apply", *_args(account), "--yes").exit_code == 0
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_stream(logGroupName="/ssm/session-manager", logStreamName="i-0abc-session")
    result = run("destroy", *_args(account), "--yes")
    assert result.exit_code == 2
    assert "refusing to delete stores that hold logs: log group /ssm/session-manager" in (
        result.stderr
    )
    assert result.stderr.count("\n") == 1
    assert logs.describe_log_groups()["logGroups"][0]["logGroupName"] == "/ssm/session-manager"
    assert boto3.client("ssm", region_name=REGION).describe_document(Name=DOCUMENT_NAME)


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
