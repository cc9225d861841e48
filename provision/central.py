"""The options of a central log-archive bucket shared by an AWS Organization (issue 15).

Two sides, two sets of options, validated here before any AWS call:

- the log-archive account: ``--central-bucket [--org-id o-…]`` builds the bucket, its key and
  a policy letting every principal of the organization upload (``CentralSpec``);
- each member account: ``--bucket NAME --bucket-account ID [--bucket-kms-key ARN]
  [--bucket-region R]`` points the preferences and the instance role at that bucket, and
  never creates one (``MemberBucket``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from costcompare import awsfacts
from costcompare.awsfacts import KMS_ARN, check_region, parse_bool
from costcompare.yamlio import clip
from provision.errors import SpecError

ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
# Options that make no sense in the log-archive account's bucket-only setup.
NOT_WITH_CENTRAL = (
    "bucket_account",
    "role",
    "create_role",
    "vpc_id",
    "subnet",
    "log_group",
    "athena",
    # the preferences' own settings: the log-archive account gets no preferences document
    "session_kms_key_id",
    "idle_timeout",
    "max_duration",
    "run_as",
    "run_as_user",
    "shell_profile_linux",
    "shell_profile_windows",
)


@dataclass(frozen=True)
class CentralSpec:
    """The log-archive side: the organization whose principals may upload.

    ``org_id`` None: read it with organizations.describe_organization at plan time.
    """

    org_id: str | None


@dataclass(frozen=True)
class MemberBucket:
    """The member side: another account's bucket, used as the S3 target, never created."""

    account: str
    region: str  # the bucket's home region
    key_arn: str | None  # its SSE-KMS key (in that account and region), None for SSE-S3


def central_spec(options: Mapping[str, Any]) -> CentralSpec | None:
    """``--central-bucket`` and ``--org-id``, or None for an ordinary (or member) setup."""
    flag = parse_bool(options.get("central_bucket") or False)
    if flag is None:
        raise SpecError(
            f"central_bucket must be true or false, not {clip(options['central_bucket'])}",
            "write true or false",
        )
    org = options.get("org_id")
    if not flag:
        if org is not None:
            raise SpecError("--org-id is for --central-bucket", "add --central-bucket or drop it")
        return None
    for name in NOT_WITH_CENTRAL:
        if options.get(name) not in (None, False, [], ()):
            raise SpecError(
                f"--{name.replace('_', '-')} does not go with --central-bucket",
                "--central-bucket sets up only the log-archive bucket and its key; configure "
                "each member account with --bucket NAME --bucket-account ID",
            )
    if options.get("destination") not in (None, "s3"):
        raise SpecError(
            f"--central-bucket stores transcripts in S3, not {options['destination']}",
            "drop --destination or use --destination s3",
        )
    return CentralSpec(org_id=None if org is None else check_org_id(str(org)))


def check_org_id(value: str) -> str:
    text = value.strip()
    if not ORG_ID.match(text):
        raise SpecError(
            f"--org-id {clip(text)} is not an organization id",
            "write o- and 10-32 lowercase letters or digits (aws organizations "
            "describe-organization shows it)",
        )
    return text


def check_account_id(value: Any, what: str = "--bucket-account") -> str:
    return awsfacts.check_account_id(str(value).strip(), what, error=SpecError)


def member_bucket(options: Mapping[str, Any], region: str) -> MemberBucket | None:
    """``--bucket-account`` (with the key and home region of that bucket), or None."""
    account = options.get("bucket_account")
    home = options.get("bucket_region")
    if account is None:
        if home is not None:
            raise SpecError("--bucket-region is for --bucket-account", "add --bucket-account")
        return None
    account = check_account_id(account)
    if not options.get("bucket"):
        raise SpecError("--bucket-account needs --bucket", "name the central bucket: --bucket NAME")
    encryption = options.get("bucket_encryption") or "sse-kms"
    key = options.get("bucket_kms_key")
    key_arn = None
    if encryption == "sse-kms":
        key_arn = _member_key(key, account)
    elif key not in (None, "create"):
        raise SpecError("--bucket-kms-key needs --bucket-encryption sse-kms", "drop one of them")
    key_region = KMS_ARN.match(key_arn)["region"] if key_arn else None  # type: ignore[index]
    home = check_region(str(home), error=SpecError) if home else key_region or region
    if key_region is not None and key_region != home:
        raise SpecError(
            f"--bucket-kms-key is in {key_region} but --bucket-region is {home}",
            "an SSE-KMS key must be in its bucket's region: give the bucket's own key",
        )
    return MemberBucket(account=account, region=home, key_arn=key_arn)


def _member_key(key: Any, account: str) -> str:
    text = "" if key is None else str(key).strip()
    if text.lower() in ("", "create", "none"):
        raise SpecError(
            "--bucket-account with SSE-KMS needs the central bucket's key",
            "pass --bucket-kms-key arn:aws:kms:<region>:<account>:key/<id> ('aws kms "
            "describe-key --key-id alias/costcompare/session-logs-s3' in the log-archive "
            "account shows it), or --bucket-encryption sse-s3 if that bucket uses SSE-S3",
        )
    match = KMS_ARN.match(text)
    if not match or match["kind"] != "key":
        raise SpecError(
            f"--bucket-kms-key {clip(text)} is not a key ARN",
            "give arn:aws:kms:<region>:<account>:key/<key id> (not an alias)",
        )
    if match["account"] != account:
        raise SpecError(
            f"--bucket-kms-key belongs to account {match['account']}, not {account}",
            "give the key of the central bucket, in the log-archive account",
        )
    return text


def member_prefix(options: Mapping[str, Any], account: str | None, default: str) -> str:
    """A member's key prefix: ``<default>/<account>`` unless given, and it must end with the
    account id — the only place the central bucket policy lets a member write."""
    for option in ("transition", "expiration_days", "object_lock_days"):
        if options.get(option):
            raise SpecError(
                f"--{option.replace('_', '-')} configures a bucket, and --bucket-account uses "
                "another account's",
                "set it with --central-bucket in the log-archive account",
            )
    given = options.get("key_prefix")
    prefix = str(given) if given is not None else f"{default}/{account}"
    # the last path segment, as the policy's <prefix>/${aws:PrincipalAccount}/ matches it
    if account and account != "000000000000" and prefix.rsplit("/", 1)[-1] != account:
        raise SpecError(
            f"key prefix {prefix!r} does not end with this account's id {account}",
            f"the central bucket accepts uploads only under <prefix>/{account}: "
            f"write e.g. {default}/{account}",
        )
    return prefix


def needs_account(spec: Any, options: Mapping[str, Any]) -> bool:
    """Whether a default of ``spec`` (a ProvisionSpec) depends on the account id: the bucket
    name, or a member's key prefix. The CLI then builds the spec again with the real one."""
    bucket = spec.bucket
    default_prefix = bucket is not None and bucket.member and options.get("key_prefix") is None
    return bucket is not None and (not options.get("bucket") or bool(default_prefix))
