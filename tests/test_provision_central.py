"""The organization's central log-archive bucket (issue 15) on moto, both sides.

moto keeps accounts apart by the ``x-moto-account-id`` header, so one mock holds the
management account, the log-archive account, two members and an outsider. moto does NOT
enforce the cross-account part of the bucket policy: it evaluates a bucket policy on object
calls only, without the caller or any condition context, and a statement whose condition it
cannot evaluate (``aws:PrincipalOrgID``, ``aws:SecureTransport``) counts as a Deny for
everyone. Who may upload is therefore decided here by ``provision.policy_eval`` on the policies
apply actually wrote to moto, together with each role's IAM policy (cross-account access needs
both to allow).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws
from test_provision_support import REGION, ROLE, Recorder, fast_moto
from typer.testing import CliRunner

from costcompare.cli import app
from provision import policies
from provision.apply import apply_plan
from provision.aws import AwsContext
from provision.destroy import destroy, plan_destroy
from provision.errors import ApplyError, PlanError, SpecError
from provision.export import template
from provision.observe import observe
from provision.plan import make_plan
from provision.policy_eval import ALLOW, IMPLICIT_DENY, evaluate, principal_request
from provision.resources.central_bucket import check_member, organization_id
from provision.spec import DOCUMENT_NAME, KEY_ALIASES, NetworkSpec, build_spec, policy_name_for
from provision.stackset import member_template
from provision.verify import ERROR, VerifyTarget, verify

BUCKET = "acme-session-archive"
OUTSIDER = "999999999999"


@dataclass(frozen=True)
class Org:
    org_id: str
    archive: str
    members: tuple[str, str]


_CONTEXTS: dict[str, AwsContext] = {}  # per test (the org fixture empties it): clients are slow


def as_account(account: str) -> AwsContext:
    """An AwsContext whose every call moto serves as ``account``."""

    def hook(client) -> None:
        def header(request, **_) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.*.*", header)

    if account not in _CONTEXTS:
        _CONTEXTS[account] = AwsContext(REGION, on_client=hook)
    return _CONTEXTS[account]


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """An organization with a log-archive account and two members, each with an instance role."""
    fast_moto(monkeypatch)
    _CONTEXTS.clear()
    with mock_aws():
        orgs = boto3.client("organizations", region_name="us-east-1")
        org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        ids = [
            orgs.create_account(Email=f"{name}@example.invalid", AccountName=name)[
                "CreateAccountStatus"
            ]["AccountId"]
            for name in ("log-archive", "member-a", "member-b")
        ]
        for account in [*ids[1:], OUTSIDER]:
            as_account(account).client("iam").create_role(
                RoleName=ROLE, AssumeRolePolicyDocument="{}"
            )
        yield Org(org_id, ids[0], (ids[1], ids[2]))
    _CONTEXTS.clear()


def _apply(ctx: AwsContext, options: dict, account: str):
    spec = build_spec(options, REGION, account=account)
    plan = make_plan(spec, observe(ctx, spec))
    apply_plan(ctx, spec, plan)
    return spec


def _central(org: Org, **extra):
    return _apply(
        as_account(org.archive), {"central_bucket": True, "bucket": BUCKET, **extra}, org.archive
    )


def _key_arn(org: Org) -> str:
    kms = as_account(org.archive).client("kms")
    return kms.describe_key(KeyId=KEY_ALIASES["s3"])["KeyMetadata"]["Arn"]


def _member_options(org: Org, **extra) -> dict:
    return {
        "destination": "s3",
        "bucket": BUCKET,
        "bucket_account": org.archive,
        "bucket_kms_key": _key_arn(org),
        "role": ROLE,
        **extra,
    }


def _member(org: Org, account: str, **extra):
    return _apply(as_account(account), _member_options(org, **extra), account)


def _role_policy(account: str) -> dict:
    iam = as_account(account).client("iam")
    arn = f"arn:aws:iam::{account}:policy/{policy_name_for(REGION)}"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def _may_upload(org: Org, account: str, org_of_account: str | None, prefix_account: str) -> bool:
    """Whether ``account``'s instance role may put a transcript under ``prefix_account``'s
    prefix: its IAM policy and the central bucket policy must both allow (cross-account)."""
    s3 = as_account(org.archive).client("s3")
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    key = f"session-logs/{prefix_account}/alice-0a1b2c3d4e5f.log"
    resource = f"arn:aws:s3:::{BUCKET}/{key}"
    role = f"arn:aws:iam::{account}:role/{ROLE}"
    request = principal_request("s3:PutObject", resource, role, org_of_account)
    iam_allows = policies.statements_cover([_role_policy(account)], "s3:PutObject", resource)
    return iam_allows and evaluate(bucket_policy, request) == ALLOW


def test_two_members_may_upload_and_an_outside_role_may_not(org):
    _central(org)
    for account in org.members:
        _member(org, account)
    # The outsider copies a member's setup word for word, in its own account.
    outsider_options = _member_options(org, key_prefix=f"session-logs/{OUTSIDER}")
    _apply(as_account(OUTSIDER), outsider_options, OUTSIDER)

    a, b = org.members
    assert _may_upload(org, a, org.org_id, a)
    assert _may_upload(org, b, org.org_id, b)
    assert not _may_upload(org, OUTSIDER, None, OUTSIDER)
    assert not _may_upload(org, OUTSIDER, "o-someoneelse1", OUTSIDER)
    assert not _may_upload(org, a, org.org_id, b)  # no member writes into another's prefix


def test_central_apply_builds_bucket_policy_and_key_for_the_organization(org):
    spec = _central(org)  # no --org-id: read from the organization
    assert organization_id(as_account(org.archive)) == org.org_id
    ctx = as_account(org.archive)
    s3 = ctx.client("s3")
    ownership = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": _key_arn(org),
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert policy["Statement"] == [
        policies.tls_only_statement(REGION, BUCKET),
        *policies.org_bucket_statements(REGION, BUCKET, "session-logs", org.org_id),
    ]
    kms = ctx.client("kms")
    key_policy = json.loads(kms.get_key_policy(KeyId=_key_arn(org), PolicyName="default")["Policy"])
    assert policies.org_key_statement(REGION, BUCKET, org.org_id) in key_policy["Statement"]
    # No preferences in the log-archive account: it stores, its members log.
    with pytest.raises(ctx.client("ssm").exceptions.InvalidDocument):
        ctx.client("ssm").get_document(Name=DOCUMENT_NAME)
    # Idempotent: planning again finds nothing to do.
    assert make_plan(spec, observe(ctx, spec)).empty


def test_key_policy_lets_s3_encrypt_for_members_only_for_this_bucket(org):
    _central(org)
    kms = as_account(org.archive).client("kms")
    key_arn = _key_arn(org)
    policy = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    bucket_arn = f"arn:aws:s3:::{BUCKET}"

    def decision(account: str, org_id: str | None, context_arn: str, via: str) -> str:
        role = f"arn:aws:iam::{account}:role/{ROLE}"
        request = principal_request(
            "kms:GenerateDataKey",
            key_arn,
            role,
            org_id,
            kms__ViaService=via,
            **{"kms__EncryptionContext:aws:s3:arn": context_arn},
        )
        return evaluate(policy, request)

    s3_here = f"s3.{REGION}.amazonaws.com"
    assert decision(org.members[0], org.org_id, bucket_arn, s3_here) == ALLOW
    assert decision(org.members[1], org.org_id, f"{bucket_arn}/k.log", s3_here) == ALLOW
    assert decision(OUTSIDER, None, bucket_arn, s3_here) == IMPLICIT_DENY
    assert decision(org.members[0], org.org_id, "arn:aws:s3:::other", s3_here) == IMPLICIT_DENY
    assert decision(org.members[0], org.org_id, bucket_arn, "ec2.x.amazonaws.com") == IMPLICIT_DENY


def test_member_apply_points_at_the_central_bucket_and_creates_none(org):
    a = org.members[0]
    _central(org)
    spec = _member(org, a)
    ctx = as_account(a)
    content = json.loads(ctx.client("ssm").get_document(Name=DOCUMENT_NAME)["Content"])
    assert content["inputs"]["s3BucketName"] == BUCKET
    assert content["inputs"]["s3KeyPrefix"] == f"session-logs/{a}"
    assert content["inputs"]["s3EncryptionEnabled"] is True
    assert ctx.client("s3").list_buckets()["Buckets"] == []
    statements = {s["Sid"]: s for s in _role_policy(a)["Statement"]}
    assert statements["CostcomparePutSessionTranscripts"]["Resource"] == (
        f"arn:aws:s3:::{BUCKET}/session-logs/{a}/*"
    )
    assert statements["CostcompareCheckBucketEncryption"]["Resource"] == f"arn:aws:s3:::{BUCKET}"
    assert statements["CostcompareEncryptTranscripts"]["Resource"] == _key_arn(org)
    assert make_plan(spec, observe(ctx, spec)).empty  # idempotent


def test_verify_both_sides_clean_then_each_pitfall_found(org):
    a = org.members[0]
    _central(org)
    _member(org, a)
    archive = as_account(org.archive)
    central = build_spec({"central_bucket": True}, REGION, account=org.archive).central
    target = VerifyTarget(REGION, central=central, bucket=BUCKET)
    assert [f for f in verify(archive, target) if f.severity == ERROR] == []
    member = build_spec(_member_options(org), REGION, account=a).bucket.member
    member_target = VerifyTarget(REGION, "s3", ROLE, member=member, bucket=BUCKET)
    assert [f for f in verify(as_account(a), member_target) if f.severity == ERROR] == []

    s3, kms = archive.client("s3"), archive.client("kms")
    s3.put_bucket_ownership_controls(
        Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    policy["Statement"] = [s for s in policy["Statement"] if "Encryption" not in s["Sid"]]
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    key_policy = policies.key_policy(REGION, org.archive, None)  # the org grant gone
    kms.put_key_policy(KeyId=_key_arn(org), PolicyName="default", Policy=json.dumps(key_policy))
    errors = {f.check for f in verify(archive, target) if f.severity == ERROR}
    assert errors == {
        "central-bucket-acls",
        "central-policy-no-encryption-check",
        "central-key-no-org-grant",
    }


def test_verify_finds_an_open_policy_and_a_member_role_without_rights(org):
    a = org.members[0]
    _central(org)
    _member(org, a)
    archive = as_account(org.archive)
    s3 = archive.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    for statement in policy["Statement"]:
        statement.pop("Condition", None) if statement["Effect"] == "Allow" else None
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    central = build_spec({"central_bucket": True}, REGION, account=org.archive).central
    checks = {
        f.check for f in verify(archive, VerifyTarget(REGION, central=central, bucket=BUCKET))
    }
    assert "central-policy-open" in checks

    iam = as_account(a).client("iam")
    arn = f"arn:aws:iam::{a}:policy/{policy_name_for(REGION)}"
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=arn)
    member = build_spec(_member_options(org), REGION, account=a).bucket.member
    found = verify(as_account(a), VerifyTarget(REGION, "s3", ROLE, member=member, bucket=BUCKET))
    missing = " ".join(f.message for f in found if f.severity == ERROR)
    assert "s3:PutObject" in missing and "s3:GetEncryptionConfiguration" in missing
    assert "kms:GenerateDataKey" in missing


def test_member_in_another_region_needs_a_route_out(org):
    a = org.members[0]
    _central(org)
    _member(org, a)
    ctx = as_account(a)
    member = build_spec(_member_options(org), REGION, account=a).bucket.member
    away = AwsContext("us-east-1", on_client=ctx.on_client)  # the same account, another region
    away_ec2 = away.client("ec2")
    vpc = away_ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = away_ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    target = VerifyTarget(
        "us-east-1", member=member, bucket=BUCKET, network=NetworkSpec(vpc, (subnet,))
    )
    checks = {(f.severity, f.check) for f in verify(away, target)}
    assert (ERROR, "central-bucket-no-path") in checks
    gateway = away_ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    away_ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    main = away_ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    table = main["RouteTables"][0]["RouteTableId"]
    away_ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    checks = {f.check for f in verify(away, target)}
    assert "central-bucket-no-path" not in checks
    no_network = VerifyTarget("us-east-1", member=member, bucket=BUCKET)
    assert "central-bucket-other-region" in {f.check for f in verify(away, no_network)}


def test_destroy_never_deletes_the_central_bucket_logs(org):
    a = org.members[0]
    _central(org)
    _member(org, a)
    s3 = as_account(org.archive).client("s3")
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3.delete_bucket_policy(Bucket=BUCKET)  # moto: conditioned statements deny every upload
    s3.put_object(Bucket=BUCKET, Key=f"session-logs/{a}/alice-1.log", Body=b"$ id\n")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)

    member_plan = plan_destroy(as_account(a), force_delete_logs=True)
    destroy(as_account(a), member_plan)
    archive_plan = plan_destroy(as_account(org.archive), force_delete_logs=True)
    assert any("central log archive" in held for held in archive_plan.held)
    destroy(as_account(org.archive), archive_plan)

    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in listed] == [f"session-logs/{a}/alice-1.log"]
    key = as_account(org.archive).client("kms").describe_key(KeyId=_key_arn(org))["KeyMetadata"]
    assert key["KeyState"] == "Enabled"  # it still encrypts the archive
    member_ssm = as_account(a).client("ssm")
    with pytest.raises(member_ssm.exceptions.InvalidDocument):
        member_ssm.get_document(Name=DOCUMENT_NAME)  # the tool made it: gone with destroy


def test_explicit_org_id_needs_no_organizations_call(org):
    calls = as_account(org.archive)
    assert "DescribeOrganization" not in calls.calls  # a fresh context
    spec = build_spec({"central_bucket": True, "org_id": "o-abcdefghij"}, REGION, org.archive)
    actual = observe(calls, spec)
    assert actual.organization_id == "o-abcdefghij"
    assert "DescribeOrganization" not in calls.calls


# -- options (no AWS) ----------------------------------------------------------------------------
def test_member_prefix_defaults_to_the_account_and_must_end_with_it():
    key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    options = {
        "destination": "s3",
        "bucket": BUCKET,
        "bucket_account": "123456789012",
        "bucket_kms_key": key,
    }
    spec = build_spec(options, REGION, account="210987654321")
    assert spec.bucket.key_prefix == "session-logs/210987654321"
    assert spec.bucket.member.region == "us-east-1"  # the key's region, the bucket's home
    assert [k.purpose for k in spec.keys] == ["session"]  # the central key: used, not managed
    with pytest.raises(SpecError, match="does not end with this account"):
        build_spec({**options, "key_prefix": "logs"}, REGION, account="210987654321")
    # The policy's prefix is <prefix>/${aws:PrincipalAccount}/: the id must be a whole segment.
    with pytest.raises(SpecError, match="does not end with this account"):
        build_spec({**options, "key_prefix": "logs-210987654321"}, REGION, account="210987654321")


# -- the commands --------------------------------------------------------------------------------
def _run(*args: str):
    result = CliRunner().invoke(app, ["provision", *args, "--region", REGION])
    return result


def test_cli_central_then_member_then_verify(monkeypatch: pytest.MonkeyPatch):
    """The log-archive account is moto's default account; a member acts through MOTO_ACCOUNT_ID."""
    fast_moto(monkeypatch)
    with mock_aws():
        orgs = boto3.client("organizations", region_name="us-east-1")
        org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        member = orgs.create_account(Email="m@example.invalid", AccountName="m")[
            "CreateAccountStatus"
        ]["AccountId"]
        applied = _run("apply", "--central-bucket", "--bucket", BUCKET, "--yes")
        assert applied.exit_code == 0, applied.output
        planned = _run("plan", "--central-bucket", "--bucket", BUCKET, "-o", "json")
        assert json.loads(planned.stdout)["empty"] is True
        checked = _run("verify", "--central-bucket", "--bucket", BUCKET, "-o", "json")
        assert checked.exit_code == 0, checked.output
        assert all(f["severity"] != ERROR for f in json.loads(checked.stdout)["findings"])
        assert org_id in boto3.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"]
        key = boto3.client("kms", region_name=REGION).describe_key(KeyId=KEY_ALIASES["s3"])
        key_arn = key["KeyMetadata"]["Arn"]

        # apply printed the command each member runs, with the key's ARN filled in.
        hint = applied.stdout.split("logs here with:\n", 1)[1]  # folded with backslashes
        words = hint.replace("\\\n", " ").split()
        assert words[:3] == ["costcompare", "provision", "apply"]
        assert words[words.index("--bucket-kms-key") + 1] == key_arn
        assert words[words.index("--bucket-account") + 1] == "123456789012"
        options = [*words[3 : words.index("--role")], "--role", ROLE]

        monkeypatch.setenv("MOTO_ACCOUNT_ID", member)
        boto3.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")
        applied = _run("apply", *options, "--yes")
        assert applied.exit_code == 0, applied.output
        assert f"session-logs/{member}" in applied.output
        checked = _run("verify", *options, "-o", "json")
        assert checked.exit_code == 0, checked.output
        assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_export_central_and_member_templates():
    key = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    archive = build_spec({"central_bucket": True, "org_id": "o-abcdefghij"}, REGION, "123456789012")
    resources = template(archive, "123456789012")["Resources"]
    assert "SessionPreferences" not in resources  # the archive stores; its members log
    bucket_name = resources["SessionLogBucket"]["Properties"]["BucketName"]
    statements = resources["SessionLogBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statements[1:] == policies.org_bucket_statements(
        REGION, bucket_name, "session-logs", "o-abcdefghij"
    )
    key_statements = resources["SessionLogsKeyS3"]["Properties"]["KeyPolicy"]["Statement"]
    assert key_statements[-1] == policies.org_key_statement(REGION, bucket_name, "o-abcdefghij")

    options = {"destination": "s3", "bucket": BUCKET, "bucket_account": "123456789012"}
    member = build_spec({**options, "bucket_kms_key": key, "role": ROLE}, REGION, "210987654321")
    resources = template(member, "210987654321")["Resources"]
    assert "SessionLogBucket" not in resources and "SessionLogsKeyS3" not in resources
    inputs = resources["SessionPreferences"]["Properties"]["Content"]["inputs"]
    assert (inputs["s3BucketName"], inputs["s3KeyPrefix"]) == (BUCKET, "session-logs/210987654321")
    role_policy = resources["SessionLoggingPolicy"]["Properties"]["PolicyDocument"]
    assert policies.statements_cover([role_policy], "kms:GenerateDataKey", key)


def test_stackset_member_template_logs_every_account_to_the_central_bucket():
    """One template for every member account × region: the prefix becomes each account's."""
    key = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    options = {"destination": "s3", "bucket": BUCKET, "bucket_account": "123456789012"}
    body = member_template({**options, "bucket_kms_key": key, "role": ROLE}, "us-east-1")
    resources = body["Resources"]
    assert "SessionLogBucket" not in resources
    inputs = resources["SessionPreferences"]["Properties"]["Content"]["inputs"]
    assert inputs["s3BucketName"] == BUCKET
    assert inputs["s3KeyPrefix"] == {"Fn::Sub": "session-logs/${AWS::AccountId}"}
    statements = resources["SessionLoggingPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {"Fn::Sub": f"arn:aws:s3:::{BUCKET}/session-logs/${{AWS::AccountId}}/*"} in [
        s["Resource"] for s in statements
    ]
    assert key in [s["Resource"] for s in statements]  # the archive's key, as given
    with pytest.raises(SpecError, match="--bucket"):
        member_template({"destination": "s3", "bucket": BUCKET}, "us-east-1")


@pytest.mark.parametrize("when", ["before", "after"])
def test_central_apply_interrupted_at_each_step_converges_to_one_key(org, when):
    """Every write of the central setup fails once (or loses its response); each re-run
    continues, and the end is one key (with the organization grant) and one bucket policy."""
    recorder = Recorder(when=when)
    header = as_account(org.archive).on_client

    def hooks(client) -> None:
        header(client)
        recorder(client)

    ctx = AwsContext(REGION, on_client=hooks)
    spec = build_spec({"central_bucket": True, "bucket": BUCKET}, REGION, account=org.archive)
    expected = [c.call.name for c in make_plan(spec, observe(ctx, spec)).pending]
    failed: list[str] = []
    for _ in range(len(expected) + 1):
        plan = make_plan(spec, observe(ctx, spec))
        # Fail the first step not failed yet (with "before", the last failed one comes again).
        again = bool(failed) and plan.pending and plan.pending[0].call.name == failed[-1]
        recorder.writes.clear()
        recorder.fail_at = 2 if again else 1
        try:
            apply_plan(ctx, spec, plan)
        except ApplyError:
            failed.append(plan.pending[recorder.fail_at - 1].call.name)
            continue
        break
    assert failed == expected  # each write failed once, and the re-runs went on from there
    assert make_plan(spec, observe(ctx, spec)).empty
    kms = ctx.client("kms")
    live = [
        k["KeyId"]
        for k in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    ]
    assert live == [_key_arn(org).rsplit("/", 1)[1]]
    key_policy = json.loads(kms.get_key_policy(KeyId=live[0], PolicyName="default")["Policy"])
    assert policies.org_key_statement(REGION, BUCKET, org.org_id) in key_policy["Statement"]


def test_member_preferences_pitfalls():
    account = "210987654321"
    right = {"s3BucketName": BUCKET, "s3KeyPrefix": f"session-logs/{account}"}
    assert check_member({**right, "s3EncryptionEnabled": True}, BUCKET, account) == []
    checks = {
        f.check: f.severity
        for f in check_member({**right, "s3KeyPrefix": "session-logs"}, BUCKET, account)
    }
    assert checks == {
        "member-prefix-not-own-account": ERROR,
        "member-encryption-check-off": "warning",
    }
    elsewhere = check_member({"s3BucketName": "own-bucket"}, BUCKET, account)
    assert [(f.severity, f.check) for f in elsewhere] == [(ERROR, "member-not-central")]


def test_central_without_organization_is_one_line_naming_org_id(monkeypatch):
    fast_moto(monkeypatch)
    with mock_aws():  # an account in no organization
        spec = build_spec({"central_bucket": True}, REGION, account="123456789012")
        with pytest.raises(PlanError, match="not in an AWS Organization") as caught:
            observe(AwsContext(REGION), spec)
        assert "--org-id" in caught.value.fix


def test_central_with_the_archives_own_key_keeps_its_grants_and_adds_the_org(org):
    """--bucket-kms-key ARN: the owner's statements stay, the organization grant is merged in."""
    kms = as_account(org.archive).client("kms")
    owner_grant = {
        "Sid": "AuditorsMayDecrypt",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{org.archive}:role/auditor"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    root = policies.key_policy(REGION, org.archive, None)["Statement"][0]
    start = {"Version": "2012-10-17", "Statement": [root, owner_grant]}
    arn = kms.create_key(Policy=json.dumps(start))["KeyMetadata"]["Arn"]
    spec = _central(org, bucket_kms_key=arn)
    statements = json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])[
        "Statement"
    ]
    assert owner_grant in statements
    assert policies.org_key_statement(REGION, BUCKET, org.org_id) in statements
    s3 = as_account(org.archive).client("s3")
    rule = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == arn
    assert make_plan(spec, observe(as_account(org.archive), spec)).empty


@pytest.mark.parametrize(
    ("target", "routes_out"),
    [
        ("nat-instance", True),  # a NAT instance: the route names its network interface
        ("peering", True),  # a shared egress VPC over peering
        ("none", False),
    ],
)
def test_any_default_route_out_counts_as_a_path_to_the_home_region(monkeypatch, target, routes_out):
    """A subnet whose 0.0.0.0/0 goes through a NAT instance or a peered egress VPC reaches the
    home-region bucket; verify said 'no route out: uploads fail' for anything but a NAT
    gateway, an internet gateway or a transit gateway."""
    from provision.resources.central_bucket import check_region_path

    fast_moto(monkeypatch)
    with mock_aws():
        ctx = AwsContext("us-east-1")
        ec2 = ctx.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
        table = tables["RouteTables"][0]["RouteTableId"]
        route = {"RouteTableId": table, "DestinationCidrBlock": "0.0.0.0/0"}
        if target == "nat-instance":
            eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]
            ec2.create_route(**route, NetworkInterfaceId=eni["NetworkInterfaceId"])
        elif target == "peering":
            egress = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            peering = ec2.create_vpc_peering_connection(VpcId=vpc, PeerVpcId=egress)
            peering_id = peering["VpcPeeringConnection"]["VpcPeeringConnectionId"]
            ec2.create_route(**route, VpcPeeringConnectionId=peering_id)
        found = check_region_path(ctx, REGION, BUCKET, vpc, [subnet])
        assert ("central-bucket-no-path" not in {f.check for f in found}) is routes_out


def test_member_hint_carries_a_custom_key_prefix(capsys):
    """apply --central-bucket --key-prefix audit/ssm printed a member command without it: the
    members then wrote under session-logs/<account>/, which the bucket policy refuses."""
    from types import SimpleNamespace

    from provision.cli_central import member_hint

    archive, member = "999999999999", "111122223333"
    options = {"central_bucket": True, "org_id": "o-abcdefghij", "bucket": BUCKET,
               "key_prefix": "audit/ssm", "bucket_encryption": "sse-s3"}  # fmt: skip
    central = build_spec(options, REGION, account=archive)
    member_hint(SimpleNamespace(account_id=lambda: archive, region=REGION), central)
    hint = capsys.readouterr().out.split("logs here with:\n", 1)[1]
    words = hint.replace("\\\n", " ").split()
    assert "--key-prefix" in words, hint
    prefix = words[words.index("--key-prefix") + 1].replace("MEMBER_ACCOUNT_ID", member)
    member_options = {
        "destination": "s3",
        "bucket": BUCKET,
        "bucket_account": archive,
        "bucket_encryption": "sse-s3",
        "key_prefix": prefix,
        "role": ROLE,
    }
    wanted = build_spec(member_options, REGION, account=member).bucket
    policy = policies.bucket_policy(
        REGION, BUCKET, None, policies.central_bucket_statements(central)
    )
    target = f"arn:aws:s3:::{BUCKET}/{wanted.key_prefix}/session-id.log"
    role = f"arn:aws:iam::{member}:role/{ROLE}"
    upload = principal_request("s3:PutObject", target, role, "o-abcdefghij")
    assert evaluate(policy, upload) == ALLOW


def test_verify_reads_a_custom_prefix_from_the_archives_own_grant(org):
    """An archive applied with --key-prefix audit/ssm and verified without it was reported
    'does not let principals … put objects', and the printed fix (apply --central-bucket, no
    prefix) would have moved the grant to session-logs/: every member's uploads refused."""
    spec = _central(org, key_prefix="audit/ssm")
    archive = as_account(org.archive)
    found = verify(archive, VerifyTarget(REGION, central=spec.central, bucket=BUCKET))
    assert "central-policy-no-org-upload" not in {f.check for f in found}


def test_verify_names_a_policy_it_cannot_evaluate_instead_of_a_traceback(org):
    """A Deny with NotPrincipal (deny everyone but the auditors) is common on log archives;
    the evaluator refuses to guess it, and verify let that ValueError escape as a traceback."""
    spec = _central(org)
    archive = as_account(org.archive)
    s3 = archive.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "OnlyAuditorsRead",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": f"arn:aws:iam::{org.archive}:role/auditor"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    found = verify(archive, VerifyTarget(REGION, central=spec.central, bucket=BUCKET))
    unknown = [f for f in found if f.check == "central-policy-not-evaluated"]
    assert len(unknown) == 1 and "NotPrincipal" in unknown[0].message
    assert unknown[0].severity == "warning"


def test_plan_and_apply_keep_the_prefix_of_the_archives_own_grant(monkeypatch):
    """apply --central-bucket without --key-prefix on an archive granted under audit/ssm rewrote
    the grant to session-logs/, refusing every member's uploads. Plan and apply now read the
    prefix from the tool's own grant; an explicit --key-prefix still wins, and plan shows it."""
    fast_moto(monkeypatch)
    with mock_aws():
        boto3.client("organizations", region_name="us-east-1").create_organization(
            FeatureSet="ALL"
        )
        central = ("--central-bucket", "--bucket", BUCKET)
        applied = _run("apply", *central, "--key-prefix", "audit/ssm", "--yes")
        assert applied.exit_code == 0, applied.output
        s3 = boto3.client("s3", region_name=REGION)
        granted = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        assert policies.org_grant_prefix(granted) == "audit/ssm"

        planned = _run("plan", *central, "-o", "json")
        assert planned.exit_code == 0, planned.output
        assert json.loads(planned.stdout)["empty"] is True, planned.stdout
        assert "Key prefix audit/ssm/ kept from the archive's organization grant" in planned.stderr
        again = _run("apply", *central, "--yes")
        assert again.exit_code == 0, again.output
        assert "--key-prefix audit/ssm/MEMBER_ACCOUNT_ID" in again.stdout.replace("\\\n", " ")
        kept = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
        assert policies.org_grant_prefix(kept) == "audit/ssm"

        moved = _run("plan", *central, "--key-prefix", "archive", "-o", "json")
        assert moved.exit_code == 0, moved.output
        changes = json.loads(moved.stdout)["changes"]
        policy_changes = [c for c in changes if c["call"] == "s3.put_bucket_policy"]
        assert policy_changes and "archive/${aws:PrincipalAccount}/*" in json.dumps(policy_changes)
