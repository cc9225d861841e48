"""Turn offers into new table rows and append them: never edit a row, never write a table
that would not load. ``refresh`` is what `costcompare pricing refresh` runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from costcompare.errors import OutputError, PricingError
from costcompare.pricecsv import PRICE_COLUMNS, PriceRow
from costcompare.pricelist.offers import Offer, read_offer_file
from costcompare.pricelist.products import (
    PRODUCT_MAP,
    SPECS,
    UNIT_FACTORS,
    ProductSpec,
    check_region,
    matches,
)
from costcompare.pricelist.queryapi import fetch_api_offers, pricing_client
from costcompare.pricing import Price, PriceTable, bundled_path

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
    "skipped": "no offer file for the key's service, or AWS does not price it in the region",
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


def _check_target(path: Path) -> None:
    """The table can be written: its folder exists (or can be made) and the file is writable."""
    from costcompare.files import check_output_file, check_output_folder

    try:
        check_output_folder(path.parent, "--pricing-file")
        if path.exists() or path.parent.is_dir():
            check_output_file(path, "--pricing-file")
    except OutputError as exc:
        raise PricingError(exc.problem, exc.fix) from None


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
    from costcompare.files import write_atomic

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
        write_atomic(path, text, "--pricing-file")
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

    today = today or dt.date.today()
    regions = list(dict.fromkeys(check_region(r) for r in regions))
    if not regions:
        raise PricingError("no --region given", "pass --region, e.g. --region ap-northeast-1")
    specs = _select_specs(keys)
    target = Path(pricing_file) if pricing_file else user_pricing_path()
    if not dry_run:  # a target that cannot be written fails before any download
        _check_target(target)
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

    results = _key_results(regions, specs, offers, table, services_read, today)

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


def _key_results(
    regions: Sequence[str],
    specs: Sequence[ProductSpec],
    offers: Sequence[Offer],
    table: PriceTable,
    services_read: set[str] | None,
    today: dt.date,
) -> list[KeyResult]:
    """One result per region × key: skipped where AWS does not price the key in the region or
    no offer file of its service was given, else what the offers say against the table."""
    from costcompare.destinations import all_price_keys

    required = all_price_keys()
    results = []
    for region in regions:
        for spec in specs:
            if not spec.priced_in(region):
                res = KeyResult(
                    spec.price_key, region, "skipped", f"priced in {', '.join(spec.regions)} only"
                )
            elif services_read is not None and spec.service not in services_read:
                res = KeyResult(
                    spec.price_key, region, "skipped", f"no offer file for {spec.service} given"
                )
            else:
                res = resolve_key(spec, region, offers, table.rows, today)
            res.required = spec.price_key in required
            results.append(res)
    return results


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
