"""The organization's central log-archive bucket: the organization id, and the cross-account
pitfalls verify looks for on each side.

The bucket itself, its key and its policy are the ``bucket`` and ``kms_key`` resources with
the organization grants of ``policies.org_bucket_statements``/``org_key_statement`` added; this
module holds what only the central setup needs. Pitfalls (field notes, "Organisations"):

- ACLs: the agent uploads without ``bucket-owner-full-control`` (amazon-ssm-agent #197), so
  unless object ownership is BucketOwnerEnforced the transcripts belong to the member accounts;
- the key: an AWS managed key (aws/s3) cannot be shared, and a customer key must grant the
  members' roles GenerateDataKey through S3;
- the bucket policy must also allow ``s3:GetEncryptionConfiguration``, which the agent calls
  before each session ("encryption is not set up" otherwise, #198/#212/#229);
- a member in another region reaches the home-region bucket only through a route out of its
  VPC: its S3 gateway endpoint serves its own region only (LZA #896).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from provision import policies
from provision.aws import AwsContext, error_code
from provision.errors import PlanError
from provision.policy_eval import UnsupportedPolicy, allows, principal_request
from provision.resources import bucket as bucket_resource
from provision.resources.base import ERROR, WARNING, Finding
from provision.resources.bucket import BucketState
from provision.resources.kms_key import KeyState

# A role of an account inside the organization, and one outside it, to probe policies with.
PROBE_ROLE = "arn:{partition}:iam::{account}:role/ssm-instance-role"
PROBE_MEMBER, PROBE_OUTSIDER = "111111111111", "222222222222"
OUTSIDE_ORG = "o-outsider000"


def organization_id(ctx: AwsContext) -> str:
    """The organization this account belongs to (organizations:DescribeOrganization)."""
    try:
        return ctx.client("organizations").describe_organization()["Organization"]["Id"]
    except Exception as exc:
        code = error_code(exc)
        if code == "AWSOrganizationsNotInUseException":
            raise PlanError(
                "this account is not in an AWS Organization",
                "run it in the organization's log-archive account, or pass --org-id o-…",
            ) from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise PlanError(
                "cannot read the organization id (organizations:DescribeOrganization denied)",
                "pass --org-id o-… (the management account shows it)",
            ) from None
        raise


def granted_prefix(ctx: AwsContext, name: str) -> str | None:
    """The key prefix the archive's own organization grant names, or None (no bucket, no
    policy, no grant of ours). Plan and apply keep it when --key-prefix is not given: writing
    the default instead would move the grant and refuse every member's uploads."""
    from provision.resources.base import as_json, try_read

    found = try_read(lambda: ctx.client("s3").get_bucket_policy(Bucket=name))
    return policies.org_grant_prefix(as_json(found["Policy"])) if found else None


def probe_request(action: str, resource: str, account: str, org_id: str | None, **context):
    """A request by an instance role of ``account`` (in ``org_id``, or in no organization)."""
    partition = resource.split(":")[1] if resource.startswith("arn:") else "aws"
    role = PROBE_ROLE.format(partition=partition, account=account)
    return principal_request(action, resource, role, org_id, **context)


# -- check: the log-archive side -----------------------------------------------------------------
def check_central(
    state: BucketState | None, key: KeyState | None, org_id: str, key_prefix: str, name: str
) -> list[Finding]:
    """The bucket, its policy and its key, as member accounts' agents will meet them."""
    resource = bucket_resource.resource_name(name)
    if state is None:
        return [
            Finding(
                ERROR,
                "central-bucket-missing",
                resource,
                "the central bucket does not exist",
                "costcompare provision apply --central-bucket",
            )
        ]
    out = _ownership(state, resource)
    out += _judged(lambda: _bucket_policy(state, org_id, key_prefix, resource), resource, "bucket")
    where = f"kms key {key.arn}" if key is not None else resource
    return out + _judged(lambda: _key(state, key, org_id), where, "key")


def _judged(check: Callable[[], list[Finding]], resource: str, what: str) -> list[Finding]:
    """The check's findings; a warning, not a traceback, when the policy uses an element the
    evaluator does not model (NotPrincipal, numeric or date conditions…)."""
    try:
        return check()
    except UnsupportedPolicy as exc:
        return [
            Finding(
                WARNING,
                "central-policy-not-evaluated",
                resource,
                f"the {what} policy uses what verify does not evaluate ({exc}): whether member "
                "accounts may upload through it was not checked",
                "check that statement by hand (IAM Access Analyzer's policy validation helps)",
            )
        ]


def _ownership(state: BucketState, resource: str) -> list[Finding]:
    if state.ownership == "BucketOwnerEnforced":
        return []
    return [
        Finding(
            ERROR,
            "central-bucket-acls",
            resource,
            f"object ownership is {state.ownership or 'unset'}: the agent uploads without the "
            "bucket-owner-full-control ACL (amazon-ssm-agent #197), so member accounts' "
            "transcripts stay theirs and this account cannot read them",
            f"aws s3api put-bucket-ownership-controls --bucket {state.name} "
            "--ownership-controls Rules=[{ObjectOwnership=BucketOwnerEnforced}]",
        )
    ]


def _bucket_policy(
    state: BucketState, org_id: str, key_prefix: str, resource: str
) -> list[Finding]:
    arn = policies.bucket_arn(state.region, state.name)
    prefix = f"{key_prefix}/" if key_prefix else ""

    def put_by(account: str, org: str | None) -> bool:
        target = f"{arn}/{prefix}{account}/session-id.log"
        return allows(state.policy, probe_request("s3:PutObject", target, account, org))

    out = []
    if not put_by(PROBE_MEMBER, org_id):
        out.append(
            Finding(
                ERROR,
                "central-policy-no-org-upload",
                resource,
                f"the bucket policy does not let principals of {org_id} put objects under "
                f"{prefix}<their account>/: member sessions' transcripts are lost",
                "costcompare provision apply --central-bucket (adds the aws:PrincipalOrgID grant)",
            )
        )
    check = probe_request("s3:GetEncryptionConfiguration", arn, PROBE_MEMBER, org_id)
    if not allows(state.policy, check):
        out.append(
            Finding(
                ERROR,
                "central-policy-no-encryption-check",
                resource,
                "the bucket policy does not allow s3:GetEncryptionConfiguration to the "
                "organization: the agent checks encryption before each session and refuses "
                'to start ("encryption is not set up")',
                "allow s3:GetEncryptionConfiguration on the bucket under aws:PrincipalOrgID",
            )
        )
    if put_by(PROBE_OUTSIDER, OUTSIDE_ORG) or put_by(PROBE_OUTSIDER, None):
        out.append(
            Finding(
                ERROR,
                "central-policy-open",
                resource,
                "the bucket policy lets principals outside the organization put objects",
                'limit the grant with Condition StringEquals "aws:PrincipalOrgID"',
            )
        )
    return out


def _key(state: BucketState, key: KeyState | None, org_id: str) -> list[Finding]:
    resource = bucket_resource.resource_name(state.name)
    if state.sse_algorithm != "aws:kms":
        return []
    if not state.sse_key or "alias/aws/" in state.sse_key:
        return [
            Finding(
                ERROR,
                "central-key-aws-managed",
                resource,
                "the bucket encrypts with the AWS managed key aws/s3, whose policy cannot "
                "grant other accounts: member uploads fail",
                "encrypt with a customer managed key (costcompare provision apply "
                "--central-bucket creates one)",
            )
        ]
    if key is None:
        return [
            Finding(
                ERROR,
                "central-key-missing",
                resource,
                f"the bucket's key {state.sse_key} cannot be read",
                "check the key exists in this account and region",
            )
        ]
    arn = policies.bucket_arn(state.region, state.name)
    request = probe_request(
        "kms:GenerateDataKey",
        key.arn,
        PROBE_MEMBER,
        org_id,
        kms__ViaService=f"s3.{state.region}.amazonaws.com",
        **{"kms__EncryptionContext:aws:s3:arn": arn},
    )
    if allows(key.policy, request):
        return []
    return [
        Finding(
            ERROR,
            "central-key-no-org-grant",
            f"kms key {key.arn}",
            f"the key policy does not grant kms:GenerateDataKey to principals of {org_id}: "
            "S3 cannot encrypt member uploads with it",
            "costcompare provision apply --central-bucket (adds the organization grant)",
        )
    ]


# -- check: a member account ---------------------------------------------------------------------
def check_member(inputs: Mapping[str, Any], name: str, account: str) -> list[Finding]:
    """The preferences of a member account that sends its transcripts to the central bucket."""
    resource = bucket_resource.resource_name(name)
    out = []
    target = str(inputs.get("s3BucketName") or "")
    if target != name:
        out.append(
            Finding(
                ERROR,
                "member-not-central",
                "preferences document SSM-SessionManagerRunShell",
                f"s3BucketName is {target or '(empty)'!r}, not the central bucket {name}",
                f"costcompare provision apply -d s3 --bucket {name} --bucket-account …",
            )
        )
    prefix = str(inputs.get("s3KeyPrefix") or "")
    if target == name and prefix.rsplit("/", 1)[-1] != account:
        out.append(
            Finding(
                ERROR,
                "member-prefix-not-own-account",
                resource,
                f"s3KeyPrefix {prefix!r} does not end with this account's id: the central "
                "bucket policy accepts uploads only under <prefix>/<account id>/",
                f"set s3KeyPrefix to session-logs/{account} (the default of --bucket-account)",
            )
        )
    if inputs.get("s3EncryptionEnabled") not in (True, "true") and target == name:
        out.append(
            Finding(
                WARNING,
                "member-encryption-check-off",
                resource,
                "s3EncryptionEnabled is false: uploads are not checked against the bucket's "
                "default encryption",
                "set it true (the bucket policy allows s3:GetEncryptionConfiguration)",
            )
        )
    return out


def check_region_path(
    ctx: AwsContext, home: str, name: str, vpc_id: str | None, subnets: Iterable[str]
) -> list[Finding]:
    """A bucket in another region is reachable only through a route out of the VPC."""
    if home == ctx.region:
        return []
    resource = bucket_resource.resource_name(name)
    why = (
        f"the bucket is in {home}, this account logs from {ctx.region}: the S3 gateway "
        f"endpoint of {ctx.region} does not reach it (LZA #896)"
    )
    fix = (
        "give the instance subnets a route out (NAT gateway, internet gateway or transit "
        f"gateway), or use a log bucket in {ctx.region}"
    )
    if vpc_id is None:
        message = f"{why}; give --vpc-id/--subnet to check the instances' route to it"
        return [Finding(WARNING, "central-bucket-other-region", resource, message, fix)]
    ec2 = ctx.client("ec2")
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    blocked = [s for s in subnets if not _routes_out(tables["RouteTables"], s)]
    if not blocked:
        return []
    message = f"{why}, and subnet(s) {', '.join(blocked)} have no route out: uploads fail"
    return [Finding(ERROR, "central-bucket-no-path", resource, message, fix)]


def _routes_out(tables: list[dict[str, Any]], subnet: str) -> bool:
    """Whether the subnet's route table (its own, else the VPC's main one) has an active
    0.0.0.0/0 route: whatever its target (NAT gateway or instance, internet or transit gateway,
    a peered egress VPC, a firewall endpoint), traffic leaves the VPC; a blackhole does not."""
    own = [t for t in tables if any(a.get("SubnetId") == subnet for a in t.get("Associations", []))]
    main = [t for t in tables if any(a.get("Main") for a in t.get("Associations", []))]
    for table in own or main:
        for route in table.get("Routes", []):
            default = route.get("DestinationCidrBlock") == "0.0.0.0/0"
            if default and route.get("GatewayId") != "local":
                return route.get("State", "active") == "active"
    return False
