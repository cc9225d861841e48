"""The one AWS edge: session factory, retry policy, error translator. moto and Stubber only."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ProfileNotFound
from botocore.stub import Stubber
from moto import mock_aws
from session_corpus import build_corpus, load_cloudwatch
from typer.testing import CliRunner

from costcompare import aws
from costcompare.aws import AwsContext, aws_error, one_line, resolve_region, translated
from costcompare.cli import app
from costcompare.errors import AwsError, MeasureError


def _client_error(code: str, message: str, status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}
    response["ResponseMetadata"]["HTTPStatusCode"] = status
    return ClientError(response, "GetObject")


def _write_config(monkeypatch, tmp_path, text: str) -> None:
    config = tmp_path / "config"
    config.write_text(text)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


# -- session factory --------------------------------------------------------------------------


def test_region_flag_beats_aws_region_beats_aws_default_region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert resolve_region("us-east-2") == "us-east-2"
    assert resolve_region(None) == "eu-west-1"
    monkeypatch.delenv("AWS_REGION")
    assert resolve_region(None) == "ap-northeast-1"


def test_region_falls_back_to_the_profiles_configured_region(monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    _write_config(monkeypatch, tmp_path, "[profile audit]\nregion = eu-central-1\n")
    assert resolve_region(None, "audit") == "eu-central-1"
    assert AwsContext(profile="audit").client("s3").meta.region_name == "eu-central-1"


def test_clients_honour_aws_region_not_only_aws_default_region(monkeypatch):
    """Issue 12.6: boto3 alone ignores AWS_REGION; every costcompare client reads it first."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    ctx = AwsContext()
    assert ctx.client("logs").meta.region_name == "eu-west-1"
    assert ctx.region == "eu-west-1"
    assert ctx.client("logs", region="us-east-1").meta.region_name == "us-east-1"


def test_every_client_gets_the_one_retry_policy_and_user_agent():
    ctx = AwsContext("ap-northeast-1")
    for service in ("s3", "logs", "pricing", "kms"):
        config = ctx.client(service).meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": aws.MAX_ATTEMPTS}
        assert aws.USER_AGENT in config.user_agent_extra


def test_clients_are_cached_hooked_and_their_calls_counted():
    seen = []
    ctx = AwsContext("ap-northeast-1", on_client=seen.append)
    with mock_aws():
        s3 = ctx.client("s3")
        assert ctx.client("s3") is s3
        s3.list_buckets()
        s3.list_buckets()
        ctx.client("logs").describe_log_groups()
    assert len(seen) == 2
    assert ctx.calls == {"ListBuckets": 2, "DescribeLogGroups": 1}


def test_endpoint_url_reaches_every_client():
    ctx = AwsContext("ap-northeast-1", endpoint_url="http://127.0.0.1:5000")
    assert ctx.client("s3").meta.endpoint_url == "http://127.0.0.1:5000"
    assert ctx.client("sts").meta.endpoint_url == "http://127.0.0.1:5000"


def test_account_id_comes_from_sts():
    with mock_aws():
        account = boto3.client("sts").get_caller_identity()["Account"]
        assert AwsContext("ap-northeast-1").account_id() == account


@pytest.mark.parametrize("from_env", [False, True])
def test_unknown_profile_is_named_whether_from_flag_or_aws_profile(monkeypatch, from_env):
    """Issue 12.6: AWS_PROFILE=nope used to read "AWS profile None is not configured"."""
    if from_env:
        monkeypatch.setenv("AWS_PROFILE", "nope")
    ctx = AwsContext("ap-northeast-1", profile=None if from_env else "nope")
    with pytest.raises(AwsError) as info:
        ctx.client("s3")
    assert str(info.value) == (
        "AWS profile 'nope' is not configured — check --profile / AWS_PROFILE against ~/.aws/config"
    )


def test_no_region_anywhere_is_one_line(monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(AwsError, match=r"^no AWS region given — pass --region or set AWS_REGION"):
        AwsContext().client("logs")


def test_unknown_region_is_refused_before_any_client():
    made = []
    with pytest.raises(AwsError, match=r"^unknown region 'mars-1' — write a region code"):
        AwsContext("mars-1", on_client=made.append)
    assert made == []


def test_unknown_region_from_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "ap-northeast1")
    ctx = AwsContext()
    with pytest.raises(AwsError, match=r"^AWS_REGION=ap-northeast1: .*'ap-northeast-1'.*--region"):
        ctx.client("logs")
    assert ctx.calls == {}


def test_a_well_formed_region_newer_than_the_tool_is_let_through():
    assert AwsContext("ap-southeast-9").client("s3").meta.region_name == "ap-southeast-9"


def test_bad_endpoint_url_is_one_line():
    with pytest.raises(AwsError, match=r"making an AWS s3 client: .*--endpoint-url"):
        AwsContext("ap-northeast-1", endpoint_url="not a url").client("s3")


def test_no_credentials_is_one_line(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AwsError) as info:
        AwsContext("ap-northeast-1").account_id()
    assert str(info.value) == (
        "identifying the AWS account (sts:GetCallerIdentity): no AWS credentials found — "
        "pass --profile, set AWS_PROFILE, or configure credentials (aws configure)"
    )


# -- error translator -------------------------------------------------------------------------


def test_access_denied_from_a_stubbed_call_names_the_call_and_the_fix():
    s3 = AwsContext("ap-northeast-1").client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("list_buckets", "AccessDenied", "Access Denied", 403)
        with pytest.raises(AwsError) as info, translated("listing buckets"):
            s3.list_buckets()
    assert str(info.value) == (
        "listing buckets: AccessDenied: Access Denied — the caller lacks a permission this "
        "command needs: grant it, or pass --profile for one that has it"
    )


def test_throttling_after_the_retries_says_so():
    error = aws_error(_client_error("ThrottlingException", "Rate exceeded"), "reading logs")
    assert str(error) == (
        f"reading logs: ThrottlingException: Rate exceeded — AWS still throttled the call "
        f"after {aws.MAX_ATTEMPTS} attempts: wait and run again"
    )


def test_expired_credentials_and_unreachable_endpoints_have_their_fix():
    expired = aws_error(_client_error("ExpiredToken", "The security token has expired"), "x")
    assert "x: ExpiredToken: The security token has expired — refresh the credentials" in str(
        expired
    )
    down = aws_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), "listing")
    assert str(down) == (
        "listing: cannot reach http://127.0.0.1:9 (EndpointConnectionError) — check "
        "--endpoint-url, --region and the network"
    )


def test_caller_keeps_its_error_type_and_its_fixes():
    error = aws_error(
        _client_error("NoSuchBucket", "The specified bucket does not exist", 404),
        "listing s3://gone/",
        error=MeasureError,
        fixes={"NoSuchBucket": "check the bucket name"},
    )
    assert isinstance(error, MeasureError)
    assert str(error) == (
        "listing s3://gone/: NoSuchBucket: The specified bucket does not exist — "
        "check the bucket name"
    )


def test_profile_error_carries_no_doing_prefix_and_domain_errors_pass_through():
    assert str(aws_error(ProfileNotFound(profile="ops"), "listing")).startswith(
        "AWS profile 'ops' is not configured — "
    )
    original = MeasureError("already one line")
    assert aws_error(original, "anything") is original


def test_translated_leaves_other_exceptions_alone():
    with pytest.raises(KeyError), translated("x"):
        raise KeyError("not AWS")


def test_html_error_page_is_squeezed_to_its_title():
    page = (
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>"
        "<style>body {color: red}</style></head>\n<body><h1>502 Bad Gateway</h1>\n"
        "<hr><center>nginx</center></body></html>"
    )
    error = aws_error(_client_error("502", page, 502), "asking the Price List API")
    assert str(error).startswith("asking the Price List API: 502: 502 Bad Gateway — ")
    assert "\n" not in str(error) and "<" not in str(error)


def test_one_line_strips_tags_unescapes_and_caps_the_length():
    assert one_line("<p>Service &amp; <b>gone</b></p>\n\n  soon") == "Service & gone soon"
    squeezed = one_line("word " * 200, limit=40)
    assert len(squeezed) == 40 and squeezed.endswith("…")
    assert one_line("a < b and c > d") == "a < b and c > d"


# -- the commands -----------------------------------------------------------------------------


def test_measure_names_the_unknown_aws_profile_in_one_line(monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "nope")
    result = CliRunner().invoke(app, ["measure", "--s3", "s3://bucket/prefix/"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: AWS profile 'nope' is not configured — check --profile / AWS_PROFILE "
        "against ~/.aws/config\n"
    )


def test_measure_reads_the_log_group_in_aws_region(monkeypatch):
    """Issue 12.6: the group lives in eu-west-1 and only AWS_REGION says so (the default region
    is Tokyo); measure used to look in Tokyo and report the group missing."""
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with mock_aws():
        logs = boto3.client("logs", region_name="eu-west-1")
        logs.create_log_group(logGroupName="/ssm/eu")
        result = CliRunner().invoke(app, ["measure", "--log-group", "/ssm/eu", "-o", "json"])
        tokyo = CliRunner().invoke(
            app, ["measure", "--log-group", "/ssm/eu", "--region", "ap-northeast-1"]
        )
    assert result.exit_code == 0, result.output
    assert "/ssm/eu" in result.stdout
    assert tokyo.exit_code == 2 and "does not exist" in tokyo.stderr


def test_measure_writes_the_region_it_measured_in(monkeypatch, tmp_path):
    """The profile measure writes names the region AWS_REGION chose, not the base profile's."""
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    profile = tmp_path / "measured.yaml"
    now = dt.datetime.now(dt.UTC)
    sessions = build_corpus(4, seed=1, start=now - dt.timedelta(days=2), days=1, instances=2)
    with mock_aws():
        logs = boto3.client("logs", region_name="eu-west-1")
        load_cloudwatch(logs, boto3.client("cloudwatch", region_name="eu-west-1"), "/eu", sessions)
        result = CliRunner().invoke(
            app, ["measure", "--log-group", "/eu", "--write-workload", str(profile)]
        )
    assert result.exit_code == 0, result.output
    assert "region: eu-west-1" in profile.read_text()


def test_an_untranslated_botocore_error_still_ends_in_one_line(monkeypatch):
    def boom(*_args, **_kwargs):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    monkeypatch.setattr("costcompare.measure.measure_s3", boom)
    result = CliRunner().invoke(app, ["measure", "--s3", "s3://b/p/"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: cannot reach http://127.0.0.1:9 (EndpointConnectionError) — check "
        "--endpoint-url, --region and the network\n"
    )


def test_importing_the_aws_edge_does_not_import_boto3():
    code = "import sys, costcompare.aws; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_provision_reads_word_aws_errors_like_every_command(monkeypatch):
    """provision plan without credentials: the shared translator's words, not botocore's."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = CliRunner().invoke(
        app, ["provision", "plan", "-d", "cloudwatch", "--region", "ap-northeast-1"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: identifying the AWS account (sts:GetCallerIdentity): no AWS credentials found — "
        "pass --profile, set AWS_PROFILE, or configure credentials (aws configure)\n"
    )
