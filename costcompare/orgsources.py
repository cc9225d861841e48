"""S3 session logs across an AWS Organization: where each account's transcripts land, how many.

Session Manager uploads one object per session to ``s3BucketName``/``s3KeyPrefix`` of the
account's (regional) preferences document ``SSM-SessionManagerRunShell``. ``measure --org``
finds those prefixes three ways, in any mix:

- discovery (the default): read each account × region's preferences document, the place the
  agent really uploads to, so nobody has to know the bucket names;
- a bucket pattern, one bucket per member account (and region): ``ssm-logs-{account}-{region}``
  with an optional ``/prefix``;
- a central log-archive bucket with a prefix per account, ``s3://archive/ssm/{account}/``: read
  by the caller (or through the role in ``--log-archive-account``), since member roles rarely
  may list the archive.

Every prefix is measured by the single-account library call ``measure_s3`` (the listing: each
session's size and date; no object is read, so an account costs a fixed number of calls per
1,000 sessions) in its bucket's own region (GetBucketLocation), and once per account even when
several regions' preferences name it: S3 bills the bucket's region, so its volume is counted
there.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from costcompare.aws import AwsContext, error_code
from costcompare.awsfacts import check_account_id
from costcompare.errors import MeasureError
from costcompare.measure.aws import aws_error
from costcompare.measure.inventory import RELATION, opened_inventory
from costcompare.measure.inventory_sql import Runner, measure_with
from costcompare.measure.measurement import Measurement
from costcompare.measure.s3 import measure_s3, parse_s3_uri

PREFERENCES_DOCUMENT = "SSM-SessionManagerRunShell"
PLACEHOLDERS = frozenset({"account", "region"})
# S3 general purpose bucket names: 3-63 of a-z 0-9 . - (checked after the placeholders are
# filled with an account id and a region, which keep a valid name valid).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
SAMPLE_ACCOUNT, SAMPLE_REGION = "123456789012", "ap-northeast-1"
# GetBucketLocation answers None for us-east-1 and "EU" for the oldest eu-west-1 buckets.
LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}


@dataclass(frozen=True)
class S3Sources:
    """Where to look for session transcripts in every account (see the module docstring)."""

    discover: bool = True
    bucket_pattern: str = ""  # "ssm-logs-{account}-{region}[/prefix]"
    central: str = ""  # "s3://archive/prefix/{account}/" (may hold {region} too)
    central_inventory: tuple[str, ...] = ()  # the central bucket's inventory manifest (one)

    def uri_pattern(self) -> str:
        """The bucket pattern as an ``s3://`` URI template ('' when none is given)."""
        pattern = self.bucket_pattern
        return pattern if not pattern or pattern.startswith("s3://") else f"s3://{pattern}"


@dataclass
class PrefixVolume:
    """The session logs under one S3 prefix of one account (or why they could not be read)."""

    uri: str
    found_by: str  # preferences | pattern | central
    sessions: int = 0
    bytes: float = 0.0
    sessions_per_day: float | None = None  # over the listed sessions' span of days
    first_day: str | None = None
    last_day: str | None = None
    error: str | None = None


def check_s3_sources(sources: S3Sources, log_archive_account: str | None = None) -> None:
    """A bad --s3-bucket-pattern, --s3-central or --log-archive-account: one line, before any
    call."""
    if log_archive_account is not None:
        if not sources.central:
            raise MeasureError("--log-archive-account goes with --s3-central", "add --s3-central")
        check_account_id(log_archive_account, "--log-archive-account", error=MeasureError)
    if sources.central_inventory and not sources.central:
        raise MeasureError(
            "--s3-inventory with --org is the central bucket's inventory",
            "add --s3-central 's3://BUCKET/PREFIX/{account}/' (member buckets are listed)",
        )
    if len(sources.central_inventory) > 1:
        raise MeasureError("--org reads one --s3-inventory", "give the central bucket's manifest")
    if sources.bucket_pattern:
        flag = f"--s3-bucket-pattern {sources.bucket_pattern!r}"
        _check_template(sources.uri_pattern(), flag, "ssm-logs-{account}-{region}")
    if sources.central:
        if not sources.central.startswith("s3://"):
            raise MeasureError(
                f"--s3-central {sources.central!r} is not an s3:// URI",
                "write it as s3://BUCKET/PREFIX/{account}/",
            )
        flag = f"--s3-central {sources.central!r}"
        _check_template(sources.central, flag, "s3://BUCKET/PREFIX/{account}/")
        if "{" in parse_s3_uri(sources.central).bucket:
            raise MeasureError(
                f"--s3-central {sources.central!r} varies the bucket",
                "one bucket for all: put {account} in the prefix, or use --s3-bucket-pattern",
            )


def _check_template(template: str, flag: str, example: str) -> None:
    """``flag`` names the option and the value as the user wrote it."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise MeasureError(f"{flag}: {exc}", f"write it like {example}") from None
    if fields - PLACEHOLDERS or "{}" in template:
        unknown = sorted(fields - PLACEHOLDERS) or [""]
        raise MeasureError(
            f"{flag} has the placeholder {{{unknown[0]}}}",
            f"use only {{account}} and {{region}}, like {example}",
        )
    if "account" not in fields:
        raise MeasureError(f"{flag} has no {{account}}", f"write it like {example}")
    bucket = parse_s3_uri(fill(template, SAMPLE_ACCOUNT, SAMPLE_REGION)).bucket
    if not BUCKET_NAME.fullmatch(bucket):
        raise MeasureError(
            f"{flag} gives the bucket name {bucket!r}",
            "bucket names are 3-63 characters of a-z, 0-9, '.' and '-'",
        )


def fill(template: str, account: str, region: str) -> str:
    return template.format(account=account, region=region)


def regional(aws: AwsContext, region: str) -> AwsContext:
    """The same credentials, counter and hook in ``region`` (clients are per context)."""
    return dataclasses.replace(aws, region=region, _clients={})


def preferences_uri(member: AwsContext, region: str) -> str | None:
    """``s3://s3BucketName/s3KeyPrefix`` of the region's Session Manager preferences; None when
    the document does not exist or names no bucket (sessions are not kept in S3 there)."""
    ssm = member.client("ssm", region)
    try:
        reply = ssm.get_document(Name=PREFERENCES_DOCUMENT, DocumentFormat="JSON")
    except Exception as exc:
        if error_code(exc) == "InvalidDocument":  # never set up in this region
            return None
        raise aws_error(exc, f"reading {PREFERENCES_DOCUMENT} in {region}") from None
    try:
        inputs = json.loads(reply.get("Content") or "{}").get("inputs") or {}
    except (ValueError, AttributeError):
        raise MeasureError(f"{PREFERENCES_DOCUMENT} in {region} is not JSON") from None
    bucket = str(inputs.get("s3BucketName") or "").strip()
    if not bucket:
        return None
    prefix = str(inputs.get("s3KeyPrefix") or "").strip("/")
    return f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}/"


def bucket_region(aws: AwsContext, bucket: str) -> str:
    """The region that holds (and bills) ``bucket``."""
    reply = aws.client("s3").get_bucket_location(Bucket=bucket)
    location = reply.get("LocationConstraint")
    return LEGACY_LOCATIONS.get(location, location)


def measure_prefix(
    aws: AwsContext, uri: str, found_by: str, region: str | None = None
) -> tuple[str | None, PrefixVolume]:
    """(the bucket's region, the prefix's sessions) through ``aws``'s credentials; a failure is
    kept in the result with region None (the caller files it under the region that named it).
    ``region`` given: ``aws`` is already in the bucket's region (the central bucket)."""
    volume = PrefixVolume(uri, found_by)
    try:
        if region is None:
            region = bucket_region(aws, parse_s3_uri(uri).bucket)
            aws = regional(aws, region)
        m = measure_s3(uri, aws, sample=0)
    except Exception as exc:
        volume.error = str(aws_error(exc, f"reading {uri}"))
        return None, volume
    return region, _filled(volume, m)


def _filled(volume: PrefixVolume, m: Measurement) -> PrefixVolume:
    """``volume`` with the sessions, bytes and days a single-account measurement found."""
    volume.sessions = m.sessions
    volume.bytes = float(m.sizes.get("total_bytes") or 0)
    volume.sessions_per_day = m.sessions_per_day
    volume.first_day = m.first_day.isoformat() if m.first_day else None
    volume.last_day = m.last_day.isoformat() if m.last_day else None
    return volume


@dataclass(frozen=True)
class CentralBucket:
    """The log-archive bucket, ready for every account: the reader in the bucket's region, or
    the bucket's inventory opened once (queried under a lock: one DuckDB connection)."""

    template: str
    reader: AwsContext
    inventory: Runner | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def region(self) -> str:
        return self.reader.region or ""

    def measure(self, uri: str) -> PrefixVolume:
        """One account's prefix: listed, or counted in the inventory (keys under it)."""
        if self.inventory is None:
            return measure_prefix(self.reader, uri, "central", self.region)[1]
        volume = PrefixVolume(uri, "central inventory")
        prefix = parse_s3_uri(uri).prefix
        try:
            with self.lock:
                m = measure_with(self.inventory, RELATION, f"S3 Inventory of {uri}", prefix=prefix)
        except Exception as exc:
            volume.error = str(aws_error(exc, f"querying the inventory for {uri}"))
            return volume
        return _filled(volume, m)

    @property
    def bucket(self) -> str:
        return parse_s3_uri(self.template).bucket

    def uris(self, account: str, regions: list[str]) -> list[str]:
        """The account's prefixes: one per region when the template names {region}."""
        if "{region}" not in self.template:
            return [fill(self.template, account, "")]
        return [fill(self.template, account, region) for region in regions]


@contextmanager
def opened_central(reader: AwsContext, sources: S3Sources) -> Iterator[CentralBucket]:
    """The central bucket, once, up front: its region (GetBucketLocation; with an inventory,
    the caller's region, as the report may be a local copy), and its inventory opened. A bucket
    that cannot be read stops the run here, in one line, instead of failing in every account."""
    bucket = parse_s3_uri(sources.central).bucket
    if sources.central_inventory:
        with opened_inventory(sources.central_inventory[0], reader) as run:
            yield CentralBucket(sources.central, reader, run)
        return
    try:
        region = bucket_region(reader, bucket)
    except Exception as exc:
        raise aws_error(exc, f"reading the central bucket {bucket} (--s3-central)") from None
    central = regional(reader, region)
    central.client("s3")  # made here, once: the account threads share it
    yield CentralBucket(sources.central, central)
