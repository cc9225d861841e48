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
from dataclasses import dataclass, field
from typing import Any

from costcompare.aws import AwsContext, assumed_context, aws_error, translated
from costcompare.awsfacts import IAM_ROLE_NAME, check_region, partition
from costcompare.errors import MeasureError
from costcompare.orgsources import (
    PREFERENCES_DOCUMENT,
    CentralBucket,
    PrefixVolume,
    S3Sources,
    check_account_id,
    fill,
    measure_prefix,
    opened_central,
    preferences_uri,
)
from costcompare.progress import NoProgress, Progress, SideBar, side_bar
from costcompare.workload import DAYS_PER_MONTH, GIB, Workload

DEFAULT_ROLE = "OrganizationAccountAccessRole"
DEFAULT_WORKERS = 8
GROUPS_PER_METRIC_CALL = 250  # GetMetricData takes 500 queries: two metrics per group
DAY = 86_400


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
    error: str | None = None  # CloudWatch could not be read
    s3: list[PrefixVolume] = field(default_factory=list)  # prefixes whose bucket is here
    cloudwatch_read: bool = True  # False: a row only for an S3 bucket outside --regions

    @property
    def incoming_bytes(self) -> float:
        return sum(g.incoming_bytes for g in self.log_groups)

    @property
    def incoming_events(self) -> float:
        return sum(g.incoming_events for g in self.log_groups)

    @property
    def s3_sessions(self) -> int:
        return sum(p.sessions for p in self.s3)

    @property
    def s3_bytes(self) -> float:
        return sum(p.bytes for p in self.s3)

    @property
    def s3_sessions_per_day(self) -> float:
        return sum(p.sessions_per_day or 0.0 for p in self.s3)

    @property
    def has_volume(self) -> bool:
        """CloudWatch ingested bytes, or S3 sessions at a known rate: worth a workload."""
        return self.incoming_bytes > 0 or self.s3_sessions_per_day > 0


@dataclass
class AccountResult:
    account_id: str
    name: str = ""
    regions: list[RegionResult] = field(default_factory=list)
    error: str | None = None  # the account as a whole (the role could not be assumed)
    skipped_regions: list[str] = field(default_factory=list)  # --regions all: not opted in

    def region(self, name: str) -> RegionResult:
        """The result of region ``name``, made (S3 only) when CloudWatch was not read there."""
        found = next((r for r in self.regions if r.region == name), None)
        if found is None:
            found = RegionResult(name, cloudwatch_read=False)
            self.regions.append(found)
        return found


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
            out += [
                (account.account_id, r.region, f"{p.uri}: {p.error}")
                for r in account.regions
                for p in r.s3
                if p.error
            ]
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
        """``base`` with one region's measured volumes (all accounts, or one): CloudWatch
        ingestion, and from S3 the sessions per month and their mean transcript bytes."""
        chosen = [
            r
            for a in self.accounts
            if account is None or a.account_id == account
            for r in a.regions
            if r.region == region
        ]
        ingested = sum(r.incoming_bytes for r in chosen)
        sessions = sum(r.s3_sessions for r in chosen)
        per_day = sum(r.s3_sessions_per_day for r in chosen)
        return base.with_overrides(
            region=region,
            monthly_ingest_gb=self.monthly_gb(ingested) if ingested > 0 else None,
            sessions_per_month=round(per_day * DAYS_PER_MONTH, 3) if per_day else None,
            session_bytes=round(sum(r.s3_bytes for r in chosen) / sessions) if sessions else None,
        )

    def measured_regions(self) -> list[str]:
        """Regions with any volume (CloudWatch bytes or S3 sessions), sorted."""
        return sorted({r.region for a in self.accounts for r in a.regions if r.has_volume})

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
                    "skipped_regions": a.skipped_regions,
                    "regions": [
                        {
                            "region": r.region,
                            "error": r.error,
                            "cloudwatch_read": r.cloudwatch_read,
                            "incoming_bytes": r.incoming_bytes,
                            "incoming_events": r.incoming_events,
                            "monthly_ingest_gb": self.monthly_gb(r.incoming_bytes),
                            "log_groups": [vars(g) for g in r.log_groups],
                            "s3_sessions": r.s3_sessions,
                            "s3_bytes": r.s3_bytes,
                            "s3_sessions_per_month": r.s3_sessions_per_day * DAYS_PER_MONTH,
                            "s3": [vars(p) for p in r.s3],
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
                    [PrefixVolume(**p) for p in r.get("s3", [])],
                    r.get("cloudwatch_read", True),
                )
                for r in a.get("regions", [])
            ],
            a.get("error"),
            list(a.get("skipped_regions", [])),
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
                         "log_groups": 0, "monthly_ingest_gb": 0.0, "s3_sessions": 0,
                         "s3_sessions_per_month": 0.0, "error": a.error})  # fmt: skip
        rows += [
            {
                "account_id": a.account_id,
                "name": a.name,
                "region": r.region,
                "log_groups": len(r.log_groups),
                "monthly_ingest_gb": result.monthly_gb(r.incoming_bytes),
                "s3_sessions": r.s3_sessions,
                "s3_sessions_per_month": r.s3_sessions_per_day * DAYS_PER_MONTH,
                "error": r.error,
            }
            for r in a.regions
        ]
    return rows


def check_org_options(
    accounts: Sequence[str], regions: Sequence[str], role_name: str, days: float
) -> None:
    """Bad --accounts, --regions, --role-name or --days: one line, before any call."""
    for account in accounts:
        check_account_id(account, "--accounts")
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
