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

from costcompare.awsfacts import partition
from provision.aws import AwsContext, error_code
from provision.changes import CREATE, REMOVE, UPDATE, Call, Change, FieldChange, is_managed
from provision.resources.base import WARNING, Finding, try_read
from provision.spec import MANAGED_TAG, AthenaSpec, ProvisionSpec

LINE_COLUMN = "line"
FIELD_DELIMITER = "\u0001"  # never in terminal text: each line is one field
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
LAZY_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
DATABASE_DESCRIPTION = "Session Manager logs"


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
        params = {
            "DatabaseInput": {
                "Name": want.database,
                "Description": DATABASE_DESCRIPTION,
                "Parameters": {MANAGED_TAG[0]: MANAGED_TAG[1]},
            }
        }
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


@dataclass(frozen=True)
class ManagedAthena:
    """What ``--athena`` made, found without the options that made it (see ``discover``)."""

    workgroups: tuple[tuple[str, int | None, bool], ...]  # (name, cutoff bytes, has saved queries)
    tables: tuple[tuple[str, str], ...]  # (database, table)
    databases: tuple[tuple[str, tuple[str, ...]], ...]  # (name, tables the tool did not make)


def discover(ctx: AwsContext) -> ManagedAthena:
    """Workgroups by their tag ``costcompare:managed=true`` (Athena takes and returns tags).
    Glue tables and databases by the same key/value in their ``Parameters``: the tool writes it
    there at create time and a Parameters read needs only ``glue:GetDatabases``/``GetTables``,
    where tags need ``glue:GetTags`` and a Glue ARN per object. A database made before the
    database marker existed is recognised by the description the tool gives it
    ("Session Manager logs") together with a managed table inside it."""
    glue = ctx.client("glue")
    tables, databases = [], []
    for page in glue.get_paginator("get_databases").paginate():
        for db in page["DatabaseList"]:
            mine, others = _tables(glue, db["Name"])
            tables += [(db["Name"], t) for t in mine]
            legacy = db.get("Description") == DATABASE_DESCRIPTION and bool(mine)
            if is_managed(db.get("Parameters")) or legacy:
                databases.append((db["Name"], tuple(others)))
    return ManagedAthena(tuple(_managed_workgroups(ctx)), tuple(tables), tuple(databases))


def _tables(glue, database: str) -> tuple[list[str], list[str]]:
    """(tables the tool made, every other table) in one Glue database."""
    mine, others = [], []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for table in page["TableList"]:
            (mine if is_managed(table.get("Parameters")) else others).append(table["Name"])
    return mine, others


def _managed_workgroups(ctx: AwsContext) -> list[tuple[str, int | None, bool]]:
    athena = ctx.client("athena")
    arn = f"arn:{partition(ctx.region)}:athena:{ctx.region}:{ctx.account_id()}:workgroup/"
    found, token = [], None
    while True:
        page = athena.list_work_groups(**({"NextToken": token} if token else {}))
        for group in page["WorkGroups"]:
            name = group["Name"]
            if not is_managed(_tags(athena, arn + name)):
                continue
            config = (_workgroup(athena, name) or {}).get("Configuration", {})
            saved = athena.list_named_queries(WorkGroup=name, MaxResults=1).get("NamedQueryIds")
            found.append((name, config.get("BytesScannedCutoffPerQuery"), bool(saved)))
        token = page.get("NextToken")
        if not token:
            return found


def _tags(athena, arn: str) -> dict[str, str]:
    """A workgroup's tags; moto answers InvalidRequestException for a workgroup with none (and
    AWS for one deleted since the listing): both mean "not the tool's"."""
    try:
        tags = athena.list_tags_for_resource(ResourceARN=arn).get("Tags", [])
    except Exception as exc:
        if error_code(exc) in ("InvalidRequestException", "ResourceNotFoundException"):
            return {}
        raise
    return {t["Key"]: t["Value"] for t in tags}


def teardown(found: ManagedAthena) -> tuple[list[Change], list[str]]:
    """Workgroups, then tables, then databases; none of them holds a transcript.

    A Glue table is metadata: dropping it deletes no S3 object. A workgroup goes with
    ``RecursiveDeleteOption`` (the API documents it as needed once the workgroup holds query
    executions), which drops its query history but not the result files under the bucket's
    ``athena-results/``;
    a workgroup holding saved (named) queries is kept, since those are the user's own SQL.
    A database that also holds tables the tool did not make is kept (deleting it drops them).
    """
    changes, kept = [], []
    for name, _cutoff, saved in found.workgroups:
        if saved:
            kept.append(f"athena workgroup {name}: holds saved (named) queries")
            continue
        params = {"WorkGroup": name, "RecursiveDeleteOption": True}
        changes.append(Change(f"athena workgroup {name}", REMOVE,
                              "delete it (query results in S3 stay)", (),
                              Call("athena", "delete_work_group", params)))  # fmt: skip
    for database, table in found.tables:
        params = {"DatabaseName": database, "Name": table}
        changes.append(Change(f"glue table {database}.{table}", REMOVE,
                              "delete it (the transcripts stay)", (),
                              Call("glue", "delete_table", params,
                                   ok_codes=("EntityNotFoundException",))))  # fmt: skip
    for database, others in found.databases:
        if others:
            kept.append(f"glue database {database}: also holds {', '.join(others)}")
            continue
        changes.append(Change(f"glue database {database}", REMOVE, "delete it", (),
                              Call("glue", "delete_database", {"Name": database},
                                   ok_codes=("EntityNotFoundException",))))  # fmt: skip
    return changes, kept


def check(found: ManagedAthena) -> list[Finding]:
    """A workgroup without a cutoff lets one query scan (and bill) the whole bucket."""
    return [
        Finding(
            WARNING,
            "athena-no-cutoff",
            f"athena workgroup {name}",
            "no bytes-scanned cutoff: a query over the whole prefix is never stopped",
            "costcompare provision apply --athena --athena-cutoff-mb N",
        )
        for name, cutoff, _saved in found.workgroups
        if not cutoff
    ]
