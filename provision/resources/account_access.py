"""Account-level S3 Block Public Access (Security Hub S3.1): read, diff, check.

Set with the S3 destination; its own resource line in the plan, apart from the bucket.
"""

from __future__ import annotations

from provision.aws import AwsContext
from provision.changes import UPDATE, Call, Change, FieldChange
from provision.resources.base import WARNING, Finding, try_read
from provision.resources.bucket import BLOCK_ALL


def account_blocks_public_access(ctx: AwsContext, account: str) -> bool:
    client = ctx.client("s3control")
    found = try_read(lambda: client.get_public_access_block(AccountId=account))
    block = (found or {}).get("PublicAccessBlockConfiguration") or {}
    return len(block) == 4 and all(block.values())


def account_resource_name(account: str) -> str:
    return f"account {account} public access block"


def diff_account_public_access(account: str, blocked: bool | None) -> list[Change]:
    """Security Hub S3.1: account-level Block Public Access, set with the S3 destination."""
    if blocked is None or blocked:
        return []
    return [
        Change(
            account_resource_name(account),
            UPDATE,
            "block public access for every bucket of the account (Security Hub S3.1)",
            (FieldChange("public_access_block", None, BLOCK_ALL),),
            Call(
                "s3control",
                "put_public_access_block",
                {"AccountId": account, "PublicAccessBlockConfiguration": BLOCK_ALL},
            ),
        )
    ]


def check_account_public_access(ctx: AwsContext, account: str) -> list[Finding]:
    if account_blocks_public_access(ctx, account):
        return []
    return [
        Finding(
            WARNING,
            "account-public-access",
            f"account {account}",
            "account-level Block Public Access is not fully on (Security Hub S3.1)",
            "costcompare provision apply --destination s3 sets it (or aws s3control "
            f"put-public-access-block --account-id {account} ...)",
        )
    ]
