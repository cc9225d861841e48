"""The Price List adapter: mapping, matching, streaming offer files, the Query API (stubbed
with botocore's Stubber: moto does not mock Pricing) and appending rows."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from botocore.stub import Stubber
from pricelist_shapes import (
    BUNDLED,
    S3_EXCERPT,
    copy_bundled,
    dim,
    filters,
    items_from_offer_file,
    price_item,
    pricing_client,
    stub_query,
)

from costcompare import pricelist as lib
from costcompare.destinations import all_price_keys
from costcompare.errors import PricingError
from costcompare.pricing import PriceTable

REGIONS = ["ap-northeast-1", "us-east-1"]
TODAY = dt.date(2027, 2, 1)


def bundled_offer_files() -> list[Path]:
    return sorted(BUNDLED.glob("*/*/index.json"))


def identity(row) -> tuple:
    """Every column but source and confidence (those say where the refreshed row came from)."""
    end = None if row.tier_end in ("", None) else float(row.tier_end)
    return (
        row.price_key,
        row.region,
        row.usage_type,
        row.unit,
        float(row.tier_start),
        end,
        float(row.usd_per_unit),
        str(row.effective_date),
    )


class TestMapping:
    def test_every_table_key_is_mapped_and_every_model_key_too(self, table):
        assert {r.price_key for r in table.rows} == set(lib.SPECS)
        assert all_price_keys() <= set(lib.SPECS)

    def test_suffix_and_prefix_agree_with_the_bundled_usage_types(self, table):
        for row in table.rows:
            spec = lib.SPECS[row.price_key]
            assert row.usage_type.endswith(spec.suffix), row
            prefix = row.usage_type[: len(row.usage_type) - len(spec.suffix)]
            assert lib.usage_prefix_ok(prefix, row.region, spec.prefix), row

    def test_units_are_the_tables(self, table):
        for row in table.rows:
            assert lib.SPECS[row.price_key].unit == row.unit

    def test_a_key_priced_in_one_region_is_neither_asked_for_nor_missing_elsewhere(self):
        ce = lib.SPECS["ce.requests"]
        assert ce.priced_in("us-east-1") and not ce.priced_in("ap-northeast-1")
        queries = lib.api_queries(["us-east-1", "ap-northeast-1"], [ce])
        assert [(service, fs[0]["Value"]) for service, fs in queries] == [
            ("AWSCostExplorer", "us-east-1")
        ]

    def test_ec2_queries_are_narrowed_by_product_family(self):
        # an unfiltered AmazonEC2 query would page through every instance type of the region
        assert all(s.product_family for s in lib.PRODUCT_MAP if s.service == "AmazonEC2")

    def test_shared_suffixes_are_told_apart_by_family(self):
        by_suffix: dict[tuple[str, str], list] = {}
        for s in lib.PRODUCT_MAP:
            by_suffix.setdefault((s.service, s.suffix), []).append(s)
        storage = [s for s in lib.PRODUCT_MAP if s.suffix == "TimedStorage-ByteHrs"]
        assert {s.service for s in storage} == {"AmazonS3", "AmazonCloudWatch"}
        assert all(s.product_family for s in storage)


class TestMatching:
    @pytest.mark.parametrize(
        ("usagetype", "region", "ok"),
        [
            ("APN1-TimedStorage-ByteHrs", "ap-northeast-1", True),
            ("TimedStorage-ByteHrs", "us-east-1", True),  # no prefix in us-east-1
            ("USE1-TimedStorage-ByteHrs", "us-east-1", True),
            ("TimedStorage-ByteHrs", "ap-northeast-1", False),
            ("USW2-TimedStorage-ByteHrs", "ap-northeast-1", False),
            ("APN1-TimedStorage-SIA-ByteHrs", "ap-northeast-1", False),
            ("EU-TimedStorage-ByteHrs", "eu-west-1", True),
            ("APS7-TimedStorage-ByteHrs", "ap-southeast-7", True),  # region not in the table
            ("GDA-TimedStorage-ByteHrs", "ap-southeast-7", False),
        ],
    )
    def test_region_prefix(self, usagetype, region, ok):
        spec = lib.SPECS["s3.storage.STANDARD"]
        attrs = {"usagetype": usagetype, "volumeType": "Standard", "regionCode": region}
        assert lib.matches(spec, region, "AmazonS3", "Storage", attrs) is ok

    def test_kms_uses_the_region_name(self):
        spec = lib.SPECS["kms.requests"]
        assert lib.matches(spec, "eu-west-1", "awskms", "", {"usagetype": "eu-west-1-KMS-Requests"})
        assert not lib.matches(
            spec, "eu-west-1", "awskms", "", {"usagetype": "eu-west-1-KMS-Requests-Asymmetric"}
        )
        assert not lib.matches(spec, "eu-west-1", "awskms", "", {"usagetype": "EU-KMS-Requests"})

    def test_collision_same_usagetype_in_s3_and_cloudwatch(self):
        attrs = {"usagetype": "APN1-TimedStorage-ByteHrs", "regionCode": "ap-northeast-1"}
        logs, s3 = lib.SPECS["logs.storage"], lib.SPECS["s3.storage.STANDARD"]
        s3_attrs = {**attrs, "volumeType": "Standard"}
        assert lib.matches(logs, "ap-northeast-1", "AmazonCloudWatch", "Storage Snapshot", attrs)
        assert not lib.matches(logs, "ap-northeast-1", "AmazonS3", "Storage", s3_attrs)
        assert not lib.matches(logs, "ap-northeast-1", "AmazonCloudWatch", "Storage", attrs)
        assert lib.matches(s3, "ap-northeast-1", "AmazonS3", "Storage", s3_attrs)
        assert not lib.matches(s3, "ap-northeast-1", "AmazonS3", "Storage Snapshot", s3_attrs)

    def test_deep_archive_retrieval_is_not_glacier_retrieval(self):
        glacier = lib.SPECS["s3.retrieval.GLACIER"]
        for region, usagetype in [
            ("us-east-1", "GDA-Standard-Retrieval-Bytes"),
            ("ap-northeast-1", "APN1-GDA-Standard-Retrieval-Bytes"),
        ]:
            attrs = {"usagetype": usagetype, "regionCode": region}
            assert not lib.matches(glacier, region, "AmazonS3", "Fee", attrs)

    def test_region_code_attribute_wins(self):
        spec = lib.SPECS["logs.ingestion.standard"]
        attrs = {"usagetype": "DataProcessing-Bytes", "regionCode": "us-east-2"}
        assert not lib.matches(spec, "us-east-1", "AmazonCloudWatch", "", attrs)
        # no regionCode and no prefix: a global SKU, never us-east-1's
        bare = {"usagetype": "DataProcessing-Bytes"}
        assert not lib.matches(spec, "us-east-1", "AmazonCloudWatch", "", bare)

    @pytest.mark.parametrize("bad", ["Tokyo", "ap-northeast", "AP-NORTHEAST-1", ""])
    def test_bad_region_code(self, bad):
        with pytest.raises(PricingError, match=r"unknown region|no AWS region"):
            lib.check_region(bad)


class TestJsonStream:
    DOC: ClassVar[dict] = {
        "a": 1,
        "products": {"x": {"k": [1, 2.5, 's\\"q', None, True]}, "y": {}},
        "n": -12345.678e3,
        "e": [],
    }

    @pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 20])
    def test_walks_and_skips_at_any_chunk_size(self, chunk):
        stream = lib.JsonStream(io.StringIO(json.dumps(self.DOC, indent=3)), "doc", chunk)
        seen = {}
        for key in stream.members():
            if key == "products":
                seen[key] = {k: stream.value() for k in stream.members()}
            elif key == "e":
                stream.skip(levels=2)
                seen[key] = "skipped"
            else:
                seen[key] = stream.value()
        stream.end()
        assert seen == {**self.DOC, "e": "skipped"}

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ('{"a": 1', "expected ',' or '}'"),
            ('{"a": [1, 2}', "expected"),
            ('{"a" 1}', "expected ':'"),
            ('{"a": 1} x', "unexpected data"),
            ('{"a": tru}', "Expecting value"),
            # issue 18.11: a deeply nested value used to escape as RecursionError
            ('{"a": ' + "[" * 20_000 + "]" * 20_000 + "}", "nested too deeply"),
        ],
    )
    def test_malformed_json_names_the_position(self, text, message):
        stream = lib.JsonStream(io.StringIO(text), "doc.json", 3)
        with pytest.raises(PricingError, match=message) as err:
            for _ in stream.members():
                stream.skip(levels=2)
            stream.end()
        assert "doc.json is not a valid offer file at character" in str(err.value)


class TestBundledRoundTrip:
    """Fixtures built from the bundled values (make_bundled.py) must give the bundled rows back."""

    def test_offer_files_reproduce_the_bundled_rows_exactly(self, table):
        specs = list(lib.PRODUCT_MAP)
        offers = [
            o for f in bundled_offer_files() for o in lib.read_offer_file(f, REGIONS, specs).offers
        ]
        produced = []
        for region in REGIONS:
            for spec in (s for s in specs if s.priced_in(region)):
                result = lib.resolve_key(spec, region, offers, (), TODAY)
                assert result.status == "added", (spec.price_key, region, result.reason)
                produced += result.rows
        assert sorted(map(identity, produced)) == sorted(map(identity, table.rows))
        for row in produced:
            assert row.confidence == "A" and "publication 2026-0" in row.source
        # the table's own service column names the Price List offer (NAT: AmazonEC2)
        services = {(r.price_key, r.service) for r in table.rows}
        assert {k for k, s in services if s != lib.SPECS[k].service} == set()

    def test_refresh_into_the_bundled_table_adds_nothing(self, tmp_path):
        target = copy_bundled(tmp_path)
        before = target.read_bytes()
        report = lib.refresh(REGIONS, pricing_file=target, offer_files=bundled_offer_files())
        priced = sum(s.priced_in(r) for s in lib.PRODUCT_MAP for r in REGIONS)
        assert report.count("unchanged") == priced
        assert report.count("skipped") == len(lib.PRODUCT_MAP) * 2 - priced
        assert not report.written and not report.missing
        assert target.read_bytes() == before

    def test_query_api_reproduces_the_bundled_rows(self, tmp_path):
        target = copy_bundled(tmp_path)
        client = pricing_client()
        with Stubber(client) as stub:
            for service, fs in lib.api_queries(REGIONS, lib.PRODUCT_MAP):
                region = fs[0]["Value"]
                family = fs[1]["Value"] if len(fs) > 1 else ""
                items = items_from_offer_file(BUNDLED / service / region / "index.json", family)
                stub_query(stub, service, fs, [items[:3], items[3:]] if len(items) > 3 else [items])
            report = lib.refresh(REGIONS, pricing_file=target, client=client)
            stub.assert_no_pending_responses()
        assert {r.status for r in report.results} == {"unchanged", "skipped"}
        skipped = [r for r in report.results if r.status == "skipped"]
        assert {(r.price_key, r.region, r.reason) for r in skipped} == {
            ("ce.requests", "ap-northeast-1", "priced in us-east-1 only")
        }
        assert not report.written


class TestOfferFile:
    def test_tiered_s3_storage_and_what_is_missing(self, tmp_path):
        target = copy_bundled(tmp_path)
        before = target.read_text()
        report = lib.refresh(
            ["ap-northeast-1"], pricing_file=target, offer_files=[S3_EXCERPT], today=TODAY
        )
        by_key = {r.price_key: r for r in report.results}
        std = by_key["s3.storage.STANDARD"]
        assert std.status == "changed"
        assert [(r.tier_start, r.tier_end, r.usd_per_unit) for r in std.rows] == [
            ("0", "51200", "0.026"),
            ("51200", "512000", "0.024"),
            ("512000", "", "0.023"),
        ]
        assert std.rows[0].effective_date == "2027-01-15"  # publication date vouches for it
        assert "publication 2027-01-15" in std.rows[0].source
        assert by_key["s3.storage.STANDARD_IA"].status == "confirmed"
        assert by_key["s3.requests.put.STANDARD"].rows[0].usd_per_unit == "0.0000047"
        assert by_key["s3.retrieval.GLACIER"].rows[0].usd_per_unit == "0.011"
        assert by_key["s3.retrieval.DEEP_ARCHIVE"].rows[0].usd_per_unit == "0.022"
        assert by_key["s3.storage.DEEP_ARCHIVE"].status == "missing"
        assert "TimedStorage-GDA-ByteHrs" in by_key["s3.storage.DEEP_ARCHIVE"].reason
        assert by_key["logs.storage"].status == "skipped"  # no CloudWatch offer file given
        # old rows byte for byte, new rows after them; the table loads and resolves the change
        after = target.read_text()
        assert after.startswith(before)
        table = PriceTable.load(target)
        book = table.resolve("ap-northeast-1", dt.date(2027, 2, 1))
        assert book["s3.storage.STANDARD"].first_rate == 0.026
        old = table.resolve("ap-northeast-1", dt.date(2026, 8, 1))
        assert old["s3.storage.STANDARD"].first_rate == 0.025

    def test_rerun_is_idempotent(self, tmp_path):
        target = copy_bundled(tmp_path)
        lib.refresh(["ap-northeast-1"], pricing_file=target, offer_files=[S3_EXCERPT])
        once = target.read_bytes()
        report = lib.refresh(["ap-northeast-1"], pricing_file=target, offer_files=[S3_EXCERPT])
        assert not report.written and target.read_bytes() == once

    def test_streams_at_tiny_chunks(self):
        specs = list(lib.PRODUCT_MAP)
        a = lib.read_offer_file(S3_EXCERPT, ["ap-northeast-1"], specs, chunk_size=5)
        b = lib.read_offer_file(S3_EXCERPT, ["ap-northeast-1"], specs)
        assert a.offers == b.offers and len(a.offers) == 5  # decoys dropped
        assert a.regions_seen == {"ap-northeast-1", "eu-west-1"}

    def test_gzip(self, tmp_path):
        import gzip

        gz = tmp_path / "index.json.gz"
        gz.write_bytes(gzip.compress(S3_EXCERPT.read_bytes()))
        got = lib.read_offer_file(gz, ["ap-northeast-1"], list(lib.PRODUCT_MAP))
        assert len(got.offers) == 5

    def test_wrong_region_file(self, tmp_path):
        target = copy_bundled(tmp_path)
        with pytest.raises(PricingError, match="holds prices for ap-northeast-1, eu-west-1"):
            lib.refresh(["us-west-2"], pricing_file=target, offer_files=[S3_EXCERPT])

    @pytest.mark.parametrize(
        ("mangle", "message"),
        [
            (lambda t: t[: len(t) // 2], "not a valid offer file"),
            (lambda t: t.replace('"USD" : "0.0260000000"', '"USD" : "cheap"'), "not a number"),
            (lambda t: t.replace('"beginRange" : "51200"', '"beginRange" : "50000"'), "contiguous"),
            (lambda t: t.replace('"offerCode" : "AmazonS3",', ""), "no offerCode"),
            (lambda t: t.replace('"USD" : "0.0240000000"', '"JPY" : "3"'), "no USD price"),
        ],
    )
    def test_malformed_file_leaves_the_table_untouched(self, tmp_path, mangle, message):
        target = copy_bundled(tmp_path)
        before = target.read_bytes()
        bad = tmp_path / "index.json"
        bad.write_text(mangle(S3_EXCERPT.read_text()))
        with pytest.raises(PricingError, match=message) as err:
            lib.refresh(["ap-northeast-1"], pricing_file=target, offer_files=[bad])
        assert "\n" not in str(err.value)
        assert target.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "prices.csv"]

    def test_deeply_nested_offer_file_is_one_line(self, tmp_path):
        bad = tmp_path / "index.json"
        bad.write_text('{"a": ' * 20_000 + "1" + "}" * 20_000)
        with pytest.raises(PricingError, match="nested too deeply") as err:
            lib.refresh(["us-east-1"], pricing_file=tmp_path / "p.csv", offer_files=[bad])
        assert "\n" not in str(err.value) and not (tmp_path / "p.csv").exists()

    @pytest.mark.parametrize("kind", ["folder", "file-in-the-way"])
    def test_an_unwritable_table_fails_before_any_download(self, tmp_path, kind):
        if kind == "folder":
            target = tmp_path / "prices.csv"
            target.mkdir()
        else:
            (tmp_path / "file").write_text("x")
            target = tmp_path / "file" / "prices.csv"

        def no_download():
            raise AssertionError("the Price List was asked before the target was checked")

        with pytest.raises(PricingError, match="--pricing-file") as err:
            lib.refresh(["us-east-1"], pricing_file=target, client_factory=no_download)
        assert "\n" not in str(err.value)

    def test_missing_offer_file(self, tmp_path):
        with pytest.raises(PricingError, match="does not exist"):
            lib.refresh(["us-east-1"], pricing_file=tmp_path / "p.csv", offer_files=["nope.json"])


class TestQueryApi:
    def test_pagination_and_collision(self, tmp_path):
        target = copy_bundled(tmp_path)
        cw = "AmazonCloudWatch"
        decoy_s3 = price_item(
            "S3STD",
            "AmazonS3",
            "Storage",
            "APN1-TimedStorage-ByteHrs",
            "ap-northeast-1",
            [dim("0", "Inf", "0.0250000000", "GB-Mo")],
            volumeType="Standard",
        )
        logs = price_item(
            "CWSTOR",
            cw,
            "Storage Snapshot",
            "APN1-TimedStorage-ByteHrs",
            "ap-northeast-1",
            [dim("0", "Inf", "0.0340000000", "GB-Mo")],
        )
        vended = price_item(
            "CWVEND",
            cw,
            "Data Payload",
            "APN1-VendedLog-Bytes",
            "ap-northeast-1",
            [dim("0", "Inf", "0.5000000000", "GB")],
        )
        ingest = price_item(
            "CWING",
            cw,
            "Data Payload",
            "APN1-DataProcessing-Bytes",
            "ap-northeast-1",
            [dim("0", "Inf", "0.7600000000", "GB")],
        )
        client = pricing_client()
        with Stubber(client) as stub:
            # sorted groups: (AmazonCloudWatch, no family) then (…, "Storage Snapshot")
            stub_query(stub, cw, filters("ap-northeast-1"), [[vended], [], [ingest]])
            stub_query(stub, cw, filters("ap-northeast-1", "Storage Snapshot"), [[decoy_s3, logs]])
            report = lib.refresh(
                ["ap-northeast-1"],
                pricing_file=target,
                client=client,
                keys=["logs.ingestion.standard", "logs.storage"],
            )
            stub.assert_no_pending_responses()
        by_key = {r.price_key: r for r in report.results}
        assert by_key["logs.storage"].status == "changed"
        assert by_key["logs.storage"].rows[0].usd_per_unit == "0.034"
        assert by_key["logs.ingestion.standard"].status == "confirmed"
        assert (
            "AWS Price List API get_products AmazonCloudWatch"
            in by_key["logs.storage"].rows[0].source
        )
        assert report.written and len(report.new_rows) == 2

    def test_missing_product_is_reported_not_guessed(self, tmp_path):
        target = copy_bundled(tmp_path)
        client = pricing_client()
        kms = price_item(
            "KMSK",
            "awskms",
            "Encryption Key",
            "us-east-1-KMS-Keys",
            "us-east-1",
            [dim("0", "Inf", "1.0000000000", "Keys")],
        )
        with Stubber(client) as stub:
            stub_query(stub, "awskms", filters("us-east-1"), [[kms]])
            report = lib.refresh(
                ["us-east-1"], pricing_file=target, client=client, keys=["kms.key", "kms.requests"]
            )
        missing = report.missing
        assert [(m.price_key, m.required) for m in missing] == [("kms.requests", True)]
        assert "usagetype …KMS-Requests" in missing[0].reason
        assert report.as_dict()["missing"][0]["price_key"] == "kms.requests"

    def test_nothing_found_at_all_is_an_error(self, tmp_path):
        client = pricing_client()
        with Stubber(client) as stub:
            stub_query(stub, "AmazonAthena", filters("eu-west-1"), [[]])
            with pytest.raises(PricingError, match="found no price key"):
                lib.refresh(
                    ["eu-west-1"],
                    pricing_file=tmp_path / "p.csv",
                    client=client,
                    keys=["athena.scanned"],
                )
        assert not (tmp_path / "p.csv").exists()

    def test_new_region_seeds_the_user_copy(self, tmp_path, monkeypatch):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        client = pricing_client()
        athena = price_item(
            "ATH",
            "AmazonAthena",
            "Athena Queries",
            "EU-DataScannedInTB",
            "eu-west-1",
            [dim("0", "Inf", "5.0000000000", "Terabytes")],
        )
        with Stubber(client) as stub:
            stub_query(stub, "AmazonAthena", filters("eu-west-1"), [[athena]])
            report = lib.refresh(["eu-west-1"], client=client, keys=["athena.scanned"])
        target = tmp_path / "data" / "costcompare" / "prices.csv"
        assert report.pricing_file == str(target)
        assert report.results[0].status == "added"
        table = PriceTable.load(target)
        assert "eu-west-1" in table.regions() and "ap-northeast-1" in table.regions()
        assert table.resolve("eu-west-1")["athena.scanned"].first_rate == 5.0

    @pytest.mark.parametrize(
        ("items", "message"),
        [
            (["{not json"], "not valid JSON"),
            (["[1, 2]"], "lacks product or terms"),
            ([json.dumps({"product": {"sku": "X"}})], "lacks product or terms"),
            (
                [
                    price_item(
                        "A",
                        "AmazonAthena",
                        "F",
                        "EU-DataScannedInTB",
                        "eu-west-1",
                        [dim("0", "Inf", "-5", "Terabytes")],
                    )
                ],
                "not a finite number ≥ 0",
            ),
        ],
    )
    def test_malformed_response_clear_error_table_untouched(self, tmp_path, items, message):
        target = copy_bundled(tmp_path)
        before = target.read_bytes()
        client = pricing_client()
        with Stubber(client) as stub:
            stub_query(stub, "AmazonAthena", filters("eu-west-1"), [items])
            with pytest.raises(PricingError, match=message) as err:
                lib.refresh(
                    ["eu-west-1"], pricing_file=target, client=client, keys=["athena.scanned"]
                )
        assert "malformed Price List data (get_products AmazonAthena eu-west-1, page 1" in str(
            err.value
        )
        assert target.read_bytes() == before

    def test_items_must_be_json_strings(self):
        with pytest.raises(PricingError, match="is a dict, not a JSON string"):
            lib.parse_price_item({"product": {}}, ["us-east-1"], lib.PRODUCT_MAP, "page 1")

    def test_api_error_is_one_line(self, tmp_path):
        client = pricing_client()
        with Stubber(client) as stub:
            stub.add_client_error("get_products", "AccessDeniedException", "not allowed")
            refused = r"Price List API .*AccessDeniedException: not allowed"
            with pytest.raises(PricingError, match=refused):
                lib.refresh(
                    ["us-east-1"],
                    pricing_file=tmp_path / "p.csv",
                    client=client,
                    keys=["athena.scanned"],
                )

    def test_client_region_honours_aws_region_only_where_the_api_is(self, monkeypatch):
        monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
        assert lib.pricing_client().meta.region_name == "us-east-1"
        monkeypatch.setenv("AWS_REGION", "eu-central-1")
        assert lib.pricing_client().meta.region_name == "eu-central-1"
        assert lib.pricing_client(api_region="ap-south-1").meta.region_name == "ap-south-1"


class TestRows:
    def test_unit_conversion_per_thousand_and_tb(self):
        spec = lib.ProductSpec("k", "S", "X", "Requests")
        offer = lib.Offer(
            "sku",
            "S",
            "",
            {"usagetype": "X"},
            (
                lib.Dimension("1K Requests", Decimal(0), Decimal(1000), Decimal("0.005")),
                lib.Dimension("1K Requests", Decimal(1000), None, Decimal("0.004")),
            ),
            None,
            dt.date(2027, 1, 1),
            "test",
        )
        rows = lib.rows_for(spec, "us-east-1", offer, TODAY)
        assert [(r.tier_start, r.tier_end, r.usd_per_unit) for r in rows] == [
            ("0", "1000000", "0.000005"),
            ("1000000", "", "0.000004"),
        ]
        gb = lib.ProductSpec("k", "S", "X", "TB")
        offer = lib.Offer(
            "sku",
            "S",
            "",
            {},
            (lib.Dimension("GB", Decimal(0), None, Decimal("0.005")),),
            None,
            None,
            "test",
        )
        [row] = lib.rows_for(gb, "us-east-1", offer, TODAY)
        assert row.usd_per_unit == "5.12" and row.effective_date == TODAY.isoformat()

    def test_unconvertible_unit_is_missing_with_reason(self):
        spec = lib.SPECS["athena.scanned"]
        offer = lib.Offer(
            "sku",
            "AmazonAthena",
            "",
            {"usagetype": "USE1-DataScannedInTB", "regionCode": "us-east-1"},
            (lib.Dimension("Queries", Decimal(0), None, Decimal(1)),),
            None,
            None,
            "test",
        )
        result = lib.resolve_key(spec, "us-east-1", [offer], (), TODAY)
        assert result.status == "missing" and "cannot be converted" in result.reason

    def test_conflict_at_the_same_date_is_never_written(self, tmp_path, table):
        spec = lib.SPECS["athena.scanned"]
        offer = lib.Offer(
            "sku",
            "AmazonAthena",
            "",
            {"usagetype": "DataScannedInTB", "regionCode": "us-east-1"},
            (lib.Dimension("Terabytes", Decimal(0), None, Decimal(6)),),
            None,
            dt.date(2026, 3, 1),
            "test",
        )
        result = lib.resolve_key(spec, "us-east-1", [offer], table.rows, TODAY)
        assert result.status == "conflict" and not result.rows
        assert "never edited" in result.reason

    def test_ambiguous_products_are_not_guessed(self):
        spec = lib.SPECS["athena.scanned"]
        attrs = {"usagetype": "DataScannedInTB", "regionCode": "us-east-1"}
        offers = [
            lib.Offer(
                sku,
                "AmazonAthena",
                "",
                attrs,
                (lib.Dimension("Terabytes", Decimal(0), None, Decimal(p)),),
                None,
                None,
                "t",
            )
            for sku, p in (("A", 5), ("B", 6))
        ]
        result = lib.resolve_key(spec, "us-east-1", offers, (), TODAY)
        assert result.status == "missing" and "ambiguous" in result.reason

    def test_dry_run_writes_nothing(self, tmp_path):
        target = copy_bundled(tmp_path)
        before = target.read_bytes()
        report = lib.refresh(
            ["ap-northeast-1"], pricing_file=target, offer_files=[S3_EXCERPT], dry_run=True
        )
        assert report.new_rows and not report.written and target.read_bytes() == before

    def test_unknown_key(self, tmp_path):
        with pytest.raises(PricingError, match=r"unknown price key s3\.nope"):
            lib.refresh(["us-east-1"], pricing_file=tmp_path / "p.csv", keys=["s3.nope"])
