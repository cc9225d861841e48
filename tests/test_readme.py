"""The README's walk-throughs run as written on the tools the test extra installs."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def shell_blocks() -> list[str]:
    """Every fenced block of the README without a language (the shell walk-throughs)."""
    return re.findall(r"^```\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_walkthroughs_that_call_the_aws_cli_give_it_a_region():
    """The test extra's awscli is version 1, whose botocore reads AWS_DEFAULT_REGION, not
    AWS_REGION: a walk-through exporting only AWS_REGION made its buckets in us-east-1."""
    checked = 0
    for block in shell_blocks():
        exports = [line for line in block.splitlines() if line.startswith("export ")]
        calls_aws = re.search(r"^aws ", block, re.M)
        if not exports or not calls_aws:
            continue
        checked += 1
        assert any("AWS_DEFAULT_REGION=" in line for line in exports), block[:200]
    assert checked >= 2  # the measure --org and search walk-throughs
