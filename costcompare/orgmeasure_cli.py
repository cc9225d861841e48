"""``costcompare measure --org``: the organization's table, its total, and its workloads."""

from __future__ import annotations

from pathlib import Path

import typer

from costcompare import jsoncontract
from costcompare.orgresult import OrgMeasurement, RegionResult
from costcompare.orgsources import S3Sources
from costcompare.tables import Column, fill, render_table
from costcompare.workload import DAYS_PER_MONTH, Workload

COLUMNS = (
    Column("account", "left"),
    Column("name", "left", priority=2),
    Column("region", "left"),
    Column("log groups", priority=1),
    Column("GB in window"),
    Column("events", priority=1),
    Column("GB/month"),
    Column("S3 sessions", priority=1),
    Column("S3 GB", priority=2),
    Column("sessions/month"),
    Column("status", "left", wrap=True),
)


def _region_row(result: OrgMeasurement, account: str, name: str, r: RegionResult) -> list[str]:
    """One account × region: CloudWatch (blank when not read), S3, and what went wrong."""
    cloudwatch = r.cloudwatch_read and not r.error
    problems = [r.error] if r.error else []
    if r.cloudwatch_read and not r.error and not r.log_groups:
        problems.append("no log groups")
    problems += [f"{p.uri}: {p.error}" for p in r.s3 if p.error]
    problems += [f"{p.uri}: no session logs" for p in r.s3 if not p.error and not p.sessions]
    return [
        account,
        name,
        r.region,
        f"{len(r.log_groups):,}" if cloudwatch else "",
        f"{r.incoming_bytes / 2**30:,.3f}" if cloudwatch else "",
        f"{r.incoming_events:,.0f}" if cloudwatch else "",
        f"{result.monthly_gb(r.incoming_bytes):,.3f}" if cloudwatch else "",
        f"{r.s3_sessions:,}" if r.s3 else "",
        f"{r.s3_bytes / 2**30:,.3f}" if r.s3 else "",
        f"{r.s3_sessions_per_day * DAYS_PER_MONTH:,.0f}" if r.s3 else "",
        "; ".join(problems) or "ok",
    ]


def render_org(result: OrgMeasurement, fmt: str, *, width: int | None = None) -> str:
    """A row per account × region, then the total; failures stay in the table, as rows."""
    if fmt == "json":
        return jsoncontract.dumps(result.as_dict())
    rows = []
    blank = [""] * (len(COLUMNS) - 4)
    for account in result.accounts:
        if account.error:
            rows.append([account.account_id, account.name, "-", *blank, account.error])
        if account.skipped_regions:
            skipped = f"skipped, not opted in: {', '.join(account.skipped_regions)}"
            rows.append([account.account_id, account.name, "-", *blank, skipped])
        rows += [_region_row(result, account.account_id, account.name, r) for r in account.regions]
    total = result.incoming_bytes
    regions = [r for a in result.accounts for r in a.regions]
    sessions = sum(r.s3_sessions for r in regions)
    per_month = sum(r.s3_sessions_per_day for r in regions) * DAYS_PER_MONTH
    rows.append(
        ["total", "", "", "", f"{total / 2**30:,.3f}", "", f"{result.monthly_gb(total):,.3f}",
         f"{sessions:,}", f"{sum(r.s3_bytes for r in regions) / 2**30:,.3f}",
         f"{per_month:,.0f}", ""]
    )  # fmt: skip
    failed = len(result.failures)
    head = (
        f"CloudWatch Logs IncomingBytes over {result.days:g} days and S3 session logs (every "
        f"one listed), {len(result.accounts)} account(s) through role {result.role_name}"
    )
    rows, notes = _long_status_as_notes(rows)
    out = [fill(head, width), "", render_table(COLUMNS, rows, width=width)]
    if notes:
        out += ["", *(fill(note, width, indent="    ") for note in notes)]
    if failed:
        out += ["", fill(f"{failed} account/region(s) could not be read (status column).", width)]
    return "\n".join(out) + "\n"


STATUS_INLINE = 30  # longer statuses (AWS error messages) go under the table, as numbered notes


def _long_status_as_notes(rows: list[list[str]]) -> tuple[list[list[str]], list[str]]:
    """An AWS error wrapped in the narrow status column takes a line per word: such a status
    becomes ``see [n]`` and its text a numbered note under the table, one paragraph each."""
    notes: list[str] = []
    shown = []
    for row in rows:
        status = row[-1]
        if len(status) > STATUS_INLINE:
            where = row[0] if row[2] == "-" else f"{row[0]} {row[2]}"
            notes.append(f"[{len(notes) + 1}] {where}: {status}")
            row = [*row[:-1], f"see [{len(notes)}]"]
        shown.append(row)
    return shown, notes


def write_workloads(result: OrgMeasurement, base: Workload, folder: Path) -> list[Path]:
    """One workload per account × region with volume, and a fleet workload per region: the
    measured CloudWatch ingestion, S3 sessions per month and mean session bytes."""
    from costcompare.files import make_output_folder, write_atomic
    from costcompare.workload import dump_profile

    make_output_folder(folder, "--write-workloads")
    header = (
        "# Measured by `costcompare measure --org` ({what}, {days:g} days of IncomingBytes; "
        "S3 sessions over their listed days)\n"
    )
    written = []
    for region in result.measured_regions():
        targets: list[tuple[str | None, str]] = [(None, f"fleet-{region}.yaml")]
        targets += [
            (a.account_id, f"{a.account_id}-{region}.yaml")
            for a in result.accounts
            for r in a.regions
            if r.region == region and r.has_volume
        ]
        for account, name in targets:
            workload = result.workload(base, region, account)
            what = f"account {account}" if account else "every account"
            text = header.format(what=what, days=result.days) + dump_profile(workload)
            write_atomic(folder / name, text, "--write-workloads")
            written.append(folder / name)
    typer.echo(f"wrote {len(written)} workload(s) to {folder}", err=True)
    return written


def run_org(
    *,
    accounts: list[str] | None,
    regions: list[str] | None,
    role_name: str,
    days: float,
    log_group_prefix: str,
    workers: int,
    s3: S3Sources,
    log_archive_account: str | None,
    base_workload: Path | None,
    write_dir: Path | None,
    output: str,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    show_progress: bool,
) -> None:
    """``measure --org``: check every option, measure, print, then write the workloads."""
    from costcompare.aws import AwsContext, resolve_region
    from costcompare.errors import MeasureError
    from costcompare.files import check_output_folder
    from costcompare.orgmeasure import check_org_options, measure_org
    from costcompare.orgsources import check_s3_sources
    from costcompare.progress import progress_bar
    from costcompare.workload import load_profile

    wanted = [r for r in regions or [] if r]
    check_org_options(accounts or [], wanted, role_name, days)
    check_s3_sources(s3, log_archive_account)
    if not 1 <= workers <= 64:
        raise MeasureError(f"--workers {workers}", "give 1 to 64 accounts at a time")
    base = load_profile(base_workload)
    if write_dir:
        check_output_folder(write_dir, "--write-workloads")  # before measuring, not after
    home = resolve_region(region, profile) or next((r for r in wanted if r != "all"), None)
    aws = AwsContext(region=home, profile=profile, endpoint_url=endpoint_url)
    wanted = wanted or ([home] if home else [])
    if not wanted:
        raise MeasureError("no region to measure", "pass --regions R1,R2 (or all) or --region")
    with progress_bar(show_progress) as bar:
        result = measure_org(
            aws,
            wanted,
            accounts=accounts,
            role_name=role_name,
            days=days,
            log_group_prefix=log_group_prefix,
            workers=workers,
            s3=s3,
            log_archive_account=log_archive_account,
            progress=bar,
        )
    typer.echo(render_org(result, output), nl=False)
    if write_dir:
        write_workloads(result, base, write_dir)
