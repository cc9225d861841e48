"""provision.verify: every seeded pitfall is found with its fix; a correct account gives none."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from test_provision_support import (  # noqa: F401  (bare_fixture provides "bare")
    ACCOUNT,
    REGION,
    ROLE,
    Account,
    apply,
    bare_fixture,
    context,
    fast_moto,
    make_account,
    spec_for,
)
from typer.testing import CliRunner

from costcompare.cli import app
from provision import policies
from provision.resources.base import Finding
from provision.spec import DOCUMENT_NAME, KEY_ALIASES, NetworkSpec
from provision.verify import ERROR, WARNING, VerifyTarget, render_findings, verify

GROUP = "/ssm/session-manager"
BUCKET = "session-logs-test"
CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@pytest.fixture
def good(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """An account set up right: the tool's apply alone (it attaches the core policy too),
    with a session key."""
    fast_moto(monkeypatch)
    with mock_aws():
        account = make_account()
        kms = boto3.client("kms", region_name=REGION)
        session_key = kms.create_key(Description="session data")["KeyMetadata"]["Arn"]
        kms.enable_key_rotation(KeyId=session_key)
        apply(spec_for(account, "both", session_kms_key_id=session_key))
        yield account


def _target(account: Account, **extra) -> VerifyTarget:
    return VerifyTarget(
        region=REGION,
        destination="both",
        role_name=ROLE,
        network=NetworkSpec(account.vpc_id, account.subnet_ids),
        **extra,
    )


def _found(findings) -> list[tuple[str, str, str]]:
    return sorted((f.severity, f.check, f.resource) for f in findings)


def test_correct_account_is_clean_then_each_seeded_pitfall_is_found(good):
    """One account (building it is the slow part): clean first, then broken."""
    assert verify(context(), _target(good)) == []
    attached = boto3.client("iam").list_attached_role_policies(RoleName=ROLE)
    assert CORE in [p["PolicyArn"] for p in attached["AttachedPolicies"]]  # apply attached it
    result = CliRunner().invoke(
        app,
        ["provision", "verify", "--region", REGION, "--role", ROLE, "--vpc-id", good.vpc_id,
         "--subnet", ",".join(good.subnet_ids), "-d", "both"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "No findings" in result.stdout

    kms = boto3.client("kms", region_name=REGION)
    logs = boto3.client("logs", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    iam = boto3.client("iam")
    ec2 = boto3.client("ec2", region_name=REGION)
    key = kms.describe_key(KeyId=KEY_ALIASES["cloudwatch"])["KeyMetadata"]["Arn"]
    # Key: rotation off; logs principal without the encryption-context condition.
    kms.disable_key_rotation(KeyId=key)
    policy = policies.key_policy(REGION, ACCOUNT, GROUP)
    del policy["Statement"][1]["Condition"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    # Log group: retention under a year.
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=30)
    # Bucket: the SSE-header deny that silently breaks delivery.
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    bucket_policy["Statement"].append(
        {
            "Sid": "DenyNoSSEHeader",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        }
    )
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(bucket_policy))
    # Role: the least-privilege policy detached (every required action missing).
    ours = f"arn:aws:iam::{ACCOUNT}:policy/costcompare-session-logging-{REGION}"
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=ours)
    # Network: DNS hostnames off, logs endpoint gone, ssm endpoint in one AZ only,
    # ssmmessages re-made with private DNS off, 443 from the second subnet revoked.
    ec2.modify_vpc_attribute(VpcId=good.vpc_id, EnableDnsHostnames={"Value": False})
    endpoints = {
        e["ServiceName"].rsplit(".", 1)[1]: e
        for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
        if e["State"] == "available"
    }
    ec2.delete_vpc_endpoints(
        VpcEndpointIds=[
            endpoints["logs"]["VpcEndpointId"],
            endpoints["ssmmessages"]["VpcEndpointId"],
        ]
    )
    group_id = endpoints["ssm"]["Groups"][0]["GroupId"]
    ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=good.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.ssmmessages",
        SubnetIds=list(good.subnet_ids),
        SecurityGroupIds=[group_id],
        PrivateDnsEnabled=False,
    )
    ec2.modify_vpc_endpoint(
        VpcEndpointId=endpoints["ssm"]["VpcEndpointId"], RemoveSubnetIds=[good.subnet_ids[1]]
    )
    ec2.revoke_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": good.cidrs[1]}],
            }
        ],
    )

    findings = verify(context(), _target(good))
    ep = f"vpc endpoint com.amazonaws.{REGION}."
    role = f"role {ROLE}"
    assert _found(findings) == sorted(
        [
            (WARNING, "key-rotation-off", f"kms key {key}"),
            (WARNING, "key-policy-no-encryption-context", f"kms key {key}"),
            (WARNING, "retention-under-a-year", f"log group {GROUP}"),
            (ERROR, "bucket-policy-sse-header", f"s3 bucket {BUCKET}"),
            *[(ERROR, "role-missing-action", role)] * 8,
            (ERROR, "vpc-dns", f"vpc {good.vpc_id}"),
            (ERROR, "endpoint-missing", ep + "logs"),
            (ERROR, "endpoint-az", ep + "ssm"),
            (ERROR, "endpoint-private-dns", ep + "ssmmessages"),
            *[(ERROR, "endpoint-security-group", ep + s)
              for s in ("ssm", "ssmmessages", "ec2messages", "kms")],
        ]
    )  # fmt: skip
    by_check = {f.check: f for f in findings}
    assert "session start stalls" in by_check["endpoint-missing"].message
    assert by_check["endpoint-az"].message == f"no endpoint network interface in {REGION}c"
    assert good.cidrs[1] in by_check["endpoint-security-group"].message
    assert "silently fails" in by_check["bucket-policy-sse-header"].message
    assert "kms:EncryptionContext:aws:logs:arn" in by_check["key-policy-no-encryption-context"].fix
    missing = {
        f.message.split(" ")[1]: f.message for f in findings if f.check == "role-missing-action"
    }
    assert sorted(missing) == [
        "kms:Decrypt",  # the session-data key
        "kms:GenerateDataKey",  # the bucket key
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "s3:GetEncryptionConfiguration",
        "s3:PutObject",
    ]
    assert missing["logs:DescribeLogGroups"].startswith("no logs:DescribeLogGroups on *:")
    assert f"arn:aws:s3:::{BUCKET}/session-logs/" in missing["s3:PutObject"]
    assert findings[0].severity == ERROR  # errors first
    text = render_findings(findings)
    assert text.startswith("17 error(s), 3 warning(s)")
    assert "fix: " in text

    result = CliRunner().invoke(
        app,
        ["provision", "verify", "--region", REGION, "--role", ROLE, "--vpc-id", good.vpc_id,
         "--subnet", ",".join(good.subnet_ids), "--output", "json"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)["findings"]) == 20


def _document(**inputs) -> None:
    content = {"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": inputs}
    boto3.client("ssm", region_name=REGION).create_document(
        Content=json.dumps(content),
        Name=DOCUMENT_NAME,
        DocumentType="Session",
        DocumentFormat="JSON",
    )


def test_no_preferences_document(bare):
    findings = verify(context(), VerifyTarget(region=REGION))
    assert _found(findings) == [
        (ERROR, "preferences-missing", f"preferences document {DOCUMENT_NAME}")
    ]
    result = CliRunner().invoke(app, ["provision", "verify", "--region", REGION])
    assert result.exit_code == 1
    assert "sessions are not logged" in result.stdout


def test_document_points_to_missing_bucket_and_log_group(bare):
    _document(s3BucketName="gone-bucket", cloudWatchLogGroupName="/gone", kmsKeyId="")
    findings = verify(context(), VerifyTarget(region=REGION))
    assert _found(findings) == [
        (ERROR, "bucket-missing", "s3 bucket gone-bucket"),
        (ERROR, "log-group-missing", "log group /gone"),
        (WARNING, "session-data-unencrypted", f"preferences document {DOCUMENT_NAME}"),
    ]


def test_encryption_flags_set_but_stores_not_encrypted(bare):
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=GROUP)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    _document(
        s3BucketName=BUCKET,
        s3EncryptionEnabled=True,
        cloudWatchLogGroupName=GROUP,
        cloudWatchEncryptionEnabled="true",  # string form is read as true as well
    )
    found = _found(verify(context(), VerifyTarget(region=REGION, destination="both")))
    assert found == sorted(
        [
            (ERROR, "log-group-not-encrypted", f"log group {GROUP}"),
            (ERROR, "bucket-not-encrypted", f"s3 bucket {BUCKET}"),
            (WARNING, "retention-not-set", f"log group {GROUP}"),
            (WARNING, "bucket-public-access", f"s3 bucket {BUCKET}"),
            (WARNING, "bucket-tls-only", f"s3 bucket {BUCKET}"),
            (WARNING, "bucket-acls", f"s3 bucket {BUCKET}"),
            (WARNING, "account-public-access", "account 123456789012"),
            (WARNING, "session-data-unencrypted", f"preferences document {DOCUMENT_NAME}"),
        ]
    )


@pytest.mark.parametrize(
    ("statement_change", "check", "severity"),
    [
        ("drop", "key-policy-no-logs-principal", ERROR),
        ("other-group", "key-policy-wrong-log-group", ERROR),
    ],
)
def test_key_policy_without_logs_principal_or_for_another_group(
    bare, statement_change, check, severity
):
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key)
    policy = policies.key_policy(REGION, ACCOUNT, "/some/other-group")
    if statement_change == "drop":
        policy["Statement"] = policy["Statement"][:1]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=GROUP, kmsKeyId=key)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    _document(cloudWatchLogGroupName=GROUP, cloudWatchEncryptionEnabled=True, kmsKeyId=key)
    findings = verify(context(), VerifyTarget(region=REGION))
    assert _found(findings) == [(severity, check, f"kms key {key}")]


def test_default_version_behind_latest_and_destination_mismatch(bare):
    _document(s3BucketName="", cloudWatchLogGroupName="", kmsKeyId="")
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.update_document(
        Content=json.dumps(
            {"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": {"kmsKeyId": "x"}}
        ),
        Name=DOCUMENT_NAME,
        DocumentVersion="$LATEST",
    )
    found = _found(verify(context(), VerifyTarget(region=REGION, destination="cloudwatch")))
    resource = f"preferences document {DOCUMENT_NAME}"
    assert found == sorted(
        [
            (WARNING, "preferences-default-version", resource),
            (ERROR, "no-log-destination", resource),
            (ERROR, "destination-mismatch", resource),
            (WARNING, "session-data-unencrypted", resource),
        ]
    )


def test_stray_key_and_duplicate_endpoint_are_reported_then_removed_by_apply(good):
    """Issue 18.3/18.4: what a lost CreateKey or CreateVpcEndpoint response leaves behind."""
    account = good
    kms = boto3.client("kms", region_name=REGION)
    stray = kms.create_key(
        Description="costcompare: Session Manager logs (s3)",
        Tags=[
            {"TagKey": "costcompare:managed", "TagValue": "true"},
            {"TagKey": "costcompare:alias", "TagValue": KEY_ALIASES["s3"]},
        ],
    )["KeyMetadata"]
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=account.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.ssm",
        SubnetIds=list(account.subnet_ids),
        PrivateDnsEnabled=True,
        TagSpecifications=[
            {
                "ResourceType": "vpc-endpoint",
                "Tags": [{"Key": "costcompare:managed", "Value": "true"}],
            }
        ],
    )
    found = _found(verify(context(), _target(account)))
    assert (WARNING, "stray-key", f"kms key {stray['Arn']}") in found
    assert (WARNING, "endpoint-duplicate", f"vpc endpoint com.amazonaws.{REGION}.ssm") in found

    session_key = next(
        k["KeyId"] for k in kms.list_keys()["Keys"]
        if kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["Description"] == "session data"
    )  # fmt: skip
    spec = spec_for(account, "both", session_kms_key_id=kms.describe_key(KeyId=session_key)[
        "KeyMetadata"]["Arn"])  # fmt: skip
    writes = apply(spec)
    assert sorted(writes) == ["DeleteVpcEndpoints", "ScheduleKeyDeletion"]
    assert kms.describe_key(KeyId=stray["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    ssm_filter = [{"Name": "service-name", "Values": [f"com.amazonaws.{REGION}.ssm"]}]
    live = [
        e["VpcEndpointId"]
        for e in ec2.describe_vpc_endpoints(Filters=ssm_filter)["VpcEndpoints"]
        if e["State"].lower() != "deleted"
    ]
    assert len(live) == 1
    assert verify(context(), _target(account)) == []


def test_findings_wrap_to_the_terminal_under_their_heading():
    finding = Finding(
        WARNING,
        "retention-under-a-year",
        "log group /ssm/session-manager",
        "retention is 1 days, under 365 days (Security Hub CloudWatch.16, checkov CKV_AWS_338)",
        "put-retention-policy --retention-in-days 365 (or longer), or pass --retention-days",
    )
    text = render_findings([finding], width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "checkov\n        CKV_AWS_338)\n" in text
    assert (
        "        fix: put-retention-policy --retention-in-days 365 (or longer), or pass\n" in text
    )
    assert "             --retention-days\n" in text
