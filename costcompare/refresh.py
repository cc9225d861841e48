"""Refresh the pricing table from the AWS Price List: the Query API or a bulk offer file.

Prices age, and a cost tool whose prices silently age is worse than none. This module finds each
price key's product in the Price List, converts its unit and tiers to the table's, and *appends*
rows dated by the Price List — it never edits a row already in the table, and it writes nothing
unless the whole result validates.

Which product a price key is lives in ``PRODUCT_MAP`` (data, not code per key): service code,
usagetype suffix, and the productFamily/attributes that tell apart products sharing a suffix
(``TimedStorage-ByteHrs`` is S3 storage *and* CloudWatch Logs archive storage). The usagetype
carries a region prefix (``APN1-``; none, or ``USE1-``, in us-east-1) or, for KMS, the region name.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import itertools
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from costcompare import awsfacts
from costcompare.aws import AwsContext, region_from_environment, translated
from costcompare.errors import OutputError, PricingError
from costcompare.pricing import (
    PRICE_COLUMNS,
    Price,
    PriceBook,
    PriceRow,
    PriceTable,
    bundled_path,
)

# --------------------------------------------------------------------------------------------
# The mapping: price key -> Price List product (data)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductSpec:
    """Where one price key lives in the Price List, and the unit the table keeps it in."""

    price_key: str
    service: str
    suffix: str  # usagetype without its region prefix
    unit: str  # the table's unit (what the model counts the quantity in)
    product_family: str | None = None  # required where the suffix is shared within the service
    attributes: tuple[tuple[str, str], ...] = ()  # further product attributes that must match
    prefix: str = "code"  # "code": APN1-/USE1-/none; "name": the region name (KMS)


def _spec(key: str, service: str, suffix: str, unit: str, family: str | None = None, **attrs):
    return ProductSpec(key, service, suffix, unit, family, tuple(sorted(attrs.items())))


_S3_STORAGE = {
    "STANDARD": "TimedStorage-ByteHrs",
    "STANDARD_IA": "TimedStorage-SIA-ByteHrs",
    "ONEZONE_IA": "TimedStorage-ZIA-ByteHrs",
    "GLACIER_IR": "TimedStorage-GIR-ByteHrs",
    "GLACIER": "TimedStorage-GlacierByteHrs",
    "DEEP_ARCHIVE": "TimedStorage-GDA-ByteHrs",
}
# PUT/COPY/POST/LIST (and lifecycle transitions into the class) and GET-class requests.
_S3_PUT = {
    "STANDARD": "Requests-Tier1",
    "STANDARD_IA": "Requests-SIA-Tier1",
    "ONEZONE_IA": "Requests-ZIA-Tier1",
    "GLACIER_IR": "Requests-GIR-Tier1",
    "GLACIER": "Requests-Tier3",
    "DEEP_ARCHIVE": "Requests-GDA-Tier1",
}
_S3_GET = {
    "STANDARD": "Requests-Tier2",
    "STANDARD_IA": "Requests-SIA-Tier2",
    "ONEZONE_IA": "Requests-ZIA-Tier2",
    "GLACIER_IR": "Requests-GIR-Tier2",
    "GLACIER": "Requests-Tier2",
    "DEEP_ARCHIVE": "Requests-GDA-Tier2",
}
_S3_RETRIEVAL = {
    "STANDARD_IA": "Retrieval-SIA",
    "ONEZONE_IA": "Retrieval-ZIA",
    "GLACIER_IR": "Retrieval-GIR",
    "GLACIER": "Standard-Retrieval-Bytes",
    "DEEP_ARCHIVE": "GDA-Standard-Retrieval-Bytes",
}

PRODUCT_MAP: tuple[ProductSpec, ...] = (
    # CloudWatch Logs and CloudWatch (custom logs via PutLogEvents, not vended logs).
    _spec("logs.ingestion.standard", "AmazonCloudWatch", "DataProcessing-Bytes", "GB"),
    _spec("logs.ingestion.infrequent_access", "AmazonCloudWatch", "DataProcessingIA-Bytes", "GB"),
    _spec("logs.storage", "AmazonCloudWatch", "TimedStorage-ByteHrs", "GB-Mo", "Storage Snapshot"),
    _spec("logs.insights.scanned", "AmazonCloudWatch", "DataScanned-Bytes", "GB"),
    _spec("logs.live_tail", "AmazonCloudWatch", "Logs-LiveTail", "Minutes"),
    _spec("logs.data_protection", "AmazonCloudWatch", "DataProtection-Bytes", "GB"),
    _spec("cloudwatch.metric", "AmazonCloudWatch", "CW:MetricMonitorUsage", "Metrics"),
    _spec("cloudwatch.alarm", "AmazonCloudWatch", "CW:AlarmMonitorUsage", "Alarms"),
    # S3: storage per class (Standard is tiered), requests, retrieval.
    _spec(
        "s3.storage.STANDARD",
        "AmazonS3",
        _S3_STORAGE["STANDARD"],
        "GB-Mo",
        "Storage",
        volumeType="Standard",
    ),
    *(
        _spec(f"s3.storage.{cls}", "AmazonS3", suffix, "GB-Mo", "Storage")
        for cls, suffix in _S3_STORAGE.items()
        if cls != "STANDARD"
    ),
    *(
        _spec(f"s3.requests.put.{cls}", "AmazonS3", suffix, "Requests", "API Request")
        for cls, suffix in _S3_PUT.items()
    ),
    *(
        _spec(f"s3.requests.get.{cls}", "AmazonS3", suffix, "Requests", "API Request")
        for cls, suffix in _S3_GET.items()
    ),
    *(
        _spec(f"s3.retrieval.{cls}", "AmazonS3", suffix, "GB")
        for cls, suffix in _S3_RETRIEVAL.items()
    ),
    _spec("athena.scanned", "AmazonAthena", "DataScannedInTB", "TB"),
    ProductSpec("kms.key", "awskms", "KMS-Keys", "Keys", prefix="name"),
    ProductSpec("kms.requests", "awskms", "KMS-Requests", "Requests", prefix="name"),
    _spec("vpc.interface_endpoint.hours", "AmazonVPC", "VpcEndpoint-Hours", "Hrs"),
    _spec("vpc.interface_endpoint.bytes", "AmazonVPC", "VpcEndpoint-Bytes", "GB"),
    # NAT gateway prices are published in the AmazonEC2 offer (productFamily "NAT Gateway").
    _spec("vpc.nat_gateway.hours", "AmazonEC2", "NatGateway-Hours", "Hrs", "NAT Gateway"),
    _spec("vpc.nat_gateway.bytes", "AmazonEC2", "NatGateway-Bytes", "GB", "NAT Gateway"),
)
SPECS: dict[str, ProductSpec] = {s.price_key: s for s in PRODUCT_MAP}

# usagetype prefix of each region (AWS billing codes). us-east-1 often has none.
REGION_PREFIXES: dict[str, str] = {
    "us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2",
    "ca-central-1": "CAN1", "ca-west-1": "CAN2", "sa-east-1": "SAE1",
    "eu-west-1": "EU", "eu-west-2": "EUW2", "eu-west-3": "EUW3", "eu-central-1": "EUC1",
    "eu-central-2": "EUC2", "eu-north-1": "EUN1", "eu-south-1": "EUS1", "eu-south-2": "EUS2",
    "ap-northeast-1": "APN1", "ap-northeast-2": "APN2", "ap-northeast-3": "APN3",
    "ap-southeast-1": "APS1", "ap-southeast-2": "APS2", "ap-south-1": "APS3",
    "ap-southeast-3": "APS4", "ap-south-2": "APS5", "ap-southeast-4": "APS6", "ap-east-1": "APE1",
    "me-south-1": "MES1", "me-central-1": "MEC1", "af-south-1": "AFS1", "il-central-1": "ILC1",
    "us-gov-west-1": "UGW1", "us-gov-east-1": "UGE1",
}  # fmt: skip
# For a region missing above: one token with a digit (APS7-), never a class marker like GDA-.
_UNKNOWN_PREFIX = re.compile(r"[A-Z]{2,4}[0-9]-")

# (Price List unit, table unit) -> Price List units in one table unit.
UNIT_FACTORS: dict[tuple[str, str], Decimal] = {
    ("gb", "GB"): Decimal(1),
    ("tb", "GB"): Decimal(1) / Decimal(1024),
    ("terabytes", "GB"): Decimal(1) / Decimal(1024),
    ("gb-mo", "GB-Mo"): Decimal(1),
    ("gb-month", "GB-Mo"): Decimal(1),
    ("tb", "TB"): Decimal(1),
    ("terabytes", "TB"): Decimal(1),
    ("gb", "TB"): Decimal(1024),
    ("requests", "Requests"): Decimal(1),
    ("request", "Requests"): Decimal(1),
    ("1k requests", "Requests"): Decimal("0.001"),
    ("1,000 requests", "Requests"): Decimal("0.001"),
    ("10k requests", "Requests"): Decimal("0.0001"),
    ("hrs", "Hrs"): Decimal(1),
    ("hours", "Hrs"): Decimal(1),
    ("keys", "Keys"): Decimal(1),
    ("key-mo", "Keys"): Decimal(1),
    ("metrics", "Metrics"): Decimal(1),
    ("alarms", "Alarms"): Decimal(1),
    ("minutes", "Minutes"): Decimal(1),
}

# The Price List Query API answers in these regions only.
PRICING_API_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
_OFFER_FILE = "or download the offer file and pass it to --offer-file"
_API_FIXES = {
    "AccessDeniedException": f"the caller needs pricing:GetProducts (--profile), {_OFFER_FILE}",
    "AccessDenied": f"the caller needs pricing:GetProducts (--profile), {_OFFER_FILE}",
}


def check_region(region: str) -> str:
    """A region code (a region newer than the tool's list is let through for the Price List)."""
    return awsfacts.check_region(region, error=PricingError, known_only=False)


def usage_prefix_ok(prefix: str, region: str, style: str) -> bool:
    """Is ``prefix`` (what precedes the suffix in a usagetype) this region's own prefix?"""
    if style == "name":
        return prefix == f"{region}-"
    code = REGION_PREFIXES.get(region)
    if code is None:
        return bool(_UNKNOWN_PREFIX.fullmatch(prefix))
    return prefix == f"{code}-" or (region == "us-east-1" and prefix == "")


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


def matches(spec: ProductSpec, region: str, service: str, family: str, attrs: Mapping) -> bool:
    """Is this product the one ``spec`` names, in ``region``? Suffix, prefix, family, attributes."""
    if service != spec.service:
        return False
    region_code = attrs.get("regionCode")
    usagetype = str(attrs.get("usagetype", ""))
    if not usagetype.endswith(spec.suffix):
        return False
    prefix = usagetype[: len(usagetype) - len(spec.suffix)]
    if region_code is not None and region_code != region:
        return False
    if region_code is None and not prefix:
        return False  # no region attribute and no prefix: a global SKU, not this region's
    if not usage_prefix_ok(prefix, region, spec.prefix):
        return False
    if spec.product_family is not None and family != spec.product_family:
        return False
    return all(attrs.get(k) == v for k, v in spec.attributes)


def _bad(where: str, what: str) -> PricingError:
    return PricingError(
        f"malformed Price List data ({where}): {what}",
        "nothing was written; retry, or download the offer file again and pass --offer-file",
    )


def _decimal(value: Any, where: str, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _bad(where, f"{what} is {value!r}, not a number") from None
    if not number.is_finite() or number < 0:
        raise _bad(where, f"{what} is {value!r}, not a finite number ≥ 0")
    return number


def _date(value: Any, where: str, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise _bad(where, f"{what} is {value!r}, not an ISO date") from None


def _dimensions(on_demand: Any, where: str) -> tuple[tuple[Dimension, ...], dt.date | None]:
    """The newest on-demand term of a SKU as contiguous tiers from 0."""
    if not on_demand:
        return (), None
    if not isinstance(on_demand, Mapping):
        raise _bad(where, "terms.OnDemand of the SKU is not an object")
    terms = []
    for code, term in on_demand.items():
        if not isinstance(term, Mapping) or not isinstance(term.get("priceDimensions"), Mapping):
            raise _bad(where, f"term {code} has no priceDimensions object")
        terms.append((_date(term.get("effectiveDate"), where, "effectiveDate"), code, term))
    effective, code, term = max(terms, key=lambda t: (t[0] or dt.date.min, t[1]))
    dims = []
    for rate, dim in term["priceDimensions"].items():
        here = f"{where}, rate {rate}"
        if not isinstance(dim, Mapping):
            raise _bad(here, "price dimension is not an object")
        price = dim.get("pricePerUnit")
        if not isinstance(price, Mapping) or "USD" not in price:
            raise _bad(here, "pricePerUnit has no USD price")
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
        raise _bad(where, f"the first tier begins at {dims[0].begin}, not 0")
    for a, b in itertools.pairwise(dims):
        if a.end is None or a.end != b.begin:
            raise _bad(where, f"tiers are not contiguous ({a.begin}–{a.end}, then {b.begin})")
        if a.unit != b.unit:
            raise _bad(where, f"tiers mix units {a.unit!r} and {b.unit!r}")
    return tuple(dims), effective


def _product_parts(product: Any, where: str) -> tuple[str, str, dict[str, str]]:
    if not isinstance(product, Mapping):
        raise _bad(where, "product is not an object")
    attrs = product.get("attributes", {})
    if not isinstance(attrs, Mapping):
        raise _bad(where, "product.attributes is not an object")
    sku = product.get("sku")
    if not isinstance(sku, str) or not sku:
        raise _bad(where, "product has no sku")
    family = str(product.get("productFamily", ""))
    return sku, family, {str(k): str(v) for k, v in attrs.items()}


def parse_price_item(
    item: Any, regions: Sequence[str], specs: Sequence[ProductSpec], where: str
) -> Offer | None:
    """One ``PriceList`` entry of get_products (a JSON *string*) → an Offer, if a spec wants it."""
    if not isinstance(item, str):
        raise _bad(where, f"a PriceList item is a {type(item).__name__}, not a JSON string")
    try:
        data = json.loads(item)
    except json.JSONDecodeError as exc:
        raise _bad(where, f"a PriceList item is not valid JSON ({exc.msg})") from None
    if not isinstance(data, Mapping) or "product" not in data or "terms" not in data:
        raise _bad(where, "a PriceList item lacks product or terms")
    sku, family, attrs = _product_parts(data["product"], where)
    service = str(data.get("serviceCode") or attrs.get("servicecode", ""))
    if not any(matches(s, r, service, family, attrs) for s in specs for r in regions):
        return None
    terms = data["terms"]
    if not isinstance(terms, Mapping):
        raise _bad(where, f"terms of {sku} is not an object")
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


# --------------------------------------------------------------------------------------------
# Query API
# --------------------------------------------------------------------------------------------


def api_queries(
    regions: Sequence[str], specs: Sequence[ProductSpec]
) -> list[tuple[str, list[dict[str, str]]]]:
    """One get_products query per (region, service, productFamily): the TERM_MATCH filters sent.

    Grouping keys by family keeps the calls few; each answer is matched key by key client-side.
    """
    groups = sorted({(s.service, s.product_family or "") for s in specs})
    out = []
    for region in regions:
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
                    raise _bad(f"{label}, page {page_no}", "the response has no PriceList list")
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


# --------------------------------------------------------------------------------------------
# Bulk offer files, streamed
# --------------------------------------------------------------------------------------------


class OfferFileError(PricingError):
    """The offer file is not the JSON document AWS publishes."""


_WS = re.compile(r"[ \t\n\r]*")
_DELIMITER = re.compile(r"[,}\] \t\n\r]")


class JsonStream:
    """Walk a JSON document in a file without loading it whole.

    Offer files run to hundreds of MB. Containers are entered one level at a time and only the
    values asked for are decoded (by the C decoder), so memory stays at one product or SKU's
    terms plus a read buffer. Standard library only.
    """

    def __init__(self, fh: TextIO, name: str, chunk_size: int = 1 << 20) -> None:
        self._fh = fh
        self._name = name
        self._chunk = max(1, chunk_size)
        self._buf = ""
        self._pos = 0
        self._base = 0  # characters dropped before the buffer
        self._eof = False
        self._decoder = json.JSONDecoder()

    def error(self, what: str) -> OfferFileError:
        return OfferFileError(
            f"{self._name} is not a valid offer file at character {self._base + self._pos}: {what}",
            "download it again (…/offers/v1.0/aws/<offerCode>/current/<region>/index.json) "
            "and pass it to --offer-file; nothing was written",
        )

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self._fh.read(self._chunk)
        if not data:
            self._eof = True
            return False
        if self._pos >= self._chunk:
            self._base += self._pos
            self._buf = self._buf[self._pos :]
            self._pos = 0
        self._buf += data
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            self._pos = _WS.match(self._buf, self._pos).end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def _expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise self.error(f"expected {char!r}, found {found or 'the end of the file'!r}")
        self._pos += 1

    def value(self) -> Any:
        """Decode the next whole value (small ones only: a product, one SKU's terms)."""
        first = self.peek()
        if not first:
            raise self.error("unexpected end of file")
        if first not in '{["':
            # a number or literal ends only at a delimiter: "-12." may be "-12.5e3" in the file
            while not _DELIMITER.search(self._buf, self._pos) and self._more():
                pass
        while True:
            try:
                obj, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise self.error(exc.msg) from None
            self._pos = end
            return obj

    def members(self) -> Iterator[str]:
        """Enter an object; yield each key with the stream at its value, which the caller
        must consume (``value``, ``skip`` or ``members``) before asking for the next key."""
        self._expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.error("expected a quoted key")
            key = self.value()
            self._expect(":")
            yield key
            found = self.peek()
            self._pos += 1
            if found == "}":
                return
            if found != ",":
                raise self.error(f"expected ',' or '}}' after {key!r}")

    def skip(self, levels: int = 1) -> None:
        """Pass over the next value, entering ``levels`` of containers so none is held whole."""
        char = self.peek()
        if levels > 0 and char == "{":
            for _ in self.members():
                self.skip(levels - 1)
        elif levels > 0 and char == "[":
            self._pos += 1
            if self.peek() == "]":
                self._pos += 1
                return
            while True:
                self.skip(levels - 1)
                found = self.peek()
                self._pos += 1
                if found == "]":
                    return
                if found != ",":
                    raise self.error("expected ',' or ']' in an array")
        else:
            self.value()

    def end(self) -> None:
        if self.peek():
            raise self.error("unexpected data after the document")


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


# --------------------------------------------------------------------------------------------
# From offers to new rows
# --------------------------------------------------------------------------------------------


def _dec(value: Decimal) -> str:
    """A decimal as the table writes it: plain notation, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True)
class NewRow:
    """A row to append, with exact decimal text (no float noise in the CSV)."""

    price_key: str
    service: str
    region: str
    usage_type: str
    unit: str
    tier_start: str
    tier_end: str
    usd_per_unit: str
    effective_date: str
    source: str
    confidence: str = "A"

    def as_list(self) -> list[str]:
        return [getattr(self, c) for c in PRICE_COLUMNS]

    def as_dict(self) -> dict[str, str]:
        return dict(zip(PRICE_COLUMNS, self.as_list(), strict=True))


def rows_for(spec: ProductSpec, region: str, offer: Offer, today: dt.date) -> list[NewRow]:
    """The table rows of one offer: unit converted, tiers rescaled, dated and sourced."""
    factor = UNIT_FACTORS[(offer.dimensions[0].unit.lower(), spec.unit)]
    date = offer.effective_date or today
    pub = offer.publication.isoformat() if offer.publication else f"none; read {today}"
    source = f"{offer.origin} {region}, publication {pub}, sku {offer.sku}"
    if offer.term_effective:
        source += f", term effective {offer.term_effective.isoformat()}"
    return [
        NewRow(
            price_key=spec.price_key,
            service=spec.service,
            region=region,
            usage_type=offer.usagetype,
            unit=spec.unit,
            tier_start=_dec(d.begin / factor),
            tier_end="" if d.end is None else _dec(d.end / factor),
            usd_per_unit=_dec(d.usd * factor),
            effective_date=date.isoformat(),
            source=source,
        )
        for d in offer.dimensions
    ]


@dataclass
class KeyResult:
    """What a refresh did for one price key in one region."""

    price_key: str
    region: str
    status: str  # added | changed | confirmed | unchanged | conflict | missing | skipped
    reason: str = ""
    rows: list[NewRow] = field(default_factory=list)
    previous: str = ""  # the rate in force before, as read
    required: bool = False  # the cost model uses this key

    @property
    def written(self) -> bool:
        return self.status in ("added", "changed", "confirmed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "price_key": self.price_key,
            "region": self.region,
            "status": self.status,
            "reason": self.reason,
            "required": self.required,
            "previous": self.previous,
            "rows": [r.as_dict() for r in self.rows],
        }


STATUS_HELP = {
    "added": "new key for the region, rows appended",
    "changed": "price differs from the one in force, rows appended",
    "confirmed": "same price, appended with the Price List's newer date",
    "unchanged": "the table already holds these rows at this date",
    "conflict": "the table holds a different price at the same date; not written",
    "missing": "not found in the Price List",
    "skipped": "no offer file for the key's service",
}


def _same(rows: Sequence[PriceRow], new: Sequence[NewRow]) -> bool:
    if len(rows) != len(new):
        return False
    for old, nr in zip(sorted(rows, key=lambda r: r.tier_start), new, strict=True):
        end = None if nr.tier_end == "" else float(nr.tier_end)
        if old.unit != nr.unit or old.tier_start != float(nr.tier_start) or old.tier_end != end:
            return False
        if abs(old.usd_per_unit - float(nr.usd_per_unit)) > 1e-12 * max(1.0, old.usd_per_unit):
            return False
    return True


def _describe(rows: Sequence[PriceRow]) -> str:
    if not rows:
        return ""
    price = Price(
        rows[0].price_key,
        rows[0].region,
        rows[0].unit,
        rows[0].effective_date,
        tuple(sorted(rows, key=lambda r: r.tier_start)),
    )
    return f"{price.explain_rate()} since {price.effective_date.isoformat()}"


def resolve_key(
    spec: ProductSpec,
    region: str,
    offers: Iterable[Offer],
    table_rows: Sequence[PriceRow],
    today: dt.date,
) -> KeyResult:
    """Pick the offer of ``spec`` in ``region`` and decide whether its rows are new."""
    found = [
        o
        for o in offers
        if matches(spec, region, o.service, o.product_family, o.attributes) and o.dimensions
    ]
    result = KeyResult(spec.price_key, region, "missing")
    distinct = {o.dimensions: o for o in found}
    if not found:
        result.reason = (
            f"no {spec.service} product with usagetype …{spec.suffix}"
            + (f", productFamily {spec.product_family!r}" if spec.product_family else "")
            + "".join(f", {k} {v!r}" for k, v in spec.attributes)
            + f" and an on-demand USD price in {region}"
        )
        return result
    if len(distinct) > 1:
        skus = ", ".join(sorted(o.sku for o in distinct.values()))
        result.reason = f"ambiguous: SKUs {skus} match with different prices"
        return result
    offer = max(found, key=lambda o: (o.effective_date or dt.date.min, o.sku))
    unit = offer.dimensions[0].unit
    if (unit.lower(), spec.unit) not in UNIT_FACTORS:
        result.reason = f"Price List unit {unit!r} cannot be converted to {spec.unit!r}"
        return result
    new = rows_for(spec, region, offer, today)
    date = dt.date.fromisoformat(new[0].effective_date)
    mine = [r for r in table_rows if r.price_key == spec.price_key and r.region == region]
    same_day = [r for r in mine if r.effective_date == date]
    before = [r for r in mine if r.effective_date < date]
    in_force = [r for r in before if r.effective_date == max(b.effective_date for b in before)]
    result.previous = _describe(same_day or in_force)
    result.rows = new
    if same_day:
        result.status = "unchanged" if _same(same_day, new) else "conflict"
        if result.status == "conflict":
            result.reason = (
                f"the table already has a different price dated {date.isoformat()} "
                f"(line {same_day[0].line}); old rows are never edited"
            )
            result.rows = []
        else:
            result.rows = []
        return result
    if not in_force:
        result.status = "added"
    else:
        result.status = "confirmed" if _same(in_force, new) else "changed"
    if offer.dimensions[0].usd == 0 and len(offer.dimensions) > 1:
        result.reason = "the first tier is free in the Price List; check free_tier.csv"
    return result


@dataclass
class RefreshReport:
    """The outcome of one refresh: per key and region, and where the rows went."""

    pricing_file: str
    origins: list[str]
    results: list[KeyResult]
    written: bool = False
    dry_run: bool = False

    @property
    def new_rows(self) -> list[NewRow]:
        return [row for r in self.results if r.written for row in r.rows]

    @property
    def missing(self) -> list[KeyResult]:
        return [r for r in self.results if r.status == "missing"]

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "pricing_file": self.pricing_file,
            "origins": self.origins,
            "written": self.written,
            "dry_run": self.dry_run,
            "rows_appended": len(self.new_rows) if self.written else 0,
            "counts": {s: self.count(s) for s in STATUS_HELP},
            "missing": [
                {
                    "price_key": r.price_key,
                    "region": r.region,
                    "reason": r.reason,
                    "required": r.required,
                }
                for r in self.missing
            ],
            "results": [r.as_dict() for r in self.results],
        }


def user_pricing_path() -> Path:
    """Where refreshed prices go by default: a user copy, since an installed wheel may be
    read-only and the bundled snapshot must stay what was shipped."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "costcompare" / "prices.csv"


def _existing_text(path: Path) -> tuple[str, PriceTable]:
    """The current table text (the bundled snapshot when the file does not exist yet)."""
    source = path if path.exists() else bundled_path("prices.csv")
    table = PriceTable.load(source)
    text = source.read_text(encoding="utf-8")
    return text, table


def render_rows(rows: Iterable[NewRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(row.as_list())
    return buf.getvalue()


def append_rows(path: Path, base_text: str, rows: Sequence[NewRow]) -> None:
    """Append ``rows`` after ``base_text`` byte for byte; validate the whole, then replace the
    file atomically. A table that would not load is never written."""
    from costcompare.report import write_atomic

    text = base_text if base_text.endswith("\n") or not base_text else base_text + "\n"
    text += render_rows(rows)
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "prices.csv"
        probe.write_text(text, encoding="utf-8")
        try:
            PriceTable.load(probe)
        except PricingError as exc:
            raise PricingError(
                f"the refreshed table would not validate ({exc.problem})",
                f"nothing was written to {path}; report this with the offer file or response",
            ) from None
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True)
        except OSError as exc:
            raise PricingError(
                f"cannot create {path.parent}: {exc.strerror}", "pass a writable --pricing-file"
            ) from None
    try:
        write_atomic(path, text)
    except OutputError as exc:
        raise PricingError(
            f"cannot write the pricing table {path}: {exc.problem}",
            "pass a writable --pricing-file (the table was left as it was)",
        ) from None


def refresh(
    regions: Sequence[str],
    *,
    pricing_file: str | Path | None = None,
    offer_files: Sequence[str | Path] = (),
    client: Any = None,
    client_factory: Callable[[], Any] | None = None,
    keys: Sequence[str] | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
    chunk_size: int = 1 << 20,
) -> RefreshReport:
    """Fetch the prices of ``keys`` (all mapped keys) in ``regions`` and append what is new.

    From ``offer_files`` when given, else from the Query API (``client`` or ``client_factory``).
    Everything is read and checked before the single atomic write; any error leaves the table
    as it was.
    """
    from costcompare.destinations import all_price_keys

    today = today or dt.date.today()
    regions = list(dict.fromkeys(check_region(r) for r in regions))
    if not regions:
        raise PricingError("no --region given", "pass --region, e.g. --region ap-northeast-1")
    specs = _select_specs(keys)
    target = Path(pricing_file) if pricing_file else user_pricing_path()
    base_text, table = _existing_text(target)

    offers: list[Offer] = []
    origins: list[str] = []
    services_read: set[str] | None = None
    if offer_files:
        services_read = set()
        for f in offer_files:
            offer_file = read_offer_file(f, regions, specs, chunk_size=chunk_size)
            unread = [r for r in regions if r not in offer_file.regions_seen]
            if offer_file.regions_seen and len(unread) == len(regions):
                raise PricingError(
                    f"offer file {f} holds prices for {', '.join(sorted(offer_file.regions_seen))}"
                    f", not {', '.join(regions)}",
                    "download …/<offerCode>/current/<region>/index.json for the region you pass",
                )
            services_read.add(offer_file.offer_code)
            offers.extend(offer_file.offers)
            origins.append(
                f"{offer_file.path} ({offer_file.offer_code}, publication {offer_file.publication})"
            )
    else:
        client = client or (client_factory or pricing_client)()
        offers = fetch_api_offers(client, regions, specs)
        origins.append("AWS Price List Query API (get_products)")

    required = all_price_keys()
    results = []
    for region in regions:
        for spec in specs:
            if services_read is not None and spec.service not in services_read:
                res = KeyResult(
                    spec.price_key, region, "skipped", f"no offer file for {spec.service} given"
                )
            else:
                res = resolve_key(spec, region, offers, table.rows, today)
            res.required = spec.price_key in required
            results.append(res)

    attempted = [r for r in results if r.status != "skipped"]
    if attempted and all(r.status == "missing" for r in attempted):
        raise PricingError(
            f"found no price key in the Price List for {', '.join(regions)}",
            "check the region code and that the offer file is for that region; nothing was written",
        )
    report = RefreshReport(str(target), origins, results, dry_run=dry_run)
    if report.new_rows and not dry_run:
        append_rows(target, base_text, report.new_rows)
        report.written = True
    return report


def _select_specs(keys: Sequence[str] | None) -> list[ProductSpec]:
    if not keys:
        return list(PRODUCT_MAP)
    unknown = [k for k in keys if k not in SPECS]
    if unknown:
        raise PricingError(
            f"unknown price key {', '.join(unknown)}",
            f"use keys of the table, e.g. {', '.join(list(SPECS)[:3])}",
        )
    return [SPECS[k] for k in dict.fromkeys(keys)]


# --------------------------------------------------------------------------------------------
# diff: what changed between two dates, and what it does to the default workload's cost
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriceChange:
    price_key: str
    status: str  # changed | added | removed
    before: str
    after: str
    before_date: str
    after_date: str
    first_rate_change_pct: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def diff_prices(old: PriceBook, new: PriceBook) -> list[PriceChange]:
    """Keys whose price in force differs between two books (rates, tiers or unit)."""
    changes = []
    for key in sorted(set(old.prices) | set(new.prices)):
        a, b = old.prices.get(key), new.prices.get(key)
        if a and b and _price_signature(a) == _price_signature(b):
            continue
        pct = None
        if a and b and a.first_rate:
            pct = (b.first_rate - a.first_rate) / a.first_rate * 100
        changes.append(
            PriceChange(
                price_key=key,
                status="changed" if a and b else ("added" if b else "removed"),
                before=a.explain_rate() if a else "",
                after=b.explain_rate() if b else "",
                before_date=a.effective_date.isoformat() if a else "",
                after_date=b.effective_date.isoformat() if b else "",
                first_rate_change_pct=pct,
            )
        )
    return changes


def _price_signature(price: Price) -> tuple:
    return (price.unit, tuple((r.tier_start, r.tier_end, r.usd_per_unit) for r in price.rows))


@dataclass(frozen=True)
class CostChange:
    destination: str
    before_monthly_usd: float
    after_monthly_usd: float
    before_total_usd: float
    after_total_usd: float

    @property
    def monthly_delta_usd(self) -> float:
        return self.after_monthly_usd - self.before_monthly_usd

    @property
    def total_delta_usd(self) -> float:
        return self.after_total_usd - self.before_total_usd

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "monthly_delta_usd": self.monthly_delta_usd,
            "total_delta_usd": self.total_delta_usd,
        }


def first_complete_date(table: PriceTable, region: str, keys: Iterable[str]) -> dt.date | None:
    """The first date on which every one of ``keys`` has a price in ``region`` (None: never)."""
    firsts: dict[str, dt.date] = {}
    for r in table.rows:
        if r.region == region and (
            r.price_key not in firsts or r.effective_date < firsts[r.price_key]
        ):
            firsts[r.price_key] = r.effective_date
    wanted = set(keys)
    if not wanted <= firsts.keys():
        return None
    return max(firsts[k] for k in wanted)


def diff_cost(
    table: PriceTable, workload: Any, date_from: dt.date, date_to: dt.date
) -> list[CostChange]:
    """The workload's cost per destination at the prices of each date."""
    from costcompare.model import estimate

    before = estimate(workload, pricing_date=date_from, table=table)
    after = estimate(workload, pricing_date=date_to, table=table)
    out = []
    for a in before.destinations:
        b = after.get(a.name)
        out.append(
            CostChange(
                a.name,
                a.steady_state_monthly_usd,
                b.steady_state_monthly_usd,
                a.total_usd,
                b.total_usd,
            )
        )
    return out
