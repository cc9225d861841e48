"""provision.apply (with plan and observe) against moto: build, converge, fix, stay idempotent."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from test_provision_support import (  # noqa: F401  (account_fixture provides "account")
    ACCOUNT,
    REGION,
    ROLE,
    Recorder,
    account_fixture,
    apply,
    bare_fixture,
    context,
    plan_for,
    spec_for,
)

from provision import policies
from provision.apply import apply_plan
from provision.changes import execute
from provision.errors import ApplyError, PlanError
from provision.observe import observe
from provision.plan import make_plan
from provision.resources.lifecycle import RULE_ID as LIFECYCLE_RULE_ID
from provision.spec import DOCUMENT_NAME, KEY_ALIASES, SECURITY_GROUP_NAME, build_spec

MANAGED = {"Key": "costcompare:managed", "Value": "true"}
CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
GROUP = "/ssm/session-manager"
BUCKET = "session-logs-test"


def _key_arn(alias: str) -> str:
    kms = boto3.client("kms", region_name=REGION)
    return kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]


def _document() -> tuple[dict, dict]:
    ssm = boto3.client("ssm", region_name=REGION)
    described = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]
    content = json.loads(ssm.get_document(Name=DOCUMENT_NAME)["Content"])
    return described, content


def _endpoints(vpc_id: str) -> dict[str, dict]:
    ec2 = boto3.client("ec2", region_name=REGION)
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return {e["ServiceName"].rsplit(".", 1)[1]: e for e in found["VpcEndpoints"]}


def _check_cloudwatch(account) -> None:
    kms = boto3.client("kms", region_name=REGION)
    arn = _key_arn(KEY_ALIASES["cloudwatch"])
    assert json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]) == (
        policies.key_policy(REGION, ACCOUNT, GROUP)
    )
    assert kms.get_key_rotation_status(KeyId=arn)["KeyRotationEnabled"] is True
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeySpec"] == "SYMMETRIC_DEFAULT"
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=arn)["Tags"]}
    assert tags["costcompare:managed"] == "true"
    logs = boto3.client("logs", region_name=REGION)
    group = logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]
    assert group["logGroupName"] == GROUP
    assert group["kmsKeyId"] == arn
    assert group["retentionInDays"] == 365
    assert logs.list_tags_log_group(logGroupName=GROUP)["tags"] == {"costcompare:managed": "true"}


def _check_s3() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    arn = _key_arn(KEY_ALIASES["s3"])
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [MANAGED]
    assert s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"] == {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": arn,
                },
                "BucketKeyEnabled": True,
            }
        ]
    }
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert policy["Statement"] == [policies.tls_only_statement(REGION, BUCKET)]
    # The bucket key policy keeps the account root only (IAM grants the instance role).
    kms = boto3.client("kms", region_name=REGION)
    key_policy = json.loads(kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
    assert key_policy == policies.key_policy(REGION, ACCOUNT, None)


def _check_role(spec) -> None:
    iam = boto3.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/costcompare-session-logging-{REGION}"
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted([arn, CORE])
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])
    key_arns = {"s3": _key_arn(KEY_ALIASES["s3"])} if spec.bucket else {}
    if spec.session_key:
        key_arns["session"] = _key_arn(KEY_ALIASES["session"])
    assert document["PolicyVersion"]["Document"] == policies.instance_role_policy(
        spec, ACCOUNT, key_arns
    )
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [MANAGED]


def _check_network(account, spec) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    for attribute in ("enableDnsSupport", "enableDnsHostnames"):
        value = ec2.describe_vpc_attribute(VpcId=account.vpc_id, Attribute=attribute)
        assert value[attribute[0].upper() + attribute[1:]]["Value"] is True
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}]
    )["SecurityGroups"]
    assert len(groups) == 1
    group = groups[0]
    assert group["VpcId"] == account.vpc_id
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in group["IpPermissions"]] == [
        ("tcp", 443, 443)
    ]
    assert sorted(r["CidrIp"] for r in group["IpPermissions"][0]["IpRanges"]) == list(account.cidrs)
    endpoints = _endpoints(account.vpc_id)
    interface = {"ssm", "ssmmessages", "ec2messages", "kms"}
    if spec.log_group:
        interface.add("logs")
    expected = interface | ({"s3"} if spec.bucket else set())
    assert set(endpoints) == expected
    for name in interface:
        ep = endpoints[name]
        assert ep["VpcEndpointType"] == "Interface"
        assert sorted(ep["SubnetIds"]) == sorted(account.subnet_ids)  # one per AZ
        assert [g["GroupId"] for g in ep["Groups"]] == [group["GroupId"]]
        assert ep["PrivateDnsEnabled"] is True
        assert MANAGED in ep["Tags"]
    if spec.bucket:
        assert endpoints["s3"]["VpcEndpointType"] == "Gateway"
        assert endpoints["s3"]["RouteTableIds"] == [account.route_table_id]


@pytest.mark.parametrize("destination", ["cloudwatch", "s3", "both"])
def test_apply_on_empty_account_builds_everything_then_is_idempotent(account, destination):
    spec = spec_for(account, destination, idle_timeout=15, max_duration=120)
    first = apply(spec)
    assert first[-1] == "CreateDocument"
    assert first[0] == "CreateKey"

    if spec.log_group:
        _check_cloudwatch(account)
    if spec.bucket:
        _check_s3()
    _check_role(spec)
    _check_network(account, spec)
    described, content = _document()
    assert described["DocumentType"] == "Session"
    assert described["DefaultVersion"] == described["LatestVersion"] == "1"
    inputs = content["inputs"]
    assert content["sessionType"] == "Standard_Stream"
    assert inputs["cloudWatchLogGroupName"] == (GROUP if spec.log_group else "")
    assert inputs["s3BucketName"] == (BUCKET if spec.bucket else "")
    assert inputs["s3KeyPrefix"] == ("session-logs" if spec.bucket else "")
    assert inputs["s3EncryptionEnabled"] is True
    assert inputs["cloudWatchEncryptionEnabled"] is True
    assert inputs["cloudWatchStreamingEnabled"] is True
    assert inputs["idleSessionTimeout"] == "15"
    assert inputs["maxSessionDuration"] == "120"

    assert plan_for(spec).empty
    assert apply(spec) == []  # a second apply makes zero write calls


def test_apply_s3_lifecycle_and_object_lock(account):
    spec = spec_for(
        account,
        "s3",
        transition=["30:STANDARD_IA", "90:GLACIER"],
        expiration_days=400,
        object_lock_days=30,
        key_prefix="ssm/logs",
    )
    apply(spec)
    s3 = boto3.client("s3", region_name=REGION)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert len(rules) == 1
    assert rules[0]["ID"] == LIFECYCLE_RULE_ID
    assert rules[0]["Filter"] == {"Prefix": "ssm/logs/"}
    assert rules[0]["Transitions"] == [
        {"Days": 30, "StorageClass": "STANDARD_IA"},
        {"Days": 90, "StorageClass": "GLACIER"},
    ]
    assert rules[0]["Expiration"] == {"Days": 400}
    lock = s3.get_object_lock_configuration(Bucket=BUCKET)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"]) == ("COMPLIANCE", 30)
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert apply(spec) == []


def test_apply_fixes_only_what_differs_in_a_hand_made_setup(account):
    """A hand-made, partly wrong setup: only the differences are written, user choices kept."""
    kms = boto3.client("kms", region_name=REGION)
    logs = boto3.client("logs", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    ec2 = boto3.client("ec2", region_name=REGION)
    ssm = boto3.client("ssm", region_name=REGION)
    # Their key: AWS's default policy plus a backup grant, no logs principal (the pitfall).
    their_key = kms.create_key(Description="hand made")["KeyMetadata"]["Arn"]
    backup = {
        "Sid": "AllowBackup",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/backup"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    default_policy = json.loads(kms.get_key_policy(KeyId=their_key, PolicyName="default")["Policy"])
    default_policy["Statement"].append(backup)
    kms.put_key_policy(KeyId=their_key, PolicyName="default", Policy=json.dumps(default_policy))
    kms.enable_key_rotation(KeyId=their_key)
    logs.create_log_group(logGroupName=GROUP, kmsKeyId=their_key)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=30)  # too short
    # Their bucket: SSE-S3, no public access block, a policy that silently blocks the agent.
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=BUCKET, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    auditor = {
        "Sid": "AuditorsRead",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/auditor"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    sse_deny = {
        "Sid": "DenyUnencryptedUploads",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}},
    }
    s3.put_bucket_policy(
        Bucket=BUCKET,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [auditor, sse_deny]}),
    )
    # Their network: DNS on, an ssm endpoint in one AZ only, their SG already allowing 443.
    for attr in ("EnableDnsSupport", "EnableDnsHostnames"):
        ec2.modify_vpc_attribute(VpcId=account.vpc_id, **{attr: {"Value": True}})
    their_sg = ec2.create_security_group(
        GroupName="hand-made-endpoints", Description="x", VpcId=account.vpc_id
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=their_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "10.0.0.0/16"}],
            }
        ],
    )
    ssm_endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=account.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.ssm",
        SubnetIds=[account.subnet_ids[0]],
        SecurityGroupIds=[their_sg],
        PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]
    # Their preferences: inputs the tool has no option for must survive.
    hand_doc = {
        "schemaVersion": "1.0",
        "description": "ours",
        "sessionType": "Standard_Stream",
        "inputs": {
            "s3BucketName": "",
            "s3EncryptionEnabled": False,
            "cloudWatchLogGroupName": "",
            "cloudWatchEncryptionEnabled": False,
            "cloudWatchStreamingEnabled": False,
            "idleSessionTimeout": "45",
            "runAsEnabled": True,
            "runAsDefaultUser": "ops",
            "shellProfile": {"linux": "exec bash", "windows": ""},
        },
    }
    ssm.create_document(
        Content=json.dumps(hand_doc),
        Name=DOCUMENT_NAME,
        DocumentType="Session",
        DocumentFormat="JSON",
    )

    spec = build_spec(
        {
            "destination": "both",
            "bucket": BUCKET,
            "bucket_encryption": "sse-s3",
            "kms_key": their_key,
            "session_kms_key_id": "none",
            "vpc_id": account.vpc_id,
            "subnet": list(account.subnet_ids),
        },
        REGION,
    )
    writes = apply(spec)
    assert writes == [
        "PutKeyPolicy",  # logs principal added, their grants kept
        "TagResource",  # the managed tag is desired state (issue 18.5)
        "PutRetentionPolicy",  # 30 → 365; key already associated: no AssociateKmsKey
        "PutBucketTagging",
        "PutPublicAccessBlock",
        "PutBucketPolicy",  # TLS-only added, the SSE-header deny dropped
        "PutPublicAccessBlock",  # account level (Security Hub S3.1)
        "CreateSecurityGroup",  # for the new endpoints; the ssm one is covered by theirs
        "AuthorizeSecurityGroupIngress",
        "ModifyVpcEndpoint",  # ssm: add the second AZ
        "CreateVpcEndpoint",  # ssmmessages
        "CreateVpcEndpoint",  # ec2messages
        "CreateVpcEndpoint",  # logs
        "CreateVpcEndpoint",  # kms
        "CreateVpcEndpoint",  # s3 gateway
        "AddTagsToResource",  # remember version 1 for destroy
        "UpdateDocument",
        "UpdateDocumentDefaultVersion",
    ]
    key_policy = json.loads(kms.get_key_policy(KeyId=their_key, PolicyName="default")["Policy"])
    assert backup in key_policy["Statement"]
    assert policies.key_policy(REGION, ACCOUNT, GROUP)["Statement"][1] in key_policy["Statement"]
    assert (
        logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"][0]["retentionInDays"] == 365
    )
    assert logs.list_tags_log_group(logGroupName=GROUP)["tags"] == {"costcompare:managed": "true"}
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert bucket_policy["Statement"] == [auditor, policies.tls_only_statement(REGION, BUCKET)]
    ssm_ep = _endpoints(account.vpc_id)["ssm"]
    assert ssm_ep["VpcEndpointId"] == ssm_endpoint
    assert sorted(ssm_ep["SubnetIds"]) == sorted(account.subnet_ids)
    assert [g["GroupId"] for g in ssm_ep["Groups"]] == [their_sg]
    described, content = _document()
    assert described["DefaultVersion"] == "2"
    inputs = content["inputs"]
    assert inputs["idleSessionTimeout"] == "45"
    assert inputs["runAsEnabled"] is True and inputs["runAsDefaultUser"] == "ops"
    assert inputs["shellProfile"] == {"linux": "exec bash", "windows": ""}
    assert inputs["cloudWatchLogGroupName"] == GROUP and inputs["s3BucketName"] == BUCKET
    assert inputs["cloudWatchEncryptionEnabled"] is True and inputs["s3EncryptionEnabled"] is True
    assert content["description"] == "ours"
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=DOCUMENT_NAME)["TagList"]
    assert {"Key": "costcompare:previous-version", "Value": "1"} in tags
    assert apply(spec) == []


def test_associate_kms_key_through_stubber(bare):
    """moto lacks AssociateKmsKey: check the exact call with botocore's Stubber."""
    logs = boto3.client("logs", region_name=REGION)
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName=GROUP)  # unencrypted: the pitfall
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    spec = build_spec(
        {"destination": "cloudwatch", "kms_key": key, "session_kms_key_id": "none"}, REGION
    )
    logs.tag_log_group(logGroupName=GROUP, tags={"costcompare:managed": "true"})
    ctx = context()
    plan = make_plan(spec, observe(ctx, spec))
    assert [c.call.operation for c in plan.pending] == [
        "put_key_policy",
        "associate_kms_key",
        "create_document",
    ]
    stubber = Stubber(ctx.client("logs"))
    stubber.add_response("associate_kms_key", {}, {"logGroupName": GROUP, "kmsKeyId": key})
    with stubber:
        done = execute(ctx, plan.changes, ApplyError, "apply")
    stubber.assert_no_pending_responses()
    assert done == ["kms.put_key_policy", "logs.associate_kms_key", "ssm.create_document"]

    # An AccessDenied on it stops apply with the step and what was already done.
    ctx = context()
    stubber = Stubber(ctx.client("logs"))
    stubber.add_client_error("associate_kms_key", "AccessDeniedException", "not allowed")
    with stubber, pytest.raises(ApplyError) as info:
        execute(ctx, make_plan(spec, observe(context(), spec)).changes, ApplyError, "apply")
    message = str(info.value)
    assert "step 1/1 failed — log group /ssm/session-manager" in message
    assert "AccessDeniedException: not allowed" in message
    assert "already done: nothing" in message


def test_throttling_is_retried_by_standard_mode(bare):
    """A throttled call is retried by botocore (standard mode) and apply carries on."""
    from botocore.awsrequest import AWSResponse

    class Raw:
        def stream(self, **_):
            yield b'{"__type":"ThrottlingException","message":"Rate exceeded"}'

    throttled = []

    def throttle_once(request, **_):
        if not throttled:
            throttled.append(request.url)
            return AWSResponse(request.url, 400, {"x-amzn-RequestId": "1"}, Raw())
        return None

    def hook(client):
        client.meta.events.register("before-send.kms.CreateKey", throttle_once)

    ctx = context()
    ctx.on_client = hook
    spec = build_spec({"destination": "cloudwatch"}, REGION)
    from provision.apply import apply_plan

    apply_plan(ctx, spec, make_plan(spec, observe(ctx, spec)))
    assert len(throttled) == 1
    assert ctx.client("kms").meta.config.retries["mode"] == "standard"
    kms = boto3.client("kms", region_name=REGION)
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert sorted(a for a in aliases if a.startswith("alias/costcompare")) == sorted(
        [KEY_ALIASES["cloudwatch"], KEY_ALIASES["session"]]
    )
    # moto answered the throttled CreateKey too (a lost response): the retry made a second key,
    # which the same apply found by its tag and scheduled for deletion.
    states = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    mine = [m for m in states if m["Description"].startswith("costcompare")]
    assert sorted(m["KeyState"] for m in mine) == ["Enabled", "Enabled", "PendingDeletion"]


def test_apply_attaches_the_core_policy_verify_is_clean_destroy_keeps_it(bare):
    """The role lacks AmazonSSMManagedInstanceCore: verify flags it, apply attaches it, verify
    then finds no error, and destroy leaves it attached (AWS's policy; sessions need it)."""
    from provision.destroy import destroy, plan_destroy
    from provision.verify import ERROR, VerifyTarget, verify

    iam = boto3.client("iam")
    target = VerifyTarget(region=REGION, destination="cloudwatch", role_name=ROLE)
    before = [f.check for f in verify(context(), target) if f.severity == ERROR]
    assert "role-no-core-policy" in before

    spec = build_spec({"destination": "cloudwatch", "role": ROLE}, REGION)
    plan = plan_for(spec)
    core = next(c for c in plan.pending if c.resource == f"iam role {ROLE}")
    assert (core.call.name, core.call.params) == (
        "iam.attach_role_policy",
        {"RoleName": ROLE, "PolicyArn": CORE},
    )
    writes = apply(spec)
    assert writes.count("AttachRolePolicy") == 2  # the core policy, then the tool's own
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert CORE in [p["PolicyArn"] for p in attached]
    assert [f for f in verify(context(), target) if f.severity == ERROR] == []
    assert apply(spec) == []
    # Detached later by someone: the next apply puts back exactly that.
    iam.detach_role_policy(RoleName=ROLE, PolicyArn=CORE)
    assert apply(spec) == ["AttachRolePolicy"]

    planned = plan_destroy(context(), force_delete_logs=False)
    assert f"iam role {ROLE}" not in [s.resource for s in planned.steps]
    destroy(context(), planned)
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [CORE]


def test_missing_role_or_vpc_stops_at_plan(bare):
    with pytest.raises(PlanError, match="instance role 'nope' not found"):
        plan_for(build_spec({"destination": "cloudwatch", "role": "nope"}, REGION))
    with pytest.raises(PlanError, match="VPC vpc-0123456789abcdef0 not found"):
        plan_for(
            build_spec(
                {
                    "destination": "cloudwatch",
                    "vpc_id": "vpc-0123456789abcdef0",
                    "subnet": ["subnet-01234567"],
                },
                REGION,
            )
        )


def test_changed_options_update_in_place(bare):
    spec = build_spec({"destination": "cloudwatch", "role": ROLE}, REGION)
    apply(spec)
    changed = build_spec(
        {"destination": "cloudwatch", "role": ROLE, "retention_days": 731, "streaming": False},
        REGION,
    )
    writes = apply(changed)
    assert writes == ["PutRetentionPolicy", "UpdateDocument", "UpdateDocumentDefaultVersion"]
    described, content = _document()
    assert described["DefaultVersion"] == "2"
    assert content["inputs"]["cloudWatchStreamingEnabled"] is False
    # The tool created the document: no "previous version" to restore, so no tag.
    ssm = boto3.client("ssm", region_name=REGION)
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=DOCUMENT_NAME)["TagList"]
    assert tags == [MANAGED]


def _no_duplicates(account) -> None:
    kms = boto3.client("kms", region_name=REGION)
    for alias in KEY_ALIASES.values():
        tagged = []
        for key in kms.list_keys()["Keys"]:
            tags = {
                t["TagKey"]: t["TagValue"]
                for t in kms.list_resource_tags(KeyId=key["KeyId"])["Tags"]
            }
            state = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"]
            if tags.get("costcompare:alias") == alias and state == "Enabled":
                tagged.append(key["KeyId"])
        assert len(tagged) == 1, alias
        assert kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"] == tagged[0]
    ec2 = boto3.client("ec2", region_name=REGION)
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [SECURITY_GROUP_NAME]}]
    )["SecurityGroups"]
    assert len(groups) == 1
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [account.vpc_id]}])
    live = [e for e in found["VpcEndpoints"] if e["State"].lower() != "deleted"]
    services = [e["ServiceName"] for e in live]
    assert sorted(services) == sorted(set(services)) and len(services) == 6
    assert all(MANAGED in e["Tags"] for e in live)
    iam = boto3.client("iam")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/costcompare-session-logging-{REGION}"
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == sorted([arn, CORE])
    described, _ = _document()
    assert described["LatestVersion"] == described["DefaultVersion"] == "1"


@pytest.mark.parametrize("when", ["before", "after"])
def test_each_step_failing_in_turn_then_rerun_converges(account, when):
    """Fail every write step once, in order; each rerun continues; the end state is exact.

    "before": AWS never sees the failed call. "after": AWS did it but the response was lost,
    which is how duplicates are born (a second key, a second endpoint ...).
    """
    spec = spec_for(
        account, "both", transition=["30:STANDARD_IA"], expiration_days=400, idle_timeout=10
    )
    recorder = Recorder(when=when)
    ctx = context(recorder)
    expected = [c.call.operation for c in plan_for(spec, ctx).pending]
    assert len(expected) == 31
    failed: list[str] = []
    last = None
    for _ in range(len(expected) + 1):
        plan = make_plan(spec, observe(ctx, spec))
        first = plan.pending[0] if plan.pending else None
        # Fail the first step not failed yet: the one after a step retried from last time.
        retried = first is not None and _step(first) == last
        recorder.writes.clear()
        recorder.fail_at = 2 if retried else 1
        try:
            apply_plan(ctx, spec, plan)
        except ApplyError as exc:
            change = plan.pending[recorder.fail_at - 1]
            text = str(exc)
            assert f"step {recorder.fail_at}/{len(plan.pending)} failed — {change.resource}" in text
            assert f"({change.call.name}): AccessDenied: injected" in text
            done = text.split("already done: ")[1].split(" — ")[0]
            assert done == (first.call.name if retried else "nothing")
            assert text.endswith("run apply again: it continues from here without duplicates")
            failed.append(change.call.operation)
            last = _step(change)
            continue
        break
    else:
        pytest.fail("apply never converged")
    # Every write step failed once, in either mode (moto drops creation tags, so the bucket's
    # tagging step is always there to fail).
    assert failed == expected
    # The managed tag is desired state (issue 18.5): whatever step failed, the bucket ends
    # tagged, so destroy finds it.
    tags = boto3.client("s3", region_name=REGION).get_bucket_tagging(Bucket=BUCKET)["TagSet"]
    assert tags == [MANAGED]
    _no_duplicates(account)
    assert plan_for(spec).empty


def _step(change) -> tuple[str, str, str]:
    return (change.resource, change.summary, change.call.name)


def test_concurrent_applies_then_one_rerun_leave_exactly_one_of_each(account):
    """Issue 18.3: two applies at once (both plan on the empty account, then both run). Either
    may stop on the other's work; one clean re-run leaves one of each resource, all tagged, any
    stray key scheduled for deletion, duplicate endpoints gone, and verify without findings."""
    import threading

    from provision.verify import VerifyTarget, verify

    spec = spec_for(account, "both")
    plans = [plan_for(spec) for _ in range(2)]  # both see the empty account
    errors: list[str] = []

    def run(plan) -> None:
        try:
            apply_plan(context(), spec, plan)
        except ApplyError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(errors) <= 1  # the loser stops at the winner's work (e.g. the alias)
    apply(spec)  # the clean re-run
    assert plan_for(spec).empty
    _no_duplicates(account)
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [MANAGED]
    logs = boto3.client("logs", region_name=REGION)
    assert logs.list_tags_log_group(logGroupName=GROUP)["tags"] == {"costcompare:managed": "true"}
    target = VerifyTarget(REGION, "both", ROLE, spec.network)
    assert [(f.check, f.resource) for f in verify(context(), target)] == []
