"""A moto AWS Organization with session-log volumes in its members, for the ``measure --org``
tests and for ``make_org_fixture.py`` (the committed result notebook 04 reads).

Inside ``mock_aws``: 5 member accounts × 2 regions with seeded ``AWS/Logs`` metrics, and a
client hook that refuses AssumeRole into one of them.
"""

from __future__ import annotations

import datetime as dt

import boto3
from botocore.exceptions import ClientError

from costcompare.aws import AwsContext, assumed_context

REGIONS = ("ap-northeast-1", "us-east-1")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAYS = 7
ROLE = "OrganizationAccountAccessRole"


def member_session(account: str) -> AwsContext:
    """The member account as its role sees it (clients share one botocore loader: fast)."""
    arn = f"arn:aws:iam::{account}:role/{ROLE}"
    return assumed_context(AwsContext(region="us-east-1"), arn, "seed")


def seed_account(session: AwsContext, index: int) -> dict[str, tuple[float, float]]:
    """Log groups with IncomingBytes/IncomingLogEvents in both regions; (bytes, events) each."""
    seeded = {}
    for r, region in enumerate(REGIONS):
        logs = session.client("logs", region)
        cloudwatch = session.client("cloudwatch", region)
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
    seeded = {}
    for i, account in enumerate(members):
        seeded[account] = seed_account(member_session(account), i)
    return members, members[3], seeded


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
