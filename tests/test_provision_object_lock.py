"""The Object Lock rule on its own: a default retention is made compliance and lengthened, never
shortened (the moto round trips are in test_provision_presets.py)."""

from __future__ import annotations

import pytest

from provision.changes import KEEP, UPDATE
from provision.resources import object_lock

RESOURCE, BUCKET = "bucket b", "b"


def _put_days(changes) -> int | None:
    calls = [c.call for c in changes if c.call is not None]
    assert [c.operation for c in calls] in ([], ["put_object_lock_configuration"])
    if not calls:
        return None
    retention = calls[0].params["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention["Mode"] == "COMPLIANCE"
    return retention["Days"]


@pytest.mark.parametrize(
    "have, put, noted",
    [
        (None, 1096, False),  # a bucket to be created gets what is asked
        ((None, None), 1096, False),  # versioned, never locked
        (("COMPLIANCE", 365), 1096, False),  # shorter: lengthened
        (("COMPLIANCE", 1096), None, False),  # as asked: nothing to do
        (("COMPLIANCE", 1825), None, True),  # longer: kept, with a note
        (("GOVERNANCE", 1096), 1096, False),  # bypassable: made compliance
        (("GOVERNANCE", 2000), 2000, True),  # ... for its longer period
    ],
)
def test_the_lock_is_made_compliance_and_never_shortened(have, put, noted):
    changes = object_lock.diff(RESOURCE, BUCKET, 1096, have)
    assert _put_days(changes) == put
    notes = [c.summary for c in changes if c.action == KEEP]
    assert bool(notes) == noted
    if noted:
        assert f"already locks new objects for {have[1]} days" in notes[0]
        assert "never shortened" in notes[0]
    assert all(c.action in (KEEP, UPDATE) for c in changes)
