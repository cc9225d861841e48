"""The bucket's Object Lock default retention: never shortened, only made stronger.

Part of the bucket resource; its own module because the "keep a longer lock" rule is the one
place where the desired state yields to what the account already has. A tool that must never
lose log data does not shorten how long new transcripts are locked: a bucket that already locks
longer than asked keeps its period (a governance lock still becomes compliance, for as long).
"""

from __future__ import annotations

from provision.changes import KEEP, UPDATE, Call, Change, FieldChange

COMPLIANCE = "COMPLIANCE"


def kept_days(want_days: int, have_mode: str | None, have_days: int | None) -> int:
    """The retention to ask for: the longer of the wanted and the existing default."""
    return max(want_days, have_days or 0) if have_mode else want_days


def diff(
    resource: str,
    bucket: str,
    want_days: int,
    have: tuple[str | None, int | None] | None,
) -> list[Change]:
    """The change that makes the default retention compliance for at least ``want_days``.

    ``have`` is the bucket's (mode, days) — None for a bucket still to be created.
    """
    mode, days = have if have is not None else (None, None)
    target = kept_days(want_days, mode, days)
    old = {"mode": mode, "days": days} if have is not None else None
    new = {"mode": COMPLIANCE, "days": target}
    note = []
    if target > want_days:
        note = [
            Change(
                resource,
                KEEP,
                f"Object Lock: the bucket already locks new objects for {days} days, longer "
                f"than the {want_days} asked; kept (a lock is never shortened)",
            )
        ]
    if old == new:
        return note
    retention = {"DefaultRetention": {"Mode": COMPLIANCE, "Days": target}}
    configuration = {"ObjectLockEnabled": "Enabled", "Rule": retention}
    update = Change(
        resource,
        UPDATE,
        "Object Lock default retention (compliance: nobody can delete early; "
        "never shorter than the bucket already has)",
        (FieldChange("object_lock", old, new),),
        Call(
            "s3",
            "put_object_lock_configuration",
            {"Bucket": bucket, "ObjectLockConfiguration": configuration},
        ),
    )
    return [*note, update]
