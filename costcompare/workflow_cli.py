"""``costcompare init`` (a commented workload file) and ``costcompare diff A B`` (two estimates).

Thin: parse options, call ``costcompare.template`` / ``costcompare.estimate_diff``, print.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from costcompare import options as opt
from costcompare.errors import WorkloadError

INIT_EXAMPLES = opt.examples(
    """
    costcompare init                     # ./costcompare.yaml, read by estimate
    costcompare init my-fleet.yaml
    costcompare init -w measured.yaml annotated.yaml   # with every comment added
    costcompare estimate -w my-fleet.yaml
    """
)


def init_command(
    path: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="Where to write it (default: ./costcompare.yaml)."),
    ] = Path(opt.DISCOVERED_WORKLOAD),
    workload_file: opt.Workload = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write a workload file: every key, its default, and where that number comes from."""
    from costcompare.files import write_atomic
    from costcompare.template import workload_template
    from costcompare.workload import load_profile

    if path.exists() and not force:
        raise WorkloadError(f"{path} already exists", "pass --force to overwrite it, or a new FILE")
    base = load_profile(workload_file) if workload_file else None
    write_atomic(path, workload_template(base), option="FILE")
    typer.echo(f"wrote {path}; edit it, then: costcompare estimate -w {path}", err=True)


DIFF_EXAMPLES = opt.examples(
    """
    costcompare diff today.yaml next-year.yaml
    costcompare estimate -o json --out q1.json        # save an estimate ...
    costcompare diff q1.json costcompare.yaml         # ... and compare later
    costcompare diff a.yaml b.yaml -d s3,cloudwatch -o json
    """,
    """
Each side is a workload YAML (estimated with the same prices)
or a saved `estimate -o json`.
""",
)


def _side(path: Path, estimate_workload) -> dict[str, Any]:
    """A saved JSON estimate as it is, or a workload file estimated now."""
    if path.suffix.lower() == ".json":
        from costcompare.files import read_json

        data = read_json(
            path,
            what="saved estimate",
            error=WorkloadError,
            fix="give a file written by `costcompare estimate -o json --out FILE`",
        )
        if not isinstance(data, dict) or not {"destinations", "baseline"} <= data.keys():
            raise WorkloadError(
                f"{path} is not a saved estimate",
                "give a file written by `costcompare estimate -o json --out FILE`",
            )
        return data
    return estimate_workload(path)


def diff_command(
    before: Annotated[Path, typer.Argument(metavar="A", help="Workload YAML or saved JSON.")],
    after: Annotated[Path, typer.Argument(metavar="B", help="Workload YAML or saved JSON.")],
    destination: opt.Destinations = None,
    pricing_date: opt.PricingDate = None,
    pricing_file: opt.PricingFile = None,
    currency: opt.Currency = "USD",
    fx_rate: opt.FxRate = None,
    output: opt.output_option(opt.OutputFormat.table, opt.OutputFormat.json) = (
        opt.OutputFormat.table
    ),
    out: opt.Out = None,
) -> None:
    """Compare two estimates: what each destination costs more or less, line by line."""
    from costcompare.comparison import estimate as run_estimate
    from costcompare.estimate_diff import diff_estimates, to_text
    from costcompare.files import check_output_file, write_atomic
    from costcompare.pricing import load_table, parse_date
    from costcompare.report import to_json
    from costcompare.workload import load_profile

    if out:
        check_output_file(out, "--out")  # before estimating both sides
    money = opt.money(currency, fx_rate)
    table = load_table(pricing_file)
    when = parse_date(pricing_date, "--pricing-date")
    names = opt.split_names(destination)

    def estimate_workload(path: Path) -> dict[str, Any]:
        result = run_estimate(
            load_profile(path), destinations=names, pricing_date=when, table=table
        )
        return json.loads(to_json(result))

    sides = [_side(path, estimate_workload) for path in (before, after)]
    if names:
        for side in sides:
            side["destinations"] = [d for d in side["destinations"] if d["name"] in names]
    diff = diff_estimates(*sides, labels=(str(before), str(after)))
    if output is opt.OutputFormat.json:
        text = json.dumps(diff.as_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    else:
        text = to_text(diff, money)
    if out:
        write_atomic(out, text)
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)
