"""provision.plan as a pure function: hand-built actual states in, exact changes out (no AWS)."""

from __future__ import annotations

import json

from provision import policies
from provision.changes import KEEP, REMOVE, Change, FieldChange, Plan, fill, known_after_apply
from provision.observe import ActualState
from provision.plan import make_plan, render_plan
from provision.resources.document import VERSION_PLACEHOLDER as DOC_VERSION_PLACEHOLDER
from provision.resources.document import DocumentState
from provision.resources.document import desired as _desired
from provision.resources.kms_key import key_placeholder
from provision.resources.log_group import LogGroupState
from provision.resources.network import (
    EndpointState,
    NetworkState,
    SecurityGroupState,
    SubnetState,
)
from provision.resources.role import PolicyState, RoleState
from provision.spec import build_spec

REGION = "ap-northeast-1"


def desired_document(spec, existing):
    return _desired(spec, existing, {})


ACCOUNT = "123456789012"
GROUP = "/ssm/session-manager"
KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _actual(**parts) -> ActualState:
    base = dict(
        region=REGION,
        account_id=ACCOUNT,
        keys={},
        log_group=None,
        bucket=None,
        role=None,
        policy=None,
        network=None,
        document=None,
    )
    base.update(parts)
    return ActualState(**base)


def _group(**changes) -> LogGroupState:
    values = dict(
        name=GROUP,
        arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}",
        kms_key_arn=None,
        retention_days=365,
        log_class="STANDARD",
        tags={"costcompare:managed": "true"},
        stored_bytes=0,
        has_streams=False,
    )
    values.update(changes)
    return LogGroupState(**values)


def _calls(plan):
    return [(c.resource, c.call.operation) for c in plan.pending]


def test_empty_account_plan_uses_placeholders_that_apply_fills():
    spec = build_spec({"destination": "cloudwatch"}, REGION)
    plan = make_plan(spec, _actual())
    placeholder = key_placeholder("cloudwatch")
    create_group = next(c for c in plan.pending if c.call.operation == "create_log_group")
    assert create_group.call.params["kmsKeyId"] == placeholder
    assert fill(create_group.call.params, {placeholder: KEY})["kmsKeyId"] == KEY
    create_key = plan.pending[0]
    assert create_key.call.produces == placeholder
    assert create_key.call.result_path == ("KeyMetadata", "Arn")
    assert json.loads(create_key.call.params["Policy"]) == policies.key_policy(
        REGION, ACCOUNT, GROUP
    )
    assert "(known after apply: kms-key.cloudwatch.arn)" in render_plan(plan)


def test_log_class_cannot_change_and_is_a_conflict():
    spec = build_spec(
        {"destination": "cloudwatch", "kms_key": "none", "session_kms_key_id": "none"}, REGION
    )
    plan = make_plan(spec, _actual(log_group=_group(log_class="INFREQUENT_ACCESS")))
    assert [c.action for c in plan.conflicts] == ["conflict"]
    assert "AWS cannot change it" in plan.conflicts[0].summary
    assert not plan.empty
    # An endpoint that does not report the class (moto) is not taken as drift.
    assert make_plan(spec, _actual(log_group=_group(log_class=None))).conflicts == ()


def test_retain_forever_is_the_one_way_to_remove_retention():
    spec = build_spec(
        {
            "destination": "cloudwatch",
            "kms_key": "none",
            "session_kms_key_id": "none",
            "retain_forever": True,
        },
        REGION,
    )
    plan = make_plan(spec, _actual(log_group=_group(retention_days=30)))
    change = next(c for c in plan.pending if c.call.operation.endswith("retention_policy"))
    assert change.call.operation == "delete_retention_policy"
    assert (change.fields[0].old, change.fields[0].new) == (30, None)


def test_policy_at_five_versions_drops_the_oldest_non_default_first():
    spec = build_spec(
        {"destination": "cloudwatch", "kms_key": "none", "session_kms_key_id": "none", "role": "r"},
        REGION,
    )
    arn = policies.policy_arn(REGION, ACCOUNT, spec.policy_name)
    core = policies.managed_instance_core_arn(REGION)
    role = RoleState(
        name="r", arn="arn:aws:iam::123456789012:role/r", attached_policy_arns=(core, arn)
    )
    old = PolicyState(
        arn=arn,
        document={"Version": "2012-10-17", "Statement": []},
        default_version="v1",
        version_ids=("v1", "v2", "v3", "v4", "v5"),
        tags={},
    )
    plan = make_plan(spec, _actual(log_group=_group(), role=role, policy=old))
    iam = [c.call for c in plan.pending if c.call.service == "iam"]
    assert [(c.operation, c.params.get("VersionId")) for c in iam] == [
        ("delete_policy_version", "v2"),
        ("create_policy_version", None),
    ]
    assert iam[1].params["SetAsDefault"] is True


def _document(content, default="1", latest="1", tags=None) -> DocumentState:
    return DocumentState(
        latest_version=latest,
        default_version=default,
        latest_content=content,
        default_content=content,
        tags=tags or {},
    )


def test_document_only_made_default_when_content_already_matches():
    spec = build_spec(
        {"destination": "cloudwatch", "kms_key": "none", "session_kms_key_id": "none"}, REGION
    )
    content = desired_document(spec, None)
    actual = _actual(log_group=_group(), document=_document(content, default="1", latest="2"))
    plan = make_plan(spec, actual)
    assert [(c.call.operation, c.call.params.get("DocumentVersion")) for c in plan.pending] == [
        ("update_document_default_version", "2")
    ]


def test_document_update_keeps_unrelated_inputs_and_remembers_previous_version():
    spec = build_spec(
        {
            "destination": "s3",
            "bucket": "audit-logs",
            "idle_timeout": 5,
            "session_kms_key_id": "none",
        },
        REGION,
    )
    theirs = {
        "schemaVersion": "1.0",
        "description": "theirs",
        "sessionType": "Standard_Stream",
        "inputs": {"runAsEnabled": True, "runAsDefaultUser": "ops", "idleSessionTimeout": "45"},
    }
    plan = make_plan(spec, _actual(document=_document(theirs, default="3", latest="3")))
    doc = [c for c in plan.pending if c.resource.startswith("preferences document")]
    assert [c.call.operation for c in doc] == [
        "add_tags_to_resource",
        "update_document",
        "update_document_default_version",
    ]
    assert doc[0].call.params["Tags"] == [{"Key": "costcompare:previous-version", "Value": "3"}]
    content = json.loads(doc[1].call.params["Content"])
    assert content["inputs"] == {
        "runAsEnabled": True,
        "runAsDefaultUser": "ops",
        "idleSessionTimeout": "5",
        "s3BucketName": "audit-logs",
        "s3KeyPrefix": "session-logs",
        "s3EncryptionEnabled": True,
    }
    assert doc[2].call.params["DocumentVersion"] == known_after_apply(DOC_VERSION_PLACEHOLDER)
    assert {(f.field, f.old, f.new) for f in doc[1].fields} == {
        ("idleSessionTimeout", "45", "5"),
        ("s3BucketName", None, "audit-logs"),
        ("s3KeyPrefix", None, "session-logs"),
        ("s3EncryptionEnabled", None, True),
    }


def _network(endpoints, groups) -> NetworkState:
    subnets = (
        SubnetState("subnet-aaaaaaaa", "vpc-12345678", f"{REGION}a", "10.0.1.0/24", "rtb-1"),
        SubnetState("subnet-cccccccc", "vpc-12345678", f"{REGION}c", "10.0.2.0/24", "rtb-1"),
    )
    return NetworkState(
        vpc_id="vpc-12345678",
        vpc_exists=True,
        dns_support=True,
        dns_hostnames=True,
        subnets=subnets,
        missing_subnets=(),
        endpoints=tuple(endpoints),
        security_groups={g.id: g for g in groups},
        tool_security_group=next((g for g in groups if g.name.startswith("costcompare")), None),
        subnet_azs={s.id: s.az for s in subnets},
    )


def test_endpoints_covered_by_their_security_group_need_no_new_group():
    spec = build_spec(
        {
            "destination": "cloudwatch",
            "kms_key": "none",
            "session_kms_key_id": "none",
            "vpc_id": "vpc-12345678",
            "subnet": ["subnet-aaaaaaaa", "subnet-cccccccc"],
        },
        REGION,
    )
    theirs = SecurityGroupState("sg-1", "theirs", ("10.0.0.0/16",), {})
    endpoints = [
        EndpointState(
            id=f"vpce-{name}",
            service=f"com.amazonaws.{REGION}.{name}",
            type="Interface",
            subnet_ids=("subnet-aaaaaaaa", "subnet-cccccccc"),
            security_group_ids=("sg-1",),
            private_dns=name != "logs",
            route_table_ids=(),
            tags={},
        )
        for name in ("ssm", "ssmmessages", "ec2messages", "logs")
    ]
    plan = make_plan(spec, _actual(log_group=_group(), network=_network(endpoints, [theirs])))
    network = [
        (c.resource, c.call.operation, c.call.params) for c in plan.pending if "vpc" in c.resource
    ]
    assert network == [
        (
            f"vpc endpoint com.amazonaws.{REGION}.logs",
            "modify_vpc_endpoint",
            {"VpcEndpointId": "vpce-logs", "PrivateDnsEnabled": True},
        )
    ]


def test_role_without_the_core_policy_gets_it_attached_first():
    spec = build_spec(
        {"destination": "cloudwatch", "kms_key": "none", "session_kms_key_id": "none", "role": "r"},
        REGION,
    )
    arn = policies.policy_arn(REGION, ACCOUNT, spec.policy_name)
    role = RoleState(name="r", arn="arn:aws:iam::123456789012:role/r", attached_policy_arns=())
    plan = make_plan(spec, _actual(log_group=_group(), role=role))
    core = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    pending = [(c.resource, c.call.operation, c.call.params) for c in plan.pending]
    assert pending[0] == (
        "iam role r",
        "attach_role_policy",
        {"RoleName": "r", "PolicyArn": core},
    )
    assert [op for _, op, _ in pending[1:]] == [
        "create_policy",
        "attach_role_policy",
        "create_document",
    ]
    assert plan.pending[0].action == "update"
    assert "AmazonSSMManagedInstanceCore" in render_plan(plan)

    # Attached already (by hand or a previous apply): nothing to do for the role.
    policy = PolicyState(
        arn=arn,
        document=policies.instance_role_policy(spec, ACCOUNT, {}),
        default_version="v1",
        version_ids=("v1",),
        tags={},
    )
    done = RoleState(name="r", arn=role.arn, attached_policy_arns=(arn, core))
    plan = make_plan(spec, _actual(log_group=_group(), role=done, policy=policy))
    assert [c.call.operation for c in plan.pending] == ["create_document"]
    assert ("iam role r", "keep") in [(c.resource, c.action) for c in plan.changes]

    # Other partitions get their own ARN.
    cn = build_spec(
        {"destination": "cloudwatch", "kms_key": "none", "session_kms_key_id": "none", "role": "r"},
        "cn-north-1",
    )
    cn_plan = make_plan(cn, _actual(region="cn-north-1", log_group=_group(), role=role))
    assert cn_plan.pending[0].call.params["PolicyArn"] == (
        "arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore"
    )


def test_endpoints_are_created_with_a_client_token():
    """Issue 18.4: a retried CreateVpcEndpoint whose response was lost must not make a second
    endpoint; the token is per plan, so a saved plan re-sends the same one."""
    spec = build_spec(
        {
            "destination": "both",
            "bucket": "audit-logs",
            "kms_key": "none",
            "bucket_encryption": "sse-s3",
            "session_kms_key_id": "none",
            "vpc_id": "vpc-12345678",
            "subnet": ["subnet-aaaaaaaa", "subnet-cccccccc"],
        },
        REGION,
    )
    plan = make_plan(spec, _actual(network=_network([], [])))
    creates = [c.call for c in plan.pending if c.call.operation == "create_vpc_endpoint"]
    assert len(creates) == 5  # ssm, ssmmessages, ec2messages, logs; the s3 gateway
    tokens = [c.params["ClientToken"] for c in creates]
    assert len(set(tokens)) == 5 and all(len(t) == 36 for t in tokens)
    from provision.changes import Plan

    again = Plan.from_dict(json.loads(json.dumps(plan.to_dict(full=True))))
    saved = [
        c.call.params["ClientToken"]
        for c in again.pending
        if c.call.operation == "create_vpc_endpoint"
    ]
    assert saved == tokens


def test_plan_prose_wraps_to_the_terminal_and_values_stay_whole():
    bucket = "ssm-session-logs-123456789012-ap-northeast-1"
    stop = f"stop sending session logs to {bucket} (the store and its logs stay)"
    plan = Plan(
        REGION,
        ACCOUNT,
        "cloudwatch",
        (
            Change(f"s3 target {bucket}", REMOVE, stop, (FieldChange("s3BucketName", bucket, ""),)),
            Change(f"s3 bucket {bucket}", KEEP, "kept: holds 0 transcripts"),
        ),
    )
    text = render_plan(plan, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert f"      # stop sending session logs to\n        {bucket} (the store" in text
    assert f'      ~ s3BucketName: "{bucket}" → ""\n' in text  # a value is never split
    assert f"  = s3 bucket {bucket}  (kept: holds 0\n      transcripts)" in text
    assert f"      # {stop}\n" in render_plan(plan, width=200)
