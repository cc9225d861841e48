"""Measure an AWS Organization: session log volume per account, region and source.

From the management (or a delegated) account: list the accounts (Organizations), assume a role
in each (STS), resolve ``--regions all`` in that account (DescribeRegions: a region it has not
opted into is skipped and listed), and read ``AWS/Logs`` ``IncomingBytes`` and
``IncomingLogEvents`` (Sum) for every log group of every region, and the S3 prefixes its
sessions go to (``orgsources``: discovered from the preferences document, a bucket pattern, or a
central bucket). The calls per account and region do not grow with CloudWatch volume: one
DescribeLogGroups page per 50 groups and one GetMetricData call per 250 groups; S3 costs one
listing call per 1,000 sessions. Accounts run on a bounded thread pool; a failure (the role
denied, a region not enabled, no logs) is recorded in that account's result and never stops
the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from costcompare.aws import AwsContext, assumed_context, aws_error, translated
from costcompare.awsfacts import IAM_ROLE_NAME, check_account_id, check_region, partition
from costcompare.errors import MeasureError
from costcompare.orgresult import AccountResult, LogGroupVolume, OrgMeasurement, RegionResult
from costcompare.orgsources import (
    PREFERENCES_DOCUMENT,
    CentralBucket,
    PrefixVolume,
    S3Sources,
    fill,
    measure_prefix,
    opened_central,
    preferences_uri,
)
from costcompare.progress import NoProgress, Progress, SideBar, side_bar

DEFAULT_ROLE = "OrganizationAccountAccessRole"
DEFAULT_WORKERS = 8
GROUPS_PER_METRIC_CALL = 250  # GetMetricData takes 500 queries: two metrics per group
DAY = 86_400


def check_org_options(
    accounts: Sequence[str], regions: Sequence[str], role_name: str, days: float
) -> None:
    """Bad --accounts, --regions, --role-name or --days: one line, before any call."""
    for account in accounts:
        check_account_id(account, "--accounts", error=MeasureError)
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
        found = [
            (a["Id"], a.get("Name", ""))
            for page in pages
            for a in page["Accounts"]
            if a.get("State", a.get("Status", "ACTIVE")) == "ACTIVE"  # Status: retired 2026-09
        ]
    if not found:  # an organization has its management account at least: this is no org
        raise MeasureError(
            "the organization lists no active account",
            "run it from the management account or a delegated administrator of an "
            "organization, or name the accounts with --accounts",
        )
    return found


def member_regions(member: AwsContext) -> tuple[list[str], list[str]]:
    """``--regions all`` in one account: (regions it can use, regions it has not opted into).

    DescribeRegions with AllRegions lists every region with its OptInStatus, so a region the
    account has not enabled is named as skipped instead of failing with an auth error later.
    Only the member's own partition counts: its credentials are worthless in the others.
    """
    home = partition(member.region or "")
    regions = [  # an aws account cannot use aws-cn or GovCloud regions (moto lists them all)
        r
        for r in member.client("ec2").describe_regions(AllRegions=True)["Regions"]
        if partition(r["RegionName"]) == home
    ]
    usable = sorted(r["RegionName"] for r in regions if r.get("OptInStatus") != "not-opted-in")
    skipped = sorted(r["RegionName"] for r in regions if r.get("OptInStatus") == "not-opted-in")
    return usable, skipped


@dataclass(frozen=True)
class _Plan:
    """What every account is asked for: the same regions, role, window and sources."""

    regions: Sequence[str]
    role_name: str
    window: tuple[dt.datetime, dt.datetime]
    log_group_prefix: str
    s3: S3Sources
    central: CentralBucket | None
    progress: Progress


def measure_org(
    aws: AwsContext,
    regions: Sequence[str],
    *,
    accounts: Sequence[str] | None = None,
    role_name: str = DEFAULT_ROLE,
    days: float = 30,
    log_group_prefix: str = "",
    s3: S3Sources | None = None,
    log_archive_account: str | None = None,
    workers: int = DEFAULT_WORKERS,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
) -> OrgMeasurement:
    """Measure every account (the organization's, or ``accounts``) in every region.

    ``progress`` counts the accounts done; each account in flight has a side bar of its own
    (its regions, then its S3 prefixes) when ``progress`` draws them.
    """
    named = list_accounts(aws) if not accounts else [(a, "") for a in accounts]
    end = now or dt.datetime.now(dt.UTC)
    s3 = s3 or S3Sources()
    aws.client("sts")  # made once, here: threads share it (clients are thread-safe)
    with ExitStack() as stack:
        central = None
        if s3.central:
            reader = aws
            if log_archive_account:
                arn = role_arn(aws, log_archive_account, role_name)
                with translated(f"assuming {arn} (--log-archive-account)", error=MeasureError):
                    reader = assumed_context(aws, arn, "costcompare-measure")
            central = stack.enter_context(opened_central(reader, s3))
        progress = progress or NoProgress()
        progress.start("accounts measured", len(named))
        window = (end - dt.timedelta(days=days), end)
        plan = _Plan(regions, role_name, window, log_group_prefix, s3, central, progress)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            results = list(pool.map(lambda account: _measure_account(aws, account, plan), named))
    return OrgMeasurement(days, role_name, results, dict(aws.calls))


def role_arn(aws: AwsContext, account_id: str, role_name: str) -> str:
    return f"arn:{partition(aws.region or '')}:iam::{account_id}:role/{role_name}"


def _measure_account(aws: AwsContext, account: tuple[str, str], plan: _Plan) -> AccountResult:
    bar = side_bar(plan.progress, f"account {account[0]} {account[1]}".rstrip())
    try:
        return _measure_one(aws, account, plan, bar)
    finally:
        bar.close()
        plan.progress.advance(1)


def _measure_one(
    aws: AwsContext, account: tuple[str, str], plan: _Plan, bar: SideBar
) -> AccountResult:
    """One account: assume its role, resolve its regions, read CloudWatch, then S3 sources."""
    account_id, name = account
    result = AccountResult(account_id, name)
    arn = role_arn(aws, account_id, plan.role_name)
    regions = list(plan.regions)
    try:
        member = assumed_context(aws, arn, "costcompare-measure")
    except Exception as exc:
        result.error = str(aws_error(exc, f"assuming {arn}", error=MeasureError))
        _measure_central(result, [r for r in regions if r != "all"], plan)  # needs no role
        return result
    if "all" in regions:
        try:
            regions, result.skipped_regions = member_regions(member)
        except Exception as exc:
            doing = "listing its regions (ec2:DescribeRegions)"
            result.error = str(aws_error(exc, doing, error=MeasureError))
            _measure_central(result, [], plan)
            return result
    bar.start(f"account {account_id}: {len(regions)} region(s), then S3", len(regions) + 1)
    for region in regions:
        try:
            groups = _log_group_volumes(member, region, plan.window, plan.log_group_prefix)
            result.regions.append(RegionResult(region, groups))
        except Exception as exc:
            error = aws_error(exc, f"reading CloudWatch in {region}", error=MeasureError)
            result.regions.append(RegionResult(region, error=str(error)))
        bar.advance(1)
    _measure_s3(member, result, regions, plan)
    _measure_central(result, regions, plan)
    bar.advance(1)
    return result


def _measure_s3(member: AwsContext, result: AccountResult, regions: list[str], plan: _Plan) -> None:
    """The account's S3 prefixes, each measured once and filed under its bucket's region."""
    named: dict[str, tuple[str, str]] = {}  # uri -> (found by, the region that named it)
    central = plan.central.bucket if plan.central else None
    for region in regions:
        if plan.s3.discover:
            try:
                uri = preferences_uri(member, region)
            except Exception as exc:
                where = f"{PREFERENCES_DOCUMENT} ({region})"
                error = str(aws_error(exc, f"reading {where}", error=MeasureError))
                result.region(region).s3.append(PrefixVolume(where, "preferences", error=error))
                uri = None
            # The central bucket is read by its reader (_measure_central), not the member role.
            if uri and not (central and uri.startswith(f"s3://{central}/")):
                named.setdefault(uri, ("preferences", region))
        if plan.s3.bucket_pattern:
            uri = fill(plan.s3.uri_pattern(), result.account_id, region)
            named.setdefault(uri, ("pattern", region))
    for uri, (found_by, region) in named.items():
        bucket_region, volume = measure_prefix(member, uri, found_by)
        result.region(bucket_region or region).s3.append(volume)


def _measure_central(result: AccountResult, regions: list[str], plan: _Plan) -> None:
    """The account's prefixes in the central bucket, read by the central reader: counted even
    when the account's own role is refused."""
    if plan.central:
        for uri in plan.central.uris(result.account_id, regions):
            result.region(plan.central.region).s3.append(plan.central.measure(uri))


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
