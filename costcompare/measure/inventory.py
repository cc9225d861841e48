"""Measure from an S3 Inventory report: every object's size and date without listing them.

The report is a ``manifest.json`` (local, or ``s3://``) naming data files in CSV (gzipped, no
header, columns as in ``fileSchema``, keys URL-encoded) or Parquet (named columns). They are read
with SQL on DuckDB: a view gives them AWS's Athena column names, and ``inventory_sql``'s queries
(the same text ``inventory_athena`` sends to Athena) compute every figure in the engine, so no
row reaches Python. DuckDB runs with a memory limit (spilling to a temporary folder beyond it)
and two threads: 10 million rows stay under 300 MB peak RSS. Files in S3 are downloaded to a
temporary folder first and deleted after. ORC reports are refused with a clear message.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from costcompare.errors import MeasureError
from costcompare.measure.aws import AwsOptions, aws_error
from costcompare.measure.inventory_sql import Runner, measure_with
from costcompare.measure.measurement import Measurement
from costcompare.measure.s3 import parse_s3_uri
from costcompare.progress import NoProgress, Progress

DUCKDB_MEMORY_LIMIT = "160MB"  # DuckDB's own buffers; it spills to disk beyond this
DUCKDB_THREADS = 2
PROGRESS_POLL_S = 0.25  # how often the bar reads DuckDB's progress of a long query
RELATION = "inventory"  # the view's name on DuckDB (on Athena: the --table)
# Column names: CSV fileSchema (Bucket, Key, Size, …) and Parquet (bucket, key, size, …).
_COLUMNS = {
    "key": ("Key", "key"),
    "size": ("Size", "size"),
    "last_modified_date": ("LastModifiedDate", "last_modified_date"),
    "is_latest": ("IsLatest", "is_latest"),
    "is_delete_marker": ("IsDeleteMarker", "is_delete_marker"),
}
_CSV_TYPES = {"key": "VARCHAR", "size": "BIGINT", "last_modified_date": "TIMESTAMP",
              "is_latest": "BOOLEAN", "is_delete_marker": "BOOLEAN"}  # fmt: skip
_REQUIRED = ("key", "size", "last_modified_date")


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
    where = f"S3 Inventory {manifest}" + (f" (keys under {prefix})" if prefix else "")
    with opened_inventory(manifest, aws, progress) as run:
        m = measure_with(run, RELATION, where, prefix=prefix, suffix=suffix)
    if str(manifest).startswith("s3://"):
        m.api_calls = dict(aws.calls)
    return m


@contextmanager
def opened_inventory(
    manifest: str | Path, aws: AwsOptions, progress: Progress | None = None
) -> Iterator[Runner]:
    """The report's data files (downloaded once when in S3) on DuckDB as the view ``inventory``:
    many ``measure_with`` queries (one per prefix, e.g. per account) share one opening."""
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
    schema = [c.strip() for c in str(doc.get("fileSchema", "")).split(",")]
    progress = progress or NoProgress()
    with (
        source.local_files(files, progress) as paths,
        duckdb_inventory(paths, fmt, schema, progress) as run,
    ):
        yield run


@contextmanager
def duckdb_inventory(
    paths: list[Path], fmt: str, schema: list[str], progress: Progress | None = None
) -> Iterator[Runner]:
    """A DuckDB connection with the view ``inventory`` over local data files (``fmt`` CSV or
    PARQUET), as a function that runs a query text and returns its rows (showing DuckDB's own
    estimate of the scan done on ``progress``, when there is a bar to show it on)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="costcompare-duckdb-") as spill:
        con = duckdb.connect(
            config={
                "memory_limit": DUCKDB_MEMORY_LIMIT,
                "threads": DUCKDB_THREADS,
                "preserve_insertion_order": False,
                "temp_directory": spill,
                # Never fetch an extension from the network; without ICU, DuckDB's timestamps
                # with a time zone cast to UTC wall time, so days are UTC calendar days.
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            }
        )
        try:
            _utc(con)
            _create_view(con, paths, fmt, schema)

            def run(sql: str) -> list[tuple[Any, ...]]:
                try:
                    if progress is None or isinstance(progress, NoProgress):
                        return con.execute(sql).fetchall()
                    return _fetch_showing_progress(con, sql, progress)
                except duckdb.Error as exc:
                    raise _unreadable(paths, exc) from None

            yield run
        finally:
            con.close()


def _fetch_showing_progress(con: Any, sql: str, progress: Progress) -> list[tuple[Any, ...]]:
    """Run ``sql`` in a worker thread while this one reads DuckDB's percentage of the scan
    (``query_progress``) onto the bar; an interrupt stops the query, an error is re-raised."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["rows"] = con.execute(sql).fetchall()
        except BaseException as exc:  # re-raised in the calling thread
            outcome["error"] = exc

    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")  # the numbers only, drawn by us
    progress.start("querying the inventory (% scanned)", 100)
    shown = 0.0
    worker = threading.Thread(target=work, name="duckdb-inventory-query", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(PROGRESS_POLL_S)
            done = float(con.query_progress())
            if done > shown:
                progress.advance(done - shown)
                shown = done
    except BaseException:
        con.interrupt()
        worker.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["rows"]


def _utc(con: Any) -> None:
    """Days are UTC calendar days: where ICU is built in, its zone is set to UTC."""
    import duckdb

    with contextlib.suppress(duckdb.Error):  # no ICU: zoned timestamps already cast to UTC
        con.execute("SET TimeZone = 'UTC'")


def _unreadable(paths: list[Path], exc: Exception) -> MeasureError:
    """One line from DuckDB's many: what failed, which column or count, in which file."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    why = [lines[0]] if lines else []
    why += [line for line in lines[1:] if line.startswith(_DUCKDB_REASONS)][:1]
    named = [line.split("=", 1)[1].strip() for line in lines if line.startswith("file =")]
    name = Path(named[0]).name if named else paths[0].name
    what = f"inventory file {name}" if named or len(paths) == 1 else "inventory data files"
    return MeasureError(
        f"{what} cannot be read: {'; '.join(why)[:240]}",
        "pass the report as S3 wrote it (manifest.json with its data/ files)",
    )


_DUCKDB_REASONS = ("Expected Number of Columns", "Error when converting", "Could not convert")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _file_list(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_text(str(p)) for p in paths) + "]"


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in wanted), None)


def _create_view(con: Any, paths: list[Path], fmt: str, schema: list[str]) -> None:
    """The view ``inventory`` over the files, with Athena's column names and types (a file
    that does not parse fails when a query reads it: ``duckdb_inventory``'s runner says so)."""
    source, names, types = (
        _csv_source(paths, schema) if fmt == "CSV" else _parquet_source(con, paths)
    )
    use = {k: _pick(names, cands) for k, cands in _COLUMNS.items()}
    missing = [k for k in _REQUIRED if not use[k]]
    if missing and fmt == "CSV":
        raise MeasureError(
            f"inventory fileSchema {', '.join(schema)!r} lacks Key, Size or LastModifiedDate",
            "add Size and LastModifiedDate to the inventory's optional fields",
        )
    if missing:
        raise MeasureError(
            f"Parquet inventory {paths[0].name} lacks key, size or last_modified_date",
            "add Size and LastModifiedDate to the inventory's optional fields",
        )
    key = f'"{use["key"]}"'
    if fmt == "CSV":  # CSV reports URL-encode keys (a space as +); decode only those with escapes
        key = (
            f"CASE WHEN strpos({key}, '%') > 0 OR strpos({key}, '+') > 0 "
            f"THEN url_decode(replace({key}, '+', ' ')) ELSE {key} END"
        )
    date = f'"{use["last_modified_date"]}"'
    if "INT" in types.get(use["last_modified_date"] or "", ""):  # epoch milliseconds
        date = f"epoch_ms({date})"
    columns = [
        f"{key} AS key",
        f'"{use["size"]}" AS size',
        f"CAST({date} AS TIMESTAMP) AS last_modified_date",
    ]
    for flag in ("is_latest", "is_delete_marker"):
        name = use[flag]
        columns.append(f'"{name}" AS {flag}' if name else f"CAST(NULL AS BOOLEAN) AS {flag}")
    con.execute(f"CREATE VIEW {RELATION} AS SELECT {', '.join(columns)} FROM {source}")


def _csv_source(paths: list[Path], schema: list[str]) -> tuple[str, list[str], dict[str, str]]:
    """read_csv over the gzipped (or plain) CSV files: no header, fileSchema's columns, the
    ones the query reads typed as they are parsed, the others left as text."""
    wanted = {name: _CSV_TYPES[k] for k, cands in _COLUMNS.items() for name in cands}
    if len(set(schema)) != len(schema) or not all(schema):
        raise MeasureError(f"inventory fileSchema {', '.join(schema)!r} is not a column list")
    columns = "{" + ", ".join(f"{_sql_text(c)}: '{wanted.get(c, 'VARCHAR')}'" for c in schema) + "}"
    gzipped = {_gzipped(p) for p in paths}
    if len(gzipped) > 1:
        raise MeasureError("the inventory's data files mix gzipped and plain CSV",
                           "pass the report as S3 wrote it (every file .csv.gz)")  # fmt: skip
    compression = "gzip" if gzipped.pop() else "none"
    source = (
        f"read_csv({_file_list(paths)}, header = false, auto_detect = false, "
        f"columns = {columns}, quote = '\"', escape = '\"', "
        f"compression = '{compression}')"
    )
    return source, schema, {c: wanted.get(c, "VARCHAR") for c in schema}


def _parquet_source(con: Any, paths: list[Path]) -> tuple[str, list[str], dict[str, str]]:
    source = f"read_parquet({_file_list(paths)}, union_by_name = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except Exception as exc:  # duckdb.Error: not Parquet at all
        first = str(exc).splitlines()[0][:200]
        raise MeasureError(
            f"inventory file {paths[0].name} is not Parquet: {first}",
            "pass the report as S3 wrote it (manifest.json with its data/ files)",
        ) from None
    types = {str(row[0]): str(row[1]).upper() for row in described}
    return source, list(types), types


def _gzipped(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


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

    @contextmanager
    def local_files(self, files: list[Any], progress: Progress) -> Iterator[list[Path]]:
        """The manifest's data files on disk: found near a local manifest, or downloaded from
        the bucket into a temporary folder that is deleted afterwards."""
        keys = [str(f.get("key", "")) if isinstance(f, dict) else "" for f in files]
        # Sizes only drive the progress bar: a missing or odd one counts as 0.
        sizes = [f.get("size") if isinstance(f, dict) else 0 for f in files]
        sizes = [s if isinstance(s, int) and s > 0 else 0 for s in sizes]
        if not self.bucket:
            yield [self._find(key) for key in keys]
            return
        progress.start(f"downloading {len(keys)} inventory files", sum(sizes))
        with tempfile.TemporaryDirectory(prefix="costcompare-inventory-") as folder:
            paths = []
            for n, (key, size) in enumerate(zip(keys, sizes, strict=True)):
                paths.append(self._download(key, Path(folder) / f"{n:05d}-{Path(key).name}"))
                progress.advance(size)
            yield paths

    def _find(self, key: str) -> Path:
        assert self.base is not None
        name = Path(key).name
        tries = [a / key for a in (self.base, *self.base.parents)] if key else []
        tries += [self.base / "data" / name, self.base / name] if name else []
        for candidate in tries:
            if candidate.is_file():
                return candidate
        raise MeasureError(
            f"inventory data file {key} not found near {self.base}",
            "copy the report with its data/ folder, or read it from S3",
        )

    def _download(self, key: str, target: Path) -> Path:
        try:
            with target.open("wb") as tmp:
                self._s3.download_fileobj(self.bucket, key, tmp)
        except Exception as exc:
            raise aws_error(exc, f"reading s3://{self.bucket}/{key}") from None
        return target


def _parse(data: bytes, where: str) -> dict[str, Any]:
    fix = "pass the manifest.json of an S3 Inventory report (…/YYYY-MM-DDTHH-MMZ/manifest.json)"
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise MeasureError(f"{where} is not a JSON inventory manifest", fix) from None
    if not isinstance(doc, dict):
        raise MeasureError(f"{where} is not a JSON inventory manifest", fix)
    return doc
