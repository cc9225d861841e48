"""``costcompare search``: parse options, run the search library, print or save the result."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from costcompare import options as opt

SEARCH_EXAMPLES = opt.examples(
    """
    costcompare search sudo --path notebooks/data/sample-sessions/s3
    costcompare search 'rm -rf' -F --path ./session-logs --user alice -o json
    costcompare search 'sudo su' --s3 s3://my-ssm-logs/sessions/ --since 7d
    costcompare search sudo --athena-table ssm_session_logs.session_lines
    costcompare search passwd --log-group /ssm/sessions \\
    --since 2025-03-01 --until 2025-03-02
    costcompare search sudo --log-group /ssm/sessions -o json --out search.json
    costcompare estimate --searches-from search.json
    """,
    """
Exit codes: 0 searched, 2 bad input or every backend failed,
3 some backends failed (the others' results are printed).
""",
)

PARTIAL_FAILURE_EXIT = 3


class CloudWatchApi(StrEnum):
    auto = "auto"
    insights = "insights"
    filter = "filter"


def search_command(
    pattern: Annotated[
        str, typer.Argument(metavar="PATTERN", help="Regular expression (or text with -F).")
    ],
    path: opt.Paths = None,
    s3: opt.S3Prefixes = None,
    athena_table: Annotated[
        str | None, typer.Option(metavar="DB.TABLE", help="Athena table of transcript lines.")
    ] = None,
    athena_workgroup: Annotated[
        str, typer.Option(metavar="NAME", help="Athena workgroup [costcompare].")
    ] = "costcompare",
    athena_output: Annotated[
        str | None,
        typer.Option(
            metavar="S3URI", help="s3:// location for Athena results (if the workgroup has none)."
        ),
    ] = None,
    log_group: opt.LogGroups = None,
    cloudwatch_api: Annotated[
        CloudWatchApi,
        typer.Option(help="auto: FilterLogEvents for ≤ 1 h or one session, else Logs Insights."),
    ] = CloudWatchApi.auto,
    since: opt.Since = None,
    until: opt.Until = None,
    user: opt.User = None,
    instance: opt.Instance = None,
    session: Annotated[str | None, typer.Option(metavar="ID", help="Only this session id.")] = None,
    fixed_strings: Annotated[
        bool, typer.Option("--fixed-strings", "-F", help="PATTERN is text, not a regex.")
    ] = False,
    ignore_case: Annotated[
        bool, typer.Option("--ignore-case", "-i", help="Match regardless of case.")
    ] = False,
    file_times: opt.FileTimes = False,
    max_objects: Annotated[
        int,
        typer.Option(metavar="N", help="S3 scan: refuse prefixes with more transcripts than this."),
    ] = 10_000,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds to wait for an Athena/Insights query.")
    ] = 300,
    output: opt.output_option(
        opt.OutputFormat.table, opt.OutputFormat.json, opt.OutputFormat.csv
    ) = opt.OutputFormat.table,
    out: opt.Out = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    profile: opt.AwsProfile = None,
    region: opt.AwsRegion = None,
    endpoint_url: opt.EndpointUrl = None,
    progress: opt.Progress = None,
    wide: opt.Wide = False,
) -> None:
    """Search session logs for a command or text, and measure what the search cost.

    Prints the matching sessions (who, where, when) with their matching lines, and per backend
    the measured time to result, bytes scanned and cost, priced from the model's price table.
    """
    from costcompare.files import check_output_file, write_atomic
    from costcompare.pricing import load_table, parse_date
    from costcompare.progress import progress_bar
    from costcompare.search.awsutil import AwsOptions
    from costcompare.search.cloudwatch import LogGroupTarget
    from costcompare.search.query import SearchError, SearchQuery, parse_time
    from costcompare.search.result import render
    from costcompare.search.run import Sources, run_search
    from costcompare.search.s3 import AthenaTarget

    if max_objects < 1 or timeout <= 0:
        raise SearchError("--max-objects and --timeout must be positive")
    if out:
        check_output_file(out, "--out")  # before searching, not after
    query = SearchQuery(
        pattern,
        fixed=fixed_strings,
        ignore_case=ignore_case,
        since=parse_time(since, "--since"),
        until=parse_time(until, "--until"),
        user=user,
        instance=instance,
        session=session,
    )
    athena = None
    if athena_table:
        athena = AthenaTarget(athena_table, athena_workgroup, athena_output, timeout)
    sources = Sources(
        paths=path or [],
        s3=s3 or [],
        athena=athena,
        log_groups=[LogGroupTarget(g, cloudwatch_api.value, timeout) for g in log_group or []],
        max_objects=max_objects,
        file_times=file_times,
    )
    table = load_table(pricing_file)
    aws = AwsOptions(profile=profile, region=region, endpoint_url=endpoint_url)
    show = sys.stderr.isatty() if progress is None else progress
    with progress_bar(show) as bar:
        result = run_search(
            query,
            sources,
            aws,
            table=table,
            pricing_date=parse_date(pricing_date, "--pricing-date"),
            progress=bar,
        )
    text = render(result, output.value, wide=wide)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)
    for failed in result.failed:
        typer.echo(f"error: {failed.source}: {failed.error}", err=True)
    if result.failed:
        raise typer.Exit(PARTIAL_FAILURE_EXIT)
