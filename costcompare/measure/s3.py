"""Measure an S3 prefix: the listing gives every session's size and date, a bounded random
sample of objects gives content (compression, ANSI share, simulated streaming overhead).

ListObjectsV2 returns up to 1,000 keys a call, so the listing costs one call per 1,000 objects;
the sample adds one GetObject per sampled object. Keys ending ``.log`` are sessions
(``<prefix>/<sessionId>.log``); anything else under the prefix is counted as ignored.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

import numpy as np

from costcompare.errors import MeasureError
from costcompare.measure.aws import AwsOptions, aws_error
from costcompare.measure.content import CHUNK, WHOLE, TranscriptScanner
from costcompare.measure.measurement import Collector, Measurement
from costcompare.progress import NoProgress, Progress

DEFAULT_SAMPLE = 50
DEFAULT_SAMPLE_BYTES = 32 << 20  # bytes read from all sampled objects together
MIN_SAMPLE_RANGE = 256 << 10  # an object's share is never smaller than this (or the object)
MAX_SAMPLE_OBJECT_BYTES = 16 << 20  # read at most this much of one sampled object


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def parse_s3_uri(uri: str) -> S3Location:
    """``s3://bucket/prefix`` -> S3Location; a clear error for anything else."""
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise MeasureError(f"{uri!r} is not an S3 URI", "write it as s3://bucket/prefix")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise MeasureError(f"{uri!r} has no bucket name", "write it as s3://bucket/prefix")
    return S3Location(bucket, prefix)


def measure_s3(
    uri: str,
    aws: AwsOptions | None = None,
    *,
    sample: int = DEFAULT_SAMPLE,
    sample_bytes: int = DEFAULT_SAMPLE_BYTES,
    seed: int = 0,
    progress: Progress | None = None,
) -> Measurement:
    """List every object under the prefix (paginated) and read a random sample of them: each
    a whole object, or a byte range (Range GET) when the object is larger than its share of
    ``sample_bytes``, so a few huge objects cost the budget, not their size."""
    where = parse_s3_uri(uri)
    aws = aws or AwsOptions()
    progress = progress or NoProgress()
    s3 = aws.client("s3")
    col = Collector()
    rng = random.Random(seed)
    reservoir: list[tuple[str, int]] = []
    seen = 0
    progress.start(f"listing {where}", None)
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=where.bucket, Prefix=where.prefix, PaginationConfig={"PageSize": 1000}
        )
        for page in pages:
            contents = page.get("Contents", [])
            sizes, stamps = [], []
            for obj in contents:
                key, size = obj["Key"], obj["Size"]
                if not key.endswith(".log"):
                    col.ignored += 1
                    continue
                if size == 0:
                    col.skip("empty", key)
                    continue
                sizes.append(size)
                stamps.append(obj["LastModified"].timestamp())
                seen += 1  # reservoir sampling (Algorithm R): uniform over all sessions
                if len(reservoir) < sample:
                    reservoir.append((key, size))
                else:
                    slot = rng.randrange(seen)
                    if slot < sample:
                        reservoir[slot] = (key, size)
            col.add_sessions(np.asarray(sizes, np.int64), np.asarray(stamps, float))
            progress.advance(len(contents))
    except Exception as exc:
        if isinstance(exc, MeasureError):
            raise
        raise aws_error(exc, f"listing {where}") from None
    progress.start(f"reading a sample of {len(reservoir)} objects", len(reservoir))
    malformed = 0
    share = sample_bytes // max(len(reservoir), 1)
    share = min(max(share, MIN_SAMPLE_RANGE), MAX_SAMPLE_OBJECT_BYTES)
    for key, size in reservoir:
        scan = _read_object(s3, where.bucket, key, _sample_range(key, size, share, seed))
        if scan is None or scan.kind != "transcript":
            malformed += 1
            what = scan.kind if scan else "unreadable"
            col.skip(f"sampled object {what}, still counted as a session", key)
        else:
            col.add_scan(scan)
        progress.advance(1)
    if malformed:
        col.notes.append(
            f"{malformed} of {len(reservoir)} sampled objects are not transcripts; "
            "the listing still counts every .log object as a session"
        )
    m = col.finish(str(where), "s3")
    m.api_calls = dict(aws.calls)
    return m


def _sample_range(key: str, size: int, share: int, seed: int) -> tuple[int, int] | None:
    """None (the whole object) when it fits its share; else a [start, stop) range of the share,
    at an offset chosen by a hash of the key."""
    if size <= share:
        return None
    start = int(zlib.crc32(key.encode(), seed & 0xFFFFFFFF) / 2**32 * (size - share))
    return start, start + share


def _read_object(s3, bucket: str, key: str, wanted: tuple[int, int] | None):
    """One sampled object (or a range of it) through the scanner: gzip + simulated streaming.
    A range is cut to whole lines, so that no character or line is split at its ends."""
    kwargs = {"Bucket": bucket, "Key": key}
    if wanted is not None:
        kwargs["Range"] = f"bytes={wanted[0]}-{wanted[1] - 1}"
    try:
        body = s3.get_object(**kwargs)["Body"]
    except Exception:
        return None
    scanner = TranscriptScanner(sample=WHOLE)
    try:
        if wanted is None:
            for chunk in body.iter_chunks(CHUNK):
                if not scanner.feed(chunk):
                    break
        else:
            data = body.read(wanted[1] - wanted[0])
            first = data.find(b"\n") + 1 if wanted[0] > 0 else 0
            scanner.feed(data[first : data.rfind(b"\n") + 1] or data)
    finally:
        body.close()
    return scanner.close()
