"""S3 Inventory reports written to a folder as S3 writes them (manifest + CSV.gz data files),
for the inventory tests of ``measure`` and of ``measure --org``."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from urllib.parse import quote_plus

START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def write_csv_report(folder, data, files: int = 2) -> tuple[str, list[str]]:
    """A manifest and ``files`` CSV.gz data files laid out as S3 Inventory does."""
    keys = []
    per = -(-len(data) // files)
    for f in range(files):
        buf = io.StringIO()
        writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
        for key, size, when in data[f * per : (f + 1) * per]:
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            writer.writerow(["src", quote_plus(key, safe="/"), size, stamp, "STANDARD"])
        key = f"inv/src/cfg/data/part-{f}.csv.gz"
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(buf.getvalue().encode()))
        keys.append(key)
    manifest = {
        "sourceBucket": "src",
        "destinationBucket": "arn:aws:s3:::inventory-dest",
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, LastModifiedDate, StorageClass",
        "files": [{"key": k, "size": (folder / k).stat().st_size} for k in keys],
    }
    mpath = folder / "inv/src/cfg/2025-03-11T01-00Z/manifest.json"
    mpath.parent.mkdir(parents=True, exist_ok=True)
    mpath.write_text(json.dumps(manifest))
    return str(mpath), keys
