"""Measure from an S3 Inventory report: every object's size and date without listing them.

The report is a ``manifest.json`` (local, or ``s3://``) naming data files in CSV (gzipped, no
header, columns as in ``fileSchema``, keys URL-encoded) or Parquet (named columns). Files are
read in batches of ``BATCH_ROWS`` rows into the bounded-memory accumulators, so a report of
millions of objects stays well under the memory limit. ORC reports are refused with a clear
message. pandas/pyarrow are imported inside functions.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from costcompare.errors import MeasureError
from costcompare.measure.aws import AwsOptions, aws_error
from costcompare.measure.measurement import Collector, Measurement, NoProgress, Progress
from costcompare.measure.s3 import parse_s3_uri

BATCH_ROWS = 100_000
# Column names: CSV fileSchema (Bucket, Key, Size, …) and Parquet (bucket, key, size, …).
_COLUMNS = {
    "key": ("Key", "key"),
    "size": ("Size", "size"),
    "date": ("LastModifiedDate", "last_modified_date"),
    "latest": ("IsLatest", "is_latest"),
    "marker": ("IsDeleteMarker", "is_delete_marker"),
}


def measure_inventory(
    manifest: str | Path,
    aws: AwsOptions | None = None,
    *,
    prefix: str = "",
    suffix: str = ".log",
    progress: Progress | None = None,
) -> Measurement:
    """Sessions (objects ending ``suffix`` under ``prefix``) from an inventory report."""
    aws = aws or AwsOptions()
    progress = progress or NoProgress()
    source = _Source.open(str(manifest), aws)
    doc = source.manifest
    fmt = str(doc.get("fileFormat", "")).upper()
    if fmt not in ("CSV", "PARQUET"):
        raise MeasureError(
            f"inventory {manifest} is in {fmt or 'an unknown'} format",
            "configure the inventory as CSV or Parquet (ORC is not read)",
        )
    files = doc.get("files")
    if not isinstance(files, list) or not files:
        raise MeasureError(f"inventory manifest {manifest} lists no data files")
    col = Collector()
    progress.start(f"reading inventory {manifest}", sum(int(f.get("size", 0)) for f in files))
    schema = [c.strip() for c in str(doc.get("fileSchema", "")).split(",")]
    for entry in files:
        key = entry.get("key", "")
        with source.fetch(key) as local:
            batches = _csv(local, schema) if fmt == "CSV" else _parquet(local)
            for frame in batches:
                _add(frame, col, prefix, suffix, encoded=fmt == "CSV")
        progress.advance(int(entry.get("size", 0)))
    where = f"S3 Inventory {manifest}" + (f" (keys under {prefix})" if prefix else "")
    m = col.finish(where, "inventory")
    if source.bucket:
        m.api_calls = dict(aws.calls)
    return m


def _add(frame: Any, col: Collector, prefix: str, suffix: str, encoded: bool) -> None:
    """One batch (a pandas DataFrame with key, size, date, maybe latest/marker). CSV reports
    URL-encode keys (``encoded``); decoding is skipped for batches that need none."""
    import pandas as pd

    keys = frame["key"].astype(str)
    if encoded and keys.str.contains("[%+]", regex=True).any():
        from urllib.parse import unquote_plus

        keys = keys.map(unquote_plus)
    keep = keys.str.endswith(suffix)
    if prefix:
        keep &= keys.str.startswith(prefix)
    if "latest" in frame:
        keep &= frame["latest"].astype(str).str.lower().isin(("true", "1"))
    if "marker" in frame:
        keep &= ~frame["marker"].astype(str).str.lower().isin(("true", "1"))
    col.ignored += int((~keep).sum())
    sizes = pd.to_numeric(frame["size"][keep], errors="coerce")
    dates = pd.to_datetime(frame["date"][keep], utc=True, errors="coerce", format="ISO8601")
    good = sizes.notna() & dates.notna() & (sizes > 0)
    empty = int((sizes == 0).sum())
    if empty:
        col.skipped["empty"] += empty
    if bad := int((~good).sum()) - empty:
        col.skipped["inventory row without size or date"] += bad
    seconds = (dates[good] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    col.add_sessions(sizes[good].to_numpy(np.int64), seconds)


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in wanted), None)


def _csv(path: Path, schema: list[str]) -> Iterator[Any]:
    import pandas as pd

    use = {k: _pick(schema, names) for k, names in _COLUMNS.items()}
    if not (use["key"] and use["size"] and use["date"]):
        raise MeasureError(
            f"inventory fileSchema {', '.join(schema)!r} lacks Key, Size or LastModifiedDate",
            "add Size and LastModifiedDate to the inventory's optional fields",
        )
    chosen = {v: k for k, v in use.items() if v}
    try:
        with gzip.open(path, "rb") as fh:
            reader = pd.read_csv(
                fh,
                header=None,
                names=schema,
                usecols=list(chosen),
                dtype=str,
                chunksize=BATCH_ROWS,
                keep_default_na=False,
            )
            for frame in reader:
                yield frame.rename(columns=chosen)
    except (OSError, EOFError, ValueError) as exc:
        raise MeasureError(f"inventory file {path.name} cannot be read: {exc}") from None


def _parquet(path: Path) -> Iterator[Any]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MeasureError(
            "reading a Parquet inventory needs pyarrow", "pip install 'costcompare[parquet]'"
        ) from None
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise MeasureError(f"inventory file {path.name} is not Parquet: {exc}") from None
    names = pf.schema_arrow.names
    use = {k: _pick(names, cands) for k, cands in _COLUMNS.items()}
    if not (use["key"] and use["size"] and use["date"]):
        raise MeasureError(f"Parquet inventory {path.name} lacks key, size or last_modified_date")
    chosen = {v: k for k, v in use.items() if v}
    for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=list(chosen)):
        yield batch.to_pandas().rename(columns=chosen)


class _Source:
    """Where the manifest and its data files are: a local folder tree or an S3 bucket."""

    def __init__(self, manifest: dict[str, Any], base: Path | None, bucket: str | None, s3: Any):
        self.manifest, self.base, self.bucket, self._s3 = manifest, base, bucket, s3

    @classmethod
    def open(cls, where: str, aws: AwsOptions) -> _Source:
        if where.startswith("s3://"):
            loc = parse_s3_uri(where)
            s3 = aws.client("s3")
            try:
                body = s3.get_object(Bucket=loc.bucket, Key=loc.prefix)["Body"].read()
            except Exception as exc:
                raise aws_error(exc, f"reading {where}") from None
            doc = _parse(body, where)
            dest = str(doc.get("destinationBucket", ""))
            bucket = dest.rsplit(":", 1)[-1] if dest else loc.bucket
            return cls(doc, None, bucket, s3)
        path = Path(where)
        if path.is_dir():
            path = path / "manifest.json"
        if not path.is_file():
            raise MeasureError(f"{path} does not exist", "pass the inventory's manifest.json")
        return cls(_parse(path.read_bytes(), str(path)), path.parent, None, None)

    def fetch(self, key: str) -> _Local:
        if self.bucket:
            return _Local(self._download(key), temporary=True)
        assert self.base is not None
        name = Path(key).name
        tries = [a / key for a in (self.base, *self.base.parents)]
        tries += [self.base / "data" / name, self.base / name]
        for candidate in tries:
            if candidate.is_file():
                return _Local(candidate)
        raise MeasureError(
            f"inventory data file {key} not found near {self.base}",
            "copy the report with its data/ folder, or read it from S3",
        )

    def _download(self, key: str) -> Path:
        fd, name = tempfile.mkstemp(suffix=Path(key).name)
        try:
            with open(fd, "wb") as tmp:
                self._s3.download_fileobj(self.bucket, key, tmp)
        except Exception as exc:
            Path(name).unlink(missing_ok=True)
            raise aws_error(exc, f"reading s3://{self.bucket}/{key}") from None
        return Path(name)


class _Local:
    """A data file on disk; a downloaded one is deleted after use."""

    def __init__(self, path: Path, temporary: bool = False) -> None:
        self.path, self.temporary = path, temporary

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def _parse(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise MeasureError(f"{where} is not a JSON inventory manifest") from None
    if not isinstance(doc, dict):
        raise MeasureError(f"{where} is not a JSON inventory manifest")
    return doc
