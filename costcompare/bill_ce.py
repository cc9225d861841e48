"""The bill from Cost Explorer: ``GetCostAndUsage`` for the month, per service and usage type.

For accounts with no CUR 2.0 export: nothing to set up, but what Cost Explorer gives differs
from CUR in ways the user must know when picking the source (``reconcile --source``):

- it is one endpoint, in us-east-1 (https://ce.us-east-1.amazonaws.com), whatever the
  workload's region: the region is a filter, not the endpoint;
- every request is billed, each page of a paginated answer counting as one (the ``ce.requests``
  row of the pricing table, us-east-1); the output says how many were made and what they cost;
- ``GetCostAndUsage`` has no per-resource grouping (CUR has ``line_item_resource_id``): the
  lines are the logging setup's only as far as ``--tag``/``--account`` select them;
- the tag filter uses the tag key as written on the resources (``costcompare:managed``, not
  CUR's ``user_costcompare_managed`` column), and only once Billing has activated it as a
  cost-allocation tag; costs before the activation carry no tag.

The result is the same ``BilledUsage`` list the CUR engines produce, so ``reconcile`` compares
either with the model in the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from costcompare.aws import AwsContext, is_aws_exception, translated
from costcompare.bill import BilledUsage, BillError, BillFilter
from costcompare.pricing import Price, PriceTable, default_table

CE_REGION = "us-east-1"  # Cost Explorer's only endpoint (AWS Cost Explorer API reference)
REQUEST_PRICE_KEY = "ce.requests"  # each GetCostAndUsage page (pricing_data/prices.csv)
# Cost Explorer's SERVICE dimension names each service; CUR and the price table use its code.
CE_SERVICES = {
    "AmazonCloudWatch": "AmazonCloudWatch",
    "Amazon Simple Storage Service": "AmazonS3",
    "AWS Key Management Service": "awskms",
    "Amazon Virtual Private Cloud": "AmazonVPC",
    "Amazon Athena": "AmazonAthena",
}
METRICS = ("UnblendedCost", "UsageQuantity")
GROUP_BY = ("SERVICE", "USAGE_TYPE")  # both: S3 and CloudWatch share a TimedStorage-ByteHrs
CE_FIXES = {
    "AccessDeniedException": "the caller needs ce:GetCostAndUsage (and Cost Explorer enabled "
    "in the account); for an organization's bill, use the management account or --source cur",
    "DataUnavailableException": "Cost Explorer holds no data for that month: check --month, "
    "enable Cost Explorer for the account, or use --source cur",
    "BillExpirationException": "Cost Explorer no longer holds that month: use --source cur",
    "LimitExceededException": "Cost Explorer's request rate limit held after the retries: "
    "wait a minute and run again",
    "RequestChangedException": "the bill changed while it was read page by page: run again",
    "InvalidNextTokenException": "the bill changed while it was read page by page: run again",
    "ValidationException": "check --month, --account and --tag (on Cost Explorer the tag key "
    "is the one on the resources, e.g. costcompare:managed=true)",
}
DOING = "reading the bill from Cost Explorer (ce:GetCostAndUsage, us-east-1)"


@dataclass(frozen=True)
class CostExplorerBill:
    """What Cost Explorer billed for the month, and what asking cost."""

    usage: list[BilledUsage]
    request: dict[str, Any]  # the GetCostAndUsage parameters, without a page token
    requests: int  # Cost Explorer API requests made: each one is billed
    estimated: bool  # Cost Explorer marks a month that is not closed yet as estimated
    price: Price  # of one request: the table's ce.requests row (us-east-1)

    @property
    def request_usd(self) -> float:
        return float(self.price.cost(self.requests))

    def reading_cost(self) -> dict[str, Any]:
        """The requests as a cost line: quantity × unit price = cost, with its source."""
        return {
            "service": "AWS Cost Explorer",
            "operation": "GetCostAndUsage",
            "quantity": self.requests,
            "unit": "Requests",
            "unit_price_usd": self.price.first_rate,
            "usd": round(self.request_usd, 10),
            "price_key": self.price.key,
            "source": self.price.source,
        }

    @property
    def query(self) -> str:
        """The request as JSON: what ``-o json`` shows in place of CUR's SQL."""
        return json.dumps(self.request, indent=2)

    def notes(self) -> list[str]:
        notes = [
            f"Cost Explorer: {self.requests} API request(s) at ${self.price.first_rate:.2f} each "
            f"= ${self.request_usd:.2f} (each page is billed; price {self.price.key}, "
            f"{self.price.region}, effective {self.price.effective_date.isoformat()}).",
            "Cost Explorer cannot group by resource: the billed side is every resource of the "
            "month that --tag/--account select (CUR 2.0 has per-resource lines: --cur).",
        ]
        if self.estimated:
            notes.append("Cost Explorer marks this month estimated: it is not closed yet.")
        return notes


def month_end(month: dt.date) -> dt.date:
    """The first day of the next month: Cost Explorer's end date is exclusive."""
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def ce_request(where: BillFilter) -> dict[str, Any]:
    """GetCostAndUsage parameters for the month's usage of the logging services in the region.

    Only the ``Usage`` record type counts (tax, credits and refunds are not usage the model
    predicts), as in CUR's ``line_item_line_item_type = 'Usage'``.
    """
    filters: list[dict[str, Any]] = [
        {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}},
        {"Dimensions": {"Key": "REGION", "Values": [where.region]}},
        {"Dimensions": {"Key": "SERVICE", "Values": list(CE_SERVICES)}},
    ]
    if where.accounts:
        filters.append({"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": list(where.accounts)}})
    if where.tag_key is not None:
        filters.append(
            {
                "Tags": {
                    "Key": where.tag_key,
                    "Values": [where.tag_value or ""],
                    "MatchOptions": ["EQUALS"],
                }
            }
        )
    return {
        "TimePeriod": {
            "Start": where.month.isoformat(),
            "End": month_end(where.month).isoformat(),
        },
        "Granularity": "MONTHLY",
        "Filter": {"And": filters},
        "Metrics": list(METRICS),
        "GroupBy": [{"Type": "DIMENSION", "Key": key} for key in GROUP_BY],
    }


def request_price(table: PriceTable | None = None, when: dt.date | None = None) -> Price:
    """What one Cost Explorer request costs on ``when`` (today): ``ce.requests`` in us-east-1
    from ``table``, else from the bundled table (a --pricing-file refreshed before the row
    existed, or one for other regions only, still prices the reading)."""
    when = when or dt.date.today()
    for candidate in (table, default_table()):
        if candidate is None or CE_REGION not in candidate.regions():
            continue
        price = candidate.resolve(CE_REGION, when).prices.get(REQUEST_PRICE_KEY)
        if price is not None:
            return price
    return default_table().resolve(CE_REGION, when)[REQUEST_PRICE_KEY]


def read_bill_cost_explorer(
    aws: AwsContext, where: BillFilter, table: PriceTable | None = None
) -> CostExplorerBill:
    """Every page of ``GetCostAndUsage`` for ``where``, summed per (service, usage type); the
    requests are priced from ``table`` (``request_price``)."""
    price = request_price(table)
    ce = aws.client("ce", region=CE_REGION)
    request = ce_request(where)
    totals: dict[tuple[str, str], list[float]] = {}
    pages, estimated, token = 0, False, None
    with translated(DOING, error=BillError, fixes=CE_FIXES):
        while True:
            page = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
            pages += 1
            for period in page.get("ResultsByTime", []):
                estimated = estimated or bool(period.get("Estimated"))
                for group in period.get("Groups", []):
                    _add(totals, group)
            token = page.get("NextPageToken")
            if not token:
                break
    if not totals and where.tag_key is not None:
        pages += check_tag_active(ce, where.tag_key)
    usage = [
        BilledUsage(service, usage_type, amount, cost, int(groups))
        for (service, usage_type), (amount, cost, groups) in sorted(totals.items())
    ]
    return CostExplorerBill(usage, request, pages, estimated, price)


def _add(totals: dict[tuple[str, str], list[float]], group: dict[str, Any]) -> None:
    """Add one group (keys: service name, usage type) to the running totals."""
    name, usage_type = group["Keys"]
    metrics = group.get("Metrics", {})
    amount = float(metrics.get("UsageQuantity", {}).get("Amount") or 0.0)
    cost = float(metrics.get("UnblendedCost", {}).get("Amount") or 0.0)
    line = totals.setdefault((CE_SERVICES.get(name, name), usage_type), [0.0, 0.0, 0])
    line[0] += amount
    line[1] += cost
    line[2] += 1


def check_tag_active(ce: Any, key: str) -> int:
    """Nothing matched the tag: say so when the reason is a tag Billing has not activated.

    Returns the requests made (0 or 1). Without permission to look (ce:ListCostAllocationTags)
    the empty bill is reported as it is, by ``reconcile``.
    """
    try:
        found = ce.list_cost_allocation_tags(TagKeys=[key])["CostAllocationTags"]
    except Exception as exc:
        if is_aws_exception(exc):
            return 1
        raise
    status = found[0]["Status"] if found else None
    if status == "Active":
        return 1
    problem = (
        f"the cost-allocation tag {key!r} is not activated"
        if status
        else f"Billing knows no cost-allocation tag {key!r}"
    )
    hint = (
        f"; on Cost Explorer give the key as written on the resources, e.g. "
        f"costcompare:managed, not the CUR column's {key}"
        if key.startswith(("user_", "resource_tags_"))
        else ""
    )
    raise BillError(
        problem,
        "activate it (Billing → Cost allocation tags, or aws ce update-cost-allocation-tags-status"
        f" --cost-allocation-tags-status TagKey={key},Status=Active): costs are tagged from "
        f"then on; or filter by --account{hint}",
    )
