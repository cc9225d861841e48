"""``costcompare estimate``, ``chart`` and ``schema``: the commands over an Estimate.

Thin: parse options (shared ones from ``costcompare.options``), call the library, print. The root
app in ``costcompare.cli`` registers them and turns domain errors into one line and exit 2.
"""

# No ``from __future__ import annotations`` here: typer reads these commands' annotations, and
# as strings it would compile and evaluate ~130 of them on every start-up (~15 ms, issue 13).
import functools
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from costcompare import options as opt
from costcompare.errors import WorkloadError

ESTIMATE_EXAMPLES = opt.examples(
    """
    costcompare estimate                          # the bundled Tokyo default
    costcompare estimate -w measured.yaml --explain
    costcompare estimate --region us-east-1 --instances 1000 -o json
    costcompare estimate -d s3,both --months 12 -o markdown --out cost.md
    costcompare estimate --currency JPY --fx-rate 150
    costcompare estimate --preset pci-dss-10.5.1 -d both --explain
    costcompare estimate --logs-endpoint existing \\
    --s3-lifecycle none --athena-scope window
    """
)


def estimate(
    workload_file: opt.Workload = None,
    region: opt.Region = None,
    destination: opt.Destinations = None,
    months: Annotated[
        int | None, typer.Option(metavar="N", help="Projection horizon in months.")
    ] = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    output: opt.output_option(*opt.OutputFormat) = opt.OutputFormat.table,
    out: opt.Out = None,
    explain: Annotated[
        bool, typer.Option(help="Show every line as quantity × unit price = cost, with source.")
    ] = False,
    wide: opt.Wide = False,
    currency: opt.Currency = "USD",
    fx_rate: opt.FxRate = None,
    weights: opt.Weights = None,
    weight: opt.Weight = None,
    instances: opt.Instances = None,
    sessions_per_instance_per_day: Annotated[
        float | None, typer.Option(metavar="N", help="Sessions per instance per day.")
    ] = None,
    searches_from: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="A saved `costcompare search -o json` result: its measured cost and time per "
            "search replace the modelled ones.",
        ),
    ] = None,
    sessions_per_month: Annotated[
        float | None,
        typer.Option(metavar="N", help="Total sessions per month (overrides the two above)."),
    ] = None,
    session_bytes: Annotated[
        float | None, typer.Option(metavar="BYTES", help="Mean transcript bytes per session.")
    ] = None,
    monthly_ingest_gb: Annotated[
        float | None,
        typer.Option(metavar="GB", help="CloudWatch ingestion GB/month (overrides the estimate)."),
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option(metavar="DAYS", help="Days logs are kept.")
    ] = None,
    searches_per_month: Annotated[
        float | None, typer.Option(metavar="N", help="Searches auditors run per month.")
    ] = None,
    search_window_days: Annotated[
        float | None, typer.Option(metavar="DAYS", help="Days of logs each search covers.")
    ] = None,
    growth_pct_per_month: Annotated[
        float | None,
        typer.Option(metavar="PCT", help="Volume growth, % per month: above -100, at most 100."),
    ] = None,
    compression_ratio: Annotated[
        float | None,
        typer.Option(metavar="RATIO", help="CloudWatch archived ÷ ingested bytes (AWS: 0.15)."),
    ] = None,
    cloudwatch_overhead_ratio: Annotated[
        float | None,
        typer.Option(metavar="RATIO", help="Streamed JSON bytes ÷ transcript bytes."),
    ] = None,
    availability_zones: Annotated[
        int | None,
        typer.Option("--azs", metavar="N", help="Availability Zones with interface endpoints."),
    ] = None,
    kms: Annotated[
        bool | None, typer.Option("--kms/--no-kms", help="Encrypt the logs with a KMS key.")
    ] = None,
    vpc_endpoints: Annotated[
        bool | None,
        typer.Option(
            "--vpc-endpoints/--no-vpc-endpoints", help="Instances reach AWS via VPC endpoints."
        ),
    ] = None,
    streaming: Annotated[
        bool | None,
        typer.Option(
            "--streaming/--no-streaming", help="Stream to CloudWatch (else at session end)."
        ),
    ] = None,
    free_tier: Annotated[
        bool | None,
        typer.Option("--free-tier/--no-free-tier", help="Apply the always-free tier."),
    ] = None,
    logs_endpoint: Annotated[
        str | None,
        typer.Option(
            metavar="new|existing|nat|public",
            help="How data reaches CloudWatch Logs: new (a logs endpoint per AZ), existing "
            "(data processing only), nat (per GB), public.",
        ),
    ] = None,
    s3_endpoint: Annotated[
        str | None,
        typer.Option(
            metavar="gateway|nat|interface",
            help="How uploads reach S3: gateway (free), nat (per GB), interface.",
        ),
    ] = None,
    kms_rotation: Annotated[
        bool | None,
        typer.Option(
            "--kms-rotation/--no-kms-rotation", help="Bill rotated key versions (on by default)."
        ),
    ] = None,
    kms_rotation_days: Annotated[
        int | None, typer.Option(metavar="DAYS", help="KMS rotation period, 90-2560 days.")
    ] = None,
    athena_scope: Annotated[
        str | None,
        typer.Option(
            metavar="prefix|window",
            help="What a search scans: prefix (every object) or window (date-keyed).",
        ),
    ] = None,
    s3_lifecycle: Annotated[
        str | None,
        typer.Option(
            metavar="none|CLASS:DAYS",
            help="S3 lifecycle: none, or CLASS:DAYS,… e.g. GLACIER_IR:90.",
        ),
    ] = None,
    draws: opt.Draws = None,
    seed: opt.Seed = None,
    preset: opt.Preset = None,
    old_profile: opt.WorkloadAsProfile = None,
    old_destinations: opt.DestinationsOld = None,
) -> None:
    """Compare the monthly and horizon cost of each log destination for a workload.

    The verdict names the assumptions that decide it and the value at which the cheapest
    destination changes; the bands give P10/P50/P90 cost and the chance each is cheapest.
    """
    from costcompare.comparison import estimate as run_estimate
    from costcompare.files import check_output_file, write_atomic
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import render
    from costcompare.searchability import load_weights
    from costcompare.workload import load_profile, parse_lifecycle

    workload_file = opt.deprecated(workload_file, old_profile, "--profile", "--workload")
    destination = opt.deprecated(destination, old_destinations, "--destinations", "--destination")
    if out:
        check_output_file(out, "--out")  # before any work: a bad --out fails fast
    money = opt.money(currency, fx_rate)
    search_weights = load_weights(weights, weight)
    workload = load_profile(opt.find_workload(workload_file)).with_overrides(
        logs_endpoint=logs_endpoint,
        s3_endpoint=s3_endpoint,
        kms_rotation=kms_rotation,
        kms_rotation_days=kms_rotation_days,
        athena_scan_scope=athena_scope,
        s3_lifecycle=None if s3_lifecycle is None else parse_lifecycle(s3_lifecycle),
        region=region,
        horizon_months=months,
        instances=instances,
        sessions_per_instance_per_day=sessions_per_instance_per_day,
        sessions_per_month=sessions_per_month,
        session_bytes=session_bytes,
        monthly_ingest_gb=monthly_ingest_gb,
        retention_days=retention_days,
        searches_per_month=searches_per_month,
        search_window_days=search_window_days,
        growth_pct_per_month=growth_pct_per_month,
        compression_ratio=compression_ratio,
        cloudwatch_overhead_ratio=cloudwatch_overhead_ratio,
        availability_zones=availability_zones,
        kms=kms,
        vpc_endpoints=vpc_endpoints,
        streaming=streaming,
        free_tier=free_tier,
    )
    run = functools.partial(
        run_estimate,
        destinations=opt.split_names(destination),
        pricing_date=parse_date(pricing_date, "--pricing-date"),
        table=load_table(pricing_file),
        weights=search_weights,
    )
    result = _estimate(run, workload, preset, retention_days, s3_lifecycle)
    if searches_from:
        _apply_searches(result, searches_from)
    _verdict_and_bands(result, draws, seed)
    text = render(result, output.value, money=money, explain=explain, wide=wide)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


def _estimate(run, workload, preset: str | None, retention_days, s3_lifecycle):
    """The estimate, with --preset applied (its library is imported only then); the explicit
    --retention-days/--s3-lifecycle are checked against the preset's minimums."""
    if not preset:
        return run(workload)
    from costcompare.presets import estimate_with_preset

    return estimate_with_preset(preset, workload, run, retention_days, s3_lifecycle)


CHART_EXAMPLES = opt.examples(
    """
    costcompare chart --out-dir charts/           # the bundled Tokyo default
    costcompare chart --report review.html        # one page, charts inline
    costcompare chart -w measured.yaml --out-dir review/ --report review/r.md
    costcompare chart --out-dir charts/ --format svg --weight alerting=4
    costcompare chart --report pci.html --preset pci-dss-10.5.1
    """
)


class ChartFormat(StrEnum):
    png = "png"
    svg = "svg"


def _inside_new_out_dir(report: Path, out: Path | None) -> bool:
    """True when ``--report`` goes into the ``--out-dir`` that chart is about to create.

    ``chart --out-dir charts/ --report charts/report.md`` on a fresh machine is the documented
    use: the folder does not exist yet, and the ``--out-dir`` check already proved it can be made.
    """
    if out is None or out.exists():
        return False
    return Path(os.path.abspath(report.parent)) == Path(os.path.abspath(out))


def chart(
    out_dir: opt.OutDir = None,
    workload_file: opt.Workload = None,
    region: opt.Region = None,
    fmt: Annotated[
        ChartFormat, typer.Option("--format", metavar="png|svg", help="Image format.")
    ] = ChartFormat.png,
    report: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Also write a one-page report: .html (self-contained) or .md (links the charts).",
        ),
    ] = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    weights: opt.Weights = None,
    weight: opt.Weight = None,
    currency: opt.Currency = "USD",
    fx_rate: opt.FxRate = None,
    old_profile: opt.WorkloadAsProfile = None,
    old_out: Annotated[
        Path | None, typer.Option("--out", hidden=True, help="Old name of --out-dir.")
    ] = None,
    draws: opt.Draws = None,
    seed: opt.Seed = None,
    preset: opt.Preset = None,
) -> None:
    """Draw cost vs searchability, cost breakdown, cost over time, the break-even map and the
    cost bands."""
    import matplotlib

    matplotlib.use("Agg")
    from costcompare.charts import chart_drawers, write_charts
    from costcompare.comparison import estimate as run_estimate
    from costcompare.files import check_output_file, check_output_folder, write_atomic
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import design_review_markdown
    from costcompare.searchability import load_weights
    from costcompare.workload import load_profile

    workload_file = opt.deprecated(workload_file, old_profile, "--profile", "--workload")
    out = opt.deprecated(out_dir, old_out, "--out", "--out-dir")
    html_report = report is not None and report.suffix.lower() in (".html", ".htm")
    if out is None and not html_report:
        raise WorkloadError(
            "no folder for the charts", "pass --out-dir DIR (or --report FILE.html)"
        )
    if out is not None:
        check_output_folder(out, "--out-dir")  # every output target first: no work, nothing lost
    if report and not _inside_new_out_dir(report, out):
        check_output_file(report, "--report")
    money = opt.money(currency, fx_rate)
    search_weights = load_weights(weights, weight)
    workload = load_profile(opt.find_workload(workload_file)).with_overrides(region=region)
    run = functools.partial(
        run_estimate,
        pricing_date=parse_date(pricing_date, "--pricing-date"),
        table=load_table(pricing_file),
        weights=search_weights,
    )
    result = _estimate(run, workload, preset, None, None)
    _verdict_and_bands(result, draws, seed)
    drawers = chart_drawers(result, money)
    paths = write_charts(result, out, fmt=fmt.value, money=money, drawers=drawers) if out else {}
    for path in paths.values():
        typer.echo(f"wrote {path}")
    if html_report:
        from costcompare.html_report import design_review_html, svg_texts

        write_atomic(report, design_review_html(result, svg_texts(drawers), money), "--report")
        typer.echo(f"wrote {report}")
    elif report:
        write_atomic(report, design_review_markdown(result, paths, report, money), "--report")
        typer.echo(f"wrote {report}")


def _apply_searches(result, path: Path) -> None:
    """Measured searches (``--searches-from``) replace the modelled figures per search."""
    from costcompare.search.result import load_measured
    from costcompare.searchability import apply_measured

    measured = load_measured(path)
    changed = apply_measured(result.searchability, measured, result.workload.searches_per_month)
    if changed:
        result.notes.append(
            f"Cost and time per search of {', '.join(changed)} are measured ({path}); the "
            "cost lines still model searches over the workload's volumes."
        )


def _verdict_and_bands(result, draws: int | None, seed: int | None) -> None:
    """Attach the verdict's conditions and (unless ``draws`` is 0) the uncertainty bands."""
    from costcompare import bands, verdict

    draws = bands.DEFAULT_DRAWS if draws is None else draws
    seed = bands.DEFAULT_SEED if seed is None else seed
    if draws < 0:
        raise WorkloadError(f"--draws is {draws}", "use 0 (no bands) or more, e.g. --draws 10000")
    verdict.attach(result)
    if draws:
        bands.attach(result, draws=draws, seed=seed)


SCHEMA_EXAMPLES = opt.examples(
    """
    costcompare schema > estimate.schema.json
    costcompare estimate -o json --out estimate.json      # valid against it
    """
)


def schema() -> None:
    """Print the JSON Schema of `estimate -o json` (the scripting contract)."""
    import json

    from costcompare.report import estimate_schema

    typer.echo(json.dumps(estimate_schema(), indent=2))
