"""provision rollout on moto: a service-managed StackSet to 3 accounts × 2 regions (issue 15).

What moto 5.2.5 does with service-managed stack sets (moto/cloudformation/models.py,
``StackInstances.create_instances``): ``create_stack_instances`` with OrganizationalUnitIds
expands the OUs (and their direct child OUs) through moto's Organizations backend and, for every
account × region, builds the stack in that member account and region: the log group really
exists there, so ``measure --org`` finds it. Gaps, worked around here and not in the tool:

- moto's CloudFormation cannot read KMS key tags as Key/Value or an SSM document's Content as
  an object; the template is passed through ``moto_compatible`` (test_provision_support) first,
  with the Content's own ``Fn::Sub`` values inlined into the one ``Fn::Sub`` it becomes.
- moto records but does not create AWS::S3::BucketPolicy (a warning, silenced here).
- every operation is SUCCEEDED at once, and moto ignores the OperationId we send to
  create_stack_instances (it makes its own); polling and joining are tested on fakes.
- describe_stack_set omits AutoDeployment (the tool only acts on an explicit ``false``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from test_provision_support import fast_moto, moto_compatible
from typer.testing import CliRunner

from costcompare.aws import AwsContext, assumed_context
from costcompare.cli import app
from costcompare.jsoncontract import SCHEMA_VERSION
from costcompare.orgmeasure import measure_org
from provision import rollout, rollout_apply
from provision.errors import ApplyError, PlanError, SpecError
from provision.rollout import (
    Instance,
    ObservedStackSet,
    RolloutRequest,
    make_rollout_plan,
    observe_rollout,
    render_plan,
)
from provision.rollout_apply import apply_rollout, operation_token
from provision.stackset import member_template

HOME = "us-east-1"
REGIONS = ("ap-northeast-1", "us-east-1")
NAME = "ssm-logging"
LOG_GROUP = "/ssm/session-manager"


def moto_body(**options) -> str:
    """The member template as moto can deploy it (see the module docstring)."""
    body = member_template(options or {"destination": "cloudwatch"}, HOME)
    content = body["Resources"]["SessionPreferences"]["Properties"]["Content"]
    for name, value in content["inputs"].items():  # the whole Content becomes one Fn::Sub
        if isinstance(value, dict) and "Fn::Sub" in value:
            content["inputs"][name] = value["Fn::Sub"]
    return json.dumps(moto_compatible(body))


@dataclass
class Org:
    ctx: AwsContext
    ou: str
    root: str
    members: list[str]  # in the OU
    outsider: str  # a member account outside the OU

    def add_member(self, index: int) -> str:
        org = boto3.client("organizations", region_name=HOME)
        account = org.create_account(Email=f"n{index}@example.invalid", AccountName=f"n{index}")
        account_id = account["CreateAccountStatus"]["AccountId"]
        org.move_account(
            AccountId=account_id, SourceParentId=self.root, DestinationParentId=self.ou
        )
        return account_id


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """An organization: 3 member accounts in one OU, one outside it, the caller its management."""
    fast_moto(monkeypatch)
    with mock_aws(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # moto: resource types it only records
        client = boto3.client("organizations", region_name=HOME)
        client.create_organization(FeatureSet="ALL")
        root = client.list_roots()["Roots"][0]["Id"]
        ou = client.create_organizational_unit(ParentId=root, Name="workloads")
        ou_id = ou["OrganizationalUnit"]["Id"]
        made = Org(AwsContext(HOME), ou_id, root, [], "")
        made.members = sorted(made.add_member(i) for i in range(3))
        outsider = client.create_account(Email="o@example.invalid", AccountName="outside")
        made.outsider = outsider["CreateAccountStatus"]["AccountId"]
        yield made


def _request(org: Org, body: str | None = None, **kwargs) -> RolloutRequest:
    return RolloutRequest(NAME, (org.ou,), REGIONS, body or moto_body(), **kwargs)


def _plan(org: Org, body: str | None = None):
    request = _request(org, body)
    return make_rollout_plan(request, observe_rollout(org.ctx, request))


def test_rollout_to_three_accounts_in_two_regions_then_measure_org_sees_them(org: Org):
    plan = _plan(org, moto_body(destination="both"))
    assert [s.action for s in plan.steps] == ["create-stack-set", "create-stack-instances"]
    assert plan.observed.call_as == "SELF"
    assert plan.steps[1].ous == (org.ou,) and plan.steps[1].regions == REGIONS
    assert len(plan.missing) == 3 * 2

    result = apply_rollout(org.ctx, plan)

    assert result.succeeded
    assert [op["status"] for op in result.operations] == ["SUCCEEDED"]
    assert {(i.account, i.region) for i in result.instances} == {
        (a, r) for a in org.members for r in REGIONS
    }
    assert {i.status for i in result.instances} == {"CURRENT"}
    described = boto3.client("cloudformation", region_name=HOME).describe_stack_set(
        StackSetName=NAME
    )["StackSet"]
    assert described["PermissionModel"] == "SERVICE_MANAGED"

    # One session transcript in one member's bucket, written as the agent would.
    first, transcript = org.members[0], b"$ sudo -i\nroot# id\n" * 40
    member = assumed_context(org.ctx, f"arn:aws:iam::{first}:role/OrganizationAccountAccessRole")
    bucket = f"ssm-session-logs-{first}-{REGIONS[0]}"
    member.client("s3", REGIONS[0]).put_object(
        Bucket=bucket, Key="session-logs/alice-0123456789abcdef0.log", Body=transcript
    )

    seen = measure_org(org.ctx, REGIONS, accounts=[*org.members, org.outsider], days=7, workers=2)

    assert seen.failures == []
    regions = {(a.account_id, r.region): r for a in seen.accounts for r in a.regions}
    for account in org.members:
        for region in REGIONS:
            found = regions[(account, region)]
            assert [g.name for g in found.log_groups] == [LOG_GROUP]
            # found through the preferences document the stack wrote in that account × region
            assert [(p.uri, p.found_by) for p in found.s3] == [
                (f"s3://ssm-session-logs-{account}-{region}/session-logs/", "preferences")
            ]
    assert regions[(first, REGIONS[0])].s3[0].sessions == 1
    assert regions[(first, REGIONS[0])].s3[0].bytes == len(transcript)
    assert regions[(org.outsider, HOME)].log_groups == [], "an account outside the OU got it"


def test_a_second_run_changes_nothing_and_a_new_account_gets_only_its_instances(org: Org):
    apply_rollout(org.ctx, _plan(org))
    again = _plan(org)
    assert again.empty and again.missing == []

    joined = org.add_member(7)
    grown = _plan(org)
    assert [s.action for s in grown.steps] == ["create-stack-instances"]
    assert [(i.account, i.region) for i in grown.missing] == [(joined, r) for r in REGIONS]
    result = apply_rollout(org.ctx, grown)
    assert len(result.instances) == 4 * 2 and result.succeeded


def test_a_changed_template_updates_the_stack_set(org: Org):
    apply_rollout(org.ctx, _plan(org))
    changed = moto_body(destination="cloudwatch", retention_days=731)
    plan = _plan(org, changed)
    assert [(s.action, s.why) for s in plan.steps] == [("update-stack-set", "the template changed")]
    result = apply_rollout(org.ctx, plan)
    assert result.operations[0]["operation_id"] == operation_token(plan, plan.steps[0])
    cfn = boto3.client("cloudformation", region_name=HOME)
    assert cfn.describe_stack_set(StackSetName=NAME)["StackSet"]["TemplateBody"] == changed


def test_a_self_managed_stack_set_of_that_name_is_refused(org: Org):
    cfn = boto3.client("cloudformation", region_name=HOME)
    cfn.create_stack_set(StackSetName=NAME, TemplateBody=moto_body())
    with pytest.raises(PlanError, match="SELF_MANAGED"):
        _plan(org)


def test_a_member_account_calls_as_delegated_admin():
    assert rollout.call_as_for("123456789012", "123456789012") == "SELF"
    assert rollout.call_as_for("210987654321", "123456789012") == "DELEGATED_ADMIN"


def test_the_cli_plans_then_rolls_out_from_a_template_file(org: Org, tmp_path: Path):
    template = tmp_path / "member.json"
    template.write_text(moto_body())
    command = ["provision", "rollout", "--template", str(template), "--stack-set-name", NAME,
               "--ou", org.ou, "--regions", ",".join(REGIONS), "--region", HOME]  # fmt: skip
    planned = CliRunner().invoke(app, [*command, "--plan"])
    assert planned.exit_code == 0, planned.output
    text = " ".join(planned.stdout.split())  # the plan wraps to the terminal
    assert "= 6 instance(s); 0 exist" in text and "+ create-stack-set" in text

    done = CliRunner().invoke(app, [*command, "--yes", "-o", "json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["schema_version"] == SCHEMA_VERSION
    result = json.loads(done.stdout)["result"]
    assert result["succeeded"] and len(result["instances"]) == 6

    rerun = CliRunner().invoke(app, command)  # nothing to do: no confirmation asked
    assert rerun.exit_code == 0, rerun.output
    assert "nothing to do" in rerun.stdout and rerun.stdout.count("CURRENT") == 6


def test_a_failed_operation_is_one_line_after_the_instance_table(org: Org, monkeypatch, tmp_path):
    """moto ends every operation SUCCEEDED: the failure AWS would report is simulated here."""
    monkeypatch.setattr(rollout_apply, "wait_for_operation", lambda *a, **k: "FAILED")
    template = tmp_path / "member.json"
    template.write_text(moto_body())
    command = ["provision", "rollout", "--template", str(template), "--ou", org.ou,
               "--regions", HOME, "--region", HOME, "--yes"]  # fmt: skip
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2
    assert result.stdout.count("CURRENT") == 3  # the table is printed before the error
    error = result.stderr.strip().splitlines()[-1]
    assert "create-stack-instances operation" in error and "FAILED" in error
    assert " — fix the cause shown" in error


# -- without moto: plan rules, polling, joining an operation -----------------------------------
def _observed(**kwargs) -> ObservedStackSet:
    base = dict(call_as="SELF", exists=True, permission_model="SERVICE_MANAGED",
                auto_deployment=True, template_body="Resources: {A: {Type: X}}",
                ou_accounts={"ou-ab12-cdef3456": ["111111111111"]})  # fmt: skip
    return ObservedStackSet(**{**base, **kwargs})


REQUEST = RolloutRequest(NAME, ("ou-ab12-cdef3456",), ("us-east-1",), "Resources: {A: {Type: X}}")


def test_outdated_instances_and_auto_deployment_off_are_updated():
    instances = [Instance("111111111111", "us-east-1", "OUTDATED", "FAILED", "quota")]
    plan = make_rollout_plan(REQUEST, _observed(instances=instances, auto_deployment=False))
    assert [s.action for s in plan.steps] == ["update-stack-set"]
    assert "automatic deployment" in plan.steps[0].why and "1 instance(s) OUTDATED" in (
        plan.steps[0].why
    )


def test_an_ou_without_member_accounts_is_refused():
    with pytest.raises(PlanError, match="ou-ab12-cdef3456 holds no member account"):
        make_rollout_plan(REQUEST, _observed(ou_accounts={"ou-ab12-cdef3456": []}))


def test_the_operation_id_follows_the_state_it_was_planned_from():
    first = make_rollout_plan(REQUEST, _observed())
    same = make_rollout_plan(REQUEST, _observed())
    failed = [Instance("111111111111", "us-east-1", "OUTDATED")]
    later = make_rollout_plan(REQUEST, _observed(instances=failed))
    after_an_operation = make_rollout_plan(REQUEST, _observed(operation_ids=["op-1"]))
    step = first.steps[0]
    assert operation_token(first, step) == operation_token(same, same.steps[0])
    assert operation_token(first, step) != operation_token(later, step)
    # the same state again after an operation ran (instances deleted by hand): a new token
    assert operation_token(first, step) != operation_token(after_an_operation, step)


class _FakeCfn:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def describe_stack_set_operation(self, **_):
        return {"StackSetOperation": {"Status": self.statuses.pop(0)}}


class _FakeContext:
    def __init__(self, client):
        self._client = client

    def client(self, service, region=None):
        return self._client


def test_waiting_polls_until_the_operation_ends_and_reports_each_status():
    """Each change of status is a line, and a long RUNNING one gets a reminder every minute."""
    slept, lines = [], []
    fake = _FakeContext(_FakeCfn(["QUEUED", *["RUNNING"] * 7, "SUCCEEDED"]))
    status = rollout_apply.wait_for_operation(
        fake, NAME, "op-1", "SELF", progress=lines.append, poll_seconds=5, sleep=slept.append
    )
    assert status == "SUCCEEDED"
    assert slept == [5] * 8
    assert [line.split(": ")[-1] for line in lines] == [
        "QUEUED (0 s)", "RUNNING (5 s)", "RUNNING (25 s)", "SUCCEEDED (40 s)"
    ]  # fmt: skip


def test_an_operation_already_running_is_shown_and_waited_for():
    plan = make_rollout_plan(REQUEST, _observed(running=["op-9"]))
    assert "! operation op-9 is still running: apply waits for it" in render_plan(plan)
    fake = _FakeContext(_FakeCfn(["RUNNING", "STOPPED"]))
    done = rollout_apply.wait_for_running(fake, plan, sleep=lambda s: None)
    assert done == [{"action": "already running", "operation_id": "op-9", "status": "STOPPED"}]


def test_instances_outside_the_request_are_kept_and_said_so():
    elsewhere = [Instance("111111111111", "eu-west-1", "CURRENT")]
    text = render_plan(make_rollout_plan(REQUEST, _observed(instances=elsewhere)))
    assert "1 instance(s) outside these OUs × regions are kept" in text


def test_waiting_past_the_timeout_is_one_line_saying_it_goes_on():
    fake = _FakeContext(_FakeCfn(["RUNNING"] * 5))
    with pytest.raises(ApplyError, match="still RUNNING after 20 s"):
        rollout_apply.wait_for_operation(
            fake, NAME, "op-1", "SELF", poll_seconds=10, timeout_seconds=20, sleep=lambda s: None
        )


def test_an_operation_id_aws_already_knows_is_joined_not_repeated():
    """The same command after an interruption: AWS refuses the OperationId; we wait on it."""
    cfn = boto3.client("cloudformation", region_name=HOME, aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    observed = _observed(instances=[])
    plan = make_rollout_plan(REQUEST, observed)
    token = operation_token(plan, plan.steps[0])
    with Stubber(cfn) as stub:
        stub.add_client_error(
            "create_stack_instances", "OperationIdAlreadyExistsException", "exists"
        )
        stub.add_response("describe_stack_set_operation", {"StackSetOperation": {
            "OperationId": token, "Status": "SUCCEEDED"}})  # fmt: skip
        stub.add_response("list_stack_instances", {"Summaries": [
            {"Account": "111111111111", "Region": "us-east-1", "Status": "CURRENT"}]})  # fmt: skip
        result = apply_rollout(_FakeContext(cfn), plan, sleep=lambda s: None)
    assert result.operations == [
        {"action": "create-stack-instances", "operation_id": token, "status": "SUCCEEDED"}
    ]
    assert result.succeeded


def test_another_aws_error_is_not_swallowed():
    cfn = boto3.client("cloudformation", region_name=HOME, aws_access_key_id="x",
                       aws_secret_access_key="x")  # fmt: skip
    plan = make_rollout_plan(REQUEST, _observed(instances=[]))
    with Stubber(cfn) as stub:
        stub.add_client_error("create_stack_instances", "OperationInProgressException", "busy")
        with pytest.raises(ClientError):
            apply_rollout(_FakeContext(cfn), plan)


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        (dict(stack_set_name="1bad"), "--stack-set-name"),
        (dict(ous=["ou-nope"]), "ou-nope"),
        (dict(ous=[]), "--ou"),
        (dict(regions=["mars-1"]), "mars-1"),
        (dict(max_concurrent_percentage=0), "--max-concurrent-percent"),
    ],
)
def test_bad_requests_are_refused_before_any_call(kwargs, names):
    args = {"stack_set_name": NAME, "ous": ["ou-ab12-cdef3456"], "regions": ["us-east-1"]}
    args |= kwargs
    with pytest.raises(SpecError, match=names):
        rollout.check_request(
            args.pop("stack_set_name"), args.pop("ous"), args.pop("regions"), **args
        )


def test_a_template_that_is_not_one_is_refused():
    with pytest.raises(SpecError, match="not a CloudFormation template"):
        rollout.check_template_body(yaml.safe_dump({"Resources": "none"}), "--template t.yaml")
    with pytest.raises(SpecError, match="51,200"):
        rollout.check_template_body("Resources: {}\n#" + "x" * 51_200, "--template t.yaml")


def test_the_plan_fits_80_columns(monkeypatch):
    """Its first line named every OU and region on one line: 131 columns for one OU and two
    regions in the README's example."""
    monkeypatch.setenv("COLUMNS", "80")
    text = render_plan(make_rollout_plan(REQUEST, _observed()))
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    joined = " ".join(text.split())
    assert f"Stack set {REQUEST.stack_set_name} (service-managed" in joined
    assert f"({', '.join(REQUEST.regions)})" in joined
    assert all(line.startswith("  ") for line in lines[1:])  # steps stay indented under it
