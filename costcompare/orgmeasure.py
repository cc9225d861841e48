"""Measure an AWS Organization: CloudWatch Logs volume per account, region and log group.

From the management (or a delegated) account: list the accounts (Organizations), assume a role
in each (STS), and read ``AWS/Logs`` ``IncomingBytes`` and ``IncomingLogEvents`` (Sum) for every
log group of every region asked for. The calls per account and region do not grow with volume:
one DescribeLogGroups page per 50 groups and one GetMetricData call per 250 groups. Accounts run
on a bounded thread pool; a failure (the role denied, a region not enabled, no logs) is recorded
in that account's result and never stops the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from costcompare.aws import AwsContext, assumed_context, aws_error, translated
from costcompare.awsfacts import IAM_ROLE_NAME, check_region, partition
from costcompare.errors import MeasureError
from costcompare.workload import DAYS_PER_MONTH, GIB, Workload

DEFAULT_ROLE = "OrganizationAccountAccessRole"
DEFAULT_WORKERS = 8
GROUPS_PER_METRIC_CALL = 250  # GetMetricData takes 500 queries: two metrics per group
DAY = 86_400
ACCOUNT_ID_LENGTH = 12


@dataclass
class LogGroupVolume:
    name: str
    incoming_bytes: float
    incoming_events: float


@dataclass
class RegionResult:
    """One account in one region: its log groups' volumes, or why it could not be read."""

    region: str
    log_groups: list[LogGroupVolume] = field(default_factory=list)
    error: str | None = None

    @property
    def incoming_bytes(self) -> float:
        return sum(g.incoming_bytes for g in self.log_groups)

    @property
    def incoming_events(self) -> float:
        return sum(g.incoming_events for g in self.log_groups)


@dataclass
class AccountResult:
    account_id: str
    name: str = ""
    regions: list[RegionResult] = field(default_factory=list)
    error: str | None = None  # the account as a whole (the role could not be assumed)


@dataclass
class OrgMeasurement:
    """Every account × region measured over ``days`` days."""

    days: float
    role_name: str
    accounts: list[AccountResult]
    api_calls: dict[str, int] = field(default_factory=dict)

    def monthly_gb(self, incoming_bytes: float) -> float:
        return incoming_bytes / self.days * DAYS_PER_MONTH / GIB

    @property
    def failures(self) -> list[tuple[str, str | None, str]]:
        """(account, region or None for the whole account, what went wrong)."""
        out: list[tuple[str, str | None, str]] = []
        for account in self.accounts:
            if account.error:
                out.append((account.account_id, None, account.error))
            out += [(account.account_id, r.region, r.error) for r in account.regions if r.error]
        return out

    def bytes_by_region(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for account in self.accounts:
            for r in account.regions:
                totals[r.region] = totals.get(r.region, 0.0) + r.incoming_bytes
        return totals

    @property
    def incoming_bytes(self) -> float:
        return sum(self.bytes_by_region().values())

    def workload(self, base: Workload, region: str, account: str | None = None) -> Workload:
        """``base`` with the measured CloudWatch ingestion of one region (all accounts, or one)."""
        total = sum(
            r.incoming_bytes
            for a in self.accounts
            if account is None or a.account_id == account
            for r in a.regions
            if r.region == region
        )
        return base.with_overrides(region=region, monthly_ingest_gb=self.monthly_gb(total))

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "role_name": self.role_name,
            "incoming_bytes": self.incoming_bytes,
            "monthly_ingest_gb": self.monthly_gb(self.incoming_bytes),
            "accounts": [
                {
                    "account_id": a.account_id,
                    "name": a.name,
                    "error": a.error,
                    "regions": [
                        {
                            "region": r.region,
                            "error": r.error,
                            "incoming_bytes": r.incoming_bytes,
                            "incoming_events": r.incoming_events,
                            "monthly_ingest_gb": self.monthly_gb(r.incoming_bytes),
                            "log_groups": [vars(g) for g in r.log_groups],
                        }
                        for r in a.regions
                    ],
                }
                for a in self.accounts
            ],
            "failures": [{"account_id": a, "region": r, "error": e} for a, r, e in self.failures],
            "api_calls": self.api_calls,
        }


def load_result(data: dict[str, Any]) -> OrgMeasurement:
    """An ``OrgMeasurement`` back from its ``as_dict`` (a saved ``measure --org -o json``)."""
    accounts = [
        AccountResult(
            a["account_id"],
            a.get("name", ""),
            [
                RegionResult(
                    r["region"],
                    [LogGroupVolume(**g) for g in r.get("log_groups", [])],
                    r.get("error"),
                )
                for r in a.get("regions", [])
            ],
            a.get("error"),
        )
        for a in data["accounts"]
    ]
    return OrgMeasurement(data["days"], data["role_name"], accounts, data.get("api_calls", {}))


def org_rows(result: OrgMeasurement) -> list[dict[str, Any]]:
    """One record per account × region (a failed account: one record, region None): the tidy
    table notebooks turn into a DataFrame."""
    rows: list[dict[str, Any]] = []
    for a in result.accounts:
        if a.error:
            rows.append({"account_id": a.account_id, "name": a.name, "region": None,
                         "log_groups": 0, "monthly_ingest_gb": 0.0, "error": a.error})  # fmt: skip
        rows += [
            {
                "account_id": a.account_id,
                "name": a.name,
                "region": r.region,
                "log_groups": len(r.log_groups),
                "monthly_ingest_gb": result.monthly_gb(r.incoming_bytes),
                "error": r.error,
            }
            for r in a.regions
        ]
    return rows


def check_org_options(
    accounts: Sequence[str], regions: Sequence[str], role_name: str, days: float
) -> None:
    """Bad --accounts, --regions, --role-name or --days: one line, before any call."""
    bad = [a for a in accounts if not (a.isdigit() and len(a) == ACCOUNT_ID_LENGTH)]
    if bad:
        raise MeasureError(f"--accounts {bad[0]!r} is not an account id", "give 12 digits")
    for region in regions:
        if region != "all":
            check_region(region, error=MeasureError)
    if not IAM_ROLE_NAME.fullmatch(role_name):
        raise MeasureError(f"--role-name {role_name!r} is not a role name", "give an IAM role name")
    if not 0 < days <= 455:  # CloudWatch keeps daily (and finer) metrics for 15 months
        raise MeasureError(f"--days {days:g}", "give 1 to 455 days (CloudWatch keeps 15 months)")


def list_accounts(aws: AwsContext) -> list[tuple[str, str]]:
    """(id, name) of the organization's active accounts (needs organizations:ListAccounts)."""
    with translated("listing the organization's accounts", error=MeasureError):
        pages = aws.client("organizations").get_paginator("list_accounts").paginate()
        return [
            (a["Id"], a.get("Name", ""))
            for page in pages
            for a in page["Accounts"]
            if a.get("Status", "ACTIVE") == "ACTIVE"
        ]


def enabled_regions(aws: AwsContext) -> list[str]:
    """The regions enabled for the calling account (``--regions all``)."""
    with translated("listing the enabled regions (ec2:DescribeRegions)", error=MeasureError):
        return sorted(r["RegionName"] for r in aws.client("ec2").describe_regions()["Regions"])


def measure_org(
    aws: AwsContext,
    regions: Sequence[str],
    *,
    accounts: Sequence[str] | None = None,
    role_name: str = DEFAULT_ROLE,
    days: float = 30,
    log_group_prefix: str = "",
    workers: int = DEFAULT_WORKERS,
    now: dt.datetime | None = None,
    on_account: Callable[[AccountResult], None] | None = None,
) -> OrgMeasurement:
    """Measure every account (the organization's, or ``accounts``) in every region."""
    named = list_accounts(aws) if not accounts else [(a, "") for a in accounts]
    if "all" in regions:
        regions = enabled_regions(aws)
    end = now or dt.datetime.now(dt.UTC)
    start = end - dt.timedelta(days=days)
    aws.client("sts")  # made once, here: threads share it (clients are thread-safe)

    def one(account: tuple[str, str]) -> AccountResult:
        result = _measure_account(aws, account, regions, role_name, (start, end), log_group_prefix)
        if on_account:
            on_account(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(one, named))
    return OrgMeasurement(days, role_name, results, dict(aws.calls))


def _measure_account(
    aws: AwsContext,
    account: tuple[str, str],
    regions: Sequence[str],
    role_name: str,
    window: tuple[dt.datetime, dt.datetime],
    prefix: str,
) -> AccountResult:
    account_id, name = account
    result = AccountResult(account_id, name)
    arn = f"arn:{partition(aws.region or '')}:iam::{account_id}:role/{role_name}"
    try:
        member = assumed_context(aws, arn, "costcompare-measure")
    except Exception as exc:
        result.error = str(aws_error(exc, f"assuming {arn}", error=MeasureError))
        return result
    for region in regions:
        try:
            groups = _log_group_volumes(member, region, window, prefix)
            result.regions.append(RegionResult(region, groups))
        except Exception as exc:
            error = aws_error(exc, f"reading CloudWatch in {region}", error=MeasureError)
            result.regions.append(RegionResult(region, error=str(error)))
    return result


def _log_group_volumes(
    aws: AwsContext, region: str, window: tuple[dt.datetime, dt.datetime], prefix: str
) -> list[LogGroupVolume]:
    logs = aws.client("logs", region)
    kwargs = {"logGroupNamePrefix": prefix} if prefix else {}
    names = [
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(**kwargs)
        for g in page.get("logGroups", [])
    ]
    cloudwatch = aws.client("cloudwatch", region)
    volumes = []
    for first in range(0, len(names), GROUPS_PER_METRIC_CALL):
        batch = names[first : first + GROUPS_PER_METRIC_CALL]
        totals = _incoming(cloudwatch, batch, window)
        volumes += [
            LogGroupVolume(n, totals[f"b{i}"], totals[f"e{i}"]) for i, n in enumerate(batch)
        ]
    return volumes


def _incoming(
    cloudwatch: Any, names: Sequence[str], window: tuple[dt.datetime, dt.datetime]
) -> dict[str, float]:
    """IncomingBytes (b<i>) and IncomingLogEvents (e<i>) of each group, summed over the window."""
    queries = [
        {
            "Id": f"{tag}{i}",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Logs",
                    "MetricName": metric,
                    "Dimensions": [{"Name": "LogGroupName", "Value": name}],
                },
                "Period": DAY,
                "Stat": "Sum",
            },
            "ReturnData": True,
        }
        for i, name in enumerate(names)
        for tag, metric in (("b", "IncomingBytes"), ("e", "IncomingLogEvents"))
    ]
    totals = {q["Id"]: 0.0 for q in queries}
    kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": window[0]}
    kwargs["EndTime"] = window[1]
    while True:
        reply = cloudwatch.get_metric_data(**kwargs)
        for series in reply.get("MetricDataResults", []):
            totals[series["Id"]] += float(sum(series.get("Values", [])))
        if not reply.get("NextToken"):
            return totals
        kwargs["NextToken"] = reply["NextToken"]
