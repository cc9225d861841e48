"""``costcompare presets``: the compliance presets, with the clause each follows and what it sets.

Thin: the presets are data (``costcompare/presets.yaml``), loaded and rendered by the library.
"""

from __future__ import annotations

import typer

from costcompare import options as opt

PRESETS_EXAMPLES = opt.examples(
    """
    costcompare presets
    costcompare presets -o json
    costcompare estimate --preset pci-dss-10.5.1 -d both --explain
    costcompare provision plan -d s3 --bucket acme-logs --preset worm
    """
)


def presets_command(
    output: opt.output_option(opt.OutputFormat.table, opt.OutputFormat.json) = (
        opt.OutputFormat.table
    ),
) -> None:
    """List the compliance presets: the clause each follows, its source and what it sets."""
    from costcompare import jsoncontract
    from costcompare.presets import listing, render_listing

    if output == opt.OutputFormat.json:
        typer.echo(jsoncontract.dumps({"presets": listing()}), nl=False)
    else:
        typer.echo(render_listing(), nl=False)
