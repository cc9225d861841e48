"""measure --org on moto: an organization of 5 member accounts × 2 regions, one denying the role."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from moto import mock_aws
from org_world import (
    DAYS,
    NOW,
    REGIONS,
    build_organization,
    deny_role_of,
    member_session,
)
from typer.testing import CliRunner

from costcompare import jsoncontract, orgmeasure, orgresult
from costcompare.aws import AwsContext
from costcompare.awsfacts import partition
from costcompare.cli import app
from costcompare.jsoncontract import SCHEMA_VERSION
from costcompare.workload import DAYS_PER_MONTH, GIB, Workload


@pytest.fixture(scope="module")
def organization_world():
    """One moto organization for the whole module (tests only read it): (member ids, denied
    id, expected S3 volumes, seeded CloudWatch volumes). Built once: it is the slow part."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
            env.delenv(var, raising=False)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        members, denied, seeded = build_organization()
        yield members, denied, seed_s3(members), seeded


@pytest.fixture
def organization(organization_world):
    """(member ids, denied id, seeded CloudWatch volumes per account and region)."""
    members, denied, _expected, seeded = organization_world
    return members, denied, seeded


@pytest.fixture
def s3_organization(organization_world):
    """(member ids, denied id, expected S3 volumes per account, seeded CloudWatch volumes)."""
    return organization_world


def test_every_account_and_region_measured_one_denied(organization):
    members, denied, seeded = organization
    aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
    result = orgmeasure.measure_org(aws, REGIONS, days=DAYS, now=NOW, workers=3)
    by_id = {a.account_id: a for a in result.accounts}
    assert set(members) <= by_id.keys()  # the management account is listed too
    assert "AccessDenied" in by_id[denied].error and not by_id[denied].regions
    assert result.failures == [(denied, None, by_id[denied].error)]
    for account in set(members) - {denied}:
        for r in by_id[account].regions:
            assert r.error is None
            assert (r.incoming_bytes, r.incoming_events) == seeded[account][r.region]
    assert len(by_id[members[0]].regions[0].log_groups) == 2
    expected = sum(seeded[a][region][0] for a in members if a != denied for region in REGIONS)
    assert result.incoming_bytes == expected
    assert result.monthly_gb(expected) == pytest.approx(expected / DAYS * DAYS_PER_MONTH / GIB)
    # Calls per account do not depend on volume: one AssumeRole, and per region one listing
    # page and one GetMetricData call.
    accounts = len(result.accounts)
    assert result.api_calls["AssumeRole"] == accounts - 1  # the hook refuses before sending
    assert result.api_calls["DescribeLogGroups"] == (accounts - 1) * len(REGIONS)
    with_groups = len(set(members) - {denied})  # the management account has no log group
    assert result.api_calls["GetMetricData"] == with_groups * len(REGIONS)


def test_cli_table_json_and_workloads(organization, monkeypatch, tmp_path):
    members, denied, seeded = organization
    real = orgmeasure.assumed_context

    def assume(base, arn, name):
        if f"::{denied}:" in arn:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "AssumeRole")
        return real(base, arn, name)

    monkeypatch.setattr(orgmeasure, "assumed_context", assume)
    args = ["measure", "--org", "--regions", ",".join(REGIONS), "--days", str(DAYS)]
    args += ["--accounts", ",".join(members), "--region", "us-east-1"]
    runner = CliRunner()
    table = runner.invoke(app, [*args, "--write-workloads", str(tmp_path / "w")],
                          env={"COLUMNS": "200"})  # fmt: skip
    assert table.exit_code == 0, table.output
    assert denied in table.stdout and "AccessDenied" in table.stdout and "total" in table.stdout
    data = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    assert data["schema_version"] == SCHEMA_VERSION
    assert [f["account_id"] for f in data["failures"]] == [denied]
    fleet = yaml.safe_load((tmp_path / "w" / "fleet-ap-northeast-1.yaml").read_text())
    tokyo = sum(seeded[a]["ap-northeast-1"][0] for a in members if a != denied)
    assert fleet["region"] == "ap-northeast-1"
    assert fleet["monthly_ingest_gb"] == pytest.approx(tokyo / DAYS * DAYS_PER_MONTH / GIB)
    one = yaml.safe_load((tmp_path / "w" / f"{members[1]}-us-east-1.yaml").read_text())
    assert one["monthly_ingest_gb"] == pytest.approx(
        seeded[members[1]]["us-east-1"][0] / DAYS * DAYS_PER_MONTH / GIB
    )
    assert not (tmp_path / "w" / f"{denied}-us-east-1.yaml").exists()


# --- S3 sources: discovered from the preferences, a bucket per account, a central bucket ---

CENTRAL = "org-log-archive"


def put_preferences(session: AwsContext, region: str, bucket: str, prefix: str) -> None:
    content = {"schemaVersion": "1.0", "description": "prefs", "sessionType": "Standard_Stream",
               "inputs": {"s3BucketName": bucket, "s3KeyPrefix": prefix,
                          "s3EncryptionEnabled": True}}  # fmt: skip
    session.client("ssm", region).create_document(
        Name="SSM-SessionManagerRunShell", DocumentType="Session", DocumentFormat="JSON",
        Content=json.dumps(content),
    )  # fmt: skip


def put_sessions(s3, bucket: str, prefix: str, sizes: list[int], region: str) -> None:
    """A bucket (made if missing) with one ``.log`` per session and one object that is not."""
    if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        where = {} if region == "us-east-1" else {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=where)
    for i, size in enumerate(sizes):
        s3.put_object(Bucket=bucket, Key=f"{prefix}s-{i}.log", Body=b"x" * size)
    s3.put_object(Bucket=bucket, Key=f"{prefix}README.txt", Body=b"not a session")


def span_days(s3, bucket: str, prefix: str) -> int:
    """Calendar days the uploads cover (moto stamps them now: 1, unless midnight passed)."""
    days = [o["LastModified"].date() for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
            ["Contents"] if o["Key"].endswith(".log")]  # fmt: skip
    return (max(days) - min(days)).days + 1


def seed_s3(members: list[str]) -> dict[str, dict[str, tuple[int, int, str, str]]]:
    """S3 session logs; the expected (sessions, bytes, bucket, prefix) per account and region:
    member 0's preferences in both regions name one Tokyo bucket (counted once, in Tokyo);
    member 1's us-east-1 preferences a us-east-1 bucket; member 2 has the pattern's buckets;
    member 4's preferences name the central bucket, which holds a prefix per account."""
    expected: dict[str, dict[str, tuple[int, int, str, str]]] = {}
    s0 = member_session(members[0])
    for region in REGIONS:
        put_preferences(s0, region, f"ssm-logs-{members[0]}", "sessions")
    tokyo = s0.client("s3", "ap-northeast-1")
    put_sessions(tokyo, f"ssm-logs-{members[0]}", "sessions/", [1000, 3000, 5000], REGIONS[0])
    expected[members[0]] = {REGIONS[0]: (3, 9000, f"ssm-logs-{members[0]}", "sessions/")}
    s1 = member_session(members[1])
    put_preferences(s1, "us-east-1", f"ssm-logs-{members[1]}-use1", "/ssm/")
    put_sessions(s1.client("s3", "us-east-1"), f"ssm-logs-{members[1]}-use1",
                 "ssm/", [700, 1300], "us-east-1")  # fmt: skip
    expected[members[1]] = {"us-east-1": (2, 2000, f"ssm-logs-{members[1]}-use1", "ssm/")}
    s2 = member_session(members[2])
    for r, region in enumerate(REGIONS):
        sizes = [2048 * (r + 1)] * (r + 2)
        put_sessions(s2.client("s3", region), f"ssm-logs-{members[2]}-{region}",
                     "sessions/", sizes, region)  # fmt: skip
    put_preferences(member_session(members[4]), "ap-northeast-1", CENTRAL, f"ssm/{members[4]}")
    management = AwsContext(region="us-east-1").client("s3")
    for i, account in enumerate(members):
        put_sessions(management, CENTRAL, f"ssm/{account}/", [400 * (i + 1)] * (i + 1), "us-east-1")
    return expected


def test_s3_discovered_from_preferences_each_prefix_once(s3_organization):
    members, denied, expected, _seeded = s3_organization
    aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
    result = orgmeasure.measure_org(aws, REGIONS, days=DAYS, now=NOW, workers=3)
    by_id = {a.account_id: a for a in result.accounts}
    for account in (members[0], members[1]):
        for region, (n, size, bucket, prefix) in expected[account].items():
            r = by_id[account].region(region)
            assert [p.uri for p in r.s3] == [f"s3://{bucket}/{prefix}"]  # once, not per region
            assert (r.s3_sessions, r.s3_bytes) == (n, size)
            s3 = member_session(account).client("s3", region)
            assert r.s3_sessions_per_day == n / span_days(s3, bucket, prefix)
            assert r.s3[0].found_by == "preferences"
    # The other region of member 0 reads CloudWatch but keeps no S3 volume of its own.
    assert by_id[members[0]].region("us-east-1").s3 == []
    # Member 4 names the central bucket, which its role may read in moto: measured as found.
    central = by_id[members[4]].region("us-east-1").s3
    assert [(p.uri, p.sessions) for p in central] == [(f"s3://{CENTRAL}/ssm/{members[4]}/", 5)]
    assert result.failures == [(denied, None, by_id[denied].error)]
    # Per account one GetDocument per region; one GetBucketLocation and one listing per prefix.
    reached = len(result.accounts) - 1
    assert result.api_calls["GetDocument"] == reached * len(REGIONS)
    assert result.api_calls["GetBucketLocation"] == 3
    assert result.api_calls["ListObjectsV2"] == 3


def test_s3_bucket_pattern_and_central_bucket(s3_organization):
    members, denied, _expected, _seeded = s3_organization
    aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
    sources = orgmeasure.S3Sources(
        discover=False,
        bucket_pattern="ssm-logs-{account}-{region}/sessions/",
        central=f"s3://{CENTRAL}/ssm/{{account}}/",
    )
    chosen = [members[2], members[3], members[4]]
    result = orgmeasure.measure_org(aws, REGIONS, accounts=chosen, s3=sources, days=DAYS,
                                    now=NOW, workers=2)  # fmt: skip
    by_id = {a.account_id: a for a in result.accounts}
    two = by_id[members[2]]
    for r_index, region in enumerate(REGIONS):
        pattern = [p for p in two.region(region).s3 if p.found_by == "pattern"]
        n = r_index + 2
        assert [(p.sessions, p.bytes) for p in pattern] == [(n, n * 2048 * (r_index + 1))]
    # The central bucket (us-east-1) holds member i's prefix with i + 1 sessions of 400 (i+1);
    # the caller reads it, so the denied member 3 is counted there too.
    for i in (2, 3, 4):
        central = [p for p in by_id[members[i]].region("us-east-1").s3 if p.found_by == "central"]
        assert [(p.sessions, p.bytes) for p in central] == [(i + 1, 400 * (i + 1) ** 2)]
    # Member 4 has no pattern bucket: a failure per region, never fatal; member 3 is denied.
    failed = {(a, r) for a, r, _ in result.failures}
    assert failed == {(denied, None), (members[4], REGIONS[0]), (members[4], REGIONS[1])}
    assert all("NoSuchBucket" in e for a, r, e in result.failures if a == members[4])
    fleet = result.workload(Workload(), "us-east-1")
    pattern_east = 3 * 2 * 2048
    central_bytes = 3 * 1200 + 4 * 1600 + 5 * 2000
    assert fleet.session_bytes == round((pattern_east + central_bytes) / (3 + 3 + 4 + 5))
    days = span_days(AwsContext(region="us-east-1").client("s3"), CENTRAL, "ssm/")
    assert fleet.sessions_per_month == pytest.approx(15 / days * DAYS_PER_MONTH, abs=1e-3)


def test_regions_all_resolved_in_each_member_not_opted_in_skipped(organization, monkeypatch):
    """moto lists every region, some `not-opted-in`: those are skipped and named, per account."""
    members, denied, _seeded = organization
    aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
    result = orgmeasure.measure_org(aws, ["all"], accounts=members[:2], days=DAYS, now=NOW,
                                    s3=orgmeasure.S3Sources(discover=False))  # fmt: skip
    described = boto3.client("ec2", region_name="us-east-1").describe_regions(AllRegions=True)
    opted_out = sorted(r["RegionName"] for r in described["Regions"]
                       if r["OptInStatus"] == "not-opted-in")  # fmt: skip
    assert opted_out  # moto marks some regions not opted in
    for account in result.accounts:
        assert account.skipped_regions == opted_out
        measured = [r.region for r in account.regions]
        assert set(REGIONS) <= set(measured) and not set(opted_out) & set(measured)
        in_partition = [r for r in described["Regions"] if partition(r["RegionName"]) == "aws"]
        assert len(in_partition) < len(described["Regions"])  # moto lists aws-cn, GovCloud too
        assert len(measured) + len(opted_out) == len(in_partition)
    assert result.api_calls["DescribeRegions"] == 2  # once in each member, none in the caller
    tokyo = result.accounts[0].region("ap-northeast-1")
    assert tokyo.incoming_bytes == _seeded[members[0]]["ap-northeast-1"][0]


def test_cli_s3_columns_and_workloads(s3_organization, tmp_path):
    members, _denied, expected, seeded = s3_organization
    args = ["measure", "--org", "--regions", ",".join(REGIONS), "--days", str(DAYS), "--accounts",
            f"{members[0]},{members[1]}", "--region", "us-east-1"]  # fmt: skip
    runner = CliRunner()
    table = runner.invoke(app, [*args, "--write-workloads", str(tmp_path / "w")],
                          env={"COLUMNS": "250"})  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "S3 sessions" in table.stdout and "sessions/month" in table.stdout
    n, size, bucket, prefix = expected[members[0]]["ap-northeast-1"]
    days = span_days(member_session(members[0]).client("s3", "ap-northeast-1"),
                     bucket, prefix)  # fmt: skip
    one = yaml.safe_load((tmp_path / "w" / f"{members[0]}-ap-northeast-1.yaml").read_text())
    assert one["session_bytes"] == size / n
    assert one["sessions_per_month"] == pytest.approx(n / days * DAYS_PER_MONTH, abs=1e-3)
    # CloudWatch was measured too, and stays as measured (not derived from the S3 sessions).
    ingested = seeded[members[0]]["ap-northeast-1"][0]
    assert one["monthly_ingest_gb"] == pytest.approx(ingested / DAYS * DAYS_PER_MONTH / GIB)
    data = json.loads(runner.invoke(app, [*args, "-o", "json"]).stdout)
    tokyo = next(r for a in data["accounts"] if a["account_id"] == members[0]
                 for r in a["regions"] if r["region"] == "ap-northeast-1")  # fmt: skip
    assert tokyo["s3"][0]["uri"] == f"s3://{bucket}/{prefix}" and tokyo["s3_sessions"] == n
    # a saved result reads back whole
    assert jsoncontract.versioned(orgresult.load_result(data).as_dict()) == data


def test_central_bucket_from_its_inventory_opened_once(organization, tmp_path, monkeypatch):
    """--s3-central with --s3-inventory: every account's prefix counted in one opened report."""
    from inventory_report import START, write_csv_report

    from costcompare import orgsources

    members, denied, _seeded = organization
    data = [(f"ssm/{a}/s-{j}.log", 100 * (i + 1) + j, START + dt.timedelta(days=j))
            for i, a in enumerate(members) for j in range(i + 1)]  # fmt: skip
    data += [(f"ssm/{members[0]}/notes.txt", 5, START), ("other/x.log", 7, START)]
    manifest, _keys = write_csv_report(tmp_path, data)
    opened = []
    real = orgsources.opened_inventory
    monkeypatch.setattr(orgsources, "opened_inventory",
                        lambda *a, **k: opened.append(a[0]) or real(*a, **k))  # fmt: skip
    sources = orgmeasure.S3Sources(discover=False, central=f"s3://{CENTRAL}/ssm/{{account}}/",
                                   central_inventory=(manifest,))  # fmt: skip
    aws = AwsContext(region="ap-northeast-1", on_client=deny_role_of(denied))
    result = orgmeasure.measure_org(aws, ["ap-northeast-1"], accounts=members, s3=sources,
                                    days=DAYS, now=NOW, workers=3)  # fmt: skip
    assert opened == [manifest]
    by_id = {a.account_id: a for a in result.accounts}
    for i, account in enumerate(members):
        # The denied account's role is not needed to read the central bucket: counted too.
        assert bool(by_id[account].error) == (account == denied)
        (volume,) = by_id[account].region("ap-northeast-1").s3
        sizes = [100 * (i + 1) + j for j in range(i + 1)]
        assert (volume.found_by, volume.sessions, volume.bytes) == ("central inventory", i + 1,
                                                                     sum(sizes))  # fmt: skip
        assert volume.sessions_per_day == 1.0  # i + 1 sessions, one a day
    assert "GetBucketLocation" not in result.api_calls and "ListObjectsV2" not in result.api_calls


def test_preferences_unreadable_is_a_region_failure_cloudwatch_still_read(organization):
    members, _denied, seeded = organization

    def hook(client) -> None:
        def refuse(**_):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                              "GetDocument")  # fmt: skip

        client.meta.events.register("before-parameter-build.ssm.GetDocument", refuse)

    aws = AwsContext(region="us-east-1", on_client=hook)
    result = orgmeasure.measure_org(aws, REGIONS[:1], accounts=members[:1], days=DAYS, now=NOW)
    ((account, region, error),) = result.failures
    assert (account, region) == (members[0], REGIONS[0])
    assert "SSM-SessionManagerRunShell" in error and "AccessDeniedException" in error
    tokyo = result.accounts[0].region(REGIONS[0])
    assert tokyo.incoming_bytes == seeded[members[0]][REGIONS[0]][0] and tokyo.s3_sessions == 0


class BarRecorder:
    """A Progress that draws side bars: records the main bar and every account's bar."""

    def __init__(self) -> None:
        self.main: list[tuple] = []
        self.sides: list[list[tuple]] = []

    def start(self, description: str, total: float | None = None) -> None:
        self.main.append(("start", description, total))

    def advance(self, amount: float = 1) -> None:
        self.main.append(("advance", amount))

    def side_bar(self, description: str, total: float | None = None):
        events: list[tuple] = [("open", description)]
        self.sides.append(events)

        class Side:
            def start(self, description: str, total: float | None = None) -> None:
                events.append(("start", total))

            def advance(self, amount: float = 1) -> None:
                events.append(("advance", amount))

            def close(self) -> None:
                events.append(("close",))

        return Side()


def test_a_progress_bar_per_account(organization):
    members, denied, _seeded = organization
    seen = BarRecorder()
    aws = AwsContext(region="us-east-1", on_client=deny_role_of(denied))
    orgmeasure.measure_org(aws, REGIONS, accounts=members, days=DAYS, now=NOW, workers=2,
                           s3=orgmeasure.S3Sources(discover=False), progress=seen)  # fmt: skip
    assert seen.main[0] == ("start", "accounts measured", len(members))
    assert seen.main[1:] == [("advance", 1)] * len(members)
    bars = {events[0][1].split()[1]: events for events in seen.sides}
    assert bars.keys() == set(members)
    for account, events in bars.items():
        assert events[-1] == ("close",)
        if account == denied:  # refused at once: opened and closed, nothing measured
            assert events == [("open", f"account {account}"), ("close",)]
        else:  # a step per region, then one for S3
            assert events[1] == ("start", len(REGIONS) + 1)
            assert events.count(("advance", 1)) == len(REGIONS) + 1


def test_the_table_fits_80_columns_heading_included():
    from costcompare.orgmeasure_cli import render_org

    saved = Path(__file__).parent / "fixtures" / "org" / "measure-org.json"
    result = orgresult.load_result(json.loads(saved.read_text()))
    text = render_org(result, "table", width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert text.startswith("CloudWatch Logs IncomingBytes over ")


def test_accounts_are_listed_by_state_now_that_status_is_retired():
    """Organizations retired the account ``Status`` field on 2026-09-09: ``State`` alone says a
    member is SUSPENDED or CLOSED, and those have no role to assume."""
    from botocore.stub import Stubber

    client = boto3.client(
        "organizations", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    accounts = [
        {"Id": "111111111111", "Name": "live", "State": "ACTIVE"},
        {"Id": "222222222222", "Name": "gone", "State": "SUSPENDED"},
        {"Id": "333333333333", "Name": "closing", "State": "PENDING_CLOSURE"},
        {"Id": "444444444444", "Name": "old api", "Status": "ACTIVE"},
    ]
    stub.add_response("list_accounts", {"Accounts": accounts})

    class Context(AwsContext):
        def client(self, service: str, region: str | None = None):
            return client

    with stub:
        found = orgmeasure.list_accounts(Context(region="us-east-1"))
    assert found == [("111111111111", "live"), ("444444444444", "old api")]
