"""Shared helpers for the provision tests (no tests here): a moto account, call recording.

Kept in a test_provision_* module because the provision tests own no other test files; the other
modules import it by name (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from provision.apply import apply_plan
from provision.aws import AwsContext
from provision.changes import Plan
from provision.observe import observe
from provision.plan import make_plan
from provision.policies import MANAGED_INSTANCE_CORE
from provision.spec import ProvisionSpec, build_spec

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
ROLE = "ssm-instance-role"
READ_PREFIXES = ("Describe", "Get", "List", "Head")


@dataclass(frozen=True)
class Account:
    """A moto account with a VPC, two private subnets in two AZs and an instance role."""

    vpc_id: str
    subnet_ids: tuple[str, str]
    cidrs: tuple[str, str]
    route_table_id: str


@pytest.fixture(name="account")
def account_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """Import ``account_fixture`` into a test module to use the ``account`` fixture."""
    fast_moto(monkeypatch)
    with mock_aws():
        yield make_account()


@pytest.fixture(name="bare")
def bare_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A moto account with only the instance role: for tests that need no VPC (faster)."""
    fast_moto(monkeypatch)
    with mock_aws():
        boto3.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")
        yield


def fast_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto without the per-account bulk loads these tests do not need, but with the one AWS
    managed policy apply attaches.

    EC2 loads thousands of AMIs per account (~1 s): off. IAM knows AWS managed policies only
    with MOTO_IAM_LOAD_MANAGED_POLICIES, and then parses and builds ~1,500 of them per mock
    (~1 s); apply attaches AmazonSSMManagedInstanceCore, so it is loaded, alone (a few ms).
    Also covers a moto server thread (ThreadedMotoServer) in this process.
    """
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    monkeypatch.setattr("moto.iam.models.aws_managed_policies_data", _managed_policies_data())


@functools.cache
def _managed_policies_data() -> str:
    """moto's own entry for AmazonSSMManagedInstanceCore (real document), as moto's JSON text."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    every = json.loads(aws_managed_policies_data)
    return json.dumps({MANAGED_INSTANCE_CORE: every[MANAGED_INSTANCE_CORE]})


def make_account() -> Account:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=REGION + az)["Subnet"]
        for cidr, az in (("10.0.1.0/24", "a"), ("10.0.2.0/24", "c"))
    ]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    boto3.client("iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")
    return Account(
        vpc_id=vpc,
        subnet_ids=(subnets[0]["SubnetId"], subnets[1]["SubnetId"]),
        cidrs=("10.0.1.0/24", "10.0.2.0/24"),
        route_table_id=tables["RouteTables"][0]["RouteTableId"],
    )


def full_options(account: Account, destination: str, **extra) -> dict:
    options = {
        "destination": destination,
        "role": ROLE,
        "vpc_id": account.vpc_id,
        "subnet": list(account.subnet_ids),
    }
    if destination != "cloudwatch":
        options["bucket"] = "session-logs-test"
    options.update(extra)
    return options


def spec_for(account: Account, destination: str, **extra) -> ProvisionSpec:
    return build_spec(full_options(account, destination, **extra), REGION)


@dataclass
class Recorder:
    """Hooks every client an AwsContext makes: records write calls, can inject one fault.

    ``fail_at`` is the 1-based write call to fail; ``when`` is "before" (AWS never sees the
    call) or "after" (AWS did it, the response is lost — the case that breeds duplicates).
    """

    fail_at: int | None = None
    when: str = "before"
    code: str = "AccessDenied"
    writes: list[str] = field(default_factory=list)

    def __call__(self, client) -> None:
        client.meta.events.register("before-call.*.*", self._before)
        client.meta.events.register("after-call.*.*", self._after)

    def _before(self, model, **_):
        if model.name.startswith(READ_PREFIXES):
            return None
        self.writes.append(model.name)
        if self.when == "before" and len(self.writes) == self.fail_at:
            raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, model.name)
        return None

    def _after(self, model, **_):
        if model.name.startswith(READ_PREFIXES):
            return
        if self.when == "after" and len(self.writes) == self.fail_at:
            raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, model.name)


def context(recorder: Recorder | None = None) -> AwsContext:
    return AwsContext(REGION, on_client=recorder)


def plan_for(spec: ProvisionSpec, ctx: AwsContext | None = None) -> Plan:
    ctx = ctx or context()
    return make_plan(spec, observe(ctx, spec))


def apply(spec: ProvisionSpec, recorder: Recorder | None = None) -> list[str]:
    """Plan and apply; returns the write calls made (reads excluded)."""
    recorder = recorder or Recorder()
    ctx = context(recorder)
    apply_plan(ctx, spec, make_plan(spec, observe(ctx, spec)))
    return recorder.writes


# -- templates as moto's CloudFormation can deploy them --------------------------------------
def moto_compatible(body: dict) -> dict:
    """Three moto 5.2 CloudFormation gaps, worked around in the tests only (the template is
    right for AWS, as cfn-lint confirms): KMS key tags are read as TagKey/TagValue, and a key
    policy and an SSM document's Content must be JSON text (the content's key ARN then comes
    through Fn::Sub, which moto resolves)."""
    body = copy.deepcopy(body)
    for resource in body["Resources"].values():
        props = resource["Properties"]
        if resource["Type"] == "AWS::KMS::Key":
            props["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props["Tags"]]
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        if resource["Type"] == "AWS::SSM::Document":
            props["Content"] = {"Fn::Sub": with_sub_references(props["Content"])}
    return body


def with_sub_references(content: dict) -> str:
    """The content as JSON text, each ``Fn::GetAtt`` in it turned into a ``${Name.Attr}``."""
    inputs = dict(content["inputs"])
    for name, value in inputs.items():
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            inputs[name] = "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return json.dumps({**content, "inputs": inputs})
