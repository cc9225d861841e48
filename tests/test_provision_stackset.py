"""provision export --stackset: one member-account template for every account × region (issue 15).

The template must name no account and no region (everything specific is an ``Fn::Sub`` on the
pseudo parameters), pass cfn-lint for several regions, resolve to exactly what the one-account
export gives when CloudFormation substitutes a real account and region, and carry the AWS CLI
commands that deploy it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from costcompare.cli import app
from provision.errors import SpecError
from provision.export import template
from provision.spec import build_spec
from provision.stackset import (
    STANDIN_ACCOUNT,
    deploy_commands,
    fold_command,
    generalise,
    member_template,
    render_member_yaml,
)

REGION = "ap-northeast-1"
MEMBER, MEMBER_REGION = "210987654321", "eu-west-1"
BOTH = {"destination": "both", "role": "ssm-instance", "retention_days": 731}


def _substitute(value: Any, account: str, region: str) -> Any:
    """What CloudFormation does with the pseudo parameters in one account and region."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"].replace("${AWS::AccountId}", account)
            return text.replace("${AWS::Region}", region).replace("${!", "${")
        return {k: _substitute(v, account, region) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, account, region) for v in value]
    return value


@pytest.mark.parametrize(
    "options",
    [BOTH, {"destination": "cloudwatch"}, {"destination": "s3", "bucket_encryption": "sse-s3"}],
    ids=["both-role", "cloudwatch", "s3-sse-s3"],
)
def test_the_member_template_names_no_account_or_region(options):
    text = json.dumps(member_template(options, REGION)["Resources"])
    plain = re.sub(r'\{"Fn::Sub": "[^"]*"\}', "", text)
    assert STANDIN_ACCOUNT not in text
    assert REGION not in plain, "a region outside Fn::Sub would pin every stack to one region"


ARCHIVE_KEY = "arn:aws:kms:ap-northeast-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CENTRAL_MEMBER = {
    "destination": "s3",
    "bucket": "org-session-archive",
    "bucket_account": "999988887777",
    "bucket_kms_key": ARCHIVE_KEY,
    "role": "ssm-instance",
}


# Log archives are often named after their home region (LZA: ...-<account>-<region>): that
# name is the same bucket from every member region, never a per-region ${AWS::Region}.
CENTRAL_NAMED_BY_REGION = {**CENTRAL_MEMBER, "bucket": f"org-session-archive-{REGION}"}


@pytest.mark.parametrize(
    "options",
    [BOTH, {"destination": "cloudwatch", "kms_key": "none"}, CENTRAL_MEMBER,
     CENTRAL_NAMED_BY_REGION],
    ids=["both-role", "cloudwatch-no-key", "central-bucket-member", "central-named-by-region"],
)  # fmt: skip
def test_substituted_in_a_member_it_is_the_one_account_export(options):
    """Resolved for a member account and region, the template is what export gives there."""
    member = _substitute(member_template(options, REGION)["Resources"], MEMBER, MEMBER_REGION)
    spec = build_spec(options, MEMBER_REGION, account=MEMBER)
    assert member == template(spec, MEMBER)["Resources"]


def test_the_bucket_and_policy_names_are_unique_per_account_and_region():
    resources = member_template(BOTH, REGION)["Resources"]
    bucket = resources["SessionLogBucket"]["Properties"]["BucketName"]
    policy = resources["SessionLoggingPolicy"]["Properties"]["ManagedPolicyName"]
    assert bucket == {"Fn::Sub": "ssm-session-logs-${AWS::AccountId}-${AWS::Region}"}
    assert policy == {"Fn::Sub": "costcompare-session-logging-${AWS::Region}"}


def test_an_arn_of_another_account_and_shell_variables_are_kept():
    key = "arn:aws:kms:ap-northeast-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    value = {"k": key, "p": "echo ${HOME} in ap-northeast-1", "m": "arn:aws:iam::aws:policy/X"}
    out = generalise(value, STANDIN_ACCOUNT, REGION)
    assert out["k"] == key
    assert out["m"] == "arn:aws:iam::aws:policy/X"
    assert out["p"] == {"Fn::Sub": "echo ${!HOME} in ${AWS::Region}"}


def test_an_existing_role_named_after_a_region_is_the_same_role_in_every_region():
    """IAM is global: --role ssm-instance-ap-northeast-1 is that role in every member region,
    not ssm-instance-eu-west-1 (which does not exist: the stack fails to attach its policy)."""
    options = {"destination": "cloudwatch", "role": f"ssm-instance-{REGION}"}
    member = _substitute(member_template(options, REGION)["Resources"], MEMBER, MEMBER_REGION)
    assert member["SessionLoggingPolicy"]["Properties"]["Roles"] == [f"ssm-instance-{REGION}"]


def test_central_bucket_members_write_under_their_own_account():
    resources = member_template(CENTRAL_MEMBER, REGION)["Resources"]
    inputs = resources["SessionPreferences"]["Properties"]["Content"]["inputs"]
    assert inputs["s3BucketName"] == "org-session-archive"
    assert inputs["s3KeyPrefix"] == {"Fn::Sub": "session-logs/${AWS::AccountId}"}
    statements = resources["SessionLoggingPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    put = next(s for s in statements if s["Action"] == "s3:PutObject")
    assert put["Resource"] == {
        "Fn::Sub": "arn:aws:s3:::org-session-archive/session-logs/${AWS::AccountId}/*"
    }
    assert ARCHIVE_KEY in json.dumps(statements), "the archive's key is named as it is"
    assert "SessionLogBucket" not in resources


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"destination": "s3", "bucket": "acme-logs"}, "--bucket"),
        ({**CENTRAL_MEMBER, "key_prefix": "ssm/123456789012"}, "--key-prefix"),
        ({"destination": "s3", "central_bucket": True, "org_id": "o-abcdefghij"}, "--central"),
        ({"destination": "cloudwatch", "create_role": "ssm-instance"}, "--create-role"),
    ],
)
def test_what_cannot_be_the_same_everywhere_is_refused(options, names):
    with pytest.raises(SpecError, match=names):
        member_template(options, REGION)


@pytest.mark.parametrize("options", [BOTH, CENTRAL_MEMBER], ids=["both-role", "central-member"])
def test_cfn_lint_passes_for_every_region(options):
    from cfnlint.api import ManualArgs, lint

    text = render_member_yaml(options, REGION)
    matches = lint(text, config=ManualArgs(regions=[REGION, "us-east-1", MEMBER_REGION]))
    assert [str(m) for m in matches if m.rule.id[0] in "EW"] == []


def test_the_deploy_commands_are_service_managed_and_bounded():
    create, instances, wait, listing = deploy_commands(
        "m.yaml", stack_set_name="logs", ous=("ou-ab12-cdef3456",), regions=("r1", "r2")
    )
    assert "--permission-model SERVICE_MANAGED" in create
    assert "Enabled=true" in create and "CAPABILITY_NAMED_IAM" in create
    assert "--template-body file://m.yaml" in create
    assert "OrganizationalUnitIds=ou-ab12-cdef3456" in instances
    assert "--regions r1 r2" in instances and "MaxConcurrentPercentage=25" in instances
    assert "--operation-id" in wait and listing.endswith("--stack-set-name logs")
    admin = deploy_commands("m.yaml", call_as="DELEGATED_ADMIN")
    assert all(line.endswith("--call-as DELEGATED_ADMIN") for line in admin)


def test_folded_commands_keep_every_word_within_the_width():
    command = deploy_commands("member.yaml", regions=(REGION, "us-east-1"))[1]
    lines = fold_command(command, width=60)
    assert len(lines) > 2
    # over the width only where one word is longer than the width itself
    assert all(len(line) <= 60 or len(line.split()) <= 2 for line in lines), lines
    assert " ".join(line.removesuffix(" \\").strip() for line in lines) == command


def test_export_stackset_writes_the_template_and_its_commands(tmp_path: Path):
    """No --account-id and no credentials needed: the member template makes no AWS call."""
    out = tmp_path / "member.yaml"
    command = ["provision", "export", "-d", "cloudwatch", "--stackset", "--region", REGION]
    result = CliRunner().invoke(app, [*command, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert f"file://{out}" in text and "SERVICE_MANAGED" in text
    key = yaml.safe_load(text)["Resources"]["SessionLogsKeyCloudwatch"]["Properties"]
    root = key["KeyPolicy"]["Statement"][0]["Principal"]["AWS"]
    assert root == {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}


def test_export_stackset_refuses_an_account_id(tmp_path: Path):
    out = tmp_path / "member.yaml"
    command = ["provision", "export", "-d", "cloudwatch", "--stackset", "--region", REGION]
    result = CliRunner().invoke(app, [*command, "--account-id", "123456789012", "--out", str(out)])
    assert result.exit_code == 2
    assert "--account-id" in result.output
    assert not out.exists()
