"""``costcompare measure``: parse options, call the measure library, print, write the profile."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare import options as opt
from costcompare.errors import MeasureError

MEASURE_EXAMPLES = opt.examples(
    """
    costcompare measure --path ./logs --days 14 --write-workload measured.yaml
    aws s3 sync s3://my-ssm-logs/sessions/ ./logs
    costcompare measure --path ./logs --file-times   # sync keeps upload times
    costcompare measure --s3 s3://my-ssm-logs/sessions/ --region ap-northeast-1
    costcompare measure --log-group /ssm/sessions --days 14 -o json
    costcompare measure --s3-inventory ./inventory/2025-03-01/manifest.json
    costcompare measure --engine athena --workgroup primary \\
    --table s3_inventory.ssm_logs --inventory-prefix sessions/
    costcompare measure --s3 s3://ssm-logs/ --log-group /ssm/sessions \\
    --write-workload m.yaml
    costcompare estimate -w m.yaml
    costcompare measure --org --regions ap-northeast-1,us-east-1 \\
    --write-workloads org/
    costcompare measure --org --accounts 111111111111,222222222222 \\
    --role-name AuditRole -o json
    costcompare measure --org --regions all \\
    --s3-bucket-pattern 'ssm-logs-{account}-{region}/sessions'
    costcompare measure --org --s3-central 's3://log-archive/ssm/{account}/' \\
    --log-archive-account 333333333333 --write-workloads org/
    """
)


def measure_command(
    path: opt.Paths = None,
    s3: opt.S3Prefixes = None,
    s3_inventory: Annotated[
        list[str] | None,
        typer.Option(
            metavar="MANIFEST",
            help="S3 Inventory manifest.json (local path or s3://), CSV or Parquet.",
        ),
    ] = None,
    log_group: opt.LogGroups = None,
    engine: Annotated[
        opt.SqlEngine,
        typer.Option(
            metavar="duckdb|athena",
            help="Where the inventory SQL runs: duckdb on --s3-inventory files (local), athena "
            "on --table (in the account).",
        ),
    ] = opt.SqlEngine.duckdb,
    workgroup: opt.AthenaWorkgroup = "primary",
    table: Annotated[
        str | None,
        typer.Option(
            metavar="DB.TABLE",
            help="--engine athena: the Athena table over one S3 Inventory report.",
        ),
    ] = None,
    query_output: opt.AthenaQueryOutput = None,
    inventory_prefix: Annotated[
        str,
        typer.Option(
            metavar="PREFIX", help="Only inventory keys under this prefix (the sessions' prefix)."
        ),
    ] = "",
    days: Annotated[
        float | None,
        typer.Option(
            metavar="DAYS",
            help="CloudWatch: measure the last N days (default 30). Local: the days the logs "
            "cover, needed when transcripts carry no dates.",
        ),
    ] = None,
    file_times: opt.FileTimes = False,
    sample: Annotated[
        int, typer.Option(metavar="N", help="S3/CloudWatch: objects or sessions read for content.")
    ] = 50,
    sample_mb: Annotated[
        int | None,
        typer.Option(
            metavar="MB",
            help="MB of transcripts gzipped and stream-simulated. Local default: 1/512 of "
            "the corpus, 1 to 32 MB; S3 default: 32 MB over the sampled objects.",
        ),
    ] = None,
    instances: opt.Instances = None,
    workload_file: Annotated[
        Path | None,
        typer.Option(
            "--workload",
            "-w",
            metavar="FILE",
            envvar=opt.WORKLOAD_ENV,
            help="Workload whose unmeasured keys to keep (default: the bundled one).",
        ),
    ] = None,
    write_workload: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="Write the measured workload profile YAML here."),
    ] = None,
    output: opt.output_option(opt.OutputFormat.table, opt.OutputFormat.json) = (
        opt.OutputFormat.table
    ),
    profile: opt.AwsProfile = None,
    region: opt.AwsRegion = None,
    endpoint_url: opt.EndpointUrl = None,
    seed: Annotated[int, typer.Option(metavar="N", help="Seed of the random samples.")] = 0,
    progress: opt.Progress = None,
    org: Annotated[
        bool,
        typer.Option(
            "--org", help="Every account of the AWS Organization (assumes --role-name in each)."
        ),
    ] = False,
    accounts: Annotated[
        list[str] | None,
        typer.Option(metavar="ID[,ID]", help="--org: only these accounts (default: all)."),
    ] = None,
    regions: Annotated[
        list[str] | None,
        typer.Option(metavar="R[,R]|all", help="--org: regions to read (default: --region)."),
    ] = None,
    role_name: Annotated[
        str, typer.Option(metavar="NAME", help="--org: the role assumed in every account.")
    ] = "OrganizationAccountAccessRole",
    log_group_prefix: Annotated[
        str, typer.Option(metavar="PREFIX", help="--org: only log groups named like this.")
    ] = "",
    workers: Annotated[
        int, typer.Option(metavar="N", help="--org: accounts measured at a time.")
    ] = 8,
    s3_discover: Annotated[
        bool,
        typer.Option(
            "--s3-discover/--no-s3-discover",
            help="--org: measure the S3 bucket/prefix each account × region's Session Manager "
            "preferences (SSM-SessionManagerRunShell) name.",
        ),
    ] = True,
    s3_bucket_pattern: Annotated[
        str,
        typer.Option(
            metavar="PATTERN",
            help="--org: a bucket per account, e.g. 'ssm-logs-{account}-{region}/prefix'.",
        ),
    ] = "",
    s3_central: Annotated[
        str,
        typer.Option(
            metavar="S3URI",
            help="--org: a central bucket, a prefix per account: 's3://archive/ssm/{account}/' "
            "(listed, or read from its --s3-inventory).",
        ),
    ] = "",
    log_archive_account: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            help="--org: read --s3-central through --role-name in this account "
            "(default: the caller's credentials).",
        ),
    ] = None,
    write_workloads: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", help="--org: a workload per account × region and a fleet one per region."
        ),
    ] = None,
    base_profile: Annotated[
        Path | None, typer.Option("--base-profile", hidden=True, help="Old name of --workload.")
    ] = None,
    write_profile: Annotated[
        Path | None,
        typer.Option("--write-profile", hidden=True, help="Old name of --write-workload."),
    ] = None,
) -> None:
    """Measure real session volumes and write the workload profile that `estimate` reads."""
    base_profile = opt.deprecated(workload_file, base_profile, "--base-profile", "--workload")
    show = sys.stderr.isatty() if progress is None else progress
    if org:
        if path or s3 or table or log_group or write_workload or write_profile:
            raise MeasureError(
                "--org reads every account's log groups itself",
                "drop --path/--s3/--table/--log-group/--write-workload "
                "(use --log-group-prefix, --write-workloads)",
            )
        from costcompare.orgmeasure_cli import run_org
        from costcompare.orgsources import S3Sources

        run_org(
            accounts=opt.split_names(accounts),
            regions=opt.split_names(regions),
            role_name=role_name,
            days=30 if days is None else days,  # --days 0 is refused, not the default
            log_group_prefix=log_group_prefix,
            workers=workers,
            s3=S3Sources(s3_discover, s3_bucket_pattern, s3_central, tuple(s3_inventory or ())),
            log_archive_account=log_archive_account,
            base_workload=base_profile,
            write_dir=write_workloads,
            output=output.value,
            profile=profile,
            region=region,
            endpoint_url=endpoint_url,
            show_progress=show,
        )
        return
    org_only = (accounts, regions, write_workloads, s3_bucket_pattern, s3_central)
    if any(org_only) or log_archive_account:
        raise MeasureError(
            "--accounts, --regions, --s3-bucket-pattern, --s3-central, --log-archive-account "
            "and --write-workloads go with --org",
            "add --org",
        )
    write_profile = opt.deprecated(
        write_workload, write_profile, "--write-profile", "--write-workload"
    )
    athena = _athena_inventory(engine, workgroup, table, query_output, s3_inventory)
    sources = _Sources(
        path or [], s3 or [], s3_inventory or [], log_group or [], inventory_prefix, athena
    )
    _check_single_account(sources, days, sample, sample_mb, write_profile)
    from costcompare.measure import AwsOptions, render_table, to_json

    aws = AwsOptions(profile=profile, region=region, endpoint_url=endpoint_url)
    sampling = _Sampling(days, file_times, sample, sample_mb << 20 if sample_mb else None, seed)
    results = _measure_sources(sources, aws, sampling, show)
    workload = None
    if write_profile:
        region_measured = aws.region if sources.on_aws else None  # the flag's or env's region
        workload = _write_workload(results, base_profile, instances, region_measured, write_profile)
    if output is opt.OutputFormat.json:
        typer.echo(to_json(results, workload), nl=False)
    else:
        typer.echo(render_table(results), nl=False)


@dataclass(frozen=True)
class _Sources:
    """What one account's measurement reads: local folders, S3 prefixes, inventories, groups."""

    paths: list[Path]
    s3: list[str]
    inventories: list[str]
    log_groups: list[str]
    inventory_prefix: str
    athena: _AthenaInventory | None = None

    @property
    def on_aws(self) -> bool:
        return bool(self.s3 or self.inventories or self.log_groups or self.athena)


@dataclass(frozen=True)
class _AthenaInventory:
    """--engine athena: the inventory table, the workgroup and where results go."""

    table: str
    workgroup: str
    output: str | None


def _athena_inventory(
    engine: opt.SqlEngine,
    workgroup: str,
    table: str | None,
    output: str | None,
    manifests: list[str] | None,
) -> _AthenaInventory | None:
    """--engine athena needs --table DB.TABLE, and reads no manifest; the Athena flags go
    with --engine athena only."""
    if engine is opt.SqlEngine.duckdb:
        if table or output or workgroup != "primary":
            raise MeasureError(
                "--table, --workgroup and --query-output go with --engine athena",
                "add --engine athena (or drop them to read --s3-inventory files locally)",
            )
        return None
    from costcompare.measure.inventory_athena import check_table

    if manifests:
        raise MeasureError(
            "--engine athena reads the inventory table, not --s3-inventory files",
            "drop --s3-inventory (DuckDB reads those) or drop --engine athena",
        )
    if table is None:
        raise MeasureError("--engine athena needs --table DB.TABLE", "name the inventory table")
    from costcompare.athena import check_query_output

    return _AthenaInventory(check_table(table), workgroup, check_query_output(output, MeasureError))


@dataclass(frozen=True)
class _Sampling:
    """How much to read of each source: the window, the sample sizes and their seed."""

    days: float | None
    file_times: bool
    sample: int
    sample_bytes: int | None
    seed: int


def _check_single_account(
    sources: _Sources,
    days: float | None,
    sample: int,
    sample_mb: int | None,
    write_profile: Path | None,
) -> None:
    """Refuse bad input before anything is read (and before a long measurement is wasted)."""
    if not (sources.paths or sources.on_aws):
        raise MeasureError(
            "nothing to measure", "give --path, --s3, --s3-inventory (or --table) or --log-group"
        )
    if sample < 1 or (sample_mb is not None and sample_mb < 1):
        raise MeasureError("--sample and --sample-mb must be at least 1", "pass a positive number")
    if days is not None and not 0 < days <= 3653:
        raise MeasureError(f"--days {days:g}", "give a number of days from 1 to 3653")
    if write_profile:
        from costcompare.files import check_output_file

        check_output_file(write_profile, "--write-workload")  # before measuring, not after


def _measure_sources(sources: _Sources, aws: Any, sampling: _Sampling, show: bool) -> list:
    """One measurement per source, in the order the kinds are listed in ``--help``."""
    from costcompare.measure import (
        measure_cloudwatch,
        measure_inventory,
        measure_local,
        measure_s3,
    )
    from costcompare.measure.cloudwatch import DEFAULT_DAYS
    from costcompare.progress import progress_bar

    seed, sample_bytes = sampling.seed, sampling.sample_bytes
    results = []
    with progress_bar(show) as bar:
        for folder in sources.paths:
            results.append(
                measure_local(
                    folder,
                    days=sampling.days,
                    file_times=sampling.file_times,
                    sample_bytes=sample_bytes,
                    seed=seed,
                    progress=bar,
                )
            )
        for uri in sources.s3:
            budget = {"sample_bytes": sample_bytes} if sample_bytes else {}
            results.append(
                measure_s3(uri, aws, sample=sampling.sample, seed=seed, progress=bar, **budget)
            )
        for manifest in sources.inventories:
            results.append(
                measure_inventory(manifest, aws, prefix=sources.inventory_prefix, progress=bar)
            )
        if sources.athena:
            from costcompare.measure.inventory_athena import measure_inventory_athena

            on = sources.athena
            results.append(
                measure_inventory_athena(
                    on.table,
                    on.workgroup,
                    aws,
                    prefix=sources.inventory_prefix,
                    output=on.output,
                    progress=bar,
                )
            )
        for group in sources.log_groups:
            days = sampling.days or DEFAULT_DAYS
            results.append(
                measure_cloudwatch(
                    group, aws, days=days, sample=sampling.sample, seed=seed, progress=bar
                )
            )
    return results


def _write_workload(
    results: list,
    base_profile: Path | None,
    instances: int | None,
    region: str | None,
    target: Path,
) -> Any:
    """The measured workload (base profile + measured keys), written atomically with a header
    that says when and from what it was measured."""
    from costcompare.files import write_atomic
    from costcompare.measure import to_workload
    from costcompare.workload import dump_profile, load_profile

    workload, comments = to_workload(
        results, load_profile(base_profile), instances=instances, region=region
    )
    sources = ", ".join(m.source for m in results)
    header = (
        f"# Workload profile measured by `costcompare measure` on {dt.date.today()}\n"
        f"# from: {sources}\n"
        "# Keys with a comment were measured; the others come from the base profile.\n"
    )
    write_atomic(target, header + dump_profile(workload, comments), "--write-workload")
    typer.echo(f"wrote {target}", err=True)
    return workload
