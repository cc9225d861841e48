"""Remove what the tool created — only resources tagged ``costcompare:managed=true``.

The preferences document goes back to the content it had before the tool first changed it (or
away, if the tool created it). A bucket or log group that still holds logs is never deleted
unless ``force_delete_logs``; without it the whole destroy is refused before any change, so no
log data is lost by accident. Keys are only scheduled for deletion (30-day window) and only
when no remaining store is encrypted with them. The instance role and its AWS managed
AmazonSSMManagedInstanceCore stay, even when apply attached it: sessions depend on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from provision.aws import AwsContext, error_text
from provision.errors import DestroyError
from provision.observe import (
    PREVIOUS_VERSION_TAG,
    observe,
    read_document_version,
)
from provision.policies import MANAGED_INSTANCE_CORE, managed_instance_core_arn
from provision.spec import DOCUMENT_NAME, MANAGED_TAG, ProvisionSpec

Progress = Callable[[str], None]
KEY_DELETION_DAYS = 30


@dataclass(frozen=True)
class Step:
    resource: str
    summary: str
    run: Callable[[], None] = field(compare=False, repr=False)


@dataclass(frozen=True)
class DestroyPlan:
    steps: tuple[Step, ...]
    kept: tuple[str, ...]  # "resource: why", for the report
    refused: tuple[str, ...]  # stores holding logs, without --force-delete-logs

    def render(self) -> str:
        lines = [f"Destroy: {len(self.steps)} step(s)"]
        lines += [f"- {s.resource}: {s.summary}" for s in self.steps]
        if self.kept:
            lines += ["", "Left alone:"] + [f"  {k}" for k in self.kept]
        if self.refused:
            lines += ["", "Refused (hold logs; --force-delete-logs deletes them):"]
            lines += [f"  {r}" for r in self.refused]
        return "\n".join(lines) + "\n"


def _managed(tags) -> bool:
    return tags.get(MANAGED_TAG[0]) == MANAGED_TAG[1]


def plan_destroy(ctx: AwsContext, spec: ProvisionSpec, force_delete_logs: bool) -> DestroyPlan:
    """What destroy would do, from a fresh read of the account (reads only)."""
    actual = observe(ctx, spec)
    steps: list[Step] = []
    kept: list[str] = []
    refused: list[str] = []
    ssm, ec2, iam = ctx.client("ssm"), ctx.client("ec2"), ctx.client("iam")
    s3, logs, kms = ctx.client("s3"), ctx.client("logs"), ctx.client("kms")

    # 1. Preferences document: back to what it was.
    doc = actual.document
    doc_resource = f"preferences document {DOCUMENT_NAME}"
    if doc is not None and _managed(doc.tags):
        steps.append(
            Step(
                doc_resource,
                "delete it: the tool created it, there were no preferences before",
                lambda: ssm.delete_document(Name=DOCUMENT_NAME),
            )
        )
    elif doc is not None and PREVIOUS_VERSION_TAG in doc.tags:
        version = doc.tags[PREVIOUS_VERSION_TAG]
        previous = read_document_version(ctx, version)
        if previous is None:
            kept.append(f"{doc_resource}: version {version} to restore is gone; left as is")
        else:
            steps.append(
                Step(
                    doc_resource,
                    f"restore the content of version {version} as the default",
                    lambda: _restore_document(ctx, previous, doc.latest_content),
                )
            )
    elif doc is not None:
        kept.append(f"{doc_resource}: not created or changed by the tool")

    # 2. Endpoints and the security group (tagged only).
    network = actual.network
    if network is not None and network.vpc_exists:
        ours = [e for e in network.endpoints if _managed(e.tags)]
        kept += [
            f"vpc endpoint {e.service}: not tagged"
            for e in network.endpoints
            if not _managed(e.tags)
        ]
        if ours:
            ids = [e.id for e in ours]
            names = ", ".join(e.service.rsplit(".", 1)[1] for e in ours)
            steps.append(
                Step(
                    f"vpc {network.vpc_id}",
                    f"delete {len(ids)} endpoint(s): {names}",
                    lambda: ec2.delete_vpc_endpoints(VpcEndpointIds=ids),
                )
            )
        group = network.tool_security_group
        if group is not None and _managed(group.tags):
            for ep in network.endpoints:
                if not _managed(ep.tags) and group.id in ep.security_group_ids:
                    steps.append(
                        Step(
                            f"vpc endpoint {ep.service}",
                            f"detach security group {group.id} (their endpoint stays)",
                            lambda ep=ep: ec2.modify_vpc_endpoint(
                                VpcEndpointId=ep.id, RemoveSecurityGroupIds=[group.id]
                            ),
                        )
                    )
            steps.append(
                Step(
                    f"security group {group.name}",
                    "delete it",
                    lambda: ec2.delete_security_group(GroupId=group.id),
                )
            )

    # 3. The IAM policy (tagged only).
    policy = actual.policy
    if policy is not None and _managed(policy.tags):
        steps.append(
            Step(
                f"iam policy {spec.policy_name}",
                "detach from every role and delete",
                lambda: _delete_policy(iam, policy.arn),
            )
        )
    elif policy is not None:
        kept.append(f"iam policy {spec.policy_name}: not tagged")
    role = actual.role
    core = managed_instance_core_arn(spec.region)
    if role is not None and core in role.attached_policy_arns:
        # Never detached, even when apply attached it: AWS's policy, and sessions depend on it.
        kept.append(
            f"iam role {role.name}: {MANAGED_INSTANCE_CORE} stays attached (sessions need it)"
        )

    # 4. Stores: delete only when tagged, and only empty unless forced.
    deleted_stores: set[str] = set()
    bucket = actual.bucket
    if bucket is not None and _managed(bucket.tags):
        name = bucket.name
        resource = f"s3 bucket {name}"
        if bucket.holds_logs and bucket.object_lock_mode == "COMPLIANCE":
            refused.append(f"{resource}: holds logs under Object Lock compliance retention")
        elif bucket.holds_logs and not force_delete_logs:
            refused.append(f"{resource}: holds session transcripts")
        else:
            deleted_stores.add("s3")
            summary = (
                "delete every object version, then the bucket"
                if bucket.holds_logs
                else "delete the empty bucket"
            )
            steps.append(Step(resource, summary, lambda name=name: _delete_bucket(s3, name)))
    elif bucket is not None:
        kept.append(f"s3 bucket {bucket.name}: not tagged (its data and settings stay)")
    group_state = actual.log_group
    if group_state is not None and _managed(group_state.tags):
        resource = f"log group {group_state.name}"
        if group_state.holds_logs and not force_delete_logs:
            # Not storedBytes alone: AWS updates it with a lag (and moto not at all).
            refused.append(f"{resource}: holds session log streams")
        else:
            deleted_stores.add("cloudwatch")
            name = group_state.name
            steps.append(
                Step(
                    resource,
                    "delete it",
                    lambda name=name: logs.delete_log_group(logGroupName=name),
                )
            )
    elif group_state is not None:
        kept.append(f"log group {group_state.name}: not tagged (its data and settings stay)")

    # 5. Keys last, and only when nothing left behind is encrypted with them.
    stores = {"cloudwatch": actual.log_group, "s3": actual.bucket}
    for key_spec in spec.keys:
        key = actual.keys.get(key_spec.purpose)
        if key is None or not _managed(key.tags) or key.state == "PendingDeletion":
            continue
        store = stores[key_spec.purpose]
        if store is not None and key_spec.purpose not in deleted_stores:
            kept.append(f"kms key {key_spec.alias}: still encrypts {key_spec.purpose} data")
            continue
        key_id, alias = key.key_id, key.alias
        steps.append(
            Step(
                f"kms key {key_spec.alias}",
                f"remove the alias and schedule deletion in {KEY_DELETION_DAYS} days",
                lambda key_id=key_id, alias=alias: _delete_key(kms, key_id, alias),
            )
        )
    return DestroyPlan(tuple(steps), tuple(kept), tuple(refused))


def destroy(ctx: AwsContext, plan: DestroyPlan, progress: Progress = lambda _: None) -> list[str]:
    """Run the steps in order; refuse up front when logs would be lost."""
    import botocore.exceptions

    if plan.refused:
        raise DestroyError(
            f"refusing to delete stores that hold logs: {'; '.join(plan.refused)}",
            "copy what you need and pass --force-delete-logs; nothing was changed",
        )
    done: list[str] = []
    for number, step in enumerate(plan.steps, start=1):
        try:
            step.run()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise DestroyError(
                f"step {number}/{len(plan.steps)} failed — {step.resource}: {step.summary}: "
                f"{error_text(exc)}; already done: {', '.join(done) or 'nothing'}",
                "fix the cause and run destroy again",
            ) from None
        done.append(step.resource)
        progress(f"[{number}/{len(plan.steps)}] {step.resource}: {step.summary} done")
    return done


def _restore_document(ctx: AwsContext, previous, latest) -> None:
    ssm = ctx.client("ssm")
    if previous != latest:
        response = ssm.update_document(
            Content=json.dumps(previous, indent=2), Name=DOCUMENT_NAME, DocumentVersion="$LATEST"
        )
        version = response["DocumentDescription"]["DocumentVersion"]
    else:
        version = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]["LatestVersion"]
    ssm.update_document_default_version(Name=DOCUMENT_NAME, DocumentVersion=version)
    ssm.remove_tags_from_resource(
        ResourceType="Document", ResourceId=DOCUMENT_NAME, TagKeys=[PREVIOUS_VERSION_TAG]
    )


def _delete_policy(iam, arn: str) -> None:
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        for role in page.get("PolicyRoles", []):
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


def _delete_bucket(s3, name: str) -> None:
    # The TLS-only policy goes first: it is about to be meaningless, and some S3-compatible
    # endpoints (moto) cannot evaluate aws:SecureTransport on the object deletes below.
    s3.delete_bucket_policy(Bucket=name)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
    s3.delete_bucket(Bucket=name)


def _delete_key(kms, key_id: str, alias: str | None) -> None:
    if alias:
        kms.delete_alias(AliasName=alias)
    # The bare key id: moto 5.2 looks ARNs up as ids here (AWS accepts both).
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=KEY_DELETION_DAYS)
