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
    plan_for,
)

from provision.changes import KEEP
from provision.errors import SpecError
from provision.resources.athena import FIELD_DELIMITER, LINE_COLUMN
from provision.spec import build_spec

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
