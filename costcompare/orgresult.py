"""What ``measure --org`` found, as data: volumes per account × region × log group and S3
prefix, the failures, and the workload they make.

Apart from the measuring (``costcompare.orgmeasure``, which makes these): what reads a result
(the CLI's table, a saved ``-o json`` loaded back by ``load_result``, notebooks) comes here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costcompare.orgsources import PrefixVolume
from costcompare.workload import DAYS_PER_MONTH, GIB, Workload


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
