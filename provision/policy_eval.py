"""A small, explicit evaluator of resource policies (bucket and key policies).

Why: moto checks a bucket policy only on object calls, without the caller or any condition
context, and treats a statement whose condition it cannot satisfy as a Deny (moto 5.2
``IAMPolicyStatement``): ``aws:PrincipalOrgID``, ``aws:SecureTransport`` or
``kms:EncryptionContext`` are never evaluated, and AWS has no offline policy simulator for
resource policies (``iam.simulate_principal_policy`` is not in moto either). ``verify`` and the
tests ask this evaluator "may a principal of account A in organization O put this object?".

Covered, as the IAM policy evaluation logic documents it: Allow/Deny with explicit Deny
winning; ``Principal`` ("*", account ids, account root and role ARNs, service principals);
``Action``/``Resource`` with ``*`` and ``?`` wildcards, case-insensitive actions; policy
variables ``${key}`` from the request context; the condition operators String*, Arn*, Bool
and Null with ``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``. Anything else
(NotPrincipal, NotAction, NotResource, numeric and date operators) raises
``UnsupportedPolicy`` rather than guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

ALLOW, DENY, IMPLICIT_DENY = "allow", "deny", "implicit-deny"
VARIABLES_VERSION = "2012-10-17"  # the policy language version that has ${...} variables
_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class UnsupportedPolicy(ValueError):
    """The policy uses an element this evaluator does not model."""


@dataclass(frozen=True)
class Request:
    """One request as a resource policy sees it.

    ``principal`` is the caller's ARN (a role ARN, or ``arn:aws:iam::<account>:root``) or,
    for an AWS service, its service principal; ``context`` holds the condition keys (any case).
    """

    action: str
    resource: str
    principal: str
    context: Mapping[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> list[str] | None:
        """The context values of ``key`` (condition keys are case-insensitive), or None."""
        for name, value in self.context.items():
            if name.lower() == key.lower():
                items = value if isinstance(value, list | tuple) else [value]
                return [_text(v) for v in items]
        return None


def principal_request(
    action: str,
    resource: str,
    principal_arn: str,
    org_id: str | None,
    **context: Any,
) -> Request:
    """A request by an IAM principal, with the global keys AWS adds for it.

    ``aws:PrincipalAccount`` comes from the ARN; ``aws:PrincipalOrgID`` is absent for an
    account outside any organization (as in AWS); ``aws:SecureTransport`` is true (the agent
    uses HTTPS). Extra keys are given with ``__`` for ``:`` (``kms__ViaService``).
    """
    account = principal_arn.split(":")[4]
    keys: dict[str, Any] = {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": account,
        "aws:SecureTransport": "true",
    }
    if org_id is not None:
        keys["aws:PrincipalOrgID"] = org_id
    keys |= {name.replace("__", ":"): value for name, value in context.items()}
    return Request(action, resource, principal_arn, keys)


def evaluate(policy: Mapping[str, Any] | None, request: Request) -> str:
    """ALLOW, DENY (an explicit Deny matched) or IMPLICIT_DENY (no statement allows)."""
    decision = IMPLICIT_DENY
    statements = (policy or {}).get("Statement", [])
    # Policy variables exist only in language version 2012-10-17; under 2008-10-17 (also the
    # default when Version is absent) ``${...}`` is literal text (IAM "Version" element).
    variables = (policy or {}).get("Version") == VARIABLES_VERSION
    for statement in [statements] if isinstance(statements, Mapping) else statements:
        if not _applies(statement, request, variables):
            continue
        if statement.get("Effect") == "Deny":
            return DENY
        if statement.get("Effect") == "Allow":
            decision = ALLOW
    return decision


def allows(policy: Mapping[str, Any] | None, request: Request) -> bool:
    return evaluate(policy, request) == ALLOW


def _applies(statement: Mapping[str, Any], request: Request, variables: bool = True) -> bool:
    for element in ("NotPrincipal", "NotAction", "NotResource"):
        if element in statement:
            raise UnsupportedPolicy(f"{element} is not modelled")
    actions = _as_list(statement.get("Action"))
    if not any(fnmatchcase(request.action.lower(), a.lower()) for a in actions):
        return False
    resources = [_substitute(r, request, variables) for r in _as_list(statement.get("Resource"))]
    if not any(r is not None and fnmatchcase(request.resource, r) for r in resources):
        return False
    if "Principal" in statement and not _principal_matches(statement["Principal"], request):
        return False
    return _conditions_hold(statement.get("Condition") or {}, request, variables)


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise UnsupportedPolicy(f"Principal {principal!r} is not modelled")
    if request.principal in _as_list(principal.get("Service")):
        return True
    caller_account = request.principal.split(":")[4] if request.principal.count(":") >= 5 else ""
    for entry in _as_list(principal.get("AWS")):
        if entry == "*" or entry == request.principal:
            return True
        # An account id or its root ARN names every principal of that account.
        if entry == caller_account or entry.endswith(f":iam::{caller_account}:root"):
            return True
    return False


def _conditions_hold(
    conditions: Mapping[str, Any], request: Request, variables: bool = True
) -> bool:
    for operator, block in conditions.items():
        for key, expected in block.items():
            wanted = [_substitute(str(_text(v)), request, variables) for v in _as_list(expected)]
            if not _condition(operator, request.value(key), [w for w in wanted if w is not None]):
                return False
    return True


def _condition(operator: str, actual: list[str] | None, wanted: list[str]) -> bool:
    qualifier, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    if name == "Null":
        return (actual is None) == (wanted == ["true"])
    if actual is None:
        # IAM docs: ForAllValues also holds when the request has no such key (the empty set),
        # ForAnyValue does not; otherwise a missing key fails a positive operator and
        # satisfies a negated one.
        if qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return if_exists
        return if_exists or "Not" in name
    match = _MATCHERS.get(name.replace("Not", ""))
    if match is None:
        raise UnsupportedPolicy(f"condition operator {operator} is not modelled")
    hits = [any(match(value, w) for w in wanted) for value in actual]
    found = all(hits) if qualifier == "ForAllValues" else any(hits)
    return not found if "Not" in name else found


_MATCHERS = {
    "StringEquals": lambda value, wanted: value == wanted,
    "StringEqualsIgnoreCase": lambda value, wanted: value.lower() == wanted.lower(),
    "StringLike": fnmatchcase,
    "ArnEquals": fnmatchcase,
    "ArnLike": fnmatchcase,
    "Bool": lambda value, wanted: value.lower() == wanted.lower(),
}


def _substitute(text: str, request: Request, variables: bool = True) -> str | None:
    """``${aws:PrincipalAccount}`` etc. from the context; None when a variable is unknown.
    ``variables`` False (a pre-2012-10-17 policy): the text as written."""
    if not variables:
        return text
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = request.value(match[1])
        if not found:
            missing = True
            return ""
        return found[0]

    result = _VARIABLE.sub(value, text)
    return None if missing else result


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
