"""provision --athena on moto: the Glue table of transcript lines and the Athena workgroup that
`costcompare search --athena-table` queries; idempotent; validated up front."""

from __future__ import annotations

import boto3
import pytest
from test_provision_support import (  # noqa: F401  (bare_fixture provides "bare")
    REGION,
    ROLE,
    apply,
    bare_fixture,
    context,
    plan_for,
)

from provision.changes import KEEP
from provision.destroy import destroy, plan_destroy
from provision.errors import SpecError
from provision.resources.athena import FIELD_DELIMITER, LINE_COLUMN
from provision.spec import MANAGED_TAG, build_spec
from provision.verify import ERROR, VerifyTarget, verify

BUCKET = "session-logs-athena"


def _spec(**extra):
    options = {"destination": "s3", "bucket": BUCKET, "role": ROLE, "athena": True, **extra}
    return build_spec(options, REGION)


def test_apply_creates_the_table_over_the_prefix_and_a_workgroup_with_a_cutoff(bare):
    spec = _spec(athena_cutoff_mb=200)
    writes = apply(spec)
    assert {"CreateDatabase", "CreateTable", "CreateWorkGroup"} <= set(writes)
    glue = boto3.client("glue", region_name=REGION)
    table = glue.get_table(DatabaseName="ssm_session_logs", Name="session_lines")["Table"]
    storage = table["StorageDescriptor"]
    assert storage["Location"] == f"s3://{BUCKET}/session-logs/"
    assert storage["Columns"] == [{"Name": LINE_COLUMN, "Type": "string"}]
    assert storage["SerdeInfo"]["Parameters"] == {"field.delim": FIELD_DELIMITER}
    group = boto3.client("athena", region_name=REGION).get_work_group(WorkGroup="costcompare")
    config = group["WorkGroup"]["Configuration"]
    assert config["BytesScannedCutoffPerQuery"] == 200 * 1024 * 1024
    assert config["ResultConfiguration"]["OutputLocation"] == f"s3://{BUCKET}/athena-results/"
    assert config["EnforceWorkGroupConfiguration"] is True
    # converged: a second plan keeps the three Athena resources as they are
    again = {c.resource: c.action for c in plan_for(spec).changes}
    for name in ("glue database ssm_session_logs", "glue table ssm_session_logs.session_lines",
                 "athena workgroup costcompare"):  # fmt: skip
        assert again[name] == KEEP


def test_the_provisioned_table_is_the_one_search_queries(bare):
    """search --athena-table DB.session_lines --athena-workgroup costcompare runs in the
    workgroup apply made (moto returns canned rows; the query and workgroup are what count)."""
    from costcompare.search.awsutil import AwsOptions
    from costcompare.search.query import SearchQuery
    from costcompare.search.s3 import AthenaTarget, search_athena

    apply(_spec())
    aws = AwsOptions(region=REGION)
    result = search_athena(
        AthenaTarget("ssm_session_logs.session_lines", "costcompare"), SearchQuery("sudo"), aws,
        None,
    )  # fmt: skip
    athena = boto3.client("athena", region_name=REGION)
    [qid] = athena.list_query_executions(WorkGroup="costcompare")["QueryExecutionIds"]
    sent = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert sent["WorkGroup"] == "costcompare" and sent["Query"] == result.query_text
    assert 'FROM "ssm_session_logs"."session_lines"' in sent["Query"]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"destination": "cloudwatch", "bucket": None}, "--destination s3 or both"),
        ({"athena_cutoff_mb": 5}, "athena_cutoff_mb 5 is out of range"),
        ({"athena_database": "Session-Logs"}, "--athena-database"),
        ({"athena_workgroup": "a b"}, "--athena-workgroup"),
    ],
)
def test_bad_athena_options_are_refused_before_any_call(extra, words):
    options = {"destination": "s3", "bucket": BUCKET, "athena": True, **extra}
    options = {k: v for k, v in options.items() if v is not None}
    with pytest.raises(SpecError, match=words):
        build_spec(options, REGION)


def test_no_athena_no_athena_resources():
    assert build_spec({"destination": "s3", "bucket": BUCKET}, REGION).athena is None


TRANSCRIPTS = {
    "session-logs/alice-0a1b2c3d.log": b"sh-5.2$ sudo su\n",
    "athena-results/q.csv": b"x\n",
}


def _glue_names() -> dict[str, list[str]]:
    glue = boto3.client("glue", region_name=REGION)
    return {
        db["Name"]: [t["Name"] for t in glue.get_tables(DatabaseName=db["Name"])["TableList"]]
        for db in glue.get_databases()["DatabaseList"]
    }


def _workgroups() -> set[str]:
    groups = boto3.client("athena", region_name=REGION).list_work_groups()["WorkGroups"]
    return {g["Name"] for g in groups}


def test_destroy_alone_removes_the_athena_resources_and_keeps_every_transcript(bare):
    apply(_spec())
    s3 = boto3.client("s3", region_name=REGION)
    # moto cannot evaluate aws:SecureTransport: the TLS-only policy would deny every object call
    s3.delete_bucket_policy(Bucket=BUCKET)
    for key, body in TRANSCRIPTS.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "analytics"})  # someone else's: never touched
    glue.create_table(DatabaseName="analytics", TableInput={"Name": "orders"})
    athena = boto3.client("athena", region_name=REGION)
    athena.create_work_group(Name="team", Configuration={})  # untagged: not the tool's
    assert "costcompare" in _workgroups() and "session_lines" in _glue_names()["ssm_session_logs"]

    planned = plan_destroy(context(), force_delete_logs=False)  # no flags: found by discovery
    removed = {s.resource for s in planned.steps}
    assert {"athena workgroup costcompare", "glue table ssm_session_logs.session_lines",
            "glue database ssm_session_logs"} <= removed  # fmt: skip
    group = next(s for s in planned.steps if s.resource == "athena workgroup costcompare")
    assert group.call.params == {"WorkGroup": "costcompare", "RecursiveDeleteOption": True}
    destroy(context(), planned)

    assert _workgroups() & {"costcompare", "team"} == {"team"}
    assert _glue_names() == {"analytics": ["orders"]}
    held = {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
            for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}  # fmt: skip
    assert held == TRANSCRIPTS  # transcripts and query results intact; the bucket is kept
    assert any(BUCKET in r for r in planned.held)


def test_destroy_keeps_a_workgroup_with_saved_queries_and_a_database_shared_with_others(bare):
    apply(_spec())
    athena = boto3.client("athena", region_name=REGION)
    athena.create_named_query(Name="mine", Database="ssm_session_logs", QueryString="SELECT 1",
                              WorkGroup="costcompare")  # fmt: skip
    glue = boto3.client("glue", region_name=REGION)
    glue.create_table(DatabaseName="ssm_session_logs", TableInput={"Name": "notes"})

    planned = plan_destroy(context(), force_delete_logs=False)
    assert "athena workgroup costcompare: holds saved (named) queries" in planned.kept
    assert "glue database ssm_session_logs: also holds notes" in planned.kept
    destroy(context(), planned)
    assert "costcompare" in _workgroups()
    assert _glue_names()["ssm_session_logs"] == ["notes"]


def test_verify_after_apply_athena_has_no_error_and_flags_a_managed_workgroup_without_cutoff(bare):
    apply(_spec())
    findings = verify(context(), VerifyTarget(region=REGION, destination="s3"))
    assert [f for f in findings if f.severity == ERROR or "athena" in f.resource] == []
    boto3.client("athena", region_name=REGION).create_work_group(
        Name="uncapped", Configuration={},
        Tags=[{"Key": MANAGED_TAG[0], "Value": MANAGED_TAG[1]}],
    )  # fmt: skip
    found = [(f.check, f.resource) for f in verify(context(), VerifyTarget(region=REGION))]
    assert ("athena-no-cutoff", "athena workgroup uncapped") in found
    assert ("athena-no-cutoff", "athena workgroup costcompare") not in found
