"""What the Price List says about one SKU (``Offer``), from a Query API item or a bulk offer
file streamed product by product. Every malformed input is a one-line ``PricingError``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from costcompare.errors import PricingError
from costcompare.pricelist.jsonstream import JsonStream
from costcompare.pricelist.products import ProductSpec, matches

# --------------------------------------------------------------------------------------------
# What the Price List says about one SKU
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """One price dimension (one tier) as published, in the Price List's own unit."""

    unit: str
    begin: Decimal
    end: Decimal | None
    usd: Decimal


@dataclass(frozen=True)
class Offer:
    """One product (SKU) and its on-demand price, as read from a page or an offer file."""

    sku: str
    service: str
    product_family: str
    attributes: Mapping[str, str]
    dimensions: tuple[Dimension, ...]
    term_effective: dt.date | None
    publication: dt.date | None
    origin: str  # where it was read: "AWS Price List API" or the offer file

    @property
    def usagetype(self) -> str:
        return str(self.attributes.get("usagetype", ""))

    @property
    def effective_date(self) -> dt.date | None:
        """The date the Price List vouches for this price: its publication, or a later term."""
        dates = [d for d in (self.term_effective, self.publication) if d]
        return max(dates) if dates else None


def malformed(where: str, what: str) -> PricingError:
    return PricingError(
        f"malformed Price List data ({where}): {what}",
        "nothing was written; retry, or download the offer file again and pass --offer-file",
    )


def _decimal(value: Any, where: str, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise malformed(where, f"{what} is {value!r}, not a number") from None
    if not number.is_finite() or number < 0:
        raise malformed(where, f"{what} is {value!r}, not a finite number ≥ 0")
    return number


def _date(value: Any, where: str, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise malformed(where, f"{what} is {value!r}, not an ISO date") from None


def _dimensions(on_demand: Any, where: str) -> tuple[tuple[Dimension, ...], dt.date | None]:
    """The newest on-demand term of a SKU as contiguous tiers from 0."""
    if not on_demand:
        return (), None
    if not isinstance(on_demand, Mapping):
        raise malformed(where, "terms.OnDemand of the SKU is not an object")
    terms = []
    for code, term in on_demand.items():
        if not isinstance(term, Mapping) or not isinstance(term.get("priceDimensions"), Mapping):
            raise malformed(where, f"term {code} has no priceDimensions object")
        terms.append((_date(term.get("effectiveDate"), where, "effectiveDate"), code, term))
    effective, code, term = max(terms, key=lambda t: (t[0] or dt.date.min, t[1]))
    dims = []
    for rate, dim in term["priceDimensions"].items():
        here = f"{where}, rate {rate}"
        if not isinstance(dim, Mapping):
            raise malformed(here, "price dimension is not an object")
        price = dim.get("pricePerUnit")
        if not isinstance(price, Mapping) or "USD" not in price:
            raise malformed(here, "pricePerUnit has no USD price")
        end_raw = str(dim.get("endRange", "Inf")).strip()
        dims.append(
            Dimension(
                unit=str(dim.get("unit", "")).strip(),
                begin=_decimal(dim.get("beginRange", "0"), here, "beginRange"),
                end=None if end_raw in ("Inf", "") else _decimal(end_raw, here, "endRange"),
                usd=_decimal(price["USD"], here, "pricePerUnit.USD"),
            )
        )
    dims.sort(key=lambda d: d.begin)
    if dims and dims[0].begin != 0:
        raise malformed(where, f"the first tier begins at {dims[0].begin}, not 0")
    for a, b in itertools.pairwise(dims):
        if a.end is None or a.end != b.begin:
            raise malformed(where, f"tiers are not contiguous ({a.begin}–{a.end}, then {b.begin})")
        if a.unit != b.unit:
            raise malformed(where, f"tiers mix units {a.unit!r} and {b.unit!r}")
    return tuple(dims), effective


def _product_parts(product: Any, where: str) -> tuple[str, str, dict[str, str]]:
    if not isinstance(product, Mapping):
        raise malformed(where, "product is not an object")
    attrs = product.get("attributes", {})
    if not isinstance(attrs, Mapping):
        raise malformed(where, "product.attributes is not an object")
    sku = product.get("sku")
    if not isinstance(sku, str) or not sku:
        raise malformed(where, "product has no sku")
    family = str(product.get("productFamily", ""))
    return sku, family, {str(k): str(v) for k, v in attrs.items()}


def parse_price_item(
    item: Any, regions: Sequence[str], specs: Sequence[ProductSpec], where: str
) -> Offer | None:
    """One ``PriceList`` entry of get_products (a JSON *string*) → an Offer, if a spec wants it."""
    if not isinstance(item, str):
        raise malformed(where, f"a PriceList item is a {type(item).__name__}, not a JSON string")
    try:
        data = json.loads(item)
    except json.JSONDecodeError as exc:
        raise malformed(where, f"a PriceList item is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise malformed(where, "a PriceList item is nested too deeply") from None
    if not isinstance(data, Mapping) or "product" not in data or "terms" not in data:
        raise malformed(where, "a PriceList item lacks product or terms")
    sku, family, attrs = _product_parts(data["product"], where)
    service = str(data.get("serviceCode") or attrs.get("servicecode", ""))
    if not any(matches(s, r, service, family, attrs) for s in specs for r in regions):
        return None
    terms = data["terms"]
    if not isinstance(terms, Mapping):
        raise malformed(where, f"terms of {sku} is not an object")
    dims, effective = _dimensions(terms.get("OnDemand"), f"{where}, sku {sku}")
    return Offer(
        sku=sku,
        service=service,
        product_family=family,
        attributes=attrs,
        dimensions=dims,
        term_effective=effective,
        publication=_date(data.get("publicationDate"), where, "publicationDate"),
        origin=f"AWS Price List API get_products {service}",
    )


@dataclass
class OfferFile:
    """What was read from one offer file: its header and the SKUs some spec wants."""

    path: str
    offer_code: str
    version: str
    publication: dt.date | None
    offers: list[Offer]
    regions_seen: set[str]


def _open_text(path: Path) -> TextIO:
    try:
        if path.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
        return path.open(encoding="utf-8")
    except FileNotFoundError:
        raise PricingError(
            f"offer file {path} does not exist", "check the path given to --offer-file"
        ) from None
    except OSError as exc:
        raise PricingError(
            f"cannot read offer file {path}: {exc.strerror}", "pass a readable file"
        ) from None


def read_offer_file(
    path: str | Path,
    regions: Sequence[str],
    specs: Sequence[ProductSpec],
    *,
    chunk_size: int = 1 << 20,
) -> OfferFile:
    """Stream an offer file (``products`` then ``terms.OnDemand``), keeping only wanted SKUs."""
    path = Path(path)
    header: dict[str, Any] = {}
    products: dict[str, tuple[str, dict[str, str]]] = {}
    on_demand: dict[str, Any] = {}
    seen_products = False
    regions_seen: set[str] = set()
    with _open_text(path) as fh:
        stream = JsonStream(fh, str(path), chunk_size)
        try:
            if stream.peek() != "{":
                raise stream.error("the document is not a JSON object")
            for key in stream.members():
                if key == "products":
                    code = header.get("offerCode")
                    if not code:
                        raise stream.error("no offerCode before products: not an AWS offer file")
                    wanted = [s for s in specs if s.service == code]
                    seen_products = True
                    for sku in stream.members():
                        where = f"{path.name}, product {sku}"
                        sku_id, family, attrs = _product_parts(stream.value(), where)
                        if "regionCode" in attrs:
                            regions_seen.add(attrs["regionCode"])
                        if any(matches(s, r, code, family, attrs) for s in wanted for r in regions):
                            products[sku_id] = (family, attrs)
                elif key == "terms":
                    for term_type in stream.members():
                        if term_type != "OnDemand":
                            stream.skip(levels=1)
                            continue
                        for sku in stream.members():
                            if sku in products or not seen_products:
                                on_demand[sku] = stream.value()
                            else:
                                stream.skip(levels=0)
                elif key in ("offerCode", "version", "publicationDate", "formatVersion"):
                    header[key] = stream.value()
                else:
                    stream.skip(levels=1)
            stream.end()
        except UnicodeDecodeError as exc:
            raise stream.error(f"not UTF-8 text ({exc.reason})") from None
        except (OSError, EOFError) as exc:  # gzip: truncated or not gzip
            raise stream.error(str(exc)) from None
    if not seen_products:
        raise PricingError(
            f"{path} has no products section", "pass an AWS offer file (…/index.json)"
        )
    code = str(header["offerCode"])
    publication = _date(header.get("publicationDate"), path.name, "publicationDate")
    origin = f"AWS Price List offer file {code} version {header.get('version', '?')} ({path.name})"
    offers = []
    for sku, (family, attrs) in products.items():
        dims, effective = _dimensions(on_demand.get(sku), f"{path.name}, sku {sku}")
        offers.append(Offer(sku, code, family, attrs, dims, effective, publication, origin))
    return OfferFile(
        str(path), code, str(header.get("version", "")), publication, offers, regions_seen
    )
