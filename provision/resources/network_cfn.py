"""The network resource as CloudFormation: the endpoints' security group, the interface
endpoints and the S3 gateway endpoint, as ``network.diff`` creates them in an empty VPC.

Part of the network resource (``network.py`` reads, diffs and tears down). The subnets' zones,
address ranges and route tables come from the same ``network.read`` plan uses, so the template
holds the very subnet per AZ, ingress ranges and route tables apply would write. What a
template cannot do in a VPC it does not own (turn on DNS attributes, adopt an endpoint made
elsewhere) is refused with the command that fixes it, not silently left out.
"""

from __future__ import annotations

from typing import Any

from provision.errors import PlanError
from provision.resources.base import key_value_tags
from provision.resources.network import (
    SECURITY_GROUP_DESCRIPTION,
    NetworkState,
    one_subnet_per_az,
    route_tables,
    subnet_cidrs,
)
from provision.spec import SECURITY_GROUP_NAME, ProvisionSpec

SECURITY_GROUP_ID = "EndpointSecurityGroup"
# CloudFormation tags what it creates with this key; an endpoint without it was made by hand
# or by 'provision apply', and a second one with private DNS cannot be created beside it.
STACK_TAG = "aws:cloudformation:stack-name"


def logical_id(service: str) -> str:
    """``com.amazonaws.<region>.ssmmessages`` → ``EndpointSsmmessages``."""
    return "Endpoint" + service.rsplit(".", 1)[1].capitalize()


def check_exportable(spec: ProvisionSpec, state: NetworkState) -> None:
    """Refuse a VPC the template cannot complete, as plan refuses an unknown VPC or subnet."""
    want = spec.network
    assert want is not None
    if not state.vpc_exists:
        raise PlanError(f"VPC {want.vpc_id} not found in {spec.region}", "check --vpc-id")
    if state.missing_subnets:
        raise PlanError(
            f"subnet(s) {', '.join(state.missing_subnets)} not found in {want.vpc_id}",
            "check --subnet: each must be in --vpc-id",
        )
    for flag, on in (
        ("enable-dns-support", state.dns_support),
        ("enable-dns-hostnames", state.dns_hostnames),
    ):
        if not on:
            raise PlanError(
                f"{want.vpc_id} has {flag} off and a template cannot change a VPC it does not "
                "own (private DNS of the endpoints needs it)",
                f"aws ec2 modify-vpc-attribute --vpc-id {want.vpc_id} --{flag} "
                "'{\"Value\":true}', then export again (or use 'provision apply')",
            )
    wanted = (*spec.interface_services(), *spec.gateway_services())
    foreign = [ep for s in wanted for ep in state.endpoints_for(s) if STACK_TAG not in ep.tags]
    if foreign:
        names = ", ".join(f"{ep.service.rsplit('.', 1)[1]} ({ep.id})" for ep in foreign)
        raise PlanError(
            f"{want.vpc_id} already has endpoints not made by CloudFormation: {names}",
            "use 'provision apply', which reuses them, or delete them before deploying",
        )


def render_cfn(spec: ProvisionSpec, state: NetworkState) -> dict[str, Any]:
    """The security group and endpoints ``network.diff`` would create from nothing."""
    want = spec.network
    assert want is not None
    resources: dict[str, Any] = {}
    if spec.interface_services():
        resources[SECURITY_GROUP_ID] = _security_group(want.vpc_id, subnet_cidrs(state))
    subnets = list(one_subnet_per_az(state).values())
    group = {"Fn::GetAtt": [SECURITY_GROUP_ID, "GroupId"]}
    for service in spec.interface_services():
        properties = {
            "VpcEndpointType": "Interface",
            "VpcId": want.vpc_id,
            "ServiceName": service,
            "SubnetIds": subnets,
            "SecurityGroupIds": [group],
            "PrivateDnsEnabled": True,
            "Tags": key_value_tags(),
        }
        resources[logical_id(service)] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}
    for service in spec.gateway_services():
        properties = {
            "VpcEndpointType": "Gateway",
            "VpcId": want.vpc_id,
            "ServiceName": service,
            "RouteTableIds": route_tables(state),
            "Tags": key_value_tags(),
        }
        resources[logical_id(service)] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}
    return resources


def _security_group(vpc_id: str, cidrs: list[str]) -> dict[str, Any]:
    """HTTPS in from each instance subnet, under the name plan and verify look the group up by."""
    ingress = [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "CidrIp": cidr,
            "Description": "instance subnet",
        }
        for cidr in cidrs
    ]
    properties = {
        "GroupName": SECURITY_GROUP_NAME,
        "GroupDescription": SECURITY_GROUP_DESCRIPTION,
        "VpcId": vpc_id,
        "SecurityGroupIngress": ingress,
        "Tags": key_value_tags(),
    }
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": properties}
