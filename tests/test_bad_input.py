"""The bad-input corpus: every command, every kind of bad input, one promise.

The promise (README, "Bad input"): one line on stderr that names the input and says how to fix
it, exit code 2, no traceback, no output file changed or half-written, nothing new left behind.

To add a case, append a ``Case`` to one of the UPPER_CASE lists below, or start a list of your
own (any module-level UPPER_CASE list of ``Case`` is collected into ``CORPUS``):

    Case(
        "estimate-negative-instances",             # unique id, shown by pytest
        "estimate --instances -5 --out out.json",  # the command line after `costcompare`
        names="instances",                         # the error line must contain this
        files={"out.json": "{}"},                  # created under the case's folder first
    )

Every case runs in its own empty folder (the working directory): relative paths in the
command and ``files`` are inside it. ``files`` values are ``str`` (written as UTF-8) or
``bytes``; the harness checks that every one of them, and every other file in the folder, is
byte-identical afterwards and that no new file appeared. No case may need the network:
AWS-facing commands must fail on validation before any call (``conftest.py`` sets fake
credentials).
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costcompare.cli import app

PRICE_HEADER = (
    "price_key,service,region,usage_type,unit,tier_start,tier_end,usd_per_unit,"
    "effective_date,source,confidence\n"
)
PRICE_ROW = (
    "s3_put_requests,AmazonS3,us-east-1,Requests-Tier1,requests,0,,{price},2026-01-01,"
    "https://aws.amazon.com/s3/pricing/,A\n"
)


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, the files it needs, a word the error must name."""

    id: str
    command: str
    names: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # makes what ``files`` cannot (FIFOs, links)


def price_file(price: str = "0.000005") -> str:
    return PRICE_HEADER + PRICE_ROW.format(price=price)


ESTIMATE = [
    Case("estimate-missing-profile", "estimate --workload nope.yaml", "nope.yaml"),
    Case(
        "estimate-profile-not-yaml",
        "estimate --workload p.yaml",
        "p.yaml",
        files={"p.yaml": "region: [ap-northeast-1\ninstances: 3\n"},
    ),
    Case(
        "estimate-profile-unknown-key",
        "estimate --workload p.yaml",
        "regoin",
        files={"p.yaml": "regoin: us-east-1\n"},
    ),
    Case(
        "estimate-profile-not-a-mapping",
        "estimate --workload p.yaml",
        "p.yaml",
        files={"p.yaml": "- 1\n- 2\n"},
    ),
    Case(
        "estimate-profile-binary",
        "estimate --workload p.yaml",
        "p.yaml",
        files={"p.yaml": b"\xff\xfe\x00\x01\x80\x81"},
    ),
    Case("estimate-unknown-region", "estimate --region mars-1", "mars-1"),
    Case("estimate-negative-instances", "estimate --instances -5", "instances"),
    Case("estimate-growth-too-high", "estimate --growth-pct-per-month 1000", "at most 100"),
    Case("estimate-growth-shrinks-to-nothing", "estimate --growth-pct-per-month -100", "-100"),
    Case("estimate-unknown-destination", "estimate -d nowhere", "nowhere"),
    Case("estimate-retention-not-accepted", "estimate --retention-days 8", "8"),
    Case("estimate-bad-pricing-date", "estimate --pricing-date 2026-13-01", "2026-13-01"),
    Case("estimate-missing-pricing-file", "estimate --pricing-file p.csv", "p.csv"),
    Case(
        "estimate-missing-pricing-file-from-env",
        "estimate",
        "COSTCOMPARE_PRICING_FILE=nope.csv",
        env={"COSTCOMPARE_PRICING_FILE": "nope.csv"},
    ),
    Case(
        "estimate-missing-workload-from-env",
        "estimate",
        "nope.yaml",
        env={"COSTCOMPARE_WORKLOAD": "nope.yaml"},
    ),
    Case(
        "estimate-pricing-file-bad-header",
        "estimate --pricing-file p.csv",
        "header",
        files={"p.csv": "a,b,c\n1,2,3\n"},
    ),
    Case(
        "estimate-pricing-file-negative-price",
        "estimate --pricing-file p.csv",
        "usd_per_unit",
        files={"p.csv": price_file("-1")},
    ),
    Case(
        "estimate-pricing-file-nan-price",
        "estimate --pricing-file p.csv",
        "usd_per_unit",
        files={"p.csv": price_file("nan")},
    ),
    Case(
        "estimate-pricing-file-region-missing",
        "estimate --pricing-file p.csv --out out.json -o json",
        "ap-northeast-1",
        files={"p.csv": price_file(), "out.json": '{"kept": true}\n'},
    ),
    Case("estimate-currency-without-rate", "estimate --currency JPY", "--fx-rate"),
    Case("estimate-currency-not-a-code", "estimate --currency yen!", "yen!"),
    Case("estimate-missing-weights", "estimate --weights w.yaml", "w.yaml"),
    Case(
        "estimate-weights-negative",
        "estimate --weights w.yaml",
        "alerting",
        files={"w.yaml": "alerting: -1\n"},
    ),
    Case("estimate-weight-flag-no-equals", "estimate --weight alerting", "alerting"),
    Case(
        "estimate-out-in-missing-folder",
        "estimate --out missing/out.txt",
        "missing",
    ),
    Case(
        "estimate-out-is-a-folder",
        "estimate --out folder",
        "folder",
        files={"folder/keep.txt": "kept\n"},
    ),
    Case(
        "estimate-bad-input-keeps-existing-out",
        "estimate --instances -1 --out out.txt",
        "instances",
        files={"out.txt": "the previous estimate\n"},
    ),
]

CHART = [
    Case(
        "chart-out-is-a-file",
        "chart --out-dir charts",
        "charts",
        files={"charts": "not a folder\n"},
    ),
    Case(
        "chart-bad-profile-keeps-charts",
        "chart --out-dir charts --workload p.yaml",
        "p.yaml",
        files={"charts/cost_breakdown.png": b"\x89PNG old", "p.yaml": "instances: -3\n"},
    ),
    Case(
        "chart-unknown-region",
        "chart --out-dir charts --region mars-1",
        "mars-1",
    ),
]

PRICING = [
    Case("pricing-show-unknown-region", "pricing show --region mars-1", "mars-1"),
    Case("pricing-show-bad-date", "pricing show --pricing-date yesterday", "yesterday"),
    Case(
        "pricing-show-missing-file",
        "pricing show --pricing-file p.csv",
        "p.csv",
    ),
    Case(
        "pricing-refresh-missing-offer-file",
        "pricing refresh --region us-east-1 --offer-file offer.json --pricing-file prices.csv",
        "offer.json",
        files={"prices.csv": price_file()},
    ),
    Case(
        "pricing-refresh-offer-file-not-json",
        "pricing refresh --region us-east-1 --offer-file offer.json --pricing-file prices.csv",
        "offer.json",
        files={"offer.json": "this is not json", "prices.csv": price_file()},
    ),
    Case(
        "pricing-refresh-unknown-region",
        "pricing refresh --region mars-1 --offer-file offer.json --pricing-file prices.csv",
        "mars-1",
        files={"offer.json": "{}", "prices.csv": price_file()},
    ),
    Case(
        "pricing-diff-bad-date",
        "pricing diff --from 2026-02-30 --to 2026-12-01",
        "2026-02-30",
    ),
    Case(
        "pricing-diff-missing-workload",
        "pricing diff --from 2026-07-01 --to 2026-12-01 --workload w.yaml",
        "w.yaml",
    ),
]

MEASURE = [
    Case("measure-nothing-to-measure", "measure", "--path"),
    Case(
        "measure-undated-transcripts-need-days",
        "measure --path logs --write-workload m.yaml --no-progress",
        "--days",
        files={"logs/alice-0123456789abcdef0.log": "$ ls\r\nfile.txt\r\n"},
    ),
    Case("measure-days-zero", "measure --path logs --days 0", "--days", files={"logs/a.log": "x"}),
    Case("measure-missing-path", "measure --path logs", "logs"),
    Case(
        "measure-write-profile-missing-folder",
        "measure --path logs --write-workload missing/m.yaml",
        "missing",
        files={"logs/s.log": "Script started on 2026-01-01 00:00:00+00:00\n$ ls\n"},
    ),
]

PROVISION = [
    Case(
        "provision-config-unknown-key",
        "provision plan --config c.yaml --region ap-northeast-1",
        "retention",
        files={"c.yaml": "destination: cloudwatch\nretention: 30\n"},
    ),
    Case(
        "provision-config-not-a-mapping",
        "provision plan --config c.yaml --region ap-northeast-1",
        "c.yaml",
        files={"c.yaml": "- cloudwatch\n"},
    ),
    Case(
        "provision-missing-config",
        "provision plan --config c.yaml --region ap-northeast-1",
        "c.yaml",
    ),
    Case(
        "provision-retention-not-accepted",
        "provision plan -d cloudwatch --retention-days 8 --region ap-northeast-1",
        "8",
    ),
    Case(
        "provision-bucket-name-with-dots",
        "provision plan -d s3 --bucket my.logs --region ap-northeast-1",
        "my.logs",
    ),
    Case(
        "provision-bad-transition",
        "provision plan -d s3 --bucket acme-logs --transition 30:COLD --region ap-northeast-1",
        "COLD",
    ),
    Case(
        "provision-unknown-region",
        "provision plan -d cloudwatch --region mars-1",
        "mars-1",
    ),
    Case(
        "provision-export-unknown-format",
        "provision export -d cloudwatch --format terraform --out t.yaml --region ap-northeast-1",
        "terraform",
    ),
    # Issue 15: export renders the VPC endpoints; their ids are checked before the VPC is read.
    Case(
        "provision-export-bad-vpc-id",
        "provision export -d cloudwatch --vpc-id vpc-12 --subnet subnet-12345678 "
        "--account-id 123456789012 --out t.yaml --region ap-northeast-1",
        "vpc-12",
    ),
    Case(
        "provision-export-subnet-without-vpc",
        "provision export -d s3 --subnet subnet-12345678 --account-id 123456789012 "
        "--out t.yaml --region ap-northeast-1",
        "--vpc-id",
        files={"t.yaml": "kept: true\n"},
    ),
    Case(
        "provision-export-stackset-with-vpc",
        "provision export -d cloudwatch --stackset --vpc-id vpc-12345678 --subnet subnet-12345678 "
        "--out m.yaml --region ap-northeast-1",
        "--stackset",
    ),
]

# Issue 15: the member-account template of a StackSet, and its rollout.
STACKSET_INPUTS = [
    Case(
        "provision-export-stackset-fixed-bucket",
        "provision export -d s3 --bucket acme-logs --stackset --out m.yaml --region us-east-1",
        "--bucket",
    ),
    Case(
        "provision-export-stackset-create-role",
        "provision export -d cloudwatch --create-role r1 --stackset --out m.yaml "
        "--region eu-west-1",
        "--create-role",
    ),
    Case(
        "provision-export-stackset-account-id",
        "provision export -d cloudwatch --stackset --account-id 123456789012 --out m.yaml "
        "--region us-east-1",
        "--account-id",
        files={"m.yaml": "old template\n"},
    ),
    Case(
        "provision-export-stackset-central-archive",
        "provision export -d s3 --central-bucket --org-id o-abcdefghij --stackset --out m.yaml "
        "--region us-east-1",
        "--central-bucket",
    ),
    Case(
        "provision-rollout-bad-ou",
        "provision rollout -d cloudwatch --ou ou-nope --regions us-east-1 --region us-east-1",
        "ou-nope",
    ),
    Case(
        "provision-rollout-too-many-ous",
        "provision rollout -d cloudwatch --regions us-east-1 --ou "
        + ",".join(f"ou-ab12-{n:08d}" for n in range(51)),
        "51 --ou",
    ),
    Case(
        "provision-rollout-no-ou",
        "provision rollout -d cloudwatch --regions us-east-1 --region us-east-1",
        "--ou",
    ),
    Case(
        "provision-rollout-unknown-region",
        "provision rollout -d cloudwatch --ou ou-ab12-cdef3456 --regions us-east-1,mars-1",
        "mars-1",
    ),
    Case(
        "provision-rollout-bad-stack-set-name",
        "provision rollout -d cloudwatch --ou ou-ab12-cdef3456 --regions us-east-1 "
        "--stack-set-name 9-lives",
        "9-lives",
    ),
    Case(
        "provision-rollout-concurrency-zero",
        "provision rollout -d cloudwatch --ou ou-ab12-cdef3456 --regions us-east-1 "
        "--max-concurrent-percent 0",
        "--max-concurrent-percent",
    ),
    Case(
        "provision-rollout-missing-template",
        "provision rollout --template gone.yaml --ou ou-ab12-cdef3456 --regions us-east-1 "
        "--region us-east-1",
        "gone.yaml",
    ),
    Case(
        "provision-rollout-template-and-options",
        "provision rollout --template t.yaml -d cloudwatch --ou ou-ab12-cdef3456 "
        "--regions us-east-1 --region us-east-1",
        "--destination",
        files={"t.yaml": "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n"},
    ),
    Case(
        "provision-rollout-template-not-cloudformation",
        "provision rollout --template t.yaml --ou ou-ab12-cdef3456 --regions us-east-1 "
        "--region us-east-1",
        "t.yaml",
        files={"t.yaml": "instances: 10\n"},
    ),
    Case(
        "provision-rollout-fixed-bucket",
        "provision rollout -d s3 --bucket acme-logs --ou ou-ab12-cdef3456 --regions us-east-1 "
        "--region us-east-1",
        "--bucket",
    ),
]

# Issue 18.1, 18.7, 18.11, 18.12: provisioning inputs that used to crash or slip through.
PROVISION_INPUTS = [
    Case(
        "provision-retention-zero",
        "provision plan -d cloudwatch --retention-days 0 --region ap-northeast-1",
        "retain-forever",
    ),
    Case(
        "provision-config-retention-never",
        "provision plan --config c.yaml --region ap-northeast-1",
        "retention_days",
        files={"c.yaml": "destination: cloudwatch\nretention_days: never\n"},
    ),
    Case(
        "provision-config-transition-not-a-list-item",
        "provision plan --config c.yaml --region ap-northeast-1",
        "transition",
        files={"c.yaml": "destination: s3\nbucket: acme-logs\ntransition: 30\n"},
    ),
    Case(
        "provision-config-subnet-number",
        "provision plan --config c.yaml --region ap-northeast-1",
        "subnet",
        files={"c.yaml": "destination: cloudwatch\nvpc_id: vpc-12345678\nsubnet: 5\n"},
    ),
    Case(
        "provision-config-utf16",
        "provision plan --config c.yaml --region ap-northeast-1",
        "c.yaml",
        files={"c.yaml": "destination: cloudwatch\n".encode("utf-16")},
    ),
    Case(
        "provision-config-binary",
        "provision plan --config c.yaml --region ap-northeast-1",
        "c.yaml",
        files={"c.yaml": bytes(range(256))},
    ),
    Case(
        "provision-config-yaml-syntax",
        "provision plan --config c.yaml --region ap-northeast-1",
        "line 2",
        files={"c.yaml": "destination: cloudwatch\n  bad: [indent\n"},
    ),
    Case(
        "provision-endpoint-not-a-url",
        "provision plan -d cloudwatch --region ap-northeast-1 --endpoint-url 'not a url'",
        "endpoint-url",
    ),
    Case(
        "provision-shell-profile-over-64kb",
        "provision plan -d cloudwatch --region ap-northeast-1 --shell-profile-linux " + "x" * 70000,
        "shell-profile-linux",
    ),
]


def fifo(name: str) -> Callable[[Path], None]:
    return lambda folder: os.mkfifo(folder / name)


def symlink(name: str, target: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).symlink_to(target)


OLD_CHARTS = {f"charts/{name}.png": b"\x89PNG old" for name in ("cost_breakdown", "break_even")}
# Issue 18.9 and 18.10: every output target is checked before any work; none is replaced.
OUTPUT_TARGETS = [
    Case(
        "chart-report-in-missing-folder-keeps-charts",
        "chart --out-dir charts --report missing/report.md",
        "--report",
        files=OLD_CHARTS,
    ),
    Case(
        "chart-out-inside-a-file",
        "chart --out-dir file/charts",
        "which is a file",
        files={"file": "x\n"},
    ),
    Case(
        "chart-report-is-a-folder",
        "chart --out-dir charts --report charts",
        "--report charts is a folder",
        files=OLD_CHARTS,
    ),
    Case(
        "chart-report-is-a-fifo",
        "chart --out-dir charts --report report.md",
        "FIFO",
        files=OLD_CHARTS,
        setup=fifo("report.md"),
    ),
    Case("estimate-out-is-a-fifo", "estimate --out out.json", "FIFO", setup=fifo("out.json")),
    Case(
        "estimate-out-links-to-a-device",
        "estimate --out out.json",
        "character device",
        setup=symlink("out.json", "/dev/null"),
    ),
    Case(
        "estimate-out-link-into-missing-folder",
        "estimate --out out.json",
        "does not exist",
        setup=symlink("out.json", "gone/out.json"),
    ),
    Case(
        "measure-write-profile-is-a-folder",
        "measure --path logs --write-workload logs",
        "--write-workload logs is a folder",
        files={"logs/s.log": "Script started on 2026-01-01 00:00:00+00:00\n$ ls\n"},
    ),
    Case(
        "pricing-refresh-pricing-file-is-a-fifo",
        "pricing refresh --region us-east-1 --offer-file offer.json --pricing-file prices.csv",
        "prices.csv",
        files={"offer.json": "{}"},
        setup=fifo("prices.csv"),
    ),
    Case("measure-sample-zero", "measure --path logs --sample 0", "--sample"),
]


def gzip_bytes(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, mtime=0)


REFRESH = "pricing refresh --region us-east-1 --pricing-file prices.csv --offer-file"
# Issue 18.8 and 18.11: prices and price files that used to print $inf or a traceback.
PRICE_FILES = [
    Case(
        "estimate-price-1e308-json",
        "estimate --pricing-file p.csv --region us-east-1 -o json --out out.json",
        "usd_per_unit",
        files={"p.csv": price_file("1e308"), "out.json": "{}\n"},
    ),
    Case(
        "estimate-price-over-a-million",
        "estimate --pricing-file p.csv --region us-east-1",
        "p.csv:2",
        files={"p.csv": price_file("2000000")},
    ),
    Case(
        "estimate-pricing-field-over-128-kib",
        "estimate --pricing-file p.csv",
        "p.csv:2",
        files={"p.csv": PRICE_HEADER + PRICE_ROW.format(price="1" + "0" * 140_000)},
    ),
    Case(
        "pricing-show-field-over-128-kib",
        "pricing show --pricing-file p.csv",
        "field larger",
        files={"p.csv": "a," + "x" * 140_000 + "\n"},
    ),
    Case("pricing-show-year-one", "pricing show --pricing-date 0001-01-01", "0001-01-01"),
    Case("estimate-pricing-date-year-one", "estimate --pricing-date 0001-01-01", "0001-01-01"),
    Case(
        "pricing-refresh-corrupt-gzip",
        f"{REFRESH} offer.json.gz",
        "offer.json.gz",
        files={"offer.json.gz": b"\x1f\x8b\x08\x00garbage", "prices.csv": price_file()},
    ),
    Case(
        "pricing-refresh-truncated-gzip",
        f"{REFRESH} offer.json.gz",
        "offer.json.gz",
        files={
            "offer.json.gz": gzip_bytes(b'{"offerCode": "AmazonS3", "products": {}}')[:-8],
            "prices.csv": price_file(),
        },
    ),
    Case(
        "pricing-refresh-deeply-nested-offer",
        f"{REFRESH} offer.json",
        "nested too deeply",
        files={"offer.json": '{"a": ' * 20_000 + "1" + "}" * 20_000, "prices.csv": price_file()},
    ),
    Case(
        "pricing-refresh-deeply-nested-gzip-offer",
        f"{REFRESH} offer.json.gz",
        "offer.json.gz",
        files={
            "offer.json.gz": gzip_bytes(b'{"products": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
            "prices.csv": price_file(),
        },
    ),
]


# Flags whose value click itself rejects: one line too (click prints usage, a hint and a blank).
FLAGS = [
    Case("estimate-months-not-a-number", "estimate --months x", "--months"),
    Case("estimate-unknown-option", "estimate --instancez 3", "--instancez"),
    Case("estimate-unknown-output-format", "estimate -o yaml", "yaml"),
    Case("chart-missing-option-value", "chart --out-dir", "--out-dir"),
    Case("unknown-command", "estimat", "estimat"),
    Case("pricing-unknown-subcommand", "pricing shwo", "shwo"),
    Case("provision-bad-choice", "provision plan -d kinesis --region ap-northeast-1", "kinesis"),
    Case("measure-days-not-a-number", "measure --path logs --days week", "--days"),
]


# Issue 18.8: a display rate that turns every figure into "inf".
FX_RATES = [
    Case(f"estimate-fx-rate-{rate}", f"estimate --currency JPY --fx-rate {rate}", "--fx-rate")
    for rate in ("1e308", "inf", "nan", "0", "-150")
]


# S3 Inventory manifests given by path: not JSON, not an object, nested 20,000 deep.
INVENTORY_MANIFESTS = [
    Case(
        f"measure-inventory-manifest-{kind}",
        "measure --s3-inventory m.json",
        "m.json",
        {"m.json": text},
    )
    for kind, text in [
        ("not-json", "not json"),
        ("a-list", "[1, 2]"),
        ("nested-20000", '{"a": ' * 20_000 + "1" + "}" * 20_000),
    ]
]


# AWS connection flags refused before any call (no network in tests).
AWS_FLAGS = [
    Case(
        "pricing-refresh-endpoint-not-a-url",
        "pricing refresh --region us-east-1 --endpoint-url notaurl --pricing-file p.csv",
        "--endpoint-url",
    ),
    Case(
        "pricing-refresh-api-region-without-price-list",
        "pricing refresh --region us-east-1 --api-region mars-1 --pricing-file p.csv",
        "--api-region",
    ),
    Case(
        "pricing-refresh-unknown-aws-profile",
        "pricing refresh --region us-east-1 --profile nope --pricing-file p.csv",
        "nope",
    ),
    Case("measure-unknown-aws-profile", "measure --s3 s3://b/p --profile nope", "nope"),
]

# An unknown AWS region is refused before any AWS call, whatever the command (the --region
# option and AwsContext check it in one place: costcompare.aws.aws_region).
UNKNOWN_AWS_REGION = [
    Case(f"{cmd.split()[0]}-{i}-unknown-region", f"{cmd} --region mars-1", "region 'mars-1'")
    for i, cmd in enumerate([
        "measure --s3 s3://b/p",
        "measure --log-group g",
        "measure --org",
        "search --s3 s3://b/p sudo",
        "reconcile --source cost-explorer --month 2026-10",
        "coverage --cloudtrail trail",
        "provision verify",
    ])
] + [
    Case("measure-s3-unknown-aws-region-env", "measure --s3 s3://b/p",
         "AWS_REGION=mars-1: unknown region", env={"AWS_REGION": "mars-1"}),
]  # fmt: skip


DEEP_JSON = '{"a": ' * 20_000 + "1" + "}" * 20_000
# Saved JSON the tool reads back (diff, --searches-from, provision apply): nested 20,000 deep.
SAVED_JSON = [
    Case("diff-saved-estimate-nested", "diff a.json b.json", "a.json", {"a.json": DEEP_JSON}),
    Case(
        "estimate-searches-from-nested",
        "estimate --searches-from s.json",
        "s.json",
        {"s.json": DEEP_JSON},
    ),
    Case(
        "provision-apply-saved-plan-nested",
        "provision apply plan.json",
        "plan.json",
        {"plan.json": DEEP_JSON},
    ),
]


# Commands that write --out check it before their work (and a FIFO is never replaced).
OUT_BEFORE_WORK = [
    Case(
        "diff-out-is-a-fifo",
        "diff a.yaml b.yaml --out d.txt",
        "FIFO",
        {"a.yaml": "instances: 3\n", "b.yaml": "instances: 4\n"},
        setup=fifo("d.txt"),
    ),
    Case(
        "coverage-out-in-missing-folder",
        "coverage --cloudtrail trail --path logs --out missing/c.json",
        "--out",
        {"trail/t.json": '{"Records": []}', "logs/a-0123456789abcdef0.log": "x"},
    ),
    Case(
        "search-out-is-a-folder",
        "search sudo --path logs --out logs",
        "--out logs is a folder",
        {"logs/a.log": "sudo"},
    ),
]


def billion_laughs() -> str:
    """Nine levels of nine aliases: under 500 bytes, 9**9 strings once expanded (issue 18.6)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


PLAN = "provision plan --region ap-northeast-1 --config c.yaml"
YAML_FILES = [
    # (id, command, the file it reads) × (kind of bad YAML, content, what the line must name)
    (f"{command_id}-{kind}", command, file, content, names)
    for command_id, command, file in [
        ("profile", "estimate --workload p.yaml --out out.json", "p.yaml"),
        ("weights", "estimate --weights p.yaml --out out.json", "p.yaml"),
        ("chart-profile", "chart --out-dir charts --workload p.yaml", "p.yaml"),
        ("diff", "pricing diff --from 2026-07-01 --to 2026-12-01 --workload p.yaml", "p.yaml"),
        ("config", PLAN.replace("c.yaml", "p.yaml"), "p.yaml"),
    ]
    for kind, content, names in [
        ("billion-laughs", billion_laughs(), "aliases"),
        ("nested-20000", "a: " + "[" * 20_000 + "]" * 20_000 + "\n", "nest"),
        ("utf16", "instances: 3\n".encode("utf-16"), "UTF-16"),
        ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\xff", "not UTF-8"),
        ("syntax-error", "instances: [3\nregion: x\n", "line 2 column 7 is not valid YAML"),
        ("duplicate-key", "instances: 3\ninstances: 4\n", "appears twice"),
        ("tab-indent", "s3_lifecycle:\n\t- after_days: 30\n", "p.yaml"),
    ]
]
YAML = [
    Case(
        f"yaml-{case_id}",
        command,
        names,
        files={file: content, "out.json": "{}\n", "charts/break_even.png": b"\x89PNG old"},
    )
    for case_id, command, file, content, names in YAML_FILES
]

# The verdict's flags (issue 10): network path, rotation, lifecycle, Athena scope, bands.
VERDICT = [
    Case("estimate-unknown-logs-endpoint", "estimate --logs-endpoint vpn --out o.json", "vpn"),
    Case("estimate-unknown-s3-endpoint", "estimate --s3-endpoint direct", "direct"),
    Case("estimate-rotation-too-often", "estimate --kms-rotation-days 30", "kms_rotation_days"),
    Case("estimate-lifecycle-not-class-days", "estimate --s3-lifecycle GLACIER_IR", "GLACIER_IR"),
    Case("estimate-lifecycle-unknown-class", "estimate --s3-lifecycle FROZEN:90", "FROZEN"),
    Case("estimate-unknown-athena-scope", "estimate --athena-scope all", "all"),
    Case("estimate-negative-draws", "estimate --draws -1 --out o.json", "--draws"),
    Case(
        "estimate-profile-bad-stream-share",
        "estimate --workload p.yaml",
        "stream_active_share",
        files={"p.yaml": "stream_active_share: 2\n"},
    ),
]
TRAIL = '{"Records": []}'
SEARCH = [
    Case("search-nothing-to-search", "search sudo", "--path"),
    Case("search-bad-regex", "search 'sud(' --path logs", "sud(", files={"logs/a.log": "x"}),
    Case("search-matches-every-line", "search 'x*' --path logs", "x*", files={"logs/a.log": "x"}),
    Case(
        "search-empty-window",
        "search sudo --path logs --since 2025-03-05 --until 2025-03-01",
        "--since",
        files={"logs/a.log": "x"},
    ),
    Case("search-bad-time", "search sudo --path logs --until tuesday", "tuesday"),
    Case("search-missing-folder", "search sudo --path logs", "logs"),
    Case(
        "search-out-missing-folder",
        "search sudo --path logs --out missing/hits.json",
        "missing",
        files={"logs/a.log": "sudo"},
    ),
    Case("search-bad-s3-uri", "search sudo --s3 bucket/prefix", "bucket/prefix"),
    Case(
        "estimate-searches-from-not-a-search",
        "estimate --searches-from s.json",
        "s.json",
        files={"s.json": '{"kind": "other"}'},
    ),
    Case("estimate-searches-from-missing", "estimate --searches-from s.json", "s.json"),
]
COVERAGE = [
    Case("coverage-missing-trail", "coverage --cloudtrail trail --path logs", "trail"),
    Case(
        "coverage-no-trail-files",
        "coverage --cloudtrail trail --path logs",
        "trail",
        files={"trail/notes.txt": "x", "logs/a-0123456789abcdef0.log": "x"},
    ),
    Case(
        "coverage-no-destination",
        "coverage --cloudtrail trail",
        "--s3",
        files={"trail/t.json": TRAIL},
    ),
    Case(
        "coverage-min-over-100",
        "coverage --cloudtrail trail --path logs --min-coverage 120",
        "--min-coverage",
        files={"trail/t.json": TRAIL, "logs/a-0123456789abcdef0.log": "x"},
    ),
]
INIT_AND_DIFF = [
    Case("init-would-overwrite", "init w.yaml", "w.yaml", files={"w.yaml": "instances: 7\n"}),
    Case("init-bad-base-workload", "init -w p.yaml w.yaml", "p.yaml",
         files={"p.yaml": "instances: -3\n"}),
    Case("diff-missing-side", "diff a.json b.yaml", "a.json"),
    Case("diff-not-an-estimate", "diff a.json a.json --out d.txt", "a.json",
         files={"a.json": '{"hello": 1}'}),
    Case("diff-bad-json", "diff a.json a.json", "a.json", files={"a.json": "{oops"}),
    Case("diff-bad-workload", "diff a.yaml a.yaml", "a.yaml",
         files={"a.yaml": "instances: many\n"}),
]  # fmt: skip


def _parquet_without_cur_columns() -> bytes:
    """A valid Parquet file that is not a CUR 2.0 export (one unrelated column)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"cost": [1.0]}), buffer)
    return buffer.getvalue()


RECONCILE = "reconcile --cur cur --month 2026-10 --out out.json -o json"
RECONCILE_FILES: dict[str, str | bytes] = {"out.json": "{}\n", "cur/x.parquet": b"PAR1junkPAR1"}
RECONCILE_CASES = [
    Case(
        "reconcile-bad-month",
        RECONCILE.replace("2026-10", "2026-13"),
        "2026-13",
        files=RECONCILE_FILES,
    ),
    Case(
        "reconcile-missing-cur",
        RECONCILE.replace("--cur cur", "--cur nope"),
        "nope",
        files={"out.json": "{}\n"},
    ),
    Case("reconcile-no-parquet", RECONCILE, "no .parquet", files={"cur/a.csv": "x\n"}),
    Case("reconcile-not-parquet", RECONCILE, "not readable Parquet", files=RECONCILE_FILES),
    Case(
        "reconcile-not-cur",
        RECONCILE,
        "line_item_usage_type",
        files={"out.json": "{}\n", "cur/x.parquet": _parquet_without_cur_columns()},
    ),
    Case(
        "reconcile-cur-mixes-partitioned-and-loose-files",
        RECONCILE,
        "mixes BILLING_PERIOD=YYYY-MM folders",
        files={
            "out.json": "{}\n",
            "cur/BILLING_PERIOD=2026-10/x.parquet": b"PAR1junkPAR1",
            "cur/y.parquet": b"PAR1junkPAR1",
        },
    ),
    Case("reconcile-bad-tag", RECONCILE + " --tag costcompare", "--tag", files=RECONCILE_FILES),
    Case(
        "reconcile-sql-in-tag", RECONCILE + ' --tag "k=x\' OR 1=1"', "--tag", files=RECONCILE_FILES
    ),
    Case("reconcile-bad-account", RECONCILE + " --account 12345", "12345", files=RECONCILE_FILES),
    Case(
        "reconcile-negative-tolerance",
        RECONCILE + " --tolerance -5",
        "--tolerance",
        files=RECONCILE_FILES,
    ),
    Case(
        "reconcile-unknown-destination", RECONCILE + " -d glacier", "glacier", files=RECONCILE_FILES
    ),
    Case("reconcile-no-cur", "reconcile --month 2026-10", "--cur"),
    Case("reconcile-future-month", "reconcile --cur cur --month 2999-01", "2999-01"),
    Case("reconcile-athena-no-table", "reconcile --month 2026-10 --engine athena", "--table"),
    Case(
        "reconcile-athena-output-not-s3",
        "reconcile --month 2026-10 --engine athena --table cur.bill --query-output results/",
        "--query-output 'results/'",
    ),
    Case(
        "reconcile-table-not-a-name",
        "reconcile --month 2026-10 --engine athena --table 'db.t; DROP TABLE x'",
        "--table",
    ),
    Case("reconcile-unknown-engine", "reconcile --month 2026-10 --engine spark", "spark"),
    Case("reconcile-unknown-source", "reconcile --month 2026-10 --source billing", "billing"),
    Case(
        "reconcile-cost-explorer-bad-month",
        "reconcile --source cost-explorer --month 2026-1 --out out.json",
        "2026-1",
        files={"out.json": "{}\n"},
    ),
    Case(
        "reconcile-cost-explorer-with-cur",
        "reconcile --source cost-explorer --cur cur --month 2026-10 --out out.json",
        "--cur",
        files=RECONCILE_FILES,
    ),
    Case(
        "reconcile-cost-explorer-on-athena",
        "reconcile --source cost-explorer --engine athena --month 2026-10",
        "--engine athena",
    ),
    Case(
        "reconcile-cost-explorer-bad-tag",
        "reconcile --source cost-explorer --month 2026-10 --tag costcompare:managed",
        "--tag",
    ),
    Case(
        "reconcile-cost-explorer-no-credentials",
        "reconcile --source cost-explorer --month 2026-10 --out out.json",
        "ce:GetCostAndUsage",
        files={"out.json": "{}\n"},
        env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
    ),
    Case(
        "reconcile-cost-explorer-unknown-profile",
        "reconcile --source cost-explorer --month 2026-10 --profile nope",
        "nope",
    ),
    Case(
        "reconcile-cost-explorer-bad-account",
        "reconcile --source cost-explorer --month 2026-10 --account 1111",
        "1111",
    ),
]


ORG = "measure --org --regions ap-northeast-1"
MEASURE_ORG = [
    Case("measure-org-bad-account", ORG + " --accounts 1234", "1234"),
    Case("measure-org-bad-region", "measure --org --regions ap-northeast-9", "ap-northeast-9"),
    Case("measure-org-bad-role", ORG + " --role-name 'no such/role'", "--role-name"),
    Case("measure-org-bad-days", ORG + " --days 900", "--days"),
    Case("measure-org-zero-days", ORG + " --days 0", "--days 0"),  # not the default 30
    Case("measure-org-no-workers", ORG + " --workers 0", "--workers"),
    Case("measure-org-with-log-group", ORG + " --log-group /ssm/x", "--org"),
    Case("measure-accounts-without-org", "measure --s3 s3://b/p --accounts 123456789012", "--org"),
    Case(
        "measure-org-workloads-into-a-file",
        ORG + " --write-workloads w",
        "--write-workloads",
        files={"w": "a file, not a folder\n"},
    ),
]
MEASURE_ORG_S3 = [
    Case("measure-org-pattern-unknown-field", ORG + " --s3-bucket-pattern 'logs-{acct}'", "acct"),
    Case("measure-org-pattern-no-account", ORG + " --s3-bucket-pattern ssm-logs", "{account}"),
    Case("measure-org-pattern-bad-bucket", ORG + " --s3-bucket-pattern 'SSM_{account}'", "SSM_"),
    Case("measure-org-pattern-unbalanced", ORG + " --s3-bucket-pattern 'l-{account'", "l-{account"),
    Case("measure-org-central-not-s3", ORG + " --s3-central 'arch/{account}/'", "--s3-central"),
    Case("measure-org-central-no-account", ORG + " --s3-central s3://archive/ssm/", "{account}"),
    Case("measure-org-central-varies-bucket", ORG + " --s3-central 's3://a-{account}/'", "varies"),
    Case(
        "measure-org-archive-without-central",
        ORG + " --log-archive-account 123456789012",
        "--log-archive-account",
    ),
    Case(
        "measure-org-archive-bad-id",
        ORG + " --s3-central 's3://archive/{account}/' --log-archive-account 12",
        "--log-archive-account '12'",
    ),
    Case("measure-central-without-org", "measure --s3-central 's3://a/{account}/'", "--org"),
    Case("measure-org-inventory-without-central", ORG + " --s3-inventory m.json", "--s3-central"),
    Case(
        "measure-org-two-inventories",
        ORG + " --s3-central 's3://arch/{account}/' --s3-inventory a.json --s3-inventory b.json",
        "one --s3-inventory",
    ),
]


PRESETS = [
    Case("estimate-unknown-preset", "estimate --preset pci --out o.json", "pci-dss-10.5.1",
         files={"o.json": "{}"}),
    Case("estimate-preset-shorter-retention", "estimate --preset worm --retention-days 365",
         "--retention-days"),
    Case("estimate-bad-both-cloudwatch-retention", "estimate -w w.yaml --out o.json",
         "both_cloudwatch_retention_days",
         files={"o.json": "{}", "w.yaml": "both_cloudwatch_retention_days: 100\n"}),
    Case("estimate-preset-early-archive",
         "estimate --preset pci-dss-10.5.1 --s3-lifecycle GLACIER:30", "GLACIER"),
    Case("estimate-locking-preset-keeps-forever",
         "estimate --preset fisc -w w.yaml --out o.json", "Object Lock",
         files={"o.json": "{}", "w.yaml": "retention_days: null\n"}),
    Case("provision-unknown-preset",
         "provision plan -d s3 --bucket acme-logs --preset pci --region ap-northeast-1",
         "pci-dss-10.5.1"),
    Case("provision-preset-wrong-destination",
         "provision plan -d cloudwatch --preset worm --region ap-northeast-1", "--destination"),
    Case("provision-preset-early-archive",
         "provision export -d s3 --bucket acme-logs --preset pci-dss-10.5.1 --transition "
         "30:GLACIER --account-id 123456789012 --region ap-northeast-1 --out s.yaml",
         "--transition", files={"s.yaml": "old\n"}),
    Case("provision-preset-short-lock",
         "provision plan -d s3 --bucket acme-logs --preset worm --object-lock-days 30 "
         "--region ap-northeast-1", "--object-lock-days"),
]  # fmt: skip

# An old option spelling with a bad value: the error alone, not the deprecation notice too.
DEPRECATED_ALIASES = [
    Case("estimate-old-profile-missing", "estimate --profile nope.yaml", "nope.yaml"),
    Case("estimate-old-destinations-unknown", "estimate --destinations nowhere", "nowhere"),
    Case("pricing-old-date-bad", "pricing show --date 2026-13-01", "2026-13-01"),
    Case("measure-old-base-profile-missing",
         "measure --path . --base-profile nope.yaml --write-workload w.yaml",
         "nope.yaml"),
]  # fmt: skip


def _inventory_manifest(fmt: str, schema: str, key: str) -> str:
    import json

    return json.dumps({"fileFormat": fmt, "fileSchema": schema, "files": [{"key": key}]})


_INVENTORY_CSV = "Bucket, Key, Size, LastModifiedDate"
_INVENTORY_ROW = b'"src","s/a-1.log","{size}","2025-03-01T00:00:00.000Z"\n'
# S3 Inventory read with SQL (DuckDB) or sent to Athena (--engine athena --table): refused with
# one line before any AWS call, or when a data file is not what the manifest says.
INVENTORY_SQL = [
    Case("measure-inventory-athena-without-table", "measure --engine athena", "--table"),
    Case(
        "measure-inventory-athena-table-not-a-name",
        "measure --engine athena --table 'inv; DROP TABLE x'",
        "--table",
    ),
    Case("measure-inventory-athena-bare-table", "measure --engine athena --table inv", "--table"),
    Case(
        "measure-inventory-athena-output-not-s3",
        "measure --engine athena --table db.inv --query-output my-athena-results",
        "--query-output 'my-athena-results'",
    ),
    Case("measure-inventory-table-without-engine", "measure --table db.inv", "--engine athena"),
    Case(
        "measure-inventory-workgroup-without-engine",
        "measure --s3-inventory m.json --workgroup audit",
        "--engine athena",
        files={"m.json": _inventory_manifest("CSV", _INVENTORY_CSV, "data/p.csv.gz")},
    ),
    Case(
        "measure-inventory-athena-and-manifest",
        "measure --engine athena --table db.inv --s3-inventory m.json",
        "--s3-inventory",
    ),
    Case("measure-inventory-unknown-engine", "measure --engine spark --table db.t", "spark"),
    Case(
        "measure-inventory-orc",
        "measure --s3-inventory m.json",
        "ORC",
        files={"m.json": _inventory_manifest("ORC", "", "data/p.orc")},
    ),
    Case(
        "measure-inventory-size-not-a-number",
        "measure --s3-inventory m.json --write-workload w.yaml",
        "p.csv.gz",
        files={
            "m.json": _inventory_manifest("CSV", _INVENTORY_CSV, "data/p.csv.gz"),
            "data/p.csv.gz": gzip_bytes(_INVENTORY_ROW.replace(b"{size}", b"1e9x")),
            "w.yaml": "instances: 3\n",
        },
    ),
    Case(
        "measure-inventory-csv-columns-not-the-schema",
        "measure --s3-inventory m.json",
        "p.csv.gz",
        files={
            "m.json": _inventory_manifest("CSV", _INVENTORY_CSV + ", ETag", "data/p.csv.gz"),
            "data/p.csv.gz": gzip_bytes(_INVENTORY_ROW.replace(b"{size}", b"5")),
        },
    ),
    Case(
        "measure-inventory-schema-without-date",
        "measure --s3-inventory m.json",
        "fileSchema",
        files={
            "m.json": _inventory_manifest("CSV", "Bucket, Key, Size", "data/p.csv.gz"),
            "data/p.csv.gz": gzip_bytes(b'"src","s/a.log","5"\n'),
        },
    ),
    Case(
        "measure-inventory-parquet-not-parquet",
        "measure --s3-inventory m.json",
        "p.parquet",
        files={
            "m.json": _inventory_manifest("Parquet", "message s3.inventory {}", "data/p.parquet"),
            "data/p.parquet": b"PAR1 not really",
        },
    ),
    Case(
        "measure-inventory-file-size-not-a-number",
        "measure --s3-inventory m.json",
        "gone.csv.gz",
        files={"m.json": '{"fileFormat": "CSV", "files": [{"key": "gone.csv.gz", "size": "x"}]}'},
    ),
    Case(
        "measure-inventory-data-file-missing",
        "measure --s3-inventory m.json",
        "not found",
        files={"m.json": _inventory_manifest("CSV", _INVENTORY_CSV, "data/gone.csv.gz")},
    ),
]


# Every module-level UPPER_CASE list of Cases above is in the corpus: a new group needs no edit
# here (one shared list literal was where every helper's additions collided).
# Issue 15: the organization's central log-archive bucket and the members that log to it.
KEY_ELSEWHERE = "arn:aws:kms:ap-northeast-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_IN_ARCHIVE = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MEMBER = "provision plan -d s3 --bucket org-archive --bucket-account 123456789012"
CENTRAL_BUCKET = [
    Case(
        "provision-central-bad-org-id",
        "provision plan --central-bucket --org-id org-123 --region ap-northeast-1",
        "org-123",
    ),
    Case(
        "provision-central-not-cloudwatch",
        "provision plan --central-bucket -d cloudwatch --region ap-northeast-1",
        "--central-bucket",
    ),
    Case(
        "provision-central-with-role",
        "provision apply --central-bucket --role ssm-instance --yes --region ap-northeast-1",
        "--role",
    ),
    Case(
        "provision-central-with-session-setting",
        "provision plan --central-bucket --idle-timeout 15 --region ap-northeast-1",
        "--idle-timeout",
    ),
    Case(
        "provision-verify-central-with-vpc",
        "provision verify --central-bucket --vpc-id vpc-0abc1234 --region ap-northeast-1",
        "--vpc-id",
    ),
    Case(
        "provision-org-id-without-central",
        "provision plan -d s3 --bucket acme-logs --org-id o-abcdefghij --region ap-northeast-1",
        "--org-id",
    ),
    Case(
        "provision-central-config-not-bool",
        "provision plan --config c.yaml --region ap-northeast-1",
        "central_bucket",
        files={"c.yaml": "central_bucket: maybe\n"},
    ),
    Case(
        "provision-export-central-without-org-id",
        "provision export --central-bucket --account-id 123456789012 --out t.yaml "
        "--region ap-northeast-1",
        "--org-id",
        files={"t.yaml": "old template\n"},
    ),
    Case(
        "provision-member-bad-account",
        "provision plan -d s3 --bucket org-archive --bucket-account 12345 --region ap-northeast-1",
        "12345",
    ),
    Case(
        "provision-member-without-bucket",
        "provision plan -d s3 --bucket-account 123456789012 --region ap-northeast-1",
        "--bucket",
    ),
    Case(
        "provision-member-without-key",
        f"{MEMBER} --region ap-northeast-1",
        "--bucket-kms-key",
    ),
    Case(
        "provision-member-key-of-another-account",
        f"{MEMBER} --bucket-kms-key {KEY_ELSEWHERE} --region ap-northeast-1",
        "210987654321",
    ),
    Case(
        "provision-member-key-not-in-bucket-region",
        f"{MEMBER} --bucket-kms-key {KEY_IN_ARCHIVE} --bucket-region eu-west-1 "
        "--region ap-northeast-1",
        "--bucket-region",
    ),
    Case(
        "provision-bucket-region-without-account",
        "provision plan -d s3 --bucket acme-logs --bucket-region us-east-1 --region ap-northeast-1",
        "--bucket-region",
    ),
    Case(
        "provision-member-with-lifecycle",
        f"{MEMBER} --bucket-kms-key {KEY_IN_ARCHIVE} --transition 30:STANDARD_IA "
        "--region ap-northeast-1",
        "--transition",
    ),
]

CORPUS: list[Case] = [
    case
    for name, group in list(globals().items())
    if name.isupper() and isinstance(group, list)
    for case in group
    if isinstance(case, Case)
]


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry under ``folder``: its bytes (None for a folder) and its mode."""
    found = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
        found[str(path.relative_to(folder))] = (content, stat.S_IMODE(info.st_mode))
    return found


def create_files(folder: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def test_case_ids_are_unique():
    ids = [case.id for case in CORPUS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def run_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run one case in an empty folder and assert the promise; AssertionError says what broke."""
    work = tmp_path / "work"
    work.mkdir()
    create_files(work, case.files)
    if case.setup:
        case.setup(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(work)

    result = CliRunner().invoke(app, shlex.split(case.command), env={"COLUMNS": "200"})

    lines = result.stderr.strip().splitlines()
    described = f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{described}"
    )
    assert "Traceback" not in result.stdout + result.stderr, described
    assert result.exit_code == 2, described
    assert len(lines) == 1, described
    assert case.names in lines[0], described
    assert " — " in lines[0], f"the line does not say how to fix it\n{described}"
    assert snapshot(work) == before, "a file changed, appeared or disappeared"
    assert not (tmp_path / "xdg").exists(), "something was written under XDG_DATA_HOME"


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.id)
def test_bad_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_case(case, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("case", "broken"),
    [
        (Case("good-input", "estimate --out out.txt", "out.txt", {"out.txt": "old"}), "exit 0"),
        (Case("wrong-name", "estimate --instances -1", "region"), "region"),
        (Case("two-lines", "estimate --instances -1", "instances"), "exit 2"),
    ],
    ids=["exit-0-and-file-changed", "names-another-input", "two-line-error"],
)
def test_the_harness_catches_a_broken_promise(case, broken, tmp_path, monkeypatch):
    """The harness itself can fail: a good run, a wrong name and a multi-line error all trip it."""
    from costcompare import cli

    if case.id == "two-lines":  # the root group folds every message: unfold it for this test
        monkeypatch.setattr(cli, "one_line", lambda exc: f"{exc.problem}\nmore")
    with pytest.raises(AssertionError) as caught:
        run_case(case, tmp_path, monkeypatch)
    assert broken in str(caught.value)
