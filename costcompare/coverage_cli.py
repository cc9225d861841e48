"""``costcompare coverage``: parse options, join CloudTrail with the destinations, print."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from costcompare import options as opt

COVERAGE_EXAMPLES = opt.examples(
    """
    costcompare coverage --cloudtrail ./trail-logs --path ./session-logs
    costcompare coverage --cloudtrail s3://org-trail/AWSLogs/ \\
    --s3 s3://my-ssm-logs/sessions/ --log-group /ssm/sessions \\
    --min-coverage 99
    costcompare coverage --cloudtrail ./trail --path ./logs --since 7d -o json
    """,
    "Exit codes: 0 coverage at or above --min-coverage, 1 below it, 2 bad input.",
)


def coverage_command(
    cloudtrail: Annotated[
        list[str],
        typer.Option(
            metavar="PATH|S3URI", help="CloudTrail log files: a local copy or s3:// prefix."
        ),
    ],
    s3: opt.S3Prefixes = None,
    log_group: opt.LogGroups = None,
    path: opt.Paths = None,
    since: opt.Since = None,
    until: opt.Until = None,
    user: opt.User = None,
    instance: opt.Instance = None,
    min_coverage: Annotated[
        float | None, typer.Option(metavar="PCT", help="Exit 1 when coverage (%) is below this.")
    ] = None,
    grace_hours: Annotated[
        float,
        typer.Option(
            metavar="HOURS",
            help="A session with no log and no end started this recently may still be running.",
        ),
    ] = 24,
    output: opt.output_option(
        opt.OutputFormat.table, opt.OutputFormat.json, opt.OutputFormat.csv
    ) = opt.OutputFormat.table,
    out: opt.Out = None,
    wide: opt.Wide = False,
    profile: opt.AwsProfile = None,
    region: opt.AwsRegion = None,
    endpoint_url: opt.EndpointUrl = None,
) -> None:
    """Check that every session CloudTrail saw start was recorded, per account, instance, user."""
    from costcompare.aws import AwsContext
    from costcompare.coverage import (
        CoverageError,
        Only,
        cloudwatch_arrivals,
        join,
        local_arrivals,
        read_trail,
        s3_arrivals,
    )
    from costcompare.coverage_report import render
    from costcompare.files import check_output_file, write_atomic
    from costcompare.search.query import SearchError, parse_time

    if min_coverage is not None and not (math.isfinite(min_coverage) and 0 <= min_coverage <= 100):
        raise CoverageError(f"--min-coverage {min_coverage:g}", "give a percentage from 0 to 100")
    only = Only(parse_time(since, "--since"), parse_time(until, "--until"), user, instance)
    if only.since is not None and only.until is not None and only.since >= only.until:
        raise SearchError("the window is empty: --since is not before --until", "widen it")
    if out:
        check_output_file(out, "--out")  # before reading the trail, not after
    aws = AwsContext(profile=profile, region=region, endpoint_url=endpoint_url)
    if not (path or s3 or log_group):
        raise CoverageError(
            "no destination to check", "give --s3, --log-group or --path (a local copy)"
        )
    trail = read_trail(list(cloudtrail), aws)
    destinations = [a for p in path or [] for a in local_arrivals(p)]
    destinations += [s3_arrivals(uri, aws) for uri in s3 or []]
    destinations += [cloudwatch_arrivals(group, aws) for group in log_group or []]
    if not (math.isfinite(grace_hours) and grace_hours >= 0):
        raise CoverageError(f"--grace-hours {grace_hours:g}", "give a number of hours ≥ 0")
    result = join(trail, destinations, only, grace_s=grace_hours * 3600)
    text = render(result, output.value, wide=wide)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)
    if min_coverage is not None and (result.percent or 0.0) < min_coverage:
        pct = "n/a" if result.percent is None else f"{result.percent:.1f}%"
        typer.echo(f"coverage {pct} is below --min-coverage {min_coverage:g}%", err=True)
        raise typer.Exit(1)
