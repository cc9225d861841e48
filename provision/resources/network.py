"""The instances' VPC: DNS attributes, the endpoints' security group, interface and gateway
endpoints. Read, diff, check, teardown.

CreateVpcEndpoint carries a ClientToken, so botocore's own retry of a call whose response was
lost cannot create a second endpoint; an extra tagged endpoint for a service (an older race) is
removed by apply and reported by verify.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.aws import AwsContext
from provision.changes import CREATE, REMOVE, UPDATE, Call, Change, FieldChange, is_managed
from provision.changes import known_after_apply as _placeholder
from provision.errors import PlanError
from provision.resources.base import tag_spec, try_read
from provision.spec import SECURITY_GROUP_NAME, ProvisionSpec

SG_PLACEHOLDER = "security-group.id"
SECURITY_GROUP_DESCRIPTION = "costcompare: HTTPS from instance subnets to SSM endpoints"
_DEAD = ("deleted", "deleting", "failed", "rejected")


@dataclass(frozen=True)
class SubnetState:
    id: str
    vpc_id: str
    az: str
    cidr: str
    route_table_id: str | None


@dataclass(frozen=True)
class EndpointState:
    id: str
    service: str
    type: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    private_dns: bool
    route_table_ids: tuple[str, ...]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class SecurityGroupState:
    id: str
    name: str
    ingress_443_cidrs: tuple[str, ...]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class NetworkState:
    vpc_id: str
    vpc_exists: bool
    dns_support: bool
    dns_hostnames: bool
    subnets: tuple[SubnetState, ...]
    missing_subnets: tuple[str, ...]
    endpoints: tuple[EndpointState, ...]
    security_groups: Mapping[str, SecurityGroupState]  # by id: the tool's and the endpoints'
    tool_security_group: SecurityGroupState | None
    subnet_azs: Mapping[str, str]  # every subnet of the VPC → its AZ (endpoints may use others)

    def endpoints_for(self, service: str) -> list[EndpointState]:
        """The service's endpoints, the tool's own first."""
        found = [e for e in self.endpoints if e.service == service]
        return sorted(found, key=lambda e: not is_managed(e.tags))

    def endpoint(self, service: str) -> EndpointState | None:
        found = self.endpoints_for(service)
        return found[0] if found else None

    def duplicates(self) -> list[EndpointState]:
        """Endpoints beyond the first for a service: a lost CreateVpcEndpoint response."""
        services = dict.fromkeys(e.service for e in self.endpoints)
        return [ep for service in services for ep in self.endpoints_for(service)[1:]]


# -- read ----------------------------------------------------------------------------------------
def read(ctx: AwsContext, vpc_id: str, subnet_ids: tuple[str, ...]) -> NetworkState:
    ec2 = ctx.client("ec2")
    vpcs = try_read(lambda: ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]) or []
    if not vpcs:
        return NetworkState(vpc_id, False, False, False, (), subnet_ids, (), {}, None, {})
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    found = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    by_id = {s["SubnetId"]: s for s in found}
    tables = _route_tables(ec2.describe_route_tables(Filters=in_vpc)["RouteTables"])
    subnets = tuple(
        SubnetState(
            id=sid,
            vpc_id=vpc_id,
            az=by_id[sid]["AvailabilityZone"],
            cidr=by_id[sid]["CidrBlock"],
            route_table_id=tables.get(sid, tables.get("main")),
        )
        for sid in subnet_ids
        if sid in by_id
    )
    endpoints = tuple(
        _endpoint(e)
        for e in ec2.describe_vpc_endpoints(Filters=in_vpc)["VpcEndpoints"]
        if e.get("State", "available").lower() not in _DEAD
    )
    group_ids = {g for e in endpoints for g in e.security_group_ids}
    groups = ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    states = {
        g["GroupId"]: _security_group(g)
        for g in groups
        if g["GroupId"] in group_ids or g["GroupName"] == SECURITY_GROUP_NAME
    }
    return NetworkState(
        vpc_id=vpc_id,
        vpc_exists=True,
        dns_support=_attribute(ec2, vpc_id, "enableDnsSupport"),
        dns_hostnames=_attribute(ec2, vpc_id, "enableDnsHostnames"),
        subnets=subnets,
        missing_subnets=tuple(s for s in subnet_ids if s not in by_id),
        endpoints=endpoints,
        security_groups=states,
        tool_security_group=next(
            (g for g in states.values() if g.name == SECURITY_GROUP_NAME), None
        ),
        subnet_azs={s["SubnetId"]: s["AvailabilityZone"] for s in found},
    )


def _attribute(ec2: Any, vpc_id: str, name: str) -> bool:
    key = name[0].upper() + name[1:]
    return bool(ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[key]["Value"])


def _route_tables(tables: list[Mapping[str, Any]]) -> dict[str, str]:
    """Subnet id → its route table; "main" → the VPC's main table."""
    found = {}
    for table in tables:
        for assoc in table.get("Associations", []):
            if assoc.get("Main"):
                found["main"] = table["RouteTableId"]
            elif assoc.get("SubnetId"):
                found[assoc["SubnetId"]] = table["RouteTableId"]
    return found


def _endpoint(e: Mapping[str, Any]) -> EndpointState:
    return EndpointState(
        id=e["VpcEndpointId"],
        service=e["ServiceName"],
        type=e["VpcEndpointType"],
        subnet_ids=tuple(e.get("SubnetIds", [])),
        security_group_ids=tuple(g["GroupId"] for g in e.get("Groups", [])),
        private_dns=bool(e.get("PrivateDnsEnabled", False)),
        route_table_ids=tuple(e.get("RouteTableIds", [])),
        tags=_ec2_tags(e),
    )


def _security_group(group: Mapping[str, Any]) -> SecurityGroupState:
    cidrs = []
    for perm in group.get("IpPermissions", []):
        proto = str(perm.get("IpProtocol"))
        covers = proto == "-1" or (
            proto in ("tcp", "6") and perm.get("FromPort", 0) <= 443 <= perm.get("ToPort", 65535)
        )
        if covers:
            cidrs += [r["CidrIp"] for r in perm.get("IpRanges", [])]
    return SecurityGroupState(
        id=group["GroupId"],
        name=group["GroupName"],
        ingress_443_cidrs=tuple(dict.fromkeys(cidrs)),
        tags=_ec2_tags(group),
    )


def _ec2_tags(resource: Mapping[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", []) or []}


# -- diff ----------------------------------------------------------------------------------------
def diff(spec: ProvisionSpec, state: NetworkState) -> list[Change]:
    want = spec.network
    assert want is not None
    if not state.vpc_exists:
        raise PlanError(f"VPC {want.vpc_id} not found in {spec.region}", "check --vpc-id")
    if state.missing_subnets:
        raise PlanError(
            f"subnet(s) {', '.join(state.missing_subnets)} not found in {want.vpc_id}",
            "check --subnet: each must be in --vpc-id",
        )
    changes = _dns(want.vpc_id, state)
    cidrs = subnet_cidrs(state)
    needs_group = [
        service
        for service in spec.interface_services()
        if (ep := state.endpoint(service)) is None or blocked_cidrs(state, ep, cidrs)
    ]
    group = state.tool_security_group
    group_id = group.id if group else _placeholder(SG_PLACEHOLDER)
    changes += _security_group_changes(want.vpc_id, group, bool(needs_group), cidrs)
    for service in spec.interface_services():
        changes += _interface(want.vpc_id, service, state, group_id, service in needs_group)
    for service in spec.gateway_services():
        changes += _gateway(want.vpc_id, service, state)
    wanted = set(spec.interface_services()) | set(spec.gateway_services())
    changes += [
        _delete_endpoints(f"vpc endpoint {ep.service}", [ep], "duplicate endpoint (lost response)")
        for ep in state.duplicates()
        if ep.service in wanted and is_managed(ep.tags)
    ]
    return changes


def _dns(vpc_id: str, state: NetworkState) -> list[Change]:
    changes = []
    for attr, on in (
        ("EnableDnsSupport", state.dns_support),
        ("EnableDnsHostnames", state.dns_hostnames),
    ):
        if not on:
            changes.append(
                Change(
                    f"vpc {vpc_id}",
                    UPDATE,
                    f"turn on {attr} (private DNS of interface endpoints needs it)",
                    (FieldChange(attr, False, True),),
                    Call("ec2", "modify_vpc_attribute", {"VpcId": vpc_id, attr: {"Value": True}}),
                )
            )
    return changes


def _security_group_changes(vpc_id: str, group, needed: bool, cidrs: list[str]) -> list[Change]:
    resource = f"security group {SECURITY_GROUP_NAME}"
    changes = []
    group_id = group.id if group else _placeholder(SG_PLACEHOLDER)
    if needed and group is None:
        params = {
            "GroupName": SECURITY_GROUP_NAME,
            "Description": SECURITY_GROUP_DESCRIPTION,
            "VpcId": vpc_id,
            "TagSpecifications": [tag_spec("security-group")],
        }
        call = Call("ec2", "create_security_group", params, group_id, ("GroupId",))
        summary = "security group for the interface endpoints"
        changes.append(Change(resource, CREATE, summary, (FieldChange("vpc", None, vpc_id),), call))
    if not needed and group is None:
        return changes
    have = group.ingress_443_cidrs if group else ()
    missing = [c for c in cidrs if not cidr_covered(c, have)]
    if missing:
        ranges = [{"CidrIp": c, "Description": "instance subnet"} for c in missing]
        permission = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": ranges}
        changes.append(
            Change(
                resource,
                UPDATE,
                "allow HTTPS (443) from the instance subnets",
                (FieldChange("ingress_443", list(have), [*have, *missing]),),
                Call(
                    "ec2",
                    "authorize_security_group_ingress",
                    {"GroupId": group_id, "IpPermissions": [permission]},
                    ok_codes=("InvalidPermission.Duplicate",),
                ),
            )
        )
    return changes


def one_subnet_per_az(state: NetworkState) -> dict[str, str]:
    """AZ → the first given subnet in it: an interface endpoint takes one subnet per AZ."""
    per_az: dict[str, str] = {}
    for subnet in state.subnets:
        per_az.setdefault(subnet.az, subnet.id)
    return per_az


def _interface(vpc_id, service, state: NetworkState, group_id, needs_group) -> list[Change]:
    resource = f"vpc endpoint {service}"
    per_az = one_subnet_per_az(state)
    ep = state.endpoint(service)
    if ep is None:
        params = {
            "VpcEndpointType": "Interface",
            "VpcId": vpc_id,
            "ServiceName": service,
            "SubnetIds": list(per_az.values()),
            "SecurityGroupIds": [group_id],
            "PrivateDnsEnabled": True,
            "TagSpecifications": [tag_spec("vpc-endpoint")],
            "ClientToken": str(uuid.uuid4()),
        }
        fields = (
            FieldChange("subnets", None, list(per_az.values())),
            FieldChange("private_dns", None, True),
        )
        summary = "interface endpoint in each instance AZ, private DNS on"
        return [
            Change(resource, CREATE, summary, fields, Call("ec2", "create_vpc_endpoint", params))
        ]
    covered = {state.subnet_azs.get(s) for s in ep.subnet_ids}
    add_subnets = [sid for az, sid in per_az.items() if az not in covered]
    params: dict[str, Any] = {"VpcEndpointId": ep.id}
    fields_: list[FieldChange] = []
    if add_subnets:
        params["AddSubnetIds"] = add_subnets
        fields_.append(FieldChange("subnets", list(ep.subnet_ids), [*ep.subnet_ids, *add_subnets]))
    if not ep.private_dns:
        params["PrivateDnsEnabled"] = True
        fields_.append(FieldChange("private_dns", False, True))
    if needs_group and group_id not in ep.security_group_ids:
        params["AddSecurityGroupIds"] = [group_id]
        groups = list(ep.security_group_ids)
        fields_.append(FieldChange("security_groups", groups, [*groups, group_id]))
    if not fields_:
        return []
    summary = "cover every instance AZ, private DNS on, HTTPS from the subnets"
    call = Call("ec2", "modify_vpc_endpoint", params)
    return [Change(resource, UPDATE, summary, tuple(fields_), call)]


def _gateway(vpc_id: str, service: str, state: NetworkState) -> list[Change]:
    resource = f"vpc endpoint {service}"
    tables = route_tables(state)
    ep = state.endpoint(service)
    if ep is None:
        params = {
            "VpcEndpointType": "Gateway",
            "VpcId": vpc_id,
            "ServiceName": service,
            "RouteTableIds": tables,
            "TagSpecifications": [tag_spec("vpc-endpoint")],
            "ClientToken": str(uuid.uuid4()),
        }
        summary = "S3 gateway endpoint on the subnets' route tables (free)"
        field = FieldChange("route_tables", None, tables)
        return [
            Change(resource, CREATE, summary, (field,), Call("ec2", "create_vpc_endpoint", params))
        ]
    add = [t for t in tables if t not in ep.route_table_ids]
    if not add:
        return []
    field = FieldChange("route_tables", list(ep.route_table_ids), [*ep.route_table_ids, *add])
    call = Call("ec2", "modify_vpc_endpoint", {"VpcEndpointId": ep.id, "AddRouteTableIds": add})
    return [Change(resource, UPDATE, "add the subnets' route tables", (field,), call)]


def subnet_cidrs(state: NetworkState) -> list[str]:
    """The instance subnets' address ranges: what the endpoints' security group admits on 443."""
    return list(dict.fromkeys(s.cidr for s in state.subnets))


def route_tables(state: NetworkState) -> list[str]:
    """The instance subnets' route tables, in subnet order: the S3 gateway endpoint's routes."""
    return list(dict.fromkeys(s.route_table_id for s in state.subnets if s.route_table_id))


def _delete_endpoints(resource: str, endpoints: list[EndpointState], why: str) -> Change:
    ids = [e.id for e in endpoints]
    return Change(
        resource,
        REMOVE,
        f"{why}: delete {', '.join(ids)}",
        (FieldChange("endpoints", ids, None),),
        Call("ec2", "delete_vpc_endpoints", {"VpcEndpointIds": ids}),
    )


def blocked_cidrs(state: NetworkState, ep: EndpointState, cidrs: list[str]) -> list[str]:
    """Subnet CIDRs the endpoint's security groups together do not admit on TCP 443."""
    have = [
        c
        for g in ep.security_group_ids
        if g in state.security_groups
        for c in state.security_groups[g].ingress_443_cidrs
    ]
    return [c for c in cidrs if not cidr_covered(c, have)]


def cidr_covered(cidr: str, allowed: tuple[str, ...] | list[str]) -> bool:
    net = ipaddress.ip_network(cidr, strict=False)
    for item in allowed:
        other = ipaddress.ip_network(item, strict=False)
        if net.version == other.version and net.subnet_of(other):  # type: ignore[arg-type]
            return True
    return False


# -- teardown ------------------------------------------------------------------------------------
def teardown(state: NetworkState) -> tuple[list[Change], list[str]]:
    """Tagged endpoints go; the tool's security group is detached from others' endpoints and
    deleted. Untagged endpoints stay."""
    ours = [e for e in state.endpoints if is_managed(e.tags)]
    kept = [f"vpc endpoint {e.service}: not tagged" for e in state.endpoints if e not in ours]
    changes = []
    if ours:
        names = ", ".join(e.service.rsplit(".", 1)[1] for e in ours)
        changes.append(_delete_endpoints(f"vpc {state.vpc_id}", ours, f"endpoints {names}"))
    group = state.tool_security_group
    if group is None or not is_managed(group.tags):
        return changes, kept
    for ep in state.endpoints:
        if ep not in ours and group.id in ep.security_group_ids:
            params = {"VpcEndpointId": ep.id, "RemoveSecurityGroupIds": [group.id]}
            changes.append(
                Change(
                    f"vpc endpoint {ep.service}",
                    UPDATE,
                    f"detach security group {group.id} (their endpoint stays)",
                    (),
                    Call("ec2", "modify_vpc_endpoint", params),
                )
            )
    call = Call(
        "ec2", "delete_security_group", {"GroupId": group.id}, ok_codes=("InvalidGroup.NotFound",)
    )
    changes.append(Change(f"security group {group.name}", REMOVE, "delete it", (), call))
    return changes, kept
