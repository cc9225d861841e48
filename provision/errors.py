"""Provisioning's domain errors: the root CLI prints each as one line with its exit code."""

from __future__ import annotations

from costcompare.errors import CostCompareError


class ProvisionError(CostCompareError):
    """Base for everything the provision commands refuse or fail at."""


class SpecError(ProvisionError):
    """An option or YAML key AWS would reject (caught before any AWS call)."""


class PlanError(ProvisionError):
    """The account is in a state the tool will not change on its own (e.g. a missing role)."""


class ApplyError(ProvisionError):
    """A step failed mid-apply, or the account still differs from the plan afterwards."""


class DestroyError(ProvisionError):
    """Destroy refused (logs would be lost) or a removal step failed."""
