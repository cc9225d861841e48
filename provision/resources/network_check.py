"""The network checks verify runs: DNS attributes, one endpoint per service in every instance AZ
with private DNS and HTTPS from the subnets, the S3 gateway on their route tables, no duplicates.

Part of the network resource (``network.py`` reads, diffs and tears down).
"""

from __future__ import annotations

from provision.resources.base import ERROR, WARNING, Finding
from provision.resources.network import NetworkState, blocked_cidrs


def check(state: NetworkState, services: list[str], s3_service: str | None) -> list[Finding]:
    vpc = f"vpc {state.vpc_id}"
    if not state.vpc_exists:
        return [Finding(ERROR, "vpc-missing", vpc, "the VPC does not exist", "check --vpc-id")]
    out: list[Finding] = []
    if state.missing_subnets:
        message = f"subnets not in the VPC: {', '.join(state.missing_subnets)}"
        out.append(Finding(ERROR, "subnet-missing", vpc, message, "check --subnet"))
    for attr, on in (
        ("enableDnsSupport", state.dns_support),
        ("enableDnsHostnames", state.dns_hostnames),
    ):
        if not on:
            out.append(
                Finding(
                    ERROR,
                    "vpc-dns",
                    vpc,
                    f"{attr} is off: endpoint private DNS names do not resolve",
                    f"modify-vpc-attribute --{attr.replace('enable', 'enable-').lower()}",
                )
            )
    for service in services:
        out += _check_interface(state, service)
    if s3_service:
        out += _check_gateway(state, s3_service)
    out += [
        Finding(
            WARNING,
            "endpoint-duplicate",
            f"vpc endpoint {ep.service}",
            f"{ep.id} is a second endpoint for {ep.service} (a lost create response): "
            "it costs per hour and per AZ",
            f"aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {ep.id} "
            "(costcompare provision apply removes tagged ones)",
        )
        for ep in state.duplicates()
    ]
    return out


def _check_interface(state: NetworkState, service: str) -> list[Finding]:
    resource = f"vpc endpoint {service}"
    name = service.rsplit(".", 1)[1]
    ep = state.endpoint(service)
    if ep is None:
        stall = " (session start stalls ~2 minutes)" if name == "logs" else ""
        return [
            Finding(
                ERROR,
                "endpoint-missing",
                resource,
                f"no {name} interface endpoint in the VPC{stall}",
                "costcompare provision apply --vpc-id ... --subnet ...",
            )
        ]
    out = []
    covered = {state.subnet_azs.get(s) for s in ep.subnet_ids}
    missing = sorted(az for az in {s.az for s in state.subnets} if az not in covered)
    if missing:
        out.append(
            Finding(
                ERROR,
                "endpoint-az",
                resource,
                f"no endpoint network interface in {', '.join(missing)}",
                "add a subnet in each instance AZ to the endpoint",
            )
        )
    if not ep.private_dns:
        out.append(
            Finding(
                ERROR,
                "endpoint-private-dns",
                resource,
                "private DNS is off: instances still resolve the public endpoint",
                "modify-vpc-endpoint --private-dns-enabled",
            )
        )
    blocked = blocked_cidrs(state, ep, [s.cidr for s in state.subnets])
    if blocked:
        out.append(
            Finding(
                ERROR,
                "endpoint-security-group",
                resource,
                f"security groups do not allow TCP 443 from {', '.join(blocked)}",
                "allow inbound 443 from the instance subnets",
            )
        )
    return out


def _check_gateway(state: NetworkState, service: str) -> list[Finding]:
    resource = f"vpc endpoint {service}"
    ep = state.endpoint(service)
    tables = sorted({s.route_table_id for s in state.subnets if s.route_table_id})
    if ep is None:
        return [
            Finding(
                ERROR,
                "endpoint-missing",
                resource,
                "no S3 gateway endpoint: private subnets cannot upload transcripts",
                "add a gateway endpoint on the subnets' route tables (free)",
            )
        ]
    missing = [t for t in tables if t not in ep.route_table_ids]
    if missing:
        return [
            Finding(
                ERROR,
                "endpoint-route-tables",
                resource,
                f"route tables without the S3 endpoint: {', '.join(missing)}",
                "modify-vpc-endpoint --add-route-table-ids",
            )
        ]
    return []
