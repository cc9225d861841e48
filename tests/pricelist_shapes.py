"""AWS Price List shapes for the refresh tests: get_products items and stubbed pages.

Items are built exactly as the Query API returns them (each ``PriceList`` entry is a JSON
*string*); offer-file fixtures live in ``tests/fixtures/pricelist``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "pricelist"
BUNDLED = FIXTURES / "bundled"
EXCERPTS = FIXTURES / "excerpts"
S3_EXCERPT = EXCERPTS / "AmazonS3-ap-northeast-1.json"
LOCATION = {"ap-northeast-1": "Asia Pacific (Tokyo)", "us-east-1": "US East (N. Virginia)"}


def copy_bundled(tmp_path: Path) -> Path:
    """A writable copy of the bundled pricing table."""
    from costcompare.pricing import bundled_path

    target = tmp_path / "prices.csv"
    target.write_bytes(bundled_path("prices.csv").read_bytes())
    return target


def dim(begin: str, end: str, usd: str, unit: str) -> dict[str, Any]:
    return {"beginRange": begin, "endRange": end, "usd": usd, "unit": unit}


def price_item(
    sku: str,
    service: str,
    family: str,
    usagetype: str,
    region: str | None,
    dims: list[dict[str, Any]],
    *,
    publication: str = "2027-01-15T00:00:00Z",
    effective: str = "2027-01-01T00:00:00Z",
    **attrs: str,
) -> str:
    """One PriceList entry of get_products, as the JSON string AWS sends (``terms.OnDemand`` is
    keyed by ``<sku>.<offerTermCode>`` directly; an offer file has a SKU level above that)."""
    attributes = {
        "servicecode": service,
        "location": LOCATION.get(region or "", "Any"),
        "locationType": "AWS Region",
        "usagetype": usagetype,
        "operation": "",
        **({"regionCode": region} if region else {}),
        **attrs,
    }
    term = f"{sku}.JRTCKXETXF"
    dimensions = {}
    for i, d in enumerate(dims):
        rate = f"{term}.{i:010d}"
        dimensions[rate] = {
            "rateCode": rate,
            "description": f"{usagetype} tier {i}",
            "beginRange": d["beginRange"],
            "endRange": d["endRange"],
            "unit": d["unit"],
            "pricePerUnit": {"USD": d["usd"]},
            "appliesTo": [],
        }
    doc = {
        "product": {"productFamily": family, "attributes": attributes, "sku": sku},
        "serviceCode": service,
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": dimensions,
                    "sku": sku,
                    "effectiveDate": effective,
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": publication.replace("-", "").replace(":", "").replace("T", "")[:14],
        "publicationDate": publication,
    }
    return json.dumps(doc)


def items_from_offer_file(path: Path, family: str = "") -> list[str]:
    """The get_products items an offer file's products would come back as (one family or all)."""
    doc = json.loads(path.read_text())
    out = []
    for sku, product in doc["products"].items():
        if family and product["productFamily"] != family:
            continue
        out.append(
            json.dumps(
                {
                    "product": product,
                    "serviceCode": doc["offerCode"],
                    "terms": {"OnDemand": doc["terms"]["OnDemand"][sku]},
                    "version": doc["version"],
                    "publicationDate": doc["publicationDate"],
                }
            )
        )
    return out


def stub_query(stubber, service: str, filters: list[dict], pages: list[list[str]]) -> None:
    """Queue the pages of one paginated get_products call, NextToken chained, params checked."""
    for i, items in enumerate(pages):
        params: dict[str, Any] = {
            "ServiceCode": service,
            "Filters": filters,
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        if i:
            params["NextToken"] = f"token-{i}"
        response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": items}
        if i + 1 < len(pages):
            response["NextToken"] = f"token-{i + 1}"
        stubber.add_response("get_products", response, params)


def filters(region: str, family: str = "") -> list[dict[str, str]]:
    out = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
    if family:
        out.append({"Type": "TERM_MATCH", "Field": "productFamily", "Value": family})
    return out


def pricing_client():
    import boto3

    return boto3.client("pricing", region_name="us-east-1")
