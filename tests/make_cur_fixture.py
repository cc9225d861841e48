"""Write the committed CUR 2.0 fixture month: ``python tests/make_cur_fixture.py``.

A small Data Exports (CUR 2.0) Parquet export, laid out as AWS writes it
(``<export>/data/BILLING_PERIOD=YYYY-MM/<export>-00001.snappy.parquet``), with AWS's documented
column names. October 2026 in Tokyo for two accounts, one line per resource per day, rated at
the bundled price table's list prices, plus lines the reconciliation must leave out: tax,
another region, another service, another month, an untagged account. ``fixture_lines()`` gives
the rows, so tests compute the expected bill from them rather than hard-coding it.
"""

from __future__ import annotations

import calendar
import datetime as dt
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "cur" / "session-logs"
MONTH = dt.date(2026, 10, 1)
REGION = "ap-northeast-1"
ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
PAYER = "999999999999"
TAG_KEY = "user_costcompare_managed"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ssm/sessions"
BUCKET = "ssm-session-logs-111111111111"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENDPOINT = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-endpoint/vpce-0a1b2c3d4e5f60718"

# The month's billed usage of the logging setup: usage type → (service, operation, resource,
# monthly amount in the price's unit, price key whose list price it is billed at).
USAGE: dict[str, tuple[str, str, str, float, str]] = {
    "APN1-DataProcessing-Bytes": (
        "AmazonCloudWatch",
        "PutLogEvents",
        LOG_GROUP,
        96.0,
        "logs.ingestion.standard",
    ),
    "APN1-TimedStorage-ByteHrs": (
        "AmazonCloudWatch",
        "HourlyStorageMetering",
        LOG_GROUP,
        150.0,
        "logs.storage",
    ),
    "APN1-DataScanned-Bytes": (
        "AmazonCloudWatch",
        "StartQuery",
        LOG_GROUP,
        1_240.0,
        "logs.insights.scanned",
    ),
    "APN1-Logs-LiveTail": ("AmazonCloudWatch", "StartLiveTail", LOG_GROUP, 45.0, "logs.live_tail"),
    "ap-northeast-1-KMS-Keys": ("awskms", "CreateKey", KEY, 2.0, "kms.key"),
    "ap-northeast-1-KMS-Requests": ("awskms", "GenerateDataKey", KEY, 31_000.0, "kms.requests"),
    "APN1-VpcEndpoint-Hours": (
        "AmazonVPC",
        "VpcEndpoint",
        ENDPOINT,
        730.0 * 2 * 4,
        "vpc.interface_endpoint.hours",
    ),
    "APN1-VpcEndpoint-Bytes": (
        "AmazonVPC",
        "VpcEndpoint",
        ENDPOINT,
        96.0,
        "vpc.interface_endpoint.bytes",
    ),
}
S3_USAGE: dict[str, tuple[str, str, str, float, str]] = {
    "APN1-TimedStorage-ByteHrs": (
        "AmazonS3",
        "StandardStorage",
        BUCKET,
        9.5,
        "s3.storage.STANDARD",
    ),
    "APN1-TimedStorage-GIR-ByteHrs": (
        "AmazonS3",
        "GlacierInstantRetrievalStorage",
        BUCKET,
        28.0,
        "s3.storage.GLACIER_IR",
    ),
    "APN1-Requests-Tier1": ("AmazonS3", "PutObject", BUCKET, 9_300.0, "s3.requests.put.STANDARD"),
}


def _rate(price_key: str) -> float:
    from costcompare.pricing import default_table

    return default_table().resolve(REGION, MONTH)[price_key].first_rate


def _line(
    day: dt.date, usage_type: str, spec: tuple[str, str, str, float, str], days: int, **extra: Any
) -> dict[str, Any]:
    service, operation, resource, monthly, price_key = spec
    amount = round(monthly / days, 8)
    start = dt.datetime.combine(day, dt.time())
    end = (
        dt.datetime.combine(MONTH, dt.time())
        .replace(month=MONTH.month % 12 + 1, year=MONTH.year + MONTH.month // 12)
    )  # fmt: skip
    row = {
        "bill_billing_period_start_date": dt.datetime.combine(MONTH, dt.time()),
        "bill_billing_period_end_date": end,
        "bill_payer_account_id": PAYER,
        "line_item_line_item_type": "Usage",
        "line_item_usage_start_date": start,
        "line_item_usage_end_date": start + dt.timedelta(days=1),
        "line_item_product_code": service,
        "line_item_usage_type": usage_type,
        "line_item_operation": operation,
        "line_item_resource_id": resource,
        "line_item_usage_amount": amount,
        "line_item_unblended_cost": round(amount * _rate(price_key), 8),
        "line_item_usage_account_id": ACCOUNT,
        "product_region_code": REGION,
        "resource_tags": [(TAG_KEY, "true")],
    }
    row.update(extra)
    return row


def fixture_lines() -> list[dict[str, Any]]:
    """Every row of the fixture export (the month's and the ones to leave out)."""
    days = calendar.monthrange(MONTH.year, MONTH.month)[1]
    rows = []
    for offset in range(days):
        day = MONTH + dt.timedelta(days=offset)
        for usage, spec in [*USAGE.items(), *S3_USAGE.items()]:
            rows.append(_line(day, usage, spec, days))
    ingest = USAGE["APN1-DataProcessing-Bytes"]
    rows += [
        _line(MONTH, "APN1-DataProcessing-Bytes", ingest, 1, line_item_line_item_type="Tax"),
        _line(MONTH, "DataProcessing-Bytes", ingest, 1, product_region_code="us-east-1"),
        _line(
            MONTH,
            "APN1-BoxUsage:t3.micro",
            ("AmazonEC2", "RunInstances", "i-0abc", 720.0, "vpc.interface_endpoint.hours"),
            1,
        ),
        _line(
            MONTH,
            "APN1-DataProcessing-Bytes",
            ingest,
            1,
            line_item_usage_account_id=OTHER_ACCOUNT,
            resource_tags=[],
        ),
        _line(
            MONTH,
            "APN1-DataProcessing-Bytes",
            ingest,
            1,
            bill_billing_period_start_date=dt.datetime(2026, 9, 1),
        ),
    ]
    return rows


def in_month(row: dict[str, Any], *, tagged: bool = False) -> bool:
    """Whether a fixture row is one the reconciliation of the fixture month counts."""
    return (
        row["bill_billing_period_start_date"].date() == MONTH
        and row["line_item_line_item_type"] == "Usage"
        and row["product_region_code"] == REGION
        and row["line_item_product_code"] != "AmazonEC2"
        and (not tagged or (TAG_KEY, "true") in row["resource_tags"])
    )


def write(folder: Path = FIXTURE) -> list[Path]:
    """Write the export: one Parquet file per billing period, as Data Exports does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = fixture_lines()
    written = []
    for period in sorted({r["bill_billing_period_start_date"] for r in rows}):
        part = [r for r in rows if r["bill_billing_period_start_date"] == period]
        name = f"BILLING_PERIOD={period:%Y-%m}"
        target = folder / "data" / name / "session-logs-00001.snappy.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        schema = pa.schema(
            [
                (key, pa.map_(pa.string(), pa.string()))
                if key == "resource_tags"
                else (key, pa.timestamp("ms"))
                if key.endswith("_date")
                else (key, pa.float64())
                if key.startswith(("line_item_usage_amount", "line_item_unblended"))
                else (key, pa.string())
                for key in part[0]
            ]
        )
        pq.write_table(pa.Table.from_pylist(part, schema=schema), target, compression="snappy")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
