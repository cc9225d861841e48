"""The network resource as CloudFormation: what ``network.diff`` would create in the VPC (the
endpoints' security group, interface endpoints, the S3 gateway endpoint), rendered from the very
calls plan makes.

Part of the network resource (``network.py`` reads, diffs and tears down). The VPC is read as
plan reads it, with this stack's own endpoints and group left out (a re-export renders them
again); ``network.diff`` then says what plan would do. Creations become resources, built from
the create calls' parameters, so the subnet per AZ, private DNS, route tables and HTTPS ranges
cannot drift from plan. Endpoints someone already made and that need nothing are reused, as plan
reuses them. What a template cannot do in a VPC it does not own (turn DNS attributes on, change
or delete an endpoint or group made elsewhere) is refused with the command that fixes it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from provision.changes import CREATE, UPDATE, Change
from provision.errors import PlanError
from provision.resources import network
from provision.resources.base import key_value_tags
from provision.resources.network import NetworkState
from provision.spec import ProvisionSpec

SECURITY_GROUP_ID = "EndpointSecurityGroup"
# CloudFormation tags what it creates with this key: those are the stack's own, which the
# template holds again; anything without it was made by hand or by 'provision apply'.
STACK_TAG = "aws:cloudformation:stack-name"
_ENDPOINT_PROPERTIES = (
    "VpcEndpointType",
    "VpcId",
    "ServiceName",
    "SubnetIds",
    "SecurityGroupIds",
    "PrivateDnsEnabled",
    "RouteTableIds",
)


def logical_id(service: str) -> str:
    """``com.amazonaws.<region>.ssmmessages`` → ``EndpointSsmmessages``."""
    return "Endpoint" + service.rsplit(".", 1)[1].capitalize()


def check_exportable(spec: ProvisionSpec, state: NetworkState) -> None:
    """Refuse a VPC the template cannot complete: the DNS attributes (plan would turn them on)
    and every change plan would make to what is already there."""
    want = spec.network
    assert want is not None
    if state.vpc_exists and not state.missing_subnets:
        for flag, on in (
            ("enable-dns-support", state.dns_support),
            ("enable-dns-hostnames", state.dns_hostnames),
        ):
            if not on:
                raise PlanError(
                    f"{want.vpc_id} has {flag} off and a template cannot change a VPC it does "
                    "not own (private DNS of the endpoints needs it)",
                    f"aws ec2 modify-vpc-attribute --vpc-id {want.vpc_id} --{flag} "
                    "'{\"Value\":true}', then export again (or use 'provision apply')",
                )
    blocked = [c for c in _plan(spec, state) if c.action != CREATE and _made_elsewhere(c)]
    if blocked:
        what = "; ".join(f"{c.resource}: {c.summary}" for c in blocked)
        raise PlanError(
            f"a template cannot change what is already in {want.vpc_id} ({what})",
            "run 'provision apply' with the same options (it changes them in place), then "
            "export again: the template then reuses them",
        )


def reused(spec: ProvisionSpec, state: NetworkState) -> list[str]:
    """The endpoints made elsewhere that plan (and so the template) uses as they are."""
    own = _without_this_stack(state)
    wanted = (*spec.interface_services(), *spec.gateway_services())
    return [f"{ep.service.rsplit('.', 1)[1]} ({ep.id})" for s in wanted if (ep := own.endpoint(s))]


def render_cfn(spec: ProvisionSpec, state: NetworkState) -> dict[str, Any]:
    """The security group and endpoints plan would create, from its own create calls."""
    calls = [c.call for c in _plan(spec, state) if c.action in (CREATE, UPDATE) and c.call]
    resources: dict[str, Any] = {}
    for call in calls:
        if call.operation == "create_security_group":
            resources[SECURITY_GROUP_ID] = _security_group(call.params, calls)
        elif call.operation == "create_vpc_endpoint":
            properties = {k: call.params[k] for k in _ENDPOINT_PROPERTIES if k in call.params}
            if "SecurityGroupIds" in properties:
                properties["SecurityGroupIds"] = [_group(g) for g in properties["SecurityGroupIds"]]
            properties["Tags"] = key_value_tags()
            resource = {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}
            resources[logical_id(call.params["ServiceName"])] = resource
    return resources


def _plan(spec: ProvisionSpec, state: NetworkState) -> list[Change]:
    return network.diff(spec, _without_this_stack(state))


def _without_this_stack(state: NetworkState) -> NetworkState:
    """The VPC as if this stack's endpoints and group were not there yet."""
    group = state.tool_security_group
    return dataclasses.replace(
        state,
        endpoints=tuple(e for e in state.endpoints if STACK_TAG not in e.tags),
        tool_security_group=None if group is None or STACK_TAG in group.tags else group,
    )


def _made_elsewhere(change: Change) -> bool:
    """A change to something that exists (not the ingress of the group plan creates now)."""
    call = change.call
    params = call.params if call else {}
    return not str(params.get("GroupId", "")).startswith("(known after apply")


def _group(group_id: str) -> Any:
    """The group plan would create is this template's; an existing one is used by its id."""
    if group_id.startswith("(known after apply"):
        return {"Fn::GetAtt": [SECURITY_GROUP_ID, "GroupId"]}
    return group_id


def _security_group(params: dict[str, Any], calls: list[Any]) -> dict[str, Any]:
    """create_security_group plus the ingress plan authorizes on it, as one resource."""
    ingress = [
        {
            "IpProtocol": permission["IpProtocol"],
            "FromPort": permission["FromPort"],
            "ToPort": permission["ToPort"],
            "CidrIp": ip_range["CidrIp"],
            "Description": ip_range["Description"],
        }
        for call in calls
        if call.operation == "authorize_security_group_ingress"
        for permission in call.params["IpPermissions"]
        for ip_range in permission["IpRanges"]
    ]
    properties = {
        "GroupName": params["GroupName"],
        "GroupDescription": params["Description"],
        "VpcId": params["VpcId"],
        "SecurityGroupIngress": ingress,
        "Tags": key_value_tags(),
    }
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": properties}
