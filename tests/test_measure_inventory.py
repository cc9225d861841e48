"""S3 Inventory reports (CSV.gz and Parquet, local and in S3 through moto)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import statistics
from pathlib import Path

import boto3
import pytest
from inventory_report import START, write_csv_report
from moto import mock_aws

from costcompare.errors import MeasureError
from costcompare.measure import AwsOptions, measure_inventory
from tests.athena_moto import queue_athena_rows

REGION = "ap-northeast-1"


def rows(n: int) -> list[tuple[str, int, dt.datetime]]:
    """n sessions under sessions/, a few other objects, over 10 days."""
    out = [(f"sessions/alice-{i:017x}.log", 1000 + 37 * i, START + dt.timedelta(hours=5 * i))
           for i in range(n)]  # fmt: skip
    out += [("sessions/readme.txt", 50, START), ("other/bob-1.log", 999, START)]
    return out


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


# --- SQL on DuckDB: every figure against numpy on the same rows ------------------------------


def write_parquet_report(folder: Path, table) -> Path:
    """A Parquet report of one data file holding ``table`` (AWS's Parquet column names)."""
    pq = pytest.importorskip("pyarrow.parquet")
    (folder / "data").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "data" / "part.parquet")
    manifest = {
        "fileFormat": "Parquet",
        "fileSchema": "message s3.inventory { required binary key; }",
        "files": [{"key": "data/part.parquet", "size": 1}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / "manifest.json"


def random_sessions(n: int, seed: int = 7):
    """n sessions: lognormal sizes (many repeated), spread over 40 days at any time of day."""
    import numpy as np

    rng = np.random.default_rng(seed)
    sizes = rng.lognormal(9.0, 1.5, n).astype(np.int64) + 1
    seconds = rng.integers(0, 40 * 86_400, n)
    return sizes, seconds


def test_sql_figures_equal_numpy_on_a_generated_report(tmp_path):
    """50,000 sessions among other objects: quantiles exact (numpy's linear), the histogram and
    the daily counts equal what SizeStats/DayCounts make of the same values."""
    import numpy as np
    import pyarrow as pa

    from costcompare.measure.stats import DayCounts, SizeStats

    sizes, seconds = random_sessions(50_000)
    n = len(sizes)
    stamps = (np.datetime64("2025-03-01T00:00:00", "s") + seconds).astype("datetime64[ms]")
    keys = [f"ssm_logs/u{i % 13}-{i:017x}.log" for i in range(n)]
    # Not sessions: old versions, delete markers, other prefixes (an "_" is not a wildcard), .txt
    extra = [
        ("ssm_logs/old.log", 5, False, False),
        ("ssm_logs/gone.log", 0, True, True),
        ("ssmXlogs/a.log", 9, True, False),
        ("ssm_logs/notes.txt", 7, True, False),
        ("ssm_logs/empty.log", 0, True, False),
        ("ssm_logs/nodate.log", 3, True, False),
    ]
    table = pa.table(
        {
            "bucket": ["src"] * (n + len(extra)),
            "key": keys + [e[0] for e in extra],
            "is_latest": [True] * n + [e[2] for e in extra],
            "is_delete_marker": [False] * n + [e[3] for e in extra],
            "size": pa.array([*sizes.tolist(), *(e[1] for e in extra)], pa.int64()),
            "last_modified_date": pa.array(
                [*stamps.tolist(), *[START] * (len(extra) - 1), None], pa.timestamp("ms", "UTC")
            ),
        }
    )
    m = measure_inventory(write_parquet_report(tmp_path, table), prefix="ssm_logs/")
    assert m.sessions == n and m.ignored == 4
    assert m.skipped == {"empty": 1, "inventory row without size or date": 1}
    expected = SizeStats()
    expected.add_many(sizes)
    days = DayCounts()
    days.add_many(seconds + int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp()))
    assert m.sizes["p50"] == pytest.approx(float(np.quantile(sizes, 0.5)), abs=1e-9)
    assert m.sizes["p95"] == pytest.approx(float(np.quantile(sizes, 0.95)), abs=1e-9)
    assert m.sizes["histogram"] == expected.histogram()
    assert (m.sizes["total_bytes"], m.sizes["min"], m.sizes["max"]) == (
        int(sizes.sum()), int(sizes.min()), int(sizes.max())
    )  # fmt: skip
    assert m.sizes["quantiles_exact"] is True
    assert (m.first_day, m.last_day) == (days.first, days.last)
    assert m.busiest_day == {"date": days.busiest()[0].isoformat(), "sessions": days.busiest()[1]}
    assert m.sessions_per_day_cv == pytest.approx(days.variation())


def test_csv_and_parquet_of_the_same_rows_give_the_same_measurement(tmp_path):
    import pyarrow as pa

    data = rows(400)
    data += [("sessions/a b+c%.log", 77, START), ("sessions/x_y.log", 78, START)]
    csv_manifest, _ = write_csv_report(tmp_path / "csv", data, files=3)
    table = pa.table(
        {
            "bucket": ["src"] * len(data),
            "key": [k for k, _, _ in data],
            "size": pa.array([s for _, s, _ in data], pa.int64()),
            "last_modified_date": pa.array([w for _, _, w in data], pa.timestamp("ms", "UTC")),
        }
    )
    parquet_manifest = write_parquet_report(tmp_path / "parquet", table)
    a = measure_inventory(csv_manifest, prefix="sessions/").to_dict()
    b = measure_inventory(parquet_manifest, prefix="sessions/").to_dict()
    assert a["sessions"] == 402  # the decoded "a b+c%.log" and the "_" key count
    for key in ("source", "notes"):
        a.pop(key), b.pop(key)
    assert a == b


def test_epoch_millisecond_dates_and_days_in_utc(tmp_path, monkeypatch):
    """A report whose last_modified_date is epoch milliseconds; one second before midnight UTC
    is that day, whatever the machine's zone."""
    import pyarrow as pa

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    late = int(dt.datetime(2025, 3, 1, 23, 59, 59, tzinfo=dt.UTC).timestamp() * 1000)
    table = pa.table(
        {"key": ["s/a.log", "s/b.log"], "size": [10, 20], "last_modified_date": [late, late + 2000]}
    )
    m = measure_inventory(write_parquet_report(tmp_path, table))
    assert m.busiest_day == {"date": "2025-03-01", "sessions": 1}
    assert (m.first_day, m.last_day) == (dt.date(2025, 3, 1), dt.date(2025, 3, 2))


def test_no_session_is_a_note_not_an_error(tmp_path):
    manifest, _ = write_csv_report(tmp_path, [("other/x.txt", 5, START)], files=1)
    m = measure_inventory(manifest, prefix="sessions/")
    assert m.sessions == 0 and m.ignored == 1 and m.sizes["p50"] is None
    assert any("no session logs" in note for note in m.notes)


# --- Athena on moto: the same query texts, in the workgroup; the same rows, the same figures --

ATHENA_TABLE = "inv_db.ssm_inventory"


def duckdb_texts_and_rows(manifest: Path, prefix: str):
    """The measurement on DuckDB, with every query text it ran and the rows each returned."""
    from costcompare.measure.inventory import duckdb_inventory
    from costcompare.measure.inventory_sql import measure_with

    ran = []
    with duckdb_inventory([manifest.parent / "data" / "part.parquet"], "PARQUET", []) as run:

        def recording(sql):
            ran.append((sql, run(sql)))
            return ran[-1][1]

        m = measure_with(recording, "inventory", "w", prefix=prefix)
    return m, ran


def test_athena_gets_the_duckdb_query_texts_in_the_workgroup(tmp_path):
    import numpy as np
    import pyarrow as pa
    from moto.athena.models import athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from typer.testing import CliRunner

    from costcompare.cli import app
    from costcompare.measure.inventory_sql import SUMMARY_COLUMNS

    sizes, seconds = random_sessions(5_000, seed=3)
    stamps = (np.datetime64("2025-03-01T00:00:00", "s") + seconds).astype("datetime64[ms]")
    table = pa.table(
        {
            "key": [f"sessions/u-{i:017x}.log" for i in range(len(sizes))] + ["other/x.log"],
            "size": pa.array([*sizes.tolist(), 5], pa.int64()),
            "last_modified_date": pa.array([*stamps.tolist(), None], pa.timestamp("ms", "UTC")),
        }
    )
    manifest = write_parquet_report(tmp_path, table)
    local, ran = duckdb_texts_and_rows(manifest, "sessions/")
    assert len(ran) == 2  # the summary, then the exact sizes of the p50 and p95 bins
    region = "ap-northeast-1"
    with mock_aws():
        boto3.client("athena", region_name=region).create_work_group(Name="audit")
        queue_athena_rows(region, SUMMARY_COLUMNS, ran[0][1])
        queue_athena_rows(region, ("size", "objects"), ran[1][1])
        args = ["measure", "--engine", "athena", "--workgroup", "audit", "--table", ATHENA_TABLE]
        args += ["--inventory-prefix", "sessions/", "--query-output", "s3://athena-results/"]
        out = ["--region", region, "-o", "json", "--write-workload", str(tmp_path / "a.yaml")]
        result = CliRunner().invoke(app, [*args, *out])
        assert result.exit_code == 0, result.output
        executions = list(athena_backends[DEFAULT_ACCOUNT_ID][region].executions.values())
    # The same text, but for the relation's name: DuckDB's view "inventory", Athena's table.
    assert [e.query for e in executions] == [
        sql.replace("FROM inventory\n", f"FROM {ATHENA_TABLE}\n") for sql, _ in ran
    ]
    assert all(f"FROM {ATHENA_TABLE}\n" in e.query for e in executions)
    assert {e.workgroup.name for e in executions} == {"audit"}
    assert {e.context["Database"] for e in executions} == {"inv_db"}
    assert executions[0].config["OutputLocation"].startswith("s3://athena-results/")
    (athena,) = json.loads(result.stdout)["sources"]
    assert athena["sessions"] == local.sessions == 5_000
    assert athena["sizes"] == local.to_dict()["sizes"]
    expected_p95 = float(np.quantile(sizes, 0.95))
    assert athena["sizes"]["p95"] == pytest.approx(expected_p95, abs=1e-9)
    for key in ("first_day", "last_day", "busiest_day", "sessions_per_day", "skipped"):
        assert athena[key] == local.to_dict()[key], key
    assert athena["source"].startswith(f"S3 Inventory table {ATHENA_TABLE}")
    assert "Athena scanned 0 bytes in 2 queries" in athena["notes"]  # moto reports no scan
    # The workload written from Athena's rows is the one written from the files by DuckDB.
    local_args = ["measure", "--s3-inventory", str(manifest), "--inventory-prefix", "sessions/"]
    local_args += ["--region", region, "-o", "json", "--write-workload", str(tmp_path / "l.yaml")]
    on_duckdb = CliRunner().invoke(app, local_args)
    assert on_duckdb.exit_code == 0, on_duckdb.output
    profile = json.loads(result.stdout)["profile"]
    assert profile == json.loads(on_duckdb.stdout)["profile"]
    assert profile["session_bytes"] == pytest.approx(float(sizes.mean()))


def test_athena_flags_are_checked_before_any_call():
    from typer.testing import CliRunner

    from costcompare.cli import app

    def run(*args):
        return CliRunner().invoke(app, ["measure", *args])

    for args, says in [
        (("--engine", "athena"), "--engine athena needs --table DB.TABLE"),
        (("--engine", "athena", "--table", "inv; DROP"), "not an Athena table name"),
        (("--engine", "athena", "--table", "inventory"), "not an Athena table name"),
        (("--table", "db.t"), "go with --engine athena"),
        (("--engine", "athena", "--table", "db.t", "--s3-inventory", "m.json"), "not --s3-inv"),
    ]:
        result = run(*args)
        assert result.exit_code == 2 and says in result.stderr, (args, result.output)
        assert "Traceback" not in result.output


def test_above_the_exact_limit_one_scan_and_quantiles_within_half_a_percent(tmp_path, monkeypatch):
    """Beyond EXACT_LIMIT sessions the second scan (time locally, money on Athena) is skipped:
    quantiles come from the 0.5 % bins, flagged as not exact."""
    import numpy as np
    import pyarrow as pa

    from costcompare.measure import inventory_sql

    monkeypatch.setattr(inventory_sql, "EXACT_LIMIT", 1_000)
    sizes, seconds = random_sessions(20_000, seed=11)
    stamps = (np.datetime64("2025-03-01T00:00:00", "s") + seconds).astype("datetime64[ms]")
    table = pa.table(
        {
            "key": [f"s/u-{i:017x}.log" for i in range(len(sizes))],
            "size": pa.array(sizes, pa.int64()),
            "last_modified_date": pa.array(stamps, pa.timestamp("ms", "UTC")),
        }
    )
    m, ran = duckdb_texts_and_rows(write_parquet_report(tmp_path, table), "")
    assert len(ran) == 1
    summary = m.sizes
    assert summary["quantiles_exact"] is False
    for q, key in ((0.5, "p50"), (0.95, "p95")):
        assert summary[key] == pytest.approx(float(np.quantile(sizes, q)), rel=0.005)
    assert summary["total_bytes"] == int(sizes.sum())


# --- The committed reports (tests/fixtures/inventory, written by its generate.py) ----------

FIXTURES = Path(__file__).parent / "fixtures" / "inventory"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_committed_reports_give_the_generators_figures(fmt):
    import importlib.util
    from collections import Counter

    import numpy as np

    spec = importlib.util.spec_from_file_location("inventory_fixture", FIXTURES / "generate.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    rows_written = generator.ROWS

    sessions = [(size, when) for key, size, when, latest, marker in rows_written
                if key.startswith("sessions/") and key.endswith(".log") and latest
                and not marker and size > 0]  # fmt: skip
    sizes = np.array([s for s, _ in sessions])
    per_day = Counter(when.date() for _, when in sessions)
    span = (max(per_day) - min(per_day)).days + 1
    m = measure_inventory(FIXTURES / fmt / "manifest.json", prefix="sessions/")
    assert (m.sessions, m.ignored, m.skipped) == (601, 4, {"empty": 1})
    assert m.sizes["total_bytes"] == int(sizes.sum())
    assert m.sizes["p50"] == float(np.quantile(sizes, 0.5))
    assert m.sizes["p95"] == float(np.quantile(sizes, 0.95))
    assert (m.first_day, m.last_day) == (min(per_day), max(per_day))
    day, most = max(per_day.items(), key=lambda kv: (kv[1], -kv[0].toordinal()))
    assert m.busiest_day == {"date": day.isoformat(), "sessions": most}
    assert m.sessions_per_day == pytest.approx(601 / span)
    # The CSV key is URL-encoded ("role+session%2B1"): the prefix matches the decoded key.
    one = measure_inventory(FIXTURES / fmt / "manifest.json", prefix="sessions/role session+1/")
    assert (one.sessions, one.sizes["total_bytes"]) == (1, 7_777)


@pytest.mark.parametrize("engine", ["trino", "duckdb"])
def test_the_query_texts_parse_on_both_engines_with_only_functions_they_know(engine):
    """Athena (engine v3 is Trino) and DuckDB grammars both read every text, which calls no
    function either parser does not know: engine-specific work (URL-decoding, epoch
    milliseconds) lives in DuckDB's view. LIKE wildcards and quotes in a prefix are escaped, and
    the relation is referenced once (Trino inlines a CTE at every reference: one scan)."""
    import datetime as dt

    import sqlglot
    from sqlglot import exp

    from costcompare.bill import BillFilter, bill_query
    from costcompare.measure.inventory_sql import quantile_query, summary_query

    texts = [
        summary_query("db.t", "it's_50%/", ".log"),
        quantile_query("db.t", [(1, 9), (20, 30)], "p/"),
        bill_query("cur.t", BillFilter(dt.date(2026, 10, 1), "us-east-1", ("1" * 12,), "k", "v")),
    ]
    for text in texts:
        tree = sqlglot.parse_one(text, read=engine, error_level=sqlglot.ErrorLevel.RAISE)
        assert [f.name for f in tree.find_all(exp.Anonymous)] == [], text
    assert "key LIKE 'it''s\\_50\\%/%' ESCAPE '\\'" in texts[0]
    assert texts[0].count("FROM db.t") == texts[1].count("FROM db.t") == 1


class RecordingProgress:
    """A progress bar that keeps what it was told."""

    def __init__(self) -> None:
        self.starts: list[tuple[str, float | None]] = []
        self.advanced = 0.0

    def start(self, description: str, total: float | None = None) -> None:
        self.starts.append((description, total))

    def advance(self, amount: float = 1) -> None:
        self.advanced += amount


def test_a_progress_bar_gets_duckdbs_percentage_and_the_same_figures(tmp_path):
    manifest, _ = write_csv_report(tmp_path, rows(3_000), files=3)
    bar = RecordingProgress()
    shown = measure_inventory(manifest, prefix="sessions/", progress=bar).to_dict()
    quiet = measure_inventory(manifest, prefix="sessions/").to_dict()
    assert shown == quiet
    assert ("querying the inventory (% scanned)", 100) in bar.starts
    assert 0 <= bar.advanced <= 100


def test_with_a_progress_bar_an_unreadable_file_is_still_one_error(tmp_path):
    manifest, keys = write_csv_report(tmp_path, rows(10), files=1)
    (tmp_path / keys[0]).write_bytes(gzip.compress(b'"src","s/a.log","x1","2025-03-01"\n'))
    with pytest.raises(MeasureError, match=r"part-0\.csv\.gz cannot be read"):
        measure_inventory(manifest, progress=RecordingProgress())
