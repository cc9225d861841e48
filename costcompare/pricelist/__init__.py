"""The AWS Price List adapter, below the model: which product each price key is, the SKUs the
Price List offers (Query API or bulk offer file), and the rows appended to the pricing table.

Rooms: ``products`` (the mapping, data), ``jsonstream`` (a streaming JSON reader), ``offers``
(one SKU from an API item or an offer file), ``queryapi`` (get_products through the shared AWS
edge), ``append`` (offers → rows → an atomically appended table; ``refresh``). What a price
change does to a workload's cost is ``costcompare.pricediff``, above the model.
"""

from __future__ import annotations

from costcompare.pricelist.append import (
    STATUS_HELP,
    KeyResult,
    NewRow,
    RefreshReport,
    append_rows,
    refresh,
    render_rows,
    resolve_key,
    rows_for,
    user_pricing_path,
)
from costcompare.pricelist.jsonstream import JsonStream, OfferFileError
from costcompare.pricelist.offers import (
    Dimension,
    Offer,
    OfferFile,
    parse_price_item,
    read_offer_file,
)
from costcompare.pricelist.products import (
    PRODUCT_MAP,
    REGION_PREFIXES,
    SPECS,
    UNIT_FACTORS,
    ProductSpec,
    check_region,
    matches,
    usage_prefix_ok,
)
from costcompare.pricelist.queryapi import (
    PRICING_API_REGIONS,
    api_queries,
    fetch_api_offers,
    pricing_client,
)

__all__ = [
    "PRICING_API_REGIONS",
    "PRODUCT_MAP",
    "REGION_PREFIXES",
    "SPECS",
    "STATUS_HELP",
    "UNIT_FACTORS",
    "Dimension",
    "JsonStream",
    "KeyResult",
    "NewRow",
    "Offer",
    "OfferFile",
    "OfferFileError",
    "ProductSpec",
    "RefreshReport",
    "api_queries",
    "append_rows",
    "check_region",
    "fetch_api_offers",
    "matches",
    "parse_price_item",
    "pricing_client",
    "read_offer_file",
    "refresh",
    "render_rows",
    "resolve_key",
    "rows_for",
    "usage_prefix_ok",
    "user_pricing_path",
]
