"""The Session Manager preferences document (SSM-SessionManagerRunShell): read, diff, check,
teardown.

The tool owns only the inputs its options set. Switching destination clears the target that
is turned off (its store is kept). The content before the tool first changed the document is
remembered (a tag naming that version) so destroy can put it back.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.aws import AwsContext, error_code
from provision.changes import CREATE, REMOVE, UPDATE, Call, Change, FieldChange, is_managed
from provision.changes import known_after_apply as _placeholder
from provision.errors import PlanError
from provision.resources.base import (
    ERROR,
    NOT_FOUND,
    PREVIOUS_VERSION_TAG,
    WARNING,
    Finding,
    key_value_tags,
)
from provision.spec import DOCUMENT_NAME, ProvisionSpec

RESOURCE = f"preferences document {DOCUMENT_NAME}"
VERSION_PLACEHOLDER = "document.new-version"
MAX_CONTENT_BYTES = 64 * 1024
BASE_DOCUMENT: dict[str, Any] = {
    "schemaVersion": "1.0",
    "description": "Document to hold regional settings for Session Manager",
    "sessionType": "Standard_Stream",
    "inputs": {
        "s3BucketName": "",
        "s3KeyPrefix": "",
        "s3EncryptionEnabled": True,
        "cloudWatchLogGroupName": "",
        "cloudWatchEncryptionEnabled": True,
        "cloudWatchStreamingEnabled": True,
        "kmsKeyId": "",
        "runAsEnabled": False,
        "runAsDefaultUser": "",
        "idleSessionTimeout": "20",
        "maxSessionDuration": "",
        "shellProfile": {"windows": "", "linux": ""},
    },
}


@dataclass(frozen=True)
class DocumentState:
    latest_version: str
    default_version: str
    latest_content: Mapping[str, Any]
    default_content: Mapping[str, Any]
    tags: Mapping[str, str]

    @property
    def inputs(self) -> Mapping[str, Any]:
        """The inputs in effect (the default version is what the agent reads)."""
        return self.default_content.get("inputs", {}) or {}

    def target(self, name: str) -> str:
        return str(self.inputs.get(name) or "")


# -- read ----------------------------------------------------------------------------------------
def read(ctx: AwsContext) -> DocumentState | None:
    ssm = ctx.client("ssm")
    try:
        default = ssm.get_document(Name=DOCUMENT_NAME)
    except Exception as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise
    latest = ssm.get_document(Name=DOCUMENT_NAME, DocumentVersion="$LATEST")
    described = ssm.describe_document(Name=DOCUMENT_NAME)["Document"]
    tags = ssm.list_tags_for_resource(ResourceType="Document", ResourceId=DOCUMENT_NAME)
    return DocumentState(
        latest_version=str(described.get("LatestVersion") or latest["DocumentVersion"]),
        default_version=str(described.get("DefaultVersion") or default["DocumentVersion"]),
        latest_content=_content(latest["Content"]),
        default_content=_content(default["Content"]),
        tags={t["Key"]: t["Value"] for t in tags.get("TagList", [])},
    )


def read_version(ctx: AwsContext, version: str) -> Mapping[str, Any] | None:
    try:
        found = ctx.client("ssm").get_document(Name=DOCUMENT_NAME, DocumentVersion=version)
    except Exception as exc:
        if error_code(exc) in (*NOT_FOUND, "InvalidDocumentVersion"):
            return None
        raise
    return _content(found["Content"])


def _content(text: str) -> dict[str, Any]:
    try:
        content = json.loads(text)
    except ValueError:
        raise PlanError(
            f"{DOCUMENT_NAME} is not JSON",
            "convert it to JSON in the Session Manager console before using this tool",
        ) from None
    return content if isinstance(content, dict) else {}


# -- diff ----------------------------------------------------------------------------------------
def desired(
    spec: ProvisionSpec, existing: Mapping[str, Any] | None, key_arns: Mapping[str, str]
) -> dict[str, Any]:
    """The existing content with the tool's inputs set; a target not chosen is cleared."""
    content = copy.deepcopy(dict(existing)) if existing else copy.deepcopy(BASE_DOCUMENT)
    content.setdefault("schemaVersion", "1.0")
    content["sessionType"] = "Standard_Stream"
    inputs = content.setdefault("inputs", {})
    if spec.log_group:
        inputs["cloudWatchLogGroupName"] = spec.log_group.name
        inputs["cloudWatchEncryptionEnabled"] = spec.log_group.key is not None
        inputs["cloudWatchStreamingEnabled"] = spec.log_group.streaming
    elif inputs.get("cloudWatchLogGroupName"):
        inputs["cloudWatchLogGroupName"] = ""
    if spec.bucket:
        inputs["s3BucketName"] = spec.bucket.name
        inputs["s3KeyPrefix"] = spec.bucket.key_prefix
        inputs["s3EncryptionEnabled"] = True
    elif inputs.get("s3BucketName"):
        inputs["s3BucketName"] = ""
        inputs["s3KeyPrefix"] = ""
    _session_inputs(spec, inputs, key_arns)
    return content


def _session_inputs(spec: ProvisionSpec, inputs: dict[str, Any], key_arns) -> None:
    session = spec.session
    if session.idle_timeout is not None:
        inputs["idleSessionTimeout"] = str(session.idle_timeout)
    if session.max_duration is not None:
        inputs["maxSessionDuration"] = str(session.max_duration)
    if session.run_as_enabled is not None:
        inputs["runAsEnabled"] = session.run_as_enabled
    if session.run_as_user is not None:
        inputs["runAsDefaultUser"] = session.run_as_user
    if session.shell_linux is not None or session.shell_windows is not None:
        shell = dict(inputs.get("shellProfile") or {"windows": "", "linux": ""})
        if session.shell_linux is not None:
            shell["linux"] = session.shell_linux
        if session.shell_windows is not None:
            shell["windows"] = session.shell_windows
        inputs["shellProfile"] = shell
    if key_arns.get("session"):
        inputs["kmsKeyId"] = key_arns["session"]


def diff(
    spec: ProvisionSpec, state: DocumentState | None, key_arns: Mapping[str, str]
) -> list[Change]:
    content = desired(spec, state.latest_content if state else None, key_arns)
    text = json.dumps(content, indent=2)
    if len(text.encode("utf-8")) > MAX_CONTENT_BYTES:
        raise PlanError(
            f"the preferences would be {len(text.encode()):,} bytes; SSM allows 64 KB",
            "shorten the shell profiles",
        )
    if state is None:
        params = {
            "Content": text,
            "Name": DOCUMENT_NAME,
            "DocumentType": "Session",
            "DocumentFormat": "JSON",
            "Tags": key_value_tags(),
        }
        fields = tuple(FieldChange(k, None, v) for k, v in content["inputs"].items())
        summary = "create the Session Manager preferences"
        return [Change(RESOURCE, CREATE, summary, fields, Call("ssm", "create_document", params))]
    if content == state.latest_content:
        if state.default_version == state.latest_version:
            return []
        return [_make_default(state.default_version, state.latest_version)]
    return _turned_off(state, content) + _update(state, content, text)


def _turned_off(state: DocumentState, content: Mapping[str, Any]) -> list[Change]:
    """A "-" line per target the new content no longer names; the store itself stays."""
    old, new = state.latest_content.get("inputs", {}), content["inputs"]
    out = []
    for key, kind in (
        ("s3BucketName", "s3 target"),
        ("cloudWatchLogGroupName", "cloudwatch target"),
    ):
        if old.get(key) and not new.get(key):
            summary = f"stop sending session logs to {old[key]} (the store and its logs stay)"
            field = FieldChange(key, old[key], "")
            out.append(Change(f"{kind} {old[key]}", REMOVE, summary, (field,)))
    return out


def _update(state: DocumentState, content: Mapping[str, Any], text: str) -> list[Change]:
    old_inputs = state.latest_content.get("inputs", {})
    fields = tuple(
        FieldChange(k, old_inputs.get(k), v)
        for k, v in content["inputs"].items()
        if old_inputs.get(k) != v
    )
    if state.latest_content.get("sessionType") != "Standard_Stream":
        old_type = state.latest_content.get("sessionType")
        fields += (FieldChange("sessionType", old_type, "Standard_Stream"),)
    changes = []
    if PREVIOUS_VERSION_TAG not in state.tags and not is_managed(state.tags):
        tag = [{"Key": PREVIOUS_VERSION_TAG, "Value": state.default_version}]
        changes.append(
            Change(
                RESOURCE,
                UPDATE,
                f"remember version {state.default_version} so destroy can restore it",
                (FieldChange(PREVIOUS_VERSION_TAG, None, state.default_version),),
                Call(
                    "ssm",
                    "add_tags_to_resource",
                    {"ResourceType": "Document", "ResourceId": DOCUMENT_NAME, "Tags": tag},
                ),
            )
        )
    version = _placeholder(VERSION_PLACEHOLDER)
    params = {"Content": text, "Name": DOCUMENT_NAME, "DocumentVersion": "$LATEST"}
    result = ("DocumentDescription", "DocumentVersion")
    changes.append(
        Change(
            RESOURCE,
            UPDATE,
            "new version of the preferences (other inputs kept)",
            fields,
            Call("ssm", "update_document", params, version, result),
        )
    )
    changes.append(_make_default(state.default_version, version))
    return changes


def _make_default(old: str, new: str) -> Change:
    return Change(
        RESOURCE,
        UPDATE,
        "make the new version the default (the console and agent read the default)",
        (FieldChange("default_version", old, new),),
        Call(
            "ssm",
            "update_document_default_version",
            {"Name": DOCUMENT_NAME, "DocumentVersion": new},
        ),
    )


# -- teardown ------------------------------------------------------------------------------------
def teardown(ctx: AwsContext, state: DocumentState) -> tuple[list[Change], list[str]]:
    """Delete the document the tool created; otherwise restore the remembered version."""
    if is_managed(state.tags):
        call = Call(
            "ssm", "delete_document", {"Name": DOCUMENT_NAME}, ok_codes=("InvalidDocument",)
        )
        summary = "delete it: the tool created it, there were no preferences before"
        return [Change(RESOURCE, REMOVE, summary, (), call)], []
    version = state.tags.get(PREVIOUS_VERSION_TAG)
    if version is None:
        return [], [f"{RESOURCE}: not created or changed by the tool"]
    previous = read_version(ctx, version)
    if previous is None:
        return [], [f"{RESOURCE}: version {version} to restore is gone; left as is"]
    changes = []
    new_version = state.latest_version
    if previous != state.latest_content:
        new_version = _placeholder(VERSION_PLACEHOLDER)
        params = {
            "Content": json.dumps(previous, indent=2),
            "Name": DOCUMENT_NAME,
            "DocumentVersion": "$LATEST",
        }
        result = ("DocumentDescription", "DocumentVersion")
        call = Call("ssm", "update_document", params, new_version, result)
        summary = f"restore the content of version {version}"
        changes.append(Change(RESOURCE, UPDATE, summary, (), call))
    changes.append(_make_default(state.default_version, new_version))
    params = {
        "ResourceType": "Document",
        "ResourceId": DOCUMENT_NAME,
        "TagKeys": [PREVIOUS_VERSION_TAG],
    }
    summary = "forget the remembered version"
    changes.append(
        Change(RESOURCE, UPDATE, summary, (), Call("ssm", "remove_tags_from_resource", params))
    )
    return changes, []


# -- check ---------------------------------------------------------------------------------------
def check(state: DocumentState | None, destination: str | None) -> list[Finding]:
    """Preferences exist, are in effect, log somewhere (the chosen somewhere) and encrypt."""
    if state is None:
        return [
            Finding(
                ERROR,
                "preferences-missing",
                RESOURCE,
                "no Session Manager preferences in this region: sessions are not logged",
                "run 'costcompare provision apply' (or save preferences in the console)",
            )
        ]
    out = []
    if state.default_version != state.latest_version:
        out.append(
            Finding(
                WARNING,
                "preferences-default-version",
                RESOURCE,
                f"default version {state.default_version} is not the latest "
                f"({state.latest_version}): the newer settings are not in effect",
                f"update-document-default-version --document-version {state.latest_version}",
            )
        )
    group, bucket = state.target("cloudWatchLogGroupName"), state.target("s3BucketName")
    if not group and not bucket:
        out.append(
            Finding(
                ERROR,
                "no-log-destination",
                RESOURCE,
                "neither cloudWatchLogGroupName nor s3BucketName is set: sessions are not logged",
                "choose a destination: costcompare provision apply --destination ...",
            )
        )
    for wanted_by, have, what in (
        (("cloudwatch", "both"), group, "CloudWatch Logs"),
        (("s3", "both"), bucket, "S3"),
    ):
        if destination in wanted_by and not have:
            out.append(
                Finding(
                    ERROR,
                    "destination-mismatch",
                    RESOURCE,
                    f"{what} is not configured",
                    f"apply with --destination {destination}",
                )
            )
    if not state.target("kmsKeyId"):
        out.append(
            Finding(
                WARNING,
                "session-data-unencrypted",
                RESOURCE,
                "kmsKeyId is empty: session data is not KMS-encrypted (checkov CKV_AWS_112)",
                "costcompare provision apply sets it (a key of its own, or --session-kms-key-id)",
            )
        )
    return out


# -- CloudFormation ------------------------------------------------------------------------------
CFN_CAVEAT = (
    f"CloudFormation cannot import or update the existing {DOCUMENT_NAME} document (Session "
    "Manager creates it the first time its preferences are saved): deploy this template in a "
    "region where the document does not exist yet, or leave the document out and run "
    "'costcompare provision apply' for the preferences."
)


def render_cfn(spec: ProvisionSpec, key_arns: Mapping[str, Any]) -> dict[str, Any]:
    """The preferences document with the content apply would write into a fresh region."""
    resource = {
        "Type": "AWS::SSM::Document",
        "Metadata": {"Caveat": CFN_CAVEAT},
        "Properties": {
            "Name": DOCUMENT_NAME,
            "DocumentType": "Session",
            "DocumentFormat": "JSON",
            "Content": desired(spec, None, key_arns),
            "Tags": key_value_tags(),
        },
    }
    return {"SessionPreferences": resource}
