"""provision.spec: inputs AWS would reject (and moto would accept) fail before any AWS call."""

from __future__ import annotations

import pytest

from provision.config import load_options, merge_options
from provision.errors import SpecError
from provision.spec import (
    DEFAULT_LOG_GROUP,
    KEY_ALIASES,
    build_spec,
    check_bucket_name,
)

REGION = "ap-northeast-1"
KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def spec(**options):
    return build_spec(options, REGION)


def test_cloudwatch_defaults():
    s = spec(destination="cloudwatch")
    assert s.log_group is not None and s.bucket is None
    assert s.log_group.name == DEFAULT_LOG_GROUP
    assert s.log_group.retention_days == 365
    assert s.log_group.log_class == "STANDARD"
    assert s.log_group.streaming is True
    assert s.log_group.key.alias == KEY_ALIASES["cloudwatch"] and s.log_group.key.managed
    assert s.interface_services() == (
        "com.amazonaws.ap-northeast-1.ssm",
        "com.amazonaws.ap-northeast-1.ssmmessages",
        "com.amazonaws.ap-northeast-1.ec2messages",
        "com.amazonaws.ap-northeast-1.logs",
        "com.amazonaws.ap-northeast-1.kms",
    )
    assert s.gateway_services() == ()


def test_s3_with_sse_s3_needs_no_kms_endpoint():
    s = spec(
        destination="s3", bucket="audit-logs", bucket_encryption="sse-s3", session_kms_key_id="none"
    )
    assert s.bucket.sse_algorithm == "AES256" and s.bucket.key is None
    assert not s.uses_kms
    assert "com.amazonaws.ap-northeast-1.kms" not in s.interface_services()
    assert "com.amazonaws.ap-northeast-1.logs" not in s.interface_services()
    assert s.gateway_services() == ("com.amazonaws.ap-northeast-1.s3",)


def test_existing_key_and_lifecycle():
    s = spec(
        destination="both",
        bucket="audit-logs",
        kms_key=KEY,
        transition=["30:standard_ia", "90:GLACIER"],
        expiration_days=400,
        object_lock_days=30,
        idle_timeout="15",
        run_as_user="ssm-user",
    )
    assert s.log_group.key.existing_arn == KEY and not s.log_group.key.managed
    assert [(t.after_days, t.storage_class) for t in s.bucket.transitions] == [
        (30, "STANDARD_IA"),
        (90, "GLACIER"),
    ]
    assert s.bucket.expiration_days == 400 and s.bucket.object_lock_days == 30
    assert s.session.idle_timeout == 15
    assert s.session.run_as_enabled is True and s.session.run_as_user == "ssm-user"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "--destination is required"),
        ({"destination": "splunk"}, "not allowed"),
        (
            {"destination": "cloudwatch", "retention_days": 400 + 1},
            "not a value CloudWatch Logs accepts",
        ),
        ({"destination": "cloudwatch", "retention_days": 366}, "nearest: 365"),
        ({"destination": "cloudwatch", "log_class": "DELIVERY"}, "log-class"),
        ({"destination": "cloudwatch", "log_group": "bad name!"}, "log group name"),
        ({"destination": "cloudwatch", "idle_timeout": 61}, "idle_timeout 61 is out of range"),
        ({"destination": "cloudwatch", "idle_timeout": 0}, "out of range"),
        ({"destination": "cloudwatch", "max_duration": 1441}, "max_duration 1441 is out of range"),
        ({"destination": "cloudwatch", "kms_key": "arn:aws:kms:bogus"}, "is not a KMS key ARN"),
        (
            {"destination": "cloudwatch", "kms_key": KEY.replace(REGION, "us-east-1")},
            "is in us-east-1, not ap-northeast-1",
        ),
        (
            {"destination": "cloudwatch", "kms_key": KEY.replace("1234abcd-12ab", "xyz")},
            "malformed key id",
        ),
        ({"destination": "cloudwatch", "session_kms_key_id": "alias/foo"}, "not a KMS key ARN"),
        ({"destination": "s3"}, "needs a bucket name"),
        ({"destination": "s3", "bucket": "my.logs"}, "contains dots"),
        ({"destination": "s3", "bucket": "My-Logs"}, "uppercase"),
        ({"destination": "s3", "bucket": "ab"}, "is invalid"),
        ({"destination": "s3", "bucket": "-logs"}, "is invalid"),
        ({"destination": "s3", "bucket": "xn--logs"}, "reserved"),
        ({"destination": "s3", "bucket": "logs", "key_prefix": "/p"}, "slash"),
        ({"destination": "s3", "bucket": "logs", "transition": ["10:STANDARD_IA"]}, "at least 30"),
        ({"destination": "s3", "bucket": "logs", "transition": ["30:TAPE"]}, "storage class"),
        (
            {"destination": "s3", "bucket": "logs", "transition": ["90:GLACIER", "30:STANDARD_IA"]},
            "does not follow",
        ),
        (
            {"destination": "s3", "bucket": "logs", "transition": ["30:STANDARD_IA", "40:GLACIER"]},
            "stay 30 days",
        ),
        (
            {
                "destination": "s3",
                "bucket": "logs",
                "transition": ["90:GLACIER"],
                "expiration_days": 60,
            },
            "not after the last transition",
        ),
        ({"destination": "s3", "bucket": "logs", "bucket_kms_key": "none"}, "contradicts"),
        ({"destination": "cloudwatch", "bucket": "logs"}, "--bucket is set"),
        ({"destination": "cloudwatch", "vpc_id": "vpc-12345678"}, "both --vpc-id and --subnet"),
        (
            {"destination": "cloudwatch", "vpc_id": "vpc-xyz", "subnet": ["subnet-12345678"]},
            "VPC id",
        ),
        ({"destination": "cloudwatch", "role": "bad role"}, "role name"),
        ({"destination": "cloudwatch", "run_as_user": "Root User"}, "Linux user"),
    ],
)
def test_rejected_inputs(options, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        build_spec(options, REGION)
    assert info.value.exit_code == 2
    assert " — " in str(info.value)  # every message says the fix


def test_region_is_checked():
    with pytest.raises(SpecError, match="did you mean 'ap-northeast-1'"):
        build_spec({"destination": "cloudwatch"}, "ap-northeast1")
    with pytest.raises(SpecError, match="no AWS region"):
        build_spec({"destination": "cloudwatch"}, "")


def test_bucket_name_accepts_valid():
    assert check_bucket_name("session-logs-123") == "session-logs-123"


def test_yaml_options_and_cli_override(tmp_path):
    path = tmp_path / "provision.yaml"
    path.write_text(
        "destination: both\nbucket: audit-logs\nretention-days: 731\n"
        "transition:\n  - {days: 30, storage_class: STANDARD_IA}\nsubnet: [subnet-12345678]\n"
        "vpc_id: vpc-12345678\n"
    )
    options = merge_options(
        load_options(path), {"retention_days": 400, "bucket": None, "subnet": []}
    )
    s = build_spec(options, REGION)
    assert s.log_group.retention_days == 400  # the flag wins
    assert s.bucket.name == "audit-logs"  # None on the command line means "not given"
    assert s.bucket.transitions[0].after_days == 30
    assert s.network.subnet_ids == ("subnet-12345678",)


def test_yaml_unknown_key_suggests(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("destination: s3\nbukcet: x\n")
    with pytest.raises(SpecError, match="did you mean 'bucket'"):
        load_options(path)


@pytest.mark.parametrize("value", [0, "0", "never", "none"])
def test_retention_zero_or_never_is_refused_not_forever(value):
    """Issue 18.1: 0 / never used to remove retention from a live log group without a word."""
    with pytest.raises(SpecError, match="--retain-forever to keep logs forever"):
        spec(destination="cloudwatch", retention_days=value)


def test_retain_forever_is_explicit_and_exclusive():
    assert spec(destination="cloudwatch", retain_forever=True).log_group.retention_days is None
    assert spec(destination="cloudwatch", retention_days=None).log_group.retention_days == 365
    with pytest.raises(SpecError, match="both given"):
        spec(destination="cloudwatch", retain_forever=True, retention_days=731)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("destination: s3\nbucket: b-1\ntransition: 30\n", "unknown storage class"),
        ("destination: both\nbucket: [a, b]\n", "bucket must be one value, not list"),
        ("destination: both\nsubnet: {a: 1}\n", "subnet must be a list of values, not dict"),
        ("destination: both\nbucket: x\n  bad: indent\n", "line 3 column 6 is not valid YAML"),
        ("destination: cloudwatch\nvpc_id: vpc-12345678\nsubnet: 5\n", "'5' is not a subnet"),
    ],
)
def test_config_wrong_types_and_syntax_are_one_line(tmp_path, text, message):
    """Issue 18.7: wrong types in --config used to crash with TypeError; syntax errors ran on."""
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message) as caught:
        build_spec(load_options(path), REGION)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("encoding", ["utf-16", None])
def test_config_not_utf8_is_one_line(tmp_path, encoding):
    path = tmp_path / "p.yaml"
    path.write_bytes("destination: s3\n".encode(encoding) if encoding else bytes(range(256)))
    expected = "is UTF-16 text" if encoding else "is not UTF-8 text"
    with pytest.raises(SpecError, match=expected):
        load_options(path)


def test_config_takes_connection_settings(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("destination: s3\nregion: us-east-1\nendpoint-url: http://127.0.0.1:5000\n")
    assert load_options(path)["region"] == "us-east-1"
    assert load_options(path)["endpoint_url"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize("url", ["not a url", "ftp://host", "http://", "http://h:notaport"])
def test_endpoint_url_must_be_http_url(url):
    """Issue 18.11: 'not a url' reached botocore and ended in a traceback."""
    from provision.config import check_endpoint_url

    with pytest.raises(SpecError, match="is not a URL"):
        check_endpoint_url(url)
    assert check_endpoint_url("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_shell_profile_over_64_kb_is_refused():
    """Issue 18.12: SSM documents hold at most 64 KB; the profile failed only at apply."""
    fits = "x" * (64 * 1024)
    assert spec(destination="cloudwatch", shell_profile_linux=fits).session.shell_linux == fits
    with pytest.raises(SpecError, match="65,537 bytes; SSM documents hold at most 64 KB"):
        spec(destination="cloudwatch", shell_profile_windows=fits + "y")


def test_session_data_is_encrypted_by_default_with_a_key_of_its_own():
    """Issue 11: the defaults must pass verify (CKV_AWS_112 wants kmsKeyId set)."""
    s = spec(destination="cloudwatch")
    assert s.session_key.alias == KEY_ALIASES["session"] and s.session_key.managed
    assert spec(destination="cloudwatch", session_kms_key_id=KEY).session_key.existing_arn == KEY
    assert spec(destination="cloudwatch", session_kms_key_id="none").session_key is None


def test_default_bucket_name_from_account_and_region():
    s = build_spec({"destination": "both"}, REGION, account="123456789012")
    assert s.bucket.name == "ssm-session-logs-123456789012-ap-northeast-1"
    with pytest.raises(SpecError, match="needs a bucket name"):
        build_spec({"destination": "s3"}, REGION)


def test_create_role_names_the_role_and_asks_for_creation():
    s = spec(destination="cloudwatch", create_role="ssm-instance")
    assert (s.role_name, s.create_role) == ("ssm-instance", True)
    assert spec(destination="cloudwatch", role="r").create_role is False
    with pytest.raises(SpecError, match="name different roles"):
        spec(destination="cloudwatch", role="a", create_role="b")
