"""provision.policy_eval: the decisions AWS's policy evaluation logic documents, case by case."""

from __future__ import annotations

import pytest

from provision import policies
from provision.policy_eval import (
    ALLOW,
    DENY,
    IMPLICIT_DENY,
    Request,
    UnsupportedPolicy,
    evaluate,
    principal_request,
)

REGION = "ap-northeast-1"
BUCKET = "org-archive"
ORG = "o-abcdefghij"
MEMBER, OTHER = "111122223333", "444455556666"
OBJECT = f"arn:aws:s3:::{BUCKET}/session-logs/{MEMBER}/alice-0a1b.log"


def _role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/ssm-instance"


def _central_policy() -> dict:
    statements = policies.org_bucket_statements(REGION, BUCKET, "session-logs", ORG)
    return policies.bucket_policy(REGION, BUCKET, None, statements)


def test_org_member_may_put_under_its_own_account_prefix_only():
    policy = _central_policy()
    own = principal_request("s3:PutObject", OBJECT, _role(MEMBER), ORG)
    assert evaluate(policy, own) == ALLOW
    foreign = principal_request("s3:PutObject", OBJECT, _role(OTHER), ORG)
    assert evaluate(policy, foreign) == IMPLICIT_DENY  # OTHER's prefix is session-logs/OTHER/


def test_principal_outside_the_org_is_not_allowed():
    policy = _central_policy()
    for org in (None, "o-zzzzzzzzzz"):
        request = principal_request("s3:PutObject", OBJECT, _role(MEMBER), org)
        assert evaluate(policy, request) == IMPLICIT_DENY


def test_tls_only_statement_denies_plain_http_even_for_members():
    policy = _central_policy()
    request = principal_request(
        "s3:PutObject", OBJECT, _role(MEMBER), ORG, aws__SecureTransport="false"
    )
    assert evaluate(policy, request) == DENY


def test_get_encryption_configuration_on_the_bucket_not_on_objects():
    policy = _central_policy()
    bucket = f"arn:aws:s3:::{BUCKET}"
    check = principal_request("s3:GetEncryptionConfiguration", bucket, _role(OTHER), ORG)
    assert evaluate(policy, check) == ALLOW
    read = principal_request("s3:GetObject", OBJECT, _role(MEMBER), ORG)
    assert evaluate(policy, read) == IMPLICIT_DENY


def test_explicit_deny_wins_over_allow_and_actions_ignore_case():
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": {"AWS": OTHER},
                "Action": "S3:Put*",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            },
        ]
    }
    assert evaluate(policy, Request("s3:PutObject", OBJECT, _role(MEMBER))) == ALLOW
    assert evaluate(policy, Request("s3:putobject", OBJECT, _role(OTHER))) == DENY
    assert evaluate(policy, Request("s3:PutObject", OBJECT, f"arn:aws:iam::{OTHER}:root")) == DENY


@pytest.mark.parametrize(
    ("operator", "value", "context", "expected"),
    [
        ("StringNotEquals", ORG, {}, ALLOW),  # a missing key satisfies a negated operator
        ("StringNotEquals", ORG, {"aws:PrincipalOrgID": ORG}, IMPLICIT_DENY),
        ("StringEqualsIfExists", ORG, {}, ALLOW),
        ("StringLike", "o-abc*", {"aws:principalorgid": ORG}, ALLOW),  # keys ignore case
        ("Null", "true", {}, ALLOW),
        ("Null", "true", {"aws:PrincipalOrgID": ORG}, IMPLICIT_DENY),
        ("ForAnyValue:StringEquals", ORG, {"aws:PrincipalOrgID": ["o-x", ORG]}, ALLOW),
        ("ForAllValues:StringEquals", ORG, {"aws:PrincipalOrgID": ["o-x", ORG]}, IMPLICIT_DENY),
        # IAM: ForAllValues holds when the request has no such key, ForAnyValue does not
        ("ForAllValues:StringEquals", ORG, {}, ALLOW),
        ("ForAnyValue:StringNotEquals", ORG, {}, IMPLICIT_DENY),
    ],
)
def test_condition_operators(operator, value, context, expected):
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": "*",
        "Condition": {operator: {"aws:PrincipalOrgID": value}},
    }
    request = Request("s3:PutObject", OBJECT, _role(MEMBER), context)
    assert evaluate({"Statement": [statement]}, request) == expected


def test_service_principal_and_unknown_variable():
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "logs.ap-northeast-1.amazonaws.com"},
        "Action": "kms:Decrypt*",
        "Resource": "*",
    }
    logs = Request("kms:Decrypt", "*", "logs.ap-northeast-1.amazonaws.com")
    assert evaluate({"Statement": statement}, logs) == ALLOW
    assert evaluate({"Statement": statement}, Request("kms:Decrypt", "*", _role(MEMBER))) == (
        IMPLICIT_DENY
    )
    # A variable with no value in the request makes the resource match nothing.
    variable = {**statement, "Principal": "*", "Resource": "arn:aws:s3:::b/${aws:userid}/*"}
    assert evaluate(
        {"Statement": [variable]}, Request("kms:Decrypt", "arn:aws:s3:::b/x/k", "p")
    ) == (IMPLICIT_DENY)


def test_unmodelled_elements_are_refused_not_guessed():
    statement = {"Effect": "Deny", "NotPrincipal": {"AWS": MEMBER}, "Action": "*", "Resource": "*"}
    with pytest.raises(UnsupportedPolicy):
        evaluate({"Statement": [statement]}, Request("s3:PutObject", OBJECT, _role(MEMBER)))
    numeric = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "*",
        "Resource": "*",
        "Condition": {"NumericLessThan": {"s3:max-keys": "10"}},
    }
    request = Request("s3:ListBucket", "*", _role(MEMBER), {"s3:max-keys": "5"})
    with pytest.raises(UnsupportedPolicy):
        evaluate({"Statement": [numeric]}, request)


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_policy_variables_are_literal_text_before_version_2012_10_17(version):
    """IAM: under Version 2008-10-17 (also the default when Version is absent) ``${...}`` is
    not a variable but literal text, so the org grant matches no member's real prefix."""
    policy = dict(_central_policy())
    if version is None:
        del policy["Version"]
    else:
        policy["Version"] = version
    own = principal_request("s3:PutObject", OBJECT, _role(MEMBER), ORG)
    assert evaluate(policy, own) == IMPLICIT_DENY
    literal = f"arn:aws:s3:::{BUCKET}/session-logs/${{aws:PrincipalAccount}}/x.log"
    assert evaluate(policy, principal_request("s3:PutObject", literal, _role(MEMBER), ORG)) == ALLOW


def test_org_grant_added_to_an_old_version_policy_lifts_it_to_2012_10_17():
    """An existing 2008-10-17 policy would turn the ${aws:PrincipalAccount} prefix into
    literal text: every member upload denied. Adding the grant raises the language version."""
    auditor = {
        "Sid": "Auditors",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    existing = {"Version": "2008-10-17", "Statement": [auditor]}
    statements = policies.org_bucket_statements(REGION, BUCKET, "session-logs", ORG)
    policy = policies.bucket_policy(REGION, BUCKET, existing, statements)
    assert policy["Version"] == "2012-10-17"
    assert policy["Statement"][0] == auditor
    own = principal_request("s3:PutObject", OBJECT, _role(MEMBER), ORG)
    assert evaluate(policy, own) == ALLOW
