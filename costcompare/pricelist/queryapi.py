"""The Price List Query API: one ``get_products`` query per service and product family,
paged, through the shared AWS edge (``costcompare.aws``). moto does not fake Pricing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from costcompare.aws import AwsContext, region_from_environment, translated
from costcompare.errors import PricingError
from costcompare.pricelist.offers import Offer, malformed, parse_price_item
from costcompare.pricelist.products import ProductSpec

# The Price List Query API answers in these regions only.
PRICING_API_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
_OFFER_FILE = "or download the offer file and pass it to --offer-file"
_API_FIXES = {
    "AccessDeniedException": f"the caller needs pricing:GetProducts (--profile), {_OFFER_FILE}",
    "AccessDenied": f"the caller needs pricing:GetProducts (--profile), {_OFFER_FILE}",
}


# --------------------------------------------------------------------------------------------
# Query API
# --------------------------------------------------------------------------------------------


def api_queries(
    regions: Sequence[str], specs: Sequence[ProductSpec]
) -> list[tuple[str, list[dict[str, str]]]]:
    """One get_products query per (region, service, productFamily): the TERM_MATCH filters sent.

    Grouping keys by family keeps the calls few; each answer is matched key by key client-side.
    """
    out = []
    for region in regions:
        groups = sorted({(s.service, s.product_family or "") for s in specs if s.priced_in(region)})
        for service, family in groups:
            filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
            if family:
                filters.append({"Type": "TERM_MATCH", "Field": "productFamily", "Value": family})
            out.append((service, filters))
    return out


def fetch_api_offers(
    client: Any, regions: Sequence[str], specs: Sequence[ProductSpec], *, page_size: int = 100
) -> list[Offer]:
    """Every matching SKU from the Price List Query API, following NextToken page by page."""
    offers: list[Offer] = []
    for service, filters in api_queries(regions, specs):
        wanted = [s for s in specs if s.service == service]
        label = f"get_products {service} " + " ".join(f["Value"] for f in filters)
        with translated(f"the AWS Price List API ({label})", error=PricingError, fixes=_API_FIXES):
            pages = client.get_paginator("get_products").paginate(
                ServiceCode=service,
                Filters=filters,
                FormatVersion="aws_v1",
                PaginationConfig={"PageSize": page_size},
            )
            for page_no, page in enumerate(pages, start=1):
                items = page.get("PriceList")
                if not isinstance(items, list):
                    raise malformed(
                        f"{label}, page {page_no}", "the response has no PriceList list"
                    )
                for i, item in enumerate(items):
                    where = f"{label}, page {page_no}, item {i}"
                    offer = parse_price_item(item, regions, wanted, where)
                    if offer is not None:
                        offers.append(offer)
    return offers


def pricing_client(
    *, profile: str | None = None, api_region: str | None = None, endpoint_url: str | None = None
) -> Any:
    """A ``pricing`` client in a region that serves the Price List API (us-east-1 by default).

    --profile/AWS_PROFILE as in every command (costcompare.aws); AWS_REGION/AWS_DEFAULT_REGION
    only when they name a region the Price List API answers in (a Tokyo default must not
    break the call).
    """
    region = api_region
    if region is None:
        env = region_from_environment()
        region = env if env in PRICING_API_REGIONS else "us-east-1"
    return AwsContext(region, profile=profile, endpoint_url=endpoint_url).client("pricing")
