"""Measure from an S3 Inventory report: every object's size and date without listing them.

The report is a ``manifest.json`` (local, or ``s3://``) naming data files in CSV (gzipped, no
header, columns as in ``fileSchema``, keys URL-encoded) or Parquet (named columns). Files are
read in batches of ``BATCH_ROWS`` rows into the bounded-memory accumulators, so a report of
millions of objects stays in bounded memory (under 300 MB for 10 million rows). Both formats
are read with pyarrow, typed as parsed and filtered with Arrow compute (no Python object per
row). ORC reports are refused with a clear message. pyarrow is imported inside functions.
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
from costcompare.measure.measurement import Collector, Measurement
from costcompare.measure.s3 import parse_s3_uri
from costcompare.progress import NoProgress, Progress

BATCH_ROWS = 100_000
CSV_BLOCK_BYTES = 1 << 20  # CSV text parsed per batch
PARQUET_BUFFER_BYTES = 1 << 20  # Parquet read buffer; pages are decoded batch by batch
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


def _add(batch: Any, col: Collector, prefix: str, suffix: str, encoded: bool) -> None:
    """One Arrow record batch (key, size, date, maybe latest/marker), filtered and summed with
    Arrow compute: no Python object per row. CSV reports URL-encode keys (``encoded``); they
    are decoded only when a prefix is matched and the batch holds an escape."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = batch.column("key")
    # The suffix (".log") is never encoded, so keys need decoding only to match a prefix.
    if encoded and prefix and any(pc.any(pc.match_substring(keys, c)).as_py() for c in "%+"):
        from urllib.parse import unquote_plus

        keys = pa.array([unquote_plus(k) if k is not None else None for k in keys.to_pylist()])
    keep = pc.fill_null(pc.ends_with(keys, suffix), False)
    if prefix:
        keep = pc.and_(keep, pc.fill_null(pc.starts_with(keys, prefix), False))
    names = batch.schema.names
    if "latest" in names:
        keep = pc.and_(keep, pc.fill_null(_flag(batch.column("latest")), True))
    if "marker" in names:
        keep = pc.and_(keep, pc.invert(pc.fill_null(_flag(batch.column("marker")), False)))
    kept = int(pc.sum(keep).as_py() or 0)
    col.ignored += len(batch) - kept
    sizes = pc.filter(batch.column("size"), keep)
    dates = pc.filter(batch.column("date"), keep)
    empty = int(pc.sum(pc.equal(sizes, 0)).as_py() or 0)
    good = pc.and_(pc.fill_null(pc.greater(sizes, 0), False), pc.is_valid(dates))
    if empty:
        col.skipped["empty"] += empty
    if bad := kept - int(pc.sum(good).as_py() or 0) - empty:
        col.skipped["inventory row without size or date"] += bad
    seconds = pc.cast(pc.filter(dates, good), pa.timestamp("ms", "UTC")).cast(pa.int64())
    col.add_sessions(
        pc.filter(sizes, good).to_numpy(zero_copy_only=False).astype(np.int64),
        seconds.to_numpy(zero_copy_only=False) / 1000,
    )


def _flag(column: Any) -> Any:
    """A boolean column, whether typed (Parquet) or text ``true``/``false`` (CSV)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_boolean(column.type):
        return column
    return pc.is_in(pc.utf8_lower(pc.cast(column, pa.string())), pa.array(["true", "1"]))


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in wanted), None)


def _arrow() -> Any:
    try:
        import pyarrow
    except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
        raise MeasureError(
            "reading an S3 Inventory needs pyarrow", "pip install 'pyarrow>=15'"
        ) from None
    return pyarrow


def _csv(path: Path, schema: list[str]) -> Iterator[Any]:
    """Record batches of a CSV.gz report, columns typed as they are parsed (size int64, date a
    UTC timestamp, flags boolean): bounded memory, no text column left to convert."""
    pa = _arrow()
    import pyarrow.csv as pcsv

    use = {k: _pick(schema, names) for k, names in _COLUMNS.items()}
    if not (use["key"] and use["size"] and use["date"]):
        raise MeasureError(
            f"inventory fileSchema {', '.join(schema)!r} lacks Key, Size or LastModifiedDate",
            "add Size and LastModifiedDate to the inventory's optional fields",
        )
    types = {"key": pa.string(), "size": pa.int64(), "date": pa.timestamp("ms", "UTC"),
             "latest": pa.bool_(), "marker": pa.bool_()}  # fmt: skip
    chosen = {v: k for k, v in use.items() if v}
    opener = gzip.open if _gzipped(path) else open
    try:
        # gunzipped by Python's gzip (Arrow's own stream reads ahead into its default pool); one
        # 1 MiB block at a time, no read-ahead threads, from the system allocator, which hands
        # freed blocks back: 10 M rows peak under 200 MB.
        with opener(path, "rb") as source:
            reader = pcsv.open_csv(
                source,
                read_options=pcsv.ReadOptions(
                    column_names=schema, block_size=CSV_BLOCK_BYTES, use_threads=False
                ),
                convert_options=pcsv.ConvertOptions(
                    include_columns=list(chosen),
                    column_types={name: types[k] for name, k in chosen.items()},
                ),
                memory_pool=pa.system_memory_pool(),
            )
            for batch in reader:
                yield batch.rename_columns([chosen[n] for n in batch.schema.names])
    except (OSError, EOFError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise MeasureError(f"inventory file {path.name} cannot be read: {reason}") from None


def _gzipped(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _parquet(path: Path) -> Iterator[Any]:
    """Record batches of a Parquet report, read through a small buffer (no pre-buffering of
    whole row groups), so memory stays bounded whatever the row count."""
    _arrow()
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES)
    except Exception as exc:
        raise MeasureError(f"inventory file {path.name} is not Parquet: {exc}") from None
    names = pf.schema_arrow.names
    use = {k: _pick(names, cands) for k, cands in _COLUMNS.items()}
    if not (use["key"] and use["size"] and use["date"]):
        raise MeasureError(f"Parquet inventory {path.name} lacks key, size or last_modified_date")
    chosen = {v: k for k, v in use.items() if v}
    batches = pf.iter_batches(batch_size=BATCH_ROWS, columns=list(chosen), use_threads=False)
    for batch in batches:
        yield batch.rename_columns([chosen[n] for n in batch.schema.names])


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
    fix = "pass the manifest.json of an S3 Inventory report (…/YYYY-MM-DDTHH-MMZ/manifest.json)"
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise MeasureError(f"{where} is not a JSON inventory manifest", fix) from None
    if not isinstance(doc, dict):
        raise MeasureError(f"{where} is not a JSON inventory manifest", fix)
    return doc
