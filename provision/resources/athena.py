"""The Athena side of the S3 destination (``--athena``): a Glue database and table of transcript
lines over the key prefix, and a workgroup with a bytes-scanned cutoff — what
``costcompare search --athena-table DB.session_lines --athena-workgroup WG`` queries.

The table has one string column, ``line``: each transcript line is a row (the session id comes
from the object key, ``"$path"``, in the query). Session Manager keys carry no date, so every
query scans the whole prefix: the workgroup's cutoff cancels a query that would scan more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provision.aws import AwsContext
from provision.changes import CREATE, REMOVE, UPDATE, Call, Change, FieldChange
from provision.resources.base import WARNING, Finding, try_read
from provision.spec import MANAGED_TAG, AthenaSpec, ProvisionSpec

LINE_COLUMN = "line"
FIELD_DELIMITER = "\u0001"  # never in terminal text: each line is one field
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


@dataclass(frozen=True)
class AthenaState:
    database: bool
    table_location: str | None  # None: no table
    cutoff_bytes: int | None  # None: no workgroup (or no cutoff, see has_workgroup)
    has_workgroup: bool
    output: str | None


def resource_names(want: AthenaSpec) -> list[str]:
    return [
        f"glue database {want.database}",
        f"glue table {want.database}.{want.table}",
        f"athena workgroup {want.workgroup}",
    ]


def location(spec: ProvisionSpec) -> str:
    assert spec.bucket is not None
    prefix = spec.bucket.key_prefix
    return f"s3://{spec.bucket.name}/{prefix + '/' if prefix else ''}"


def read(ctx: AwsContext, want: AthenaSpec) -> AthenaState:
    glue, athena = ctx.client("glue"), ctx.client("athena")
    database = try_read(lambda: glue.get_database(Name=want.database)) is not None
    table = (
        try_read(lambda: glue.get_table(DatabaseName=want.database, Name=want.table))
        if database
        else None
    )
    group = _workgroup(athena, want.workgroup)
    config = (group or {}).get("Configuration", {})
    return AthenaState(
        database=database,
        table_location=table["Table"]["StorageDescriptor"].get("Location") if table else None,
        cutoff_bytes=config.get("BytesScannedCutoffPerQuery"),
        has_workgroup=group is not None,
        output=config.get("ResultConfiguration", {}).get("OutputLocation"),
    )


def _workgroup(athena, name: str) -> Mapping[str, Any] | None:
    try:
        return athena.get_work_group(WorkGroup=name).get("WorkGroup")  # moto: absent
    except Exception as exc:  # InvalidRequestException: "WorkGroup ... is not found"
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if code in ("InvalidRequestException", "ResourceNotFoundException"):
            return None
        raise


def table_input(want: AthenaSpec, where: str) -> dict[str, Any]:
    """The Glue TableInput of the transcript-lines table."""
    return {
        "Name": want.table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "text", MANAGED_TAG[0]: MANAGED_TAG[1]},
        "StorageDescriptor": {
            "Columns": [{"Name": LINE_COLUMN, "Type": "string"}],
            "Location": where,
            "InputFormat": TEXT_INPUT,
            "OutputFormat": TEXT_OUTPUT,
            "SerdeInfo": {
                "SerializationLibrary": LAZY_SERDE,
                "Parameters": {"field.delim": FIELD_DELIMITER},
            },
        },
    }


def diff(spec: ProvisionSpec, state: AthenaState) -> list[Change]:
    want = spec.athena
    assert want is not None
    db_name, table_name, group_name = resource_names(want)
    where = location(spec)
    changes: list[Change] = []
    if not state.database:
        params = {"DatabaseInput": {"Name": want.database, "Description": "Session Manager logs"}}
        changes.append(
            Change(db_name, CREATE, "create the Glue database",
                   (FieldChange("database", None, want.database),),
                   Call("glue", "create_database", params, ok_codes=("AlreadyExistsException",)))
        )  # fmt: skip
    table = {"DatabaseName": want.database, "TableInput": table_input(want, where)}
    if state.table_location is None:
        changes.append(
            Change(table_name, CREATE, "create the table of transcript lines over the prefix",
                   (FieldChange("location", None, where),),
                   Call("glue", "create_table", table, ok_codes=("AlreadyExistsException",)))
        )  # fmt: skip
    elif state.table_location != where:
        changes.append(
            Change(table_name, UPDATE, "point the table at the transcript prefix",
                   (FieldChange("location", state.table_location, where),),
                   Call("glue", "update_table", table))
        )  # fmt: skip
    changes += _workgroup_changes(want, state, group_name)
    return changes


def _workgroup_changes(want: AthenaSpec, state: AthenaState, name: str) -> list[Change]:
    config = {
        "ResultConfiguration": {"OutputLocation": want.results},
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": want.cutoff_bytes,
    }
    if not state.has_workgroup:
        params = {
            "Name": want.workgroup,
            "Configuration": config,
            "Description": "costcompare search: transcript queries with a bytes-scanned cutoff",
            "Tags": [{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
        }
        fields = (FieldChange("bytes_scanned_cutoff", None, want.cutoff_bytes),
                  FieldChange("results", None, want.results))  # fmt: skip
        return [Change(name, CREATE, "create the workgroup", fields,
                       Call("athena", "create_work_group", params))]  # fmt: skip
    if state.cutoff_bytes == want.cutoff_bytes and state.output == want.results:
        return []
    updates = {
        "BytesScannedCutoffPerQuery": want.cutoff_bytes,
        "EnforceWorkGroupConfiguration": True,
        "ResultConfigurationUpdates": {"OutputLocation": want.results},
    }
    fields = (FieldChange("bytes_scanned_cutoff", state.cutoff_bytes, want.cutoff_bytes),
              FieldChange("results", state.output, want.results))  # fmt: skip
    params = {"WorkGroup": want.workgroup, "ConfigurationUpdates": updates}
    return [Change(name, UPDATE, "set the bytes-scanned cutoff and results location", fields,
                   Call("athena", "update_work_group", params))]  # fmt: skip


def teardown(want: AthenaSpec, state: AthenaState) -> list[Change]:
    """Workgroup (and its query history), table and database: they hold no logs."""
    db_name, table_name, group_name = resource_names(want)
    changes = []
    if state.has_workgroup:
        params = {"WorkGroup": want.workgroup, "RecursiveDeleteOption": True}
        changes.append(Change(group_name, REMOVE, "delete it", (),
                              Call("athena", "delete_work_group", params)))  # fmt: skip
    if state.table_location is not None:
        params = {"DatabaseName": want.database, "Name": want.table}
        changes.append(Change(table_name, REMOVE, "delete it (the transcripts stay)", (),
                              Call("glue", "delete_table", params,
                                   ok_codes=("EntityNotFoundException",))))  # fmt: skip
    if state.database:
        changes.append(Change(db_name, REMOVE, "delete it", (),
                              Call("glue", "delete_database", {"Name": want.database},
                                   ok_codes=("EntityNotFoundException",))))  # fmt: skip
    return changes


def check(want: AthenaSpec, state: AthenaState) -> list[Finding]:
    """A workgroup without a cutoff lets one query scan (and bill) the whole bucket."""
    if state.has_workgroup and not state.cutoff_bytes:
        return [Finding(WARNING, "athena-no-cutoff", f"athena workgroup {want.workgroup}",
                        "no bytes-scanned cutoff: a query over the whole prefix is never stopped",
                        "costcompare provision apply --athena --athena-cutoff-mb N")]  # fmt: skip
    return []
