"""provision.destroy: only tagged resources go; log data and other people's resources stay."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from test_provision_support import (  # noqa: F401  (account_fixture, bare_fixture: fixtures)
    ACCOUNT,
    REGION,
    ROLE,
    account_fixture,
    apply,
    bare_fixture,
    context,
    plan_for,
    spec_for,
)

from provision.destroy import destroy, plan_destroy
from provision.errors import DestroyError
from provision.spec import DOCUMENT_NAME, KEY_ALIASES, SECURITY_GROUP_NAME, build_spec

GROUP = "/ssm/session-manager"
BUCKET = "session-logs-test"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/costcompare-session-logging-{REGION}"
CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
CORE_KEPT = (
    f"iam role {ROLE}: not created by the tool; AmazonSSMManagedInstanceCore stays attached "
    "(sessions need it)"
)


def _live_endpoints(vpc_id: str) -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return {
        e["ServiceName"].rsplit(".", 1)[1]: e["VpcEndpointId"]
        for e in found["VpcEndpoints"]
        if e["State"] != "deleted"
    }


def _tool_aliases() -> list[str]:
    aliases = boto3.client("kms", region_name=REGION).list_aliases()["Aliases"]
    return [a["AliasName"] for a in aliases if a["AliasName"].startswith("alias/costcompare")]


def _seed_logs() -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="i-0abc-session-1")
    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName="i-0abc-session-1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "sh-5.2$ sudo su"}],
    )


def test_destroy_removes_everything_the_tool_made(account):
    spec = spec_for(account, "both")
    apply(spec)
    ctx = context()
    planned = plan_destroy(ctx, force_delete_logs=False)
    assert planned.held == ()
    resources = list(dict.fromkeys(s.resource for s in planned.steps))
    assert resources[:6] + sorted(resources[6:]) == [
        f"preferences document {DOCUMENT_NAME}",
        f"vpc {account.vpc_id}",
        f"security group {SECURITY_GROUP_NAME}",
        f"iam policy costcompare-session-logging-{REGION}",
        f"s3 bucket {BUCKET}",
        f"log group {GROUP}",
        *sorted(f"kms key {alias}" for alias in KEY_ALIASES.values()),
    ]
    assert planned.kept == (CORE_KEPT,)  # apply attached it; destroy never detaches it
    assert f"Left alone: {CORE_KEPT} " in " ".join(planned.render().split()) + " "
    key_arns = [
        boto3.client("kms", region_name=REGION).describe_key(KeyId=a)["KeyMetadata"]["Arn"]
        for a in KEY_ALIASES.values()
    ]
    lines: list[str] = []
    destroy(ctx, planned, progress=lines.append)
    assert lines[0] == (
        f"[1/{len(planned.steps)}] preferences document {DOCUMENT_NAME}: delete it: the tool "
        "created it, there were no preferences before (ssm.delete_document) done"
    )

    ssm = boto3.client("ssm", region_name=REGION)
    with pytest.raises(ssm.exceptions.InvalidDocument):
        ssm.get_document(Name=DOCUMENT_NAME)
    assert _live_endpoints(account.vpc_id) == {}
    ec2 = boto3.client("ec2", region_name=REGION)
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}]
    )["SecurityGroups"]
    assert groups == []
    iam = boto3.client("iam")
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [CORE]  # only the tool's policy went
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=POLICY)
    assert iam.get_role(RoleName=ROLE)["Role"]["RoleName"] == ROLE  # the role is theirs
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []
    assert _tool_aliases() == []
    kms = boto3.client("kms", region_name=REGION)
    for arn in key_arns:
        assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # Nothing left to remove; and apply would rebuild it all.
    assert plan_destroy(context(), force_delete_logs=False).steps == ()
    assert not plan_for(spec).empty


def test_destroy_keeps_stores_holding_logs_unless_forced(account):
    spec = spec_for(account, "both")
    apply(spec)
    _seed_logs()
    s3 = boto3.client("s3", region_name=REGION)
    # moto cannot evaluate aws:SecureTransport, so the TLS-only policy denies every object call;
    # lift it for the upload only (reference: "apply it after test uploads").
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3.delete_bucket_policy(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="session-logs/alice-0abc.log", Body=b"transcript")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)

    planned = plan_destroy(context(), force_delete_logs=False)
    assert planned.held == (
        f"s3 bucket {BUCKET}: holds 1 transcripts",
        f"log group {GROUP}: holds session log streams",
    )
    assert "Kept because they hold logs (--force-delete-logs deletes them)" in planned.render()
    destroy(context(), planned)
    # The stores and their data (and the keys encrypting them) stay; the rest is gone.
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
    logs = boto3.client("logs", region_name=REGION)
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == [GROUP]
    assert _tool_aliases() == [KEY_ALIASES["cloudwatch"], KEY_ALIASES["s3"]]
    assert _live_endpoints(account.vpc_id) == {}
    ssm = boto3.client("ssm", region_name=REGION)
    with pytest.raises(ssm.exceptions.InvalidDocument):
        ssm.get_document(Name=DOCUMENT_NAME)

    destroy(context(), plan_destroy(context(), force_delete_logs=True))
    assert s3.list_buckets()["Buckets"] == []
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []
    assert _tool_aliases() == []


def test_destroy_leaves_untagged_resources_and_their_data_alone(account):
    """A hand-made bucket, log group, endpoint and preferences survive, with their data.

    apply adopts the stores the options name (the managed tag is desired state), so destroy
    finds them; they hold logs, so they are kept, and so is the key that encrypts the bucket.
    """
    logs = boto3.client("logs", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    ssm = boto3.client("ssm", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    logs.create_log_group(logGroupName=GROUP)
    _seed_logs()
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="session-logs/old.log", Body=b"old transcript")
    before = {
        "schemaVersion": "1.0",
        "description": "hand made",
        "sessionType": "Standard_Stream",
        "inputs": {"s3BucketName": "", "idleSessionTimeout": "30", "runAsEnabled": False},
    }
    ssm.create_document(
        Content=json.dumps(before),
        Name=DOCUMENT_NAME,
        DocumentType="Session",
        DocumentFormat="JSON",
    )
    theirs = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=account.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.ssm",
        SubnetIds=list(account.subnet_ids),
        PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]

    # The log group is left unencrypted (moto cannot associate a key); the bucket gets the
    # tool's key for SSE-KMS, so that key must outlive destroy.
    spec = spec_for(account, "both", kms_key="none")
    apply(spec)
    described = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]
    assert described["DefaultVersion"] == "2"
    s3_key = boto3.client("kms", region_name=REGION).describe_key(KeyId=KEY_ALIASES["s3"])

    planned = plan_destroy(context(), force_delete_logs=False)
    assert planned.held == (
        f"s3 bucket {BUCKET}: holds 1 transcripts",
        f"log group {GROUP}: holds session log streams",
    )
    assert sorted(planned.kept) == [
        CORE_KEPT,
        f"kms key {KEY_ALIASES['s3']}: still encrypts s3 bucket {BUCKET}",
        f"vpc endpoint com.amazonaws.{REGION}.ssm: not tagged",
    ]
    destroy(context(), planned)

    # Their data and resources are intact.
    events = logs.get_log_events(logGroupName=GROUP, logStreamName="i-0abc-session-1")["events"]
    assert [e["message"] for e in events] == ["sh-5.2$ sudo su"]
    # (Listed, not read: moto denies object reads under the TLS-only policy the tool added.)
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("session-logs/old.log", 14)]
    assert _live_endpoints(account.vpc_id) == {"ssm": theirs}
    ep = ec2.describe_vpc_endpoints(VpcEndpointIds=[theirs])["VpcEndpoints"][0]
    assert ep["Groups"] == []  # the tool's security group was detached before deletion
    kms = boto3.client("kms", region_name=REGION)
    arn = s3_key["KeyMetadata"]["Arn"]
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    # The preferences are back to what they were, as the default version.
    described = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]
    assert described["DefaultVersion"] == described["LatestVersion"] == "3"
    assert json.loads(ssm.get_document(Name=DOCUMENT_NAME)["Content"]) == before
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=DOCUMENT_NAME)
    assert tags["TagList"] == []


@pytest.mark.parametrize("when", ["before", "after"])
def test_destroy_each_step_failing_in_turn_then_rerun_converges(account, when):
    """Fail every removal step once, in order, as a hard failure ("before") or a lost response
    ("after": AWS did it, the client saw an error); each re-run continues, and the end state is
    the same as an undisturbed destroy."""
    from test_provision_support import Recorder

    apply(spec_for(account, "both"))
    recorder = Recorder(when=when)
    ctx = context(recorder)
    failed: set[tuple[str, str]] = set()
    for _ in range(60):
        planned = plan_destroy(ctx, force_delete_logs=False)
        if not planned.steps:
            break
        steps = [(s.resource, s.call.name) for s in planned.steps]
        fresh = [n for n, step in enumerate(steps, start=1) if step not in failed]
        recorder.writes.clear()
        recorder.fail_at = fresh[0] if fresh else None
        try:
            destroy(ctx, planned)
        except DestroyError as exc:
            assert "run destroy again" in str(exc)
            failed.add(steps[recorder.fail_at - 1])
    else:
        pytest.fail("destroy never converged")
    assert len(failed) >= 14
    assert _live_endpoints(account.vpc_id) == {}
    assert _tool_aliases() == []
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []
    assert boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"] == []
    kms = boto3.client("kms", region_name=REGION)
    states = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    ours = [m["KeyState"] for m in states if m["Description"].startswith("costcompare")]
    assert ours == ["PendingDeletion"] * 3


def test_a_locked_bucket_is_not_said_to_go_with_force_delete_logs(bare):
    """With --force-delete-logs given, destroy still keeps a bucket under compliance Object
    Lock, and used to head it 'Kept because they hold logs (--force-delete-logs deletes
    them)': wrong, and an invitation to try."""
    apply(build_spec({"destination": "s3", "bucket": BUCKET, "role": ROLE, "preset": "worm"},
                     REGION, account=ACCOUNT))  # fmt: skip
    s3 = boto3.client("s3", region_name=REGION)
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3.delete_bucket_policy(Bucket=BUCKET)  # moto: the TLS-only policy denies plain HTTP
    s3.put_object(Bucket=BUCKET, Key="session-logs/alice-0abc.log", Body=b"transcript",
                  ChecksumAlgorithm="SHA256")  # fmt: skip
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)

    planned = plan_destroy(context(), force_delete_logs=True)
    text = planned.render()
    assert planned.locked == (f"s3 bucket {BUCKET}: holds logs under Object Lock compliance "
                              "retention",)  # fmt: skip
    assert "Kept for good (--force-delete-logs does not delete them):" in text
    assert "--force-delete-logs deletes them" not in text


def test_a_key_the_kept_bucket_names_by_alias_is_not_scheduled_for_deletion(bare):
    """Bucket encryption set with the key's alias (as the CLI and Terraform allow) names the
    key by alias, not by ARN: destroy took the key as unused and scheduled its deletion while
    keeping the bucket, whose transcripts would become unreadable 30 days later."""
    apply(build_spec({"destination": "s3", "bucket": BUCKET, "role": ROLE},
                     REGION, account=ACCOUNT))  # fmt: skip
    s3 = boto3.client("s3", region_name=REGION)
    s3.delete_bucket_policy(Bucket=BUCKET)  # moto: the TLS-only policy denies plain HTTP
    s3.put_object(Bucket=BUCKET, Key="session-logs/alice-0abc.log", Body=b"transcript")
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:{KEY_ALIASES['s3']}"
    for named in (alias_arn, KEY_ALIASES["s3"]):
        s3.put_bucket_encryption(
            Bucket=BUCKET,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": named}}]},
        )  # fmt: skip
        planned = plan_destroy(context(), force_delete_logs=False)
        s3_key_steps = [c for c in planned.steps if KEY_ALIASES["s3"] in c.resource]
        assert s3_key_steps == [], named
        assert f"kms key {KEY_ALIASES['s3']}: still encrypts s3 bucket {BUCKET}" in planned.kept


def test_the_reasons_wrap_to_80_columns(account, monkeypatch):
    """'Left alone' and 'Kept' reasons were one line each, 86 to 110 columns."""
    monkeypatch.setenv("COLUMNS", "80")
    apply(spec_for(account, "both"))
    planned = plan_destroy(context(), force_delete_logs=False)
    lines = planned.render().splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    assert CORE_KEPT in " ".join(" ".join(lines).split())
