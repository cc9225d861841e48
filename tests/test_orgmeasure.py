"""measure --org on moto: an organization of 5 member accounts × 2 regions, one denying the role."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws
from typer.testing import CliRunner

from costcompare import orgmeasure
from costcompare.aws import AwsContext
from costcompare.cli import app
from costcompare.workload import DAYS_PER_MONTH, GIB

REGIONS = ("ap-northeast-1", "us-east-1")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAYS = 7
ROLE = "OrganizationAccountAccessRole"


def seed_account(credentials, index: int) -> dict[str, tuple[float, float]]:
    """Log groups with IncomingBytes/IncomingLogEvents in both regions; (bytes, events) each."""
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    seeded = {}
    for r, region in enumerate(REGIONS):
        logs = session.client("logs", region_name=region)
        cloudwatch = session.client("cloudwatch", region_name=region)
        groups = 2 if index == 0 else 1  # one account has two groups in each region
        total = [0.0, 0.0]
        for g in range(groups):
            name = f"/ssm/sessions-{g}"
            logs.create_log_group(logGroupName=name)
            size, events = 1_000_000.0 * (index + 1) * (r + 1) + g, 100.0 * (index + 1) + g
            for day in (1, 3):  # two days of the window; one day before it
                for metric, value in (("IncomingBytes", size), ("IncomingLogEvents", events)):
                    cloudwatch.put_metric_data(
                        Namespace="AWS/Logs",
                        MetricData=[
                            {
                                "MetricName": metric,
                                "Dimensions": [{"Name": "LogGroupName", "Value": name}],
                                "Timestamp": NOW - dt.timedelta(days=day),
                                "Value": value,
                            }
                        ],
                    )
            cloudwatch.put_metric_data(
                Namespace="AWS/Logs",
                MetricData=[
                    {
                        "MetricName": "IncomingBytes",
                        "Dimensions": [{"Name": "LogGroupName", "Value": name}],
                        "Timestamp": NOW - dt.timedelta(days=DAYS + 3),
                        "Value": 9e12,
                    }
                ],
            )
            total[0] += 2 * size
            total[1] += 2 * events
        seeded[region] = (total[0], total[1])
    return seeded


def build_organization() -> tuple[list[str], str, dict]:
    """Inside mock_aws: 5 member accounts with volumes; (member ids, the one to deny, seeded)."""
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    members = [
        org.create_account(Email=f"m{i}@example.invalid", AccountName=f"member-{i}")[
            "CreateAccountStatus"
        ]["AccountId"]
        for i in range(5)
    ]
    sts = boto3.client("sts", region_name="us-east-1")
    seeded = {}
    for i, account in enumerate(members):
        arn = f"arn:aws:iam::{account}:role/{ROLE}"
        credentials = sts.assume_role(RoleArn=arn, RoleSessionName="seed")["Credentials"]
        seeded[account] = seed_account(credentials, i)
    return members, members[3], seeded


@pytest.fixture
def organization():
    """(member ids, denied id, seeded volumes per account and region)."""
    with mock_aws():
        yield build_organization()


def deny_role_of(account: str):
    """A client hook: AssumeRole into ``account`` is refused, as a member without the role is."""

    def hook(client) -> None:
        def refuse(params, **_):
            if f"::{account}:" in params.get("RoleArn", ""):
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole"
                )

        client.meta.events.register("before-parameter-build.sts.AssumeRole", refuse)

    return hook


def test_every_account_and_region_measured_one_denied(organization):
    members, denied, seeded = organization
    aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
    result = orgmeasure.measure_org(aws, REGIONS, days=DAYS, now=NOW, workers=3)
    by_id = {a.account_id: a for a in result.accounts}
    assert set(members) <= by_id.keys()  # the management account is listed too
    assert "AccessDenied" in by_id[denied].error and not by_id[denied].regions
    assert result.failures == [(denied, None, by_id[denied].error)]
    for account in set(members) - {denied}:
        for r in by_id[account].regions:
            assert r.error is None
            assert (r.incoming_bytes, r.incoming_events) == seeded[account][r.region]
    assert len(by_id[members[0]].regions[0].log_groups) == 2
    expected = sum(seeded[a][region][0] for a in members if a != denied for region in REGIONS)
    assert result.incoming_bytes == expected
    assert result.monthly_gb(expected) == pytest.approx(expected / DAYS * DAYS_PER_MONTH / GIB)
    # Calls per account do not depend on volume: one AssumeRole, and per region one listing
    # page and one GetMetricData call.
    accounts = len(result.accounts)
    assert result.api_calls["AssumeRole"] == accounts - 1  # the hook refuses before sending
    assert result.api_calls["DescribeLogGroups"] == (accounts - 1) * len(REGIONS)
    with_groups = len(set(members) - {denied})  # the management account has no log group
    assert result.api_calls["GetMetricData"] == with_groups * len(REGIONS)


def test_cli_table_json_and_workloads(organization, monkeypatch, tmp_path):
    members, denied, seeded = organization
    real = orgmeasure.assumed_context

    def assume(base, arn, name):
        if f"::{denied}:" in arn:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
        return real(base, arn, name)

    monkeypatch.setattr(orgmeasure, "assumed_context", assume)
    args = ["measure", "--org", "--regions", ",".join(REGIONS), "--days", str(DAYS)]
    args += ["--accounts", ",".join(members), "--region", "us-east-1"]
    runner = CliRunner()
    table = runner.invoke(app, [*args, "--write-workloads", str(tmp_path / "w")],
                          env={"COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0, table.output
    assert denied in table.stdout and "AccessDenied" in table.stdout and "total" in table.stdout
    data = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    assert [f["account_id"] for f in data["failures"]] == [denied]
    fleet = yaml.safe_load((tmp_path / "w" / "fleet-ap-northeast-1.yaml").read_text())
    tokyo = sum(seeded[a]["ap-northeast-1"][0] for a in members if a != denied)
    assert fleet["region"] == "ap-northeast-1"
    assert fleet["monthly_ingest_gb"] == pytest.approx(tokyo / DAYS * DAYS_PER_MONTH / GIB)
    one = yaml.safe_load((tmp_path / "w" / f"{members[1]}-us-east-1.yaml").read_text())
    assert one["monthly_ingest_gb"] == pytest.approx(
        seeded[members[1]]["us-east-1"][0] / DAYS * DAYS_PER_MONTH / GIB
    )
    assert not (tmp_path / "w" / f"{denied}-us-east-1.yaml").exists()
