"""provision export: the CloudFormation template of what plan/apply build (issue 15 item 1).

The template must parse, pass cfn-lint, carry the very policy documents apply writes, and
deploy (moto CloudFormation) into the resources plan would create.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from test_provision_support import (
    ACCOUNT,
    REGION,
    account_fixture,  # noqa: F401  (the moto account with a VPC)
    context,
    fast_moto,
    moto_compatible,
    plan_for,
)
from typer.testing import CliRunner

from costcompare.cli import app
from provision import policies
from provision.export import read_network, render_yaml, template
from provision.resources import document, lifecycle, network_cfn
from provision.resources.network import NetworkState, SubnetState
from provision.spec import DOCUMENT_NAME, KEY_ALIASES, SECURITY_GROUP_NAME, build_spec

ROLE = "ssm-export-role"
FULL = {
    "destination": "both",
    "create_role": ROLE,
    "transition": ["30:STANDARD_IA", "90:GLACIER"],
    "expiration_days": 400,
    "retention_days": 731,
}


def _spec(**options):
    return build_spec(options or FULL, REGION, account=ACCOUNT)


def _resources(spec, kind: str) -> dict:
    return {k: v for k, v in template(spec, ACCOUNT)["Resources"].items() if v["Type"] == kind}


def test_the_template_parses_with_every_resource_plan_would_create():
    parsed = yaml.safe_load(render_yaml(_spec(), ACCOUNT))
    kinds = sorted(r["Type"] for r in parsed["Resources"].values())
    assert kinds == sorted(
        ["AWS::KMS::Key", "AWS::KMS::Alias"] * 3
        + ["AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"]
        + ["AWS::IAM::Role", "AWS::IAM::InstanceProfile", "AWS::IAM::ManagedPolicy"]
        + ["AWS::SSM::Document"]
    )
    assert "cannot import" in parsed["Description"]
    group = parsed["Resources"]["SessionLogGroup"]["Properties"]
    assert group["RetentionInDays"] == 731
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["SessionLogsKeyCloudwatch", "Arn"]}


def test_policies_are_the_documents_apply_writes():
    spec = _spec()
    found = template(spec, ACCOUNT)["Resources"]
    arns = {p: {"Fn::GetAtt": [f"SessionLogsKey{p.capitalize()}", "Arn"]} for p in KEY_ALIASES}
    key = found["SessionLogsKeyCloudwatch"]["Properties"]["KeyPolicy"]
    assert key == policies.key_policy(REGION, ACCOUNT, "/ssm/session-manager")
    condition = key["Statement"][1]["Condition"]["ArnEquals"]
    assert condition == {
        "kms:EncryptionContext:aws:logs:arn": policies.log_group_arn(
            REGION, ACCOUNT, "/ssm/session-manager"
        )
    }
    assert found["SessionLogsKeyS3"]["Properties"]["KeyPolicy"] == policies.key_policy(
        REGION, ACCOUNT, None
    )
    role_policy = found["SessionLoggingPolicy"]["Properties"]
    assert role_policy["PolicyDocument"] == policies.instance_role_policy(spec, ACCOUNT, arns)
    assert role_policy["ManagedPolicyName"] == spec.policy_name
    bucket_policy = found["SessionLogBucketPolicy"]["Properties"]["PolicyDocument"]
    assert bucket_policy == policies.bucket_policy(REGION, spec.bucket.name, None)
    content = found["SessionPreferences"]["Properties"]["Content"]
    assert content == document.desired(spec, None, arns)
    assert found["SessionPreferences"]["Properties"]["DocumentType"] == "Session"


def test_bucket_carries_encryption_lifecycle_and_object_lock_from_the_spec():
    spec = _spec(
        destination="s3", bucket="acme-logs", object_lock_days=30, transition=["30:GLACIER"]
    )
    bucket = _resources(spec, "AWS::S3::Bucket")["SessionLogBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    rule = bucket["LifecycleConfiguration"]["Rules"][0]
    assert rule == {
        "Id": lifecycle.RULE_ID,
        "Status": "Enabled",
        "Prefix": "session-logs/",
        "Transitions": [{"TransitionInDays": 30, "StorageClass": "GLACIER"}],
    }
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": 30,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    plain = _resources(
        _spec(destination="s3", bucket="acme-logs", bucket_encryption="sse-s3"), "AWS::S3::Bucket"
    )["SessionLogBucket"]["Properties"]
    default = plain["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert default["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert "LifecycleConfiguration" not in plain and "ObjectLockEnabled" not in plain


def test_existing_keys_and_roles_are_referenced_not_created():
    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    spec = _spec(destination="cloudwatch", kms_key=arn, session_kms_key_id="none", role="ops")
    found = template(spec, ACCOUNT)["Resources"]
    assert not [r for r in found.values() if r["Type"].startswith(("AWS::KMS", "AWS::IAM::Role"))]
    assert found["SessionLogGroup"]["Properties"]["KmsKeyId"] == arn
    assert found["SessionLoggingPolicy"]["Properties"]["Roles"] == ["ops"]
    assert "AmazonSSMManagedInstanceCore to ops yourself" in render_yaml(spec, ACCOUNT)


@pytest.mark.parametrize(
    "options",
    [
        FULL,
        {"destination": "cloudwatch", "role": "ops", "session_kms_key_id": "none"},
        {
            "destination": "s3",
            "bucket": "acme-logs",
            "bucket_encryption": "sse-s3",
            "object_lock_days": 7,
        },
    ],
    ids=["both-create-role", "cloudwatch-existing-role", "s3-sse-s3-lock"],
)
def test_cfn_lint_passes(options, tmp_path: Path):
    """Errors and warnings, as the cfn-lint command reports by default (not its I-level
    informational hints)."""
    from cfnlint.api import ManualArgs, lint

    text = render_yaml(build_spec(options, REGION, account=ACCOUNT), ACCOUNT)
    matches = lint(text, config=ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


# -- deployed to moto CloudFormation --------------------------------------------------------------
@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    fast_moto(monkeypatch)
    with mock_aws():
        spec = _spec()
        cfn = boto3.client("cloudformation", region_name=REGION)
        body = json.dumps(moto_compatible(template(spec, ACCOUNT)))
        with warnings.catch_warnings():  # "no moto support for AWS::S3::BucketPolicy"
            warnings.simplefilter("ignore", UserWarning)
            cfn.create_stack(StackName="session-logging", TemplateBody=body)
        yield spec, cfn


def test_the_stack_deploys_and_its_resources_exist(deployed):
    spec, cfn = deployed
    stack = cfn.describe_stacks(StackName="session-logging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    kms = boto3.client("kms", region_name=REGION)
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert set(KEY_ALIASES.values()) <= set(aliases)
    logs_key = kms.describe_key(KeyId=KEY_ALIASES["cloudwatch"])["KeyMetadata"]["Arn"]
    assert kms.get_key_rotation_status(KeyId=logs_key)["KeyRotationEnabled"]
    group = boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"][0]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/ssm/session-manager", 731)
    s3_key = kms.describe_key(KeyId=KEY_ALIASES["s3"])["KeyMetadata"]["Arn"]
    encryption = boto3.client("s3", region_name=REGION).get_bucket_encryption(
        Bucket=spec.bucket.name
    )["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert encryption == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": s3_key}
    iam = boto3.client("iam")
    profile = iam.get_instance_profile(InstanceProfileName=ROLE)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [ROLE]
    ssm = boto3.client("ssm", region_name=REGION)
    found = ssm.get_document(Name=DOCUMENT_NAME)
    assert found["DocumentType"] == "Session"
    inputs = json.loads(found["Content"])["inputs"]
    assert inputs["cloudWatchLogGroupName"] == "/ssm/session-manager"
    assert inputs["s3BucketName"] == spec.bucket.name


def test_the_deployed_policies_equal_what_apply_writes(deployed):
    """With the stack's real key ARNs, the policy documents are apply's, statement for
    statement."""
    spec, _ = deployed
    kms = boto3.client("kms", region_name=REGION)
    arns = {p: kms.describe_key(KeyId=a)["KeyMetadata"]["Arn"] for p, a in KEY_ALIASES.items()}
    iam = boto3.client("iam")
    arn = policies.policy_arn(REGION, ACCOUNT, spec.policy_name)
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    written = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    assert written["Document"] == policies.instance_role_policy(spec, ACCOUNT, arns)
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert arn in {p["PolicyArn"] for p in attached}
    # moto's AWS::IAM::Role ignores ManagedPolicyArns, so the core policy is checked in the
    # template: the same ARN apply attaches.
    role = template(spec, ACCOUNT)["Resources"]["InstanceRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [policies.managed_instance_core_arn(REGION)]
    key_policy = kms.get_key_policy(KeyId=arns["cloudwatch"], PolicyName="default")["Policy"]
    assert json.loads(key_policy) == policies.key_policy(REGION, ACCOUNT, spec.log_group.name)


# What moto 5.2's CloudFormation leaves out (it ignores these properties or resource types),
# so verify rightly reports them against a moto stack; cfn-lint checks them in the template.
MOTO_GAPS = {
    "log-group-not-encrypted",  # AWS::Logs::LogGroup KmsKeyId
    "role-no-core-policy",  # AWS::IAM::Role ManagedPolicyArns
    "bucket-public-access",  # AWS::S3::Bucket PublicAccessBlockConfiguration
    "bucket-acls",  # AWS::S3::Bucket OwnershipControls
    "bucket-tls-only",  # AWS::S3::BucketPolicy
    "account-public-access",  # not in the template by design (README: Export)
}


def test_verify_finds_nothing_but_what_moto_cannot_deploy(deployed):
    """Keys, key policies, rotation, the role's actions, the document: verify passes them."""
    from provision.aws import AwsContext
    from provision.verify import VerifyTarget, verify

    target = VerifyTarget(region=REGION, destination="both", role_name=ROLE, network=None)
    findings = verify(AwsContext(REGION), target)
    assert {f.check for f in findings} == MOTO_GAPS, [f.message for f in findings]


# -- the command ---------------------------------------------------------------------------------
def _export_cloudwatch(out: Path, *extra: str):
    """``provision export -d cloudwatch`` for the test account, written to ``out``."""
    command = ["provision", "export", "-d", "cloudwatch", "--region", REGION]
    command += ["--account-id", ACCOUNT, "--out", str(out), *extra]
    return CliRunner().invoke(app, command)


def test_export_writes_the_template_to_out(tmp_path: Path):
    out = tmp_path / "stack.yaml"
    result = _export_cloudwatch(out)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(out.read_text())["Resources"]["SessionLogGroup"]["Type"] == (
        "AWS::Logs::LogGroup"
    )


def test_export_asks_sts_for_the_account_when_not_given(monkeypatch: pytest.MonkeyPatch):
    fast_moto(monkeypatch)
    with mock_aws():
        result = CliRunner().invoke(app, ["provision", "export", "-d", "s3", "--region", REGION])
    assert result.exit_code == 0, result.output
    body = yaml.safe_load(result.stdout)
    assert body["Resources"]["SessionLogBucket"]["Properties"]["BucketName"] == (
        f"ssm-session-logs-{ACCOUNT}-{REGION}"
    )


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        (["-d", "s3", "--bucket", "acme-logs", "--athena"], "export does not cover --athena"),
        (["--account-id", "12345"], "12345"),
    ],
)
def test_export_refuses_what_it_cannot_express(extra, names, tmp_path: Path):
    out = tmp_path / "stack.yaml"
    result = _export_cloudwatch(out, *extra)
    assert result.exit_code == 2
    assert names in result.output
    assert not out.exists()


# -- VPC endpoints and their security group (issue 15: "endpoints and security group") -----------
@pytest.fixture
def vpc(account):
    """The moto account's VPC with both DNS attributes on, as private DNS needs."""
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.modify_vpc_attribute(VpcId=account.vpc_id, EnableDnsHostnames={"Value": True})
    return account


def _with_vpc(account, options: dict | None = None):
    subnets = {"vpc_id": account.vpc_id, "subnet": list(account.subnet_ids)}
    return build_spec({**(options or FULL), **subnets}, REGION, account=ACCOUNT)


@pytest.mark.parametrize(
    ("options", "short_names"),
    [
        (FULL, ["ssm", "ssmmessages", "ec2messages", "logs", "kms", "s3"]),
        (
            {"destination": "s3", "bucket": "acme-logs", "bucket_encryption": "sse-s3"}
            | {"session_kms_key_id": "none"},
            ["ssm", "ssmmessages", "ec2messages", "s3"],
        ),
    ],
    ids=["both-kms", "s3-no-kms"],
)
def test_endpoints_and_group_are_the_ones_plan_would_create(vpc, options, short_names):
    """Same services, subnet per AZ, private DNS, route tables and 443 ranges as plan's calls."""
    spec = _with_vpc(vpc, options)
    found = template(spec, ACCOUNT, read_network(context(), spec))["Resources"]
    calls = [c.call for c in plan_for(spec).changes if c.call is not None]
    creates = {c.params["ServiceName"]: c.params for c in calls if c.operation.endswith("endpoint")}
    assert [s.rsplit(".", 1)[1] for s in creates] == short_names
    for service, params in creates.items():
        properties = found[network_cfn.logical_id(service)]["Properties"]
        for name in ("VpcEndpointType", "VpcId", "SubnetIds", "PrivateDnsEnabled", "RouteTableIds"):
            assert properties.get(name) == params.get(name), (service, name)
    assert creates[f"com.amazonaws.{REGION}.ssm"]["SubnetIds"] == list(vpc.subnet_ids)
    assert creates[f"com.amazonaws.{REGION}.s3"]["RouteTableIds"] == [vpc.route_table_id]
    (ingress,) = [c.params for c in calls if c.operation == "authorize_security_group_ingress"]
    wanted = ingress["IpPermissions"][0]
    group = found[network_cfn.SECURITY_GROUP_ID]["Properties"]
    assert group["GroupName"] == SECURITY_GROUP_NAME
    assert [
        (r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["SecurityGroupIngress"]
    ] == [("tcp", 443, 443)] * 2
    assert (
        [r["CidrIp"] for r in group["SecurityGroupIngress"]]
        == [r["CidrIp"] for r in wanted["IpRanges"]]
        == list(vpc.cidrs)
    )


def _export_vpc(account, out: Path):
    command = ["-d", "both", "--vpc-id", account.vpc_id]
    return _export_cloudwatch(out, *command, *[f"--subnet={s}" for s in account.subnet_ids])


def test_export_refuses_a_vpc_a_template_cannot_complete(account, tmp_path: Path):
    """DNS hostnames off (a template cannot change a VPC it does not own), then an endpoint
    made outside CloudFormation that plan would change (subnets, private DNS, HTTPS)."""
    out = tmp_path / "stack.yaml"
    result = _export_cloudwatch(
        out, "--vpc-id", "vpc-0123456789abcdef0", "--subnet=subnet-0a1b2c3d"
    )
    assert result.exit_code == 2 and "vpc-0123456789abcdef0 not found" in result.output
    result = _export_vpc(account, out)
    assert result.exit_code == 2, result.output
    assert "enable-dns-hostnames off" in result.output and "modify-vpc-attribute" in result.output
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.modify_vpc_attribute(VpcId=account.vpc_id, EnableDnsHostnames={"Value": True})
    made = ec2.create_vpc_endpoint(
        VpcId=account.vpc_id, ServiceName=f"com.amazonaws.{REGION}.ssm", VpcEndpointType="Interface"
    )["VpcEndpoint"]["VpcEndpointId"]
    result = _export_vpc(account, out)
    assert result.exit_code == 2, result.output
    assert f"vpc endpoint com.amazonaws.{REGION}.ssm: cover every instance AZ" in result.output
    assert "provision apply" in result.output
    assert not out.exists()
    ec2.delete_vpc_endpoints(VpcEndpointIds=[made])
    assert _export_vpc(account, out).exit_code == 0
    assert "EndpointSsm" in yaml.safe_load(out.read_text())["Resources"]


def _complete_ssm_endpoint(account) -> str:
    """An ssm endpoint someone made by hand, already as plan wants it: every subnet's AZ,
    private DNS, a group of their own admitting HTTPS from the whole VPC."""
    ec2 = boto3.client("ec2", region_name=REGION)
    group = ec2.create_security_group(
        GroupName="their-endpoints", Description="theirs", VpcId=account.vpc_id
    )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group, IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="10.0.0.0/16"
    )
    return ec2.create_vpc_endpoint(
        VpcId=account.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.ssm",
        VpcEndpointType="Interface",
        SubnetIds=list(account.subnet_ids),
        SecurityGroupIds=[group],
        PrivateDnsEnabled=True,
    )["VpcEndpoint"]["VpcEndpointId"]


def _complete_what_moto_skips(body: dict, account: str) -> None:
    """Apply, with the template's own values, what moto 5.2's CloudFormation ignores (MOTO_GAPS
    above), plus the account-level public access block the header tells the user to set. A
    wrong value in the template still shows up in plan: these calls copy it, never the spec."""
    s3 = boto3.client("s3", region_name=REGION)
    for resource in body["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::S3::Bucket":
            name = props["BucketName"]
            (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            default = dict(rule["ServerSideEncryptionByDefault"])
            if "KMSMasterKeyID" in default:  # a Fn::GetAtt of the stack's key
                default["KMSMasterKeyID"] = _deployed_key_arn(default["KMSMasterKeyID"])
            api_rule = {
                "ApplyServerSideEncryptionByDefault": default,
                "BucketKeyEnabled": rule["BucketKeyEnabled"],
            }
            s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": [api_rule]}
            )
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
            s3.put_bucket_ownership_controls(
                Bucket=name, OwnershipControls=props["OwnershipControls"]
            )
            rules = [_lifecycle_api(r) for r in props["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": rules}
            )
        if resource["Type"] == "AWS::S3::BucketPolicy":
            bucket = body["Resources"][props["Bucket"]["Ref"]]["Properties"]["BucketName"]
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(props["PolicyDocument"]))
        if resource["Type"] == "AWS::IAM::Role":
            for arn in props["ManagedPolicyArns"]:
                boto3.client("iam").attach_role_policy(RoleName=props["RoleName"], PolicyArn=arn)
    block_all = dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    boto3.client("s3control", region_name=REGION).put_public_access_block(
        AccountId=account, PublicAccessBlockConfiguration=block_all
    )


def _deployed_key_arn(get_att: dict) -> str:
    """``{"Fn::GetAtt": [KeyLogicalId, "Arn"]}`` → the ARN of that key in the deployed stack."""
    name, _ = get_att["Fn::GetAtt"]
    cfn = boto3.client("cloudformation", region_name=REGION)
    found = cfn.describe_stack_resource(StackName="session-logging", LogicalResourceId=name)
    key_id = found["StackResourceDetail"]["PhysicalResourceId"]
    kms = boto3.client("kms", region_name=REGION)
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


def _lifecycle_api(rule: dict) -> dict:
    """An AWS::S3::Bucket lifecycle rule in PutBucketLifecycleConfiguration's shape."""
    found = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule["Prefix"]}}
    if "Transitions" in rule:
        found["Transitions"] = [
            {"Days": t["TransitionInDays"], "StorageClass": t["StorageClass"]}
            for t in rule["Transitions"]
        ]
    if "ExpirationInDays" in rule:
        found["Expiration"] = {"Days": rule["ExpirationInDays"]}
    return found


@pytest.mark.parametrize("theirs", [False, True], ids=["empty-vpc", "their-ssm-endpoint-reused"])
def test_plan_against_the_deployed_stack_has_nothing_to_do(vpc, theirs: bool):
    """Issue 15's acceptance: deploy the export (endpoints included), then plan is empty and
    verify finds no error; an endpoint already as plan wants it is reused, not duplicated."""
    from provision.plan import render_plan
    from provision.verify import VerifyTarget, verify

    made = _complete_ssm_endpoint(vpc) if theirs else None
    spec = _with_vpc(vpc)
    text = render_yaml(spec, ACCOUNT, read_network(context(), spec))
    header = text.replace("\n# ", " ")
    assert f"put-public-access-block --account-id {ACCOUNT}" in header
    assert "must allow outbound TCP 443" in header
    assert (f"endpoints as they are (plan does): ssm ({made})" in header) is theirs
    body = yaml.safe_load(text)
    assert ("EndpointSsm" in body["Resources"]) is not theirs
    assert "EndpointSsmmessages" in body["Resources"]
    body["Resources"]["SessionLogGroup"]["Properties"]["kmsKeyId"] = body["Resources"][
        "SessionLogGroup"
    ]["Properties"]["KmsKeyId"]  # moto's AWS::Logs::LogGroup reads the API's spelling
    cfn = boto3.client("cloudformation", region_name=REGION)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cfn.create_stack(
            StackName="session-logging", TemplateBody=json.dumps(moto_compatible(body))
        )
    _complete_what_moto_skips(body, ACCOUNT)
    plan = plan_for(spec)
    assert plan.empty, render_plan(plan)
    assert "vpc endpoint com.amazonaws.ap-northeast-1.ssmmessages" in plan.resources()
    target = VerifyTarget(region=REGION, destination="both", role_name=ROLE, network=spec.network)
    findings = verify(context(), target)
    assert [f.message for f in findings if f.severity == "error"] == []
    ssm = boto3.client("ec2", region_name=REGION).describe_vpc_endpoints(
        Filters=[{"Name": "service-name", "Values": [f"com.amazonaws.{REGION}.ssm"]}]
    )["VpcEndpoints"]
    assert len(ssm) == 1


# -- checkov (issue 15 acceptance: "passes cfn-lint and checkov ... with no failures") ----------
# checkov 3 runs CKV_AWS_338, CKV_AWS_112/113 and a TLS-only policy check on Terraform only;
# tests/checkov_checks ports them to CloudFormation so they judge the export too.
CHECKOV_CHECKS = Path(__file__).parent / "checkov_checks"
LOG_GROUP_CHECKS = {"CKV_AWS_158", "CKV_AWS_66", "CKV_AWS_338"}
BUCKET_CHECKS = {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56", "CKV_CC_S3_TLS"}
DOCUMENT_CHECKS = {"CKV_AWS_112", "CKV_AWS_113"}
KEY_CHECKS = {"CKV_AWS_7"}  # the session-data key is created by default
# provision/resources/scanner_notes.py: each skip carries its reason in the template
DOCUMENTED_SKIPS = {"CKV_AWS_18", "CKV_AWS_21", "CKV_AWS_33", "CKV_AWS_338"}
VPC_ID, SUBNETS = "vpc-0123456789abcdef0", ("subnet-0aaaaaaaaaaaaaaaa", "subnet-0cccccccccccccccc")
ARCHIVE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _export(options: dict, with_vpc: bool = False) -> Callable[[], str]:
    """The export of ``options`` (with the offline VPC's endpoints), rendered when called."""
    if with_vpc:
        options = {**options, "vpc_id": VPC_ID, "subnet": list(SUBNETS)}
    return lambda: render_yaml(
        build_spec(options, REGION, account=ACCOUNT), ACCOUNT, _offline_vpc() if with_vpc else None
    )


def _stackset_member() -> str:
    from provision.stackset import render_member_yaml

    return render_member_yaml({"destination": "both", "role": "ops", "retention_days": 731}, REGION)


EVERYTHING = LOG_GROUP_CHECKS | BUCKET_CHECKS | DOCUMENT_CHECKS | KEY_CHECKS
SCANNED = {  # name → (renders the template, checks that must pass on it)
    "both-create-role-endpoints": (_export(FULL, True), EVERYTHING),
    "cloudwatch-existing-role": (
        _export({"destination": "cloudwatch", "role": "ops"}),
        LOG_GROUP_CHECKS | DOCUMENT_CHECKS | KEY_CHECKS,
    ),
    "s3-sse-s3-lock-endpoints": (
        _export(
            {"destination": "s3", "bucket": "acme-logs", "bucket_encryption": "sse-s3"}
            | {"object_lock_days": 7},
            True,
        ),
        BUCKET_CHECKS | DOCUMENT_CHECKS | KEY_CHECKS,
    ),
    # the other slices' templates: the preset, the central archive and member, the StackSet
    "preset-pci-both": (
        _export({"destination": "both", "preset": "pci-dss-10.5.1", "role": "ops"}),
        EVERYTHING - {"CKV_AWS_338"},  # 90 days in CloudWatch, the year in S3: skipped, why
    ),
    "central-archive": (
        _export({"central_bucket": True, "org_id": "o-abcdefghij"}),
        BUCKET_CHECKS | KEY_CHECKS,
    ),
    "central-member": (
        _export(
            {"destination": "s3", "bucket": "acme-archive", "bucket_account": "210987654321"}
            | {"bucket_kms_key": ARCHIVE_KEY.replace(ACCOUNT, "210987654321"), "role": "ops"}
        ),
        DOCUMENT_CHECKS | KEY_CHECKS,
    ),
    "stackset-member": (_stackset_member, EVERYTHING),
    # the user turned session-data encryption off: checkov must say so (the port is live)
    "cloudwatch-no-session-key": (
        _export({"destination": "cloudwatch", "role": "ops", "session_kms_key_id": "none"}),
        set(),
    ),
}


def _offline_vpc() -> NetworkState:
    """A VPC as network.read returns it: two subnets in two AZs, DNS on, no endpoints yet."""
    subnets = tuple(
        SubnetState(sid, VPC_ID, f"{REGION}{az}", cidr, "rtb-0123456789abcdef0")
        for sid, az, cidr in zip(SUBNETS, "ac", ("10.0.1.0/24", "10.0.2.0/24"), strict=True)
    )
    azs = {s.id: s.az for s in subnets}
    return NetworkState(VPC_ID, True, True, True, subnets, (), (), {}, None, azs)


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """One offline checkov run over every template: per template, the passed check ids, the
    failed (id, resource) pairs and the skipped check ids."""
    folder = tmp_path_factory.mktemp("templates")
    for name, (render, _) in SCANNED.items():
        (folder / f"{name}.yaml").write_text(render())
    dead = "http://127.0.0.1:9"  # --skip-download already; any other fetch fails at once
    env = {**os.environ, "HTTPS_PROXY": dead, "HTTP_PROXY": dead, "LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "checkov.main", "--skip-download"]
    command += ["--framework", "cloudformation", "-o", "json", "-d", str(folder)]
    command += ["--external-checks-dir", str(CHECKOV_CHECKS)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    # 1: the deliberately failing template below; anything else is checkov itself failing
    assert run.returncode == 1 and run.stdout.startswith("{"), run.stderr[-2000:]
    results = json.loads(run.stdout)["results"]
    report: dict[str, dict] = {
        n: {"passed": set(), "failed": [], "skipped": set()} for n in SCANNED
    }
    for kind in ("passed", "failed", "skipped"):
        for check in results.get(f"{kind}_checks", []):
            entry = report[Path(check["file_path"]).stem][kind]
            if kind == "failed":
                entry.append((check["check_id"], check["resource"]))
            else:
                entry.add(check["check_id"])
    return report


@pytest.mark.parametrize("name", [n for n in SCANNED if n != "cloudwatch-no-session-key"])
def test_checkov_finds_no_failure(checkov_report, name: str):
    found = checkov_report[name]
    assert found["failed"] == []
    assert SCANNED[name][1] <= found["passed"], sorted(found["passed"])
    assert found["skipped"] <= DOCUMENTED_SKIPS


def test_checkov_flags_sessions_without_a_session_key(checkov_report):
    """The ported CKV_AWS_112 fails when the user turns session-data encryption off: the check
    judges the template, it does not pass whatever it is given."""
    found = checkov_report["cloudwatch-no-session-key"]
    assert found["failed"] == [("CKV_AWS_112", "AWS::SSM::Document.SessionPreferences")]
    assert {"CKV_AWS_113"} | LOG_GROUP_CHECKS <= found["passed"]


def _skips(resource: dict) -> dict[str, str]:
    return {
        s["id"]: s["comment"]
        for s in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }


def test_checkov_skips_carry_their_reason():
    """Each skip names its check and says why plan builds it so; none hides what it should not:
    a short CloudWatch retention alone, or a key without the organization's statement."""
    found = template(_spec(destination="s3", bucket="acme-logs"), ACCOUNT)["Resources"]
    skips = _skips(found["SessionLogBucket"])
    assert set(skips) == {"CKV_AWS_18", "CKV_AWS_21"}
    assert all(len(why) > 40 for why in skips.values())
    locked = _spec(destination="s3", bucket="acme-logs", object_lock_days=7)
    assert set(_skips(template(locked, ACCOUNT)["Resources"]["SessionLogBucket"])) == {
        "CKV_AWS_18"
    }  # versioning is on with Object Lock
    assert _skips(found["SessionLogsKeyS3"]) == {}
    pci = _spec(destination="both", preset="pci-dss-10.5.1", role="ops")
    group = template(pci, ACCOUNT)["Resources"]["SessionLogGroup"]
    assert "expires after 365 days" in _skips(group)["CKV_AWS_338"]
    alone = _spec(destination="cloudwatch", role="ops", retention_days=90)
    assert _skips(template(alone, ACCOUNT)["Resources"]["SessionLogGroup"]) == {}
    archive = _spec(central_bucket=True, org_id="o-abcdefghij")
    key = template(archive, ACCOUNT)["Resources"]["SessionLogsKeyS3"]
    assert "aws:PrincipalOrgID" in _skips(key)["CKV_AWS_33"]


def test_cfn_lint_passes_with_endpoints():
    """The security group and endpoints as cfn-lint's schema for them wants (errors, warnings)."""
    from cfnlint.api import ManualArgs, lint

    options = {**FULL, "vpc_id": VPC_ID, "subnet": list(SUBNETS)}
    text = render_yaml(build_spec(options, REGION, account=ACCOUNT), ACCOUNT, _offline_vpc())
    matches = lint(text, config=ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []
    assert "EndpointSecurityGroup" in yaml.safe_load(text)["Resources"]
