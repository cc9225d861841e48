"""Running a rollout plan: each StackSets operation started, waited for and reported.

Each operation gets an ``OperationId`` derived from the plan and the state it was made from —
the instances, and every operation the stack set has had — so a retried call can never start a
second operation, and a token is never reused once an operation has run (it would make AWS
answer OperationIdAlreadyExists for work not done). An operation already running on the stack
set (an interrupted run's, a console user's) is waited for before anything new starts, since
StackSets runs one at a time; then the rollout is planned again from what it left.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from provision.aws import AwsContext, error_code
from provision.errors import ApplyError
from provision.rollout import (
    AUTO_DEPLOYMENT,
    SERVICE_MANAGED,
    Instance,
    RolloutPlan,
    RolloutRequest,
    RolloutStep,
    list_instances,
)
from provision.stackset import CAPABILITIES

FINAL_STATUSES = ("SUCCEEDED", "FAILED", "STOPPED")
POLL_SECONDS = 10.0
TIMEOUT_SECONDS = 3600.0
REMIND_EVERY = 6  # polls between "still RUNNING" lines (a minute at the default poll)
_NAMESPACE = uuid.UUID("5b1f6c1e-9d7a-4a57-8f0e-2c1f0c6d7e11")  # costcompare rollout tokens


@dataclass
class RolloutResult:
    operations: list[dict[str, str]]  # action, operation id, final status
    instances: list[Instance]

    @property
    def succeeded(self) -> bool:
        done = all(op["status"] == "SUCCEEDED" for op in self.operations)
        return done and all(i.status == "CURRENT" for i in self.instances)

    def to_dict(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "operations": self.operations,
            "instances": [asdict(i) for i in self.instances],
        }


def operation_token(plan: RolloutPlan, step: RolloutStep) -> str:
    """The same plan from the same state gives the same OperationId (a client token); any
    operation run since changes it."""
    state = [(i.account, i.region, i.status) for i in plan.observed.instances]
    state += [("operation", op, "") for op in plan.observed.operation_ids]
    digest = hashlib.sha256(plan.request.template_body.encode("utf-8")).hexdigest()
    text = json.dumps([plan.request.stack_set_name, asdict(step), digest, state])
    return str(uuid.uuid5(_NAMESPACE, text))


def apply_rollout(
    ctx: AwsContext,
    plan: RolloutPlan,
    *,
    progress: Callable[[str], None] = lambda line: None,
    poll_seconds: float = POLL_SECONDS,
    timeout_seconds: float = TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutResult:
    """Run the plan's steps in order, each operation waited for; then every instance's status.

    A step whose operation fails stops the rollout (the next one would act on a stack set
    left half-updated); the instances are read back either way.
    """
    request, call_as = plan.request, plan.observed.call_as
    cfn = ctx.client("cloudformation")
    operations: list[dict[str, str]] = []
    for step in plan.steps:
        token = operation_token(plan, step)
        progress(f"{step.action}: {step.why}")
        operation_id = _start(cfn, request, call_as, step, token)
        if operation_id is None:
            continue  # create-stack-set is synchronous
        status = wait_for_operation(
            ctx, request.stack_set_name, operation_id, call_as,
            progress=progress, poll_seconds=poll_seconds, timeout_seconds=timeout_seconds,
            sleep=sleep,
        )  # fmt: skip
        operations.append({"action": step.action, "operation_id": operation_id, "status": status})
        if status != "SUCCEEDED":
            break
    return RolloutResult(operations, list_instances(ctx, request.stack_set_name, call_as))


def _start(
    cfn: Any, request: RolloutRequest, call_as: str, step: RolloutStep, token: str
) -> str | None:
    """Make one StackSets call; the id of the operation it started (None: nothing to wait for).

    An OperationId AWS already knows means this very call reached AWS before (a retry after a
    lost reply): join that operation instead of failing.
    """
    common = {"StackSetName": request.stack_set_name, "CallAs": call_as}
    template = {"TemplateBody": request.template_body, "Capabilities": list(CAPABILITIES)}
    try:
        if step.action == "create-stack-set":
            cfn.create_stack_set(
                **common, **template, PermissionModel=SERVICE_MANAGED,
                AutoDeployment=AUTO_DEPLOYMENT, ClientRequestToken=token,
                Description="costcompare: Session Manager logging in every member account",
            )  # fmt: skip
            return None
        if step.action == "update-stack-set":
            reply = cfn.update_stack_set(
                **common, **template, PermissionModel=SERVICE_MANAGED,
                AutoDeployment=AUTO_DEPLOYMENT, OperationPreferences=request.preferences,
                OperationId=token,
            )  # fmt: skip
        else:
            reply = cfn.create_stack_instances(
                **common, DeploymentTargets={"OrganizationalUnitIds": list(step.ous)},
                Regions=list(step.regions), OperationPreferences=request.preferences,
                OperationId=token,
            )  # fmt: skip
    except Exception as exc:
        if error_code(exc) == "OperationIdAlreadyExistsException":
            return token
        raise
    return reply["OperationId"]


def wait_for_operation(
    ctx: AwsContext,
    name: str,
    operation_id: str,
    call_as: str,
    *,
    progress: Callable[[str], None] = lambda line: None,
    poll_seconds: float = POLL_SECONDS,
    timeout_seconds: float = TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Poll DescribeStackSetOperation until it ends; its final status. Status changes are
    reported through ``progress``; past ``timeout_seconds`` it raises (the operation goes on)."""
    cfn = ctx.client("cloudformation")
    waited, last, polls = 0.0, "", 0
    while True:
        found = cfn.describe_stack_set_operation(
            StackSetName=name, OperationId=operation_id, CallAs=call_as
        )["StackSetOperation"]
        status = found["Status"]
        polls += 1
        if status != last or polls % REMIND_EVERY == 0:
            progress(f"  operation {operation_id}: {status} ({waited:.0f} s)")
            last = status
        if status in FINAL_STATUSES:
            return status
        if waited >= timeout_seconds:
            raise ApplyError(
                f"operation {operation_id} of stack set {name} is still {status} after "
                f"{waited:.0f} s",
                "it goes on in AWS: run the same rollout again, which waits for it first",
            )
        sleep(poll_seconds)
        waited += poll_seconds


def wait_for_running(ctx: AwsContext, plan: RolloutPlan, **wait: Any) -> list[dict[str, str]]:
    """Wait for the operations that were already running when the plan was made (StackSets
    runs one operation per stack set at a time); their final statuses."""
    name, call_as = plan.request.stack_set_name, plan.observed.call_as
    return [
        {"action": "already running", "operation_id": op,
         "status": wait_for_operation(ctx, name, op, call_as, **wait)}
        for op in plan.observed.running
    ]  # fmt: skip
