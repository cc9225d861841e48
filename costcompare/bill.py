"""Read what AWS billed: a CUR 2.0 (Data Exports) month, summed per usage type, with SQL.

One query text (``bill_query``) runs on two engines: DuckDB over a local Parquet folder or file
(the default: nothing to set up, bounded memory whatever the size) and Athena over the CUR 2.0
table in the account (``costcompare.bill_athena``). The text sticks to SQL both engines read the
same way: no engine-specific functions, map keys looked up only after checking they exist.

Column names are AWS's documented CUR 2.0 ones; ``line_item_usage_amount`` is in the price's
unit (GB, GB-Mo, Hrs, Keys, Requests), so it compares directly with the model's quantities.

The query also names the export's partition, ``billing_period = 'YYYY-MM'``: Data Exports writes
CUR 2.0 under ``data/BILLING_PERIOD=YYYY-MM/`` folders (AWS Data Exports user guide, "Understanding
export delivery"), which a Glue crawler or a partitioned Athena table turns into the string
column ``billing_period``. Without that predicate Athena reads every month of the export and bills
the bytes of all of them. DuckDB gets the same column: from the folder names (hive partitioning)
when the export keeps AWS's layout, else derived row by row from
``bill_billing_period_start_date`` (a single file or a flat folder), so one text serves both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costcompare.awsfacts import check_account_id
from costcompare.errors import CostCompareError

# Where Session Manager logging is billed (the price table's `service` column spells them so).
BILLED_SERVICES = ("AmazonCloudWatch", "AmazonS3", "awskms", "AmazonVPC", "AmazonAthena")
REQUIRED_COLUMNS = (
    "bill_billing_period_start_date",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "line_item_usage_account_id",
    "line_item_resource_id",
    "product_region_code",
    "resource_tags",
)
PARTITION_COLUMN = "billing_period"  # Data Exports' BILLING_PERIOD=YYYY-MM folders, in Glue
DUCKDB_MEMORY_LIMIT = "400MB"  # DuckDB spills to disk beyond this: memory stays bounded
_MONTH = re.compile(r"(\d{4})-(\d{2})")
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_TAG_KEY = re.compile(r"[A-Za-z0-9_.:/=+@-]{1,128}")


class BillError(CostCompareError):
    """The bill cannot be read: a missing folder, no Parquet, missing CUR 2.0 columns, no lines."""


@dataclass(frozen=True)
class BillFilter:
    """Which lines of the bill are the logging setup's: a month, a region, and optionally some
    accounts and one cost-allocation tag (as CUR 2.0 spells it, e.g. user_costcompare_managed)."""

    month: dt.date  # the first day of the billing period
    region: str
    accounts: tuple[str, ...] = ()
    tag_key: str | None = None
    tag_value: str | None = None


@dataclass(frozen=True)
class BilledUsage:
    """One usage type of one service, summed over the month."""

    service: str
    usage_type: str
    usage_amount: float
    unblended_cost: float
    line_items: int


def parse_month(text: str) -> dt.date:
    """``2026-10`` → 2026-10-01. The running month is allowed (its bill so far); a month that
    has not started has no bill at all."""
    match = _MONTH.fullmatch(text.strip())
    month = int(match.group(2)) if match else 0
    if not match or not 1 <= month <= 12:
        raise BillError(f"--month {text!r} is not a month", "write it as YYYY-MM, e.g. 2026-10")
    first = dt.date(int(match.group(1)), month, 1)
    if first > dt.date.today():
        raise BillError(f"--month {text} has not started yet", "give a past month, YYYY-MM")
    return first


def parse_tag(text: str | None) -> tuple[str | None, str | None]:
    """``KEY=VALUE`` → (KEY, VALUE); keys and values are checked, as they go into SQL text."""
    if text is None:
        return None, None
    key, sep, value = text.partition("=")
    if not sep or not _TAG_KEY.fullmatch(key) or "'" in value or len(value) > 256:
        raise BillError(
            f"--tag {text!r} is not KEY=VALUE",
            "give the CUR 2.0 tag key and its value, e.g. --tag user_costcompare_managed=true",
        )
    return key, value


def check_accounts(accounts: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(check_account_id(a, "--account", error=BillError) for a in accounts))


def check_table(table: str) -> str:
    """``database.table`` (or a bare name on DuckDB): the name goes into the SQL text."""
    if not TABLE_NAME.fullmatch(table):
        raise BillError(f"--table {table!r} is not a table name", "write it as database.table")
    return table


def bill_query(table: str, where: BillFilter) -> str:
    """The one query: the month's usage lines of the logging services, per usage type.

    Only ``Usage`` lines count (tax, credits and refunds are not usage the model predicts).
    """
    conditions = [
        f"{PARTITION_COLUMN} = '{where.month:%Y-%m}'",  # first: Athena prunes the other months
        f"bill_billing_period_start_date = TIMESTAMP '{where.month.isoformat()} 00:00:00'",
        "line_item_line_item_type = 'Usage'",
        "line_item_product_code IN (" + ", ".join(f"'{s}'" for s in BILLED_SERVICES) + ")",
        f"product_region_code = '{where.region}'",
    ]
    if where.accounts:
        ids = ", ".join(f"'{a}'" for a in where.accounts)
        conditions.append(f"line_item_usage_account_id IN ({ids})")
    if where.tag_key is not None:
        conditions.append(
            f"(CASE WHEN contains(map_keys(resource_tags), '{where.tag_key}') "
            f"THEN resource_tags['{where.tag_key}'] END) = '{where.tag_value}'"
        )
    return (
        "SELECT line_item_product_code AS service,\n"
        "       line_item_usage_type AS usage_type,\n"
        "       SUM(line_item_usage_amount) AS usage_amount,\n"
        "       SUM(line_item_unblended_cost) AS unblended_cost,\n"
        "       COUNT(*) AS line_items\n"
        f"FROM {table}\n"
        "WHERE " + "\n  AND ".join(conditions) + "\n"
        "GROUP BY line_item_product_code, line_item_usage_type\n"
        "ORDER BY line_item_product_code, line_item_usage_type"
    )


def rows_to_usage(rows: Sequence[Sequence[object]]) -> list[BilledUsage]:
    """Result rows (service, usage type, amount, cost, count) as typed lines."""
    return [
        BilledUsage(str(s), str(u), float(a or 0.0), float(c or 0.0), int(n or 0))  # type: ignore[arg-type]
        for s, u, a, c, n in rows
    ]


def is_partitioned(path: Path) -> bool:
    """Whether the Parquet at ``path`` sits in AWS's ``BILLING_PERIOD=YYYY-MM`` folders (in the
    path given or below it), so DuckDB can read the partition column from the folder names.
    A folder mixing both layouts is refused: DuckDB cannot give the loose files a partition."""

    def named(parts: Sequence[str]) -> bool:
        return any(p.partition("=")[0].lower() == PARTITION_COLUMN and "=" in p for p in parts)

    if named(path.resolve().parts):
        return True
    if not path.is_dir():
        return False
    layouts = {named(f.relative_to(path).parts) for f in path.rglob("*.parquet")}
    if len(layouts) > 1:
        raise BillError(
            f"--cur {path} mixes BILLING_PERIOD=YYYY-MM folders with Parquet files outside them",
            "point --cur at the export's data/ folder, or move the loose files out of it",
        )
    return layouts == {True}


def _parquet_source(files: str, partitioned: bool) -> str:
    """DuckDB's reader of the export; partition values stay text (``2026-10``), as on Athena."""
    literal = files.replace("'", "''")
    hive = "true, hive_types_autocast = false" if partitioned else "false"
    return f"read_parquet('{literal}', hive_partitioning = {hive}, union_by_name = true)"


def parquet_files(path: Path) -> str:
    """The DuckDB glob of a CUR 2.0 Parquet file or folder (searched recursively)."""
    if not path.exists():
        raise BillError(f"--cur {path} does not exist", "give the folder Data Exports wrote")
    if path.is_file():
        return str(path)
    if not any(path.rglob("*.parquet")):
        raise BillError(
            f"--cur {path} holds no .parquet file",
            "point it at a CUR 2.0 export in Parquet (aws s3 sync s3://BUCKET/PREFIX DIR)",
        )
    return str(path / "**" / "*.parquet")


def read_bill_duckdb(path: Path, where: BillFilter, table: str = "cur") -> list[BilledUsage]:
    """Run ``bill_query`` on DuckDB over the Parquet under ``path`` (a view named ``table``)."""
    import duckdb

    files = parquet_files(path)
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT})
    try:
        _create_bill_view(con, path, _parquet_source(files, is_partitioned(path)), table)
        try:
            rows = con.execute(bill_query(table, where)).fetchall()
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise BillError(f"reading the bill in {path}: {first}", _CUR_FIX) from None
    finally:
        con.close()
    return rows_to_usage(rows)


def _create_bill_view(con: Any, path: Path, source: str, table: str) -> None:
    """The view ``table`` over ``source`` once its CUR 2.0 columns are checked, with the
    ``billing_period`` column the query filters on: the folders' when the export keeps AWS's
    ``BILLING_PERIOD=`` layout, else derived per row from ``bill_billing_period_start_date``
    (a single file or a flat folder), so the predicate holds for exactly the same rows."""
    import duckdb

    try:
        if "." in table:  # the Athena name, so the query text is the same on both
            con.execute(f"CREATE SCHEMA {table.partition('.')[0]}")
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        raise BillError(f"--cur {path} is not readable Parquet ({first})", _CUR_FIX) from None
    columns = {str(row[0]).lower() for row in described}
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise BillError(
            f"--cur {path} is not a CUR 2.0 export: no column {', '.join(missing)}", _CUR_FIX
        )
    derived = f", strftime(bill_billing_period_start_date, '%Y-%m') AS {PARTITION_COLUMN}"
    if PARTITION_COLUMN in columns:
        derived = ""
    con.execute(f"CREATE VIEW {table} AS SELECT *{derived} FROM {source}")


_CUR_FIX = "export CUR 2.0 (Data Exports, Parquet) with the standard columns and resource tags"
