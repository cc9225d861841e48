"""S3 Inventory reports (CSV.gz and Parquet, local and in S3 through moto)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import statistics
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

from costcompare.errors import MeasureError
from costcompare.measure import AwsOptions, measure_inventory

REGION = "ap-northeast-1"
START = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def rows(n: int) -> list[tuple[str, int, dt.datetime]]:
    """n sessions under sessions/, a few other objects, over 10 days."""
    out = [(f"sessions/alice-{i:017x}.log", 1000 + 37 * i, START + dt.timedelta(hours=5 * i))
           for i in range(n)]  # fmt: skip
    out += [("sessions/readme.txt", 50, START), ("other/bob-1.log", 999, START)]
    return out


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


def test_csv_report_gives_sizes_and_dates(tmp_path):
    data = rows(300)
    manifest, _ = write_csv_report(tmp_path, data)
    m = measure_inventory(manifest, prefix="sessions/")
    sizes = [s for k, s, _ in data if k.startswith("sessions/") and k.endswith(".log")]
    assert m.sessions == 300 and m.ignored == 2
    assert m.sizes["total_bytes"] == sum(sizes)
    assert m.sizes["p50"] == pytest.approx(statistics.median(sizes))
    assert m.first_day == dt.date(2025, 3, 1)
    last = (START + dt.timedelta(hours=5 * 299)).date()
    assert m.last_day == last
    assert m.sessions_per_day == pytest.approx(300 / ((last - START.date()).days + 1))


def test_url_encoded_keys_are_decoded(tmp_path):
    data = [("sessions/role session/alice-00000000000000001.log", 500, START)]
    manifest, _ = write_csv_report(tmp_path, data, files=1)
    m = measure_inventory(manifest, prefix="sessions/role session/")
    assert m.sessions == 1


def test_parquet_report(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    data = rows(200)
    table = pa.table(
        {
            "bucket": ["src"] * len(data),
            "key": [k for k, _, _ in data],
            "size": pa.array([s for _, s, _ in data], pa.int64()),
            "last_modified_date": pa.array([w for _, _, w in data], pa.timestamp("ms", "UTC")),
        }
    )
    (tmp_path / "data").mkdir()
    pq.write_table(table, tmp_path / "data" / "part.parquet")
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "fileFormat": "Parquet",
                "fileSchema": "message s3.inventory { required binary key; }",
                "files": [{"key": "inv/src/cfg/data/part.parquet", "size": 1}],
            }
        )
    )
    m = measure_inventory(tmp_path, prefix="sessions/")
    assert m.sessions == 200
    assert m.sizes["total_bytes"] == sum(s for k, s, _ in data[:200])
    assert m.last_day == (START + dt.timedelta(hours=5 * 199)).date()


def test_report_in_s3(tmp_path):
    manifest, keys = write_csv_report(tmp_path, rows(50))
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(
            Bucket="inventory-dest", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        for key in keys:
            s3.upload_file(str(tmp_path / key), "inventory-dest", key)
        body = Path(manifest).read_bytes()
        s3.put_object(Bucket="inventory-dest", Key="m/manifest.json", Body=body)
        aws = AwsOptions(region=REGION)
        m = measure_inventory("s3://inventory-dest/m/manifest.json", aws, prefix="sessions/")
    assert m.sessions == 50
    assert m.api_calls["GetObject"] >= 3


def test_bad_reports_are_one_line_errors(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"fileFormat": "ORC", "files": []}))
    with pytest.raises(MeasureError, match="CSV or Parquet"):
        measure_inventory(tmp_path)
    (tmp_path / "manifest.json").write_text("not json")
    with pytest.raises(MeasureError, match="not a JSON inventory manifest"):
        measure_inventory(tmp_path)
    (tmp_path / "manifest.json").write_text(
        json.dumps({"fileFormat": "CSV", "fileSchema": "Bucket, Key", "files": [{"key": "x"}]})
    )
    with pytest.raises(MeasureError, match="not found"):
        measure_inventory(tmp_path)
    with pytest.raises(MeasureError, match="does not exist"):
        measure_inventory(tmp_path / "nope.json")


def test_csv_flags_and_corrupt_rows(tmp_path):
    """Typed columns: delete markers and non-current versions are not sessions; an empty size
    is counted, not fatal; a size that is not a number makes the file unreadable (one line)."""
    lines = [
        '"src","s/a-1.log","100","2025-03-01T00:00:00.000Z","true","false"',
        '"src","s/a-2.log","","2025-03-02T00:00:00.000Z","true","true"',
        '"src","s/a-3.log","300","2025-03-02T00:00:00.000Z","false","false"',
        '"src","s/a-4.log","","2025-03-03T00:00:00.000Z","true","false"',
    ]
    data = tmp_path / "data" / "part.csv.gz"
    data.parent.mkdir()
    data.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    schema = "Bucket, Key, Size, LastModifiedDate, IsLatest, IsDeleteMarker"
    manifest = {"fileFormat": "CSV", "fileSchema": schema, "files": [{"key": "data/part.csv.gz"}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    m = measure_inventory(tmp_path)
    assert m.sessions == 1 and m.sizes["total_bytes"] == 100 and m.ignored == 2
    assert m.skipped == {"inventory row without size or date": 1}
    data.write_bytes(gzip.compress(lines[0].replace('"100"', '"1e9x"').encode()))
    with pytest.raises(MeasureError, match=r"part\.csv\.gz cannot be read"):
        measure_inventory(tmp_path)
