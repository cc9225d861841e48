"""The instance role, its instance profile and the tool's least-privilege IAM policy: read,
diff, check, teardown.

AmazonSSMManagedInstanceCore is AWS's policy: the tool attaches it and never detaches it from a
role it did not create (sessions depend on it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision import policies
from provision.aws import AwsContext
from provision.changes import CREATE, REMOVE, UPDATE, Call, Change, FieldChange
from provision.errors import PlanError
from provision.resources.base import ERROR, WARNING, Finding, as_json, key_value_tags
from provision.resources.base import try_read as _try
from provision.spec import ProvisionSpec

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class PolicyState:
    arn: str
    document: Mapping[str, Any]
    default_version: str
    version_ids: tuple[str, ...]  # oldest first
    tags: Mapping[str, str]


@dataclass(frozen=True)
class RoleState:
    name: str
    arn: str
    attached_policy_arns: tuple[str, ...]
    # (name, document) of inline and attached managed policies; filled only for verify.
    documents: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    tags: Mapping[str, str] | None = None
    instance_profiles: tuple[str, ...] = ()


def policy_resource(spec: ProvisionSpec) -> str:
    return f"iam policy {spec.policy_name} (role {spec.role_name})"


# -- read ----------------------------------------------------------------------------------------
def read_role(ctx: AwsContext, name: str, with_documents: bool = False) -> RoleState | None:
    iam = ctx.client("iam")
    role = _try(lambda: iam.get_role(RoleName=name)["Role"])
    if role is None:
        return None
    attached: list[str] = []
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        attached += [p["PolicyArn"] for p in page["AttachedPolicies"]]
    profiles = iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]
    return RoleState(
        name=name,
        arn=role["Arn"],
        attached_policy_arns=tuple(attached),
        documents=_documents(ctx, name, attached) if with_documents else (),
        tags={t["Key"]: t["Value"] for t in role.get("Tags", [])},
        instance_profiles=tuple(p["InstanceProfileName"] for p in profiles),
    )


def _documents(ctx: AwsContext, name: str, attached: list[str]):
    iam = ctx.client("iam")
    documents: list[tuple[str, Mapping[str, Any]]] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            documents.append((policy_name, as_json(doc)))
    for arn in attached:
        state = read_policy(ctx, arn)
        if state is not None:
            documents.append((arn, state.document))
    return tuple(documents)


def read_policy(ctx: AwsContext, arn: str) -> PolicyState | None:
    iam = ctx.client("iam")
    policy = _try(lambda: iam.get_policy(PolicyArn=arn)["Policy"])
    if policy is None:
        return None
    version = policy["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    ordered = sorted(versions, key=lambda v: (v["CreateDate"], int(v["VersionId"].lstrip("v"))))
    tags = _try(lambda: iam.list_policy_tags(PolicyArn=arn)["Tags"]) or policy.get("Tags", [])
    return PolicyState(
        arn=arn,
        document=as_json(document),
        default_version=version,
        version_ids=tuple(v["VersionId"] for v in ordered),
        tags={t["Key"]: t["Value"] for t in tags},
    )


def policy_roles(ctx: AwsContext, arn: str) -> list[str]:
    iam = ctx.client("iam")
    names = []
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        names += [r["RoleName"] for r in page.get("PolicyRoles", [])]
    return names


# -- diff ----------------------------------------------------------------------------------------
def diff_role(spec: ProvisionSpec, role: RoleState | None) -> list[Change]:
    """The role (created with --create-role) and AmazonSSMManagedInstanceCore on it."""
    name = spec.role_name
    assert name is not None
    core = policies.managed_instance_core_arn(spec.region)
    resource = f"iam role {name}"
    changes: list[Change] = []
    if role is None and not spec.create_role:
        raise PlanError(
            f"instance role {name!r} not found",
            "create it with --create-role NAME (role + instance profile), or check --role",
        )
    if role is None:
        changes += _create_role(name)
    elif spec.create_role and name not in role.instance_profiles:
        changes += _create_role(name)[1:]
    if role is None or core not in role.attached_policy_arns:
        changes.append(
            Change(
                resource,
                UPDATE,
                f"attach the AWS managed {policies.MANAGED_INSTANCE_CORE} (the session channel)",
                (FieldChange("managed_policy", None, core),),
                Call("iam", "attach_role_policy", {"RoleName": name, "PolicyArn": core}),
            )
        )
    return changes


def _create_role(name: str) -> list[Change]:
    resource = f"iam role {name}"
    return [
        Change(
            resource,
            CREATE,
            "create the instance role (EC2 may assume it)",
            (FieldChange("trust", None, EC2_TRUST),),
            Call(
                "iam",
                "create_role",
                {
                    "RoleName": name,
                    "AssumeRolePolicyDocument": json.dumps(EC2_TRUST),
                    "Description": "costcompare: Session Manager instance role",
                    "Tags": key_value_tags(),
                },
                ok_codes=("EntityAlreadyExists",),
            ),
        ),
        Change(
            resource,
            CREATE,
            "create its instance profile (what EC2 instances are launched with)",
            (FieldChange("instance_profile", None, name),),
            Call(
                "iam",
                "create_instance_profile",
                {"InstanceProfileName": name, "Tags": key_value_tags()},
                ok_codes=("EntityAlreadyExists",),
            ),
        ),
        Change(
            resource,
            CREATE,
            "put the role in the instance profile",
            (FieldChange("instance_profile_role", None, name),),
            Call(
                "iam",
                "add_role_to_instance_profile",
                {"InstanceProfileName": name, "RoleName": name},
                ok_codes=("LimitExceeded",),
            ),
        ),
    ]


def diff_policy(
    spec: ProvisionSpec,
    account: str,
    role: RoleState | None,
    state: PolicyState | None,
    key_arns: Mapping[str, str],
) -> list[Change]:
    """The tool's customer managed policy: least privilege for the destination(s), attached."""
    resource = policy_resource(spec)
    document = policies.instance_role_policy(spec, account, key_arns)
    arn = policies.policy_arn(spec.region, account, spec.policy_name)
    changes: list[Change] = []
    if state is None:
        params = {
            "PolicyName": spec.policy_name,
            "PolicyDocument": json.dumps(document),
            "Description": "costcompare: Session Manager session logging",
            "Tags": key_value_tags(),
        }
        summary = "least-privilege policy for the chosen destination(s)"
        field = FieldChange("document", None, document)
        changes.append(
            Change(resource, CREATE, summary, (field,), Call("iam", "create_policy", params))
        )
    elif policies.canonical(state.document) != policies.canonical(document):
        changes += _new_version(resource, arn, state, document)
    if role is None or arn not in role.attached_policy_arns:
        changes.append(
            Change(
                resource,
                UPDATE,
                f"attach the policy to role {spec.role_name}",
                (FieldChange("attached_to", None, spec.role_name),),
                Call("iam", "attach_role_policy", {"RoleName": spec.role_name, "PolicyArn": arn}),
            )
        )
    return changes


def _new_version(resource: str, arn: str, state: PolicyState, document) -> list[Change]:
    changes = []
    if len(state.version_ids) >= 5:
        oldest = next(v for v in state.version_ids if v != state.default_version)
        count = len(state.version_ids)
        changes.append(
            Change(
                resource,
                UPDATE,
                f"drop old policy version {oldest} (IAM keeps at most 5)",
                (FieldChange("versions", count, count - 1),),
                Call("iam", "delete_policy_version", {"PolicyArn": arn, "VersionId": oldest}),
            )
        )
    params = {"PolicyArn": arn, "PolicyDocument": json.dumps(document), "SetAsDefault": True}
    changes.append(
        Change(
            resource,
            UPDATE,
            "new default policy version",
            (FieldChange("document", dict(state.document), document),),
            Call("iam", "create_policy_version", params),
        )
    )
    return changes


# -- teardown ------------------------------------------------------------------------------------
def teardown_policy(state: PolicyState, roles: list[str], name: str) -> list[Change]:
    """Detach from every role, drop the old versions, delete."""
    resource = f"iam policy {name}"
    changes = [
        Change(
            resource,
            REMOVE,
            f"detach from role {role}",
            (),
            Call(
                "iam",
                "detach_role_policy",
                {"RoleName": role, "PolicyArn": state.arn},
                ok_codes=("NoSuchEntity",),
            ),
        )
        for role in roles
    ]
    changes += [
        Change(
            resource,
            REMOVE,
            f"delete old version {version}",
            (),
            Call("iam", "delete_policy_version", {"PolicyArn": state.arn, "VersionId": version}),
        )
        for version in state.version_ids
        if version != state.default_version
    ]
    call = Call("iam", "delete_policy", {"PolicyArn": state.arn}, ok_codes=("NoSuchEntity",))
    changes.append(
        Change(resource, REMOVE, "delete it", (FieldChange("policy", name, None),), call)
    )
    return changes


def teardown_role(role: RoleState) -> list[Change]:
    """A role the tool created (tagged): out of its profiles, policies detached, deleted."""
    resource = f"iam role {role.name}"
    changes = []
    for profile in role.instance_profiles:
        params = {"InstanceProfileName": profile, "RoleName": role.name}
        changes.append(
            Change(
                resource,
                REMOVE,
                f"take it out of instance profile {profile}",
                (),
                Call(
                    "iam", "remove_role_from_instance_profile", params, ok_codes=("NoSuchEntity",)
                ),
            )
        )
        if profile == role.name:
            call = Call(
                "iam",
                "delete_instance_profile",
                {"InstanceProfileName": profile},
                ok_codes=("NoSuchEntity",),
            )
            changes.append(Change(resource, REMOVE, "delete its instance profile", (), call))
    for arn in role.attached_policy_arns:
        params = {"RoleName": role.name, "PolicyArn": arn}
        call = Call("iam", "detach_role_policy", params, ok_codes=("NoSuchEntity",))
        changes.append(Change(resource, REMOVE, f"detach {arn.rsplit('/', 1)[1]}", (), call))
    call = Call("iam", "delete_role", {"RoleName": role.name}, ok_codes=("NoSuchEntity",))
    field = FieldChange("role", role.name, None)
    changes.append(Change(resource, REMOVE, "delete the role", (field,), call))
    return changes


# -- check ---------------------------------------------------------------------------------------
def check(role: RoleState | None, name: str, region: str, needed: list[tuple[str, str]]):
    """The core policy, every action the agent needs, and nothing broad."""
    resource = f"role {name}"
    if role is None:
        return [
            Finding(
                ERROR, "role-missing", resource, "the instance role does not exist",
                "create it (--create-role NAME) or check --role",
            )
        ]  # fmt: skip
    out: list[Finding] = []
    core = policies.managed_instance_core_arn(region)
    if core not in role.attached_policy_arns:
        out.append(
            Finding(
                ERROR,
                "role-no-core-policy",
                resource,
                f"{policies.MANAGED_INSTANCE_CORE} is not attached: no session channel",
                f"costcompare provision apply --role {name} attaches it "
                f"(or aws iam attach-role-policy --role-name {name} --policy-arn {core})",
            )
        )
    docs = [d for _, d in role.documents]
    for action, target in needed:
        if not policies.statements_cover(docs, action, target):
            out.append(
                Finding(
                    ERROR,
                    "role-missing-action",
                    resource,
                    f"no {action} on {target}: the agent reports 'encryption is not set up' "
                    "or hangs",
                    f"grant it (costcompare provision apply --role {name} does, least-privilege)",
                )
            )
    return out + _broad(role, resource)


def _broad(role: RoleState, resource: str) -> list[Finding]:
    out = []
    for policy_name, doc in role.documents:
        for s in policies.statements_of(doc):
            actions = policies.as_list(s.get("Action"))
            broad = [a for a in actions if a in ("*", "logs:*", "s3:*", "kms:*")]
            if s.get("Effect") == "Allow" and broad and "*" in policies.as_list(s.get("Resource")):
                out.append(
                    Finding(
                        WARNING,
                        "role-too-broad",
                        resource,
                        f"{policy_name} allows {', '.join(broad)} on *",
                        "replace it with the least-privilege policy",
                    )
                )
    return out


# -- CloudFormation ------------------------------------------------------------------------------
def render_cfn(spec: ProvisionSpec, account: str, key_arns: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's policy on the role; with --create-role also the role and instance profile.

    An existing role (--role) gets the policy only: a template cannot attach
    AmazonSSMManagedInstanceCore to a role it does not own (plan/apply do).
    """
    name = spec.role_name
    assert name is not None
    resources: dict[str, Any] = {}
    role_ref: Any = name
    if spec.create_role:
        resources["InstanceRole"] = {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": name,
                "AssumeRolePolicyDocument": EC2_TRUST,
                "Description": "costcompare: Session Manager instance role",
                "ManagedPolicyArns": [policies.managed_instance_core_arn(spec.region)],
                "Tags": key_value_tags(),
            },
        }
        resources["InstanceProfile"] = {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"InstanceProfileName": name, "Roles": [{"Ref": "InstanceRole"}]},
        }
        role_ref = {"Ref": "InstanceRole"}
    resources["SessionLoggingPolicy"] = {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            "ManagedPolicyName": spec.policy_name,
            "Description": "costcompare: least privilege for Session Manager logging",
            "PolicyDocument": policies.instance_role_policy(spec, account, key_arns),
            "Roles": [role_ref],
        },
    }
    return resources
