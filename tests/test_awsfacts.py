"""AWS facts and validators: one answer and one wording for the cost side and provisioning."""

from __future__ import annotations

import pytest

from costcompare.awsfacts import (
    AWS_REGIONS,
    CLOUDWATCH_RETENTION_DAYS,
    LifecycleRule,
    check_account_id,
    check_bucket_name,
    check_kms_arn,
    check_lifecycle,
    check_log_group_name,
    check_region,
    check_retention_days,
    check_storage_class,
    parse_bool,
    partition,
)
from costcompare.errors import CostCompareError, MeasureError, PricingError, WorkloadError
from costcompare.workload import from_mapping
from provision.errors import SpecError
from provision.spec import build_spec

KEY = "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_regions_known_typo_and_new_region():
    assert check_region(" eu-west-1 ") == "eu-west-1"
    assert check_region("cn-north-1") == "cn-north-1"
    with pytest.raises(CostCompareError, match="did you mean 'ap-northeast-1'"):
        check_region("ap-northeast1")
    with pytest.raises(CostCompareError, match=r"^no AWS region given"):
        check_region(None)
    with pytest.raises(CostCompareError, match="unknown region 'xx-newplace-9'"):
        check_region("xx-newplace-9")
    assert check_region("xx-newplace-9", known_only=False) == "xx-newplace-9"
    with pytest.raises(CostCompareError, match="unknown region 'Tokyo'"):
        check_region("Tokyo", known_only=False)


def test_the_caller_chooses_the_error_type_and_the_words_stay_the_same():
    messages = set()
    for error in (WorkloadError, SpecError, PricingError):
        with pytest.raises(error) as info:
            check_region("ap-northeast1", error=error)
        messages.add(str(info.value))
    assert len(messages) == 1


def test_workload_and_provision_refuse_a_region_in_the_same_words():
    with pytest.raises(WorkloadError) as workload:
        from_mapping({"region": "eu-west1"}, source="p.yaml")
    with pytest.raises(SpecError) as spec:
        build_spec({"destination": "cloudwatch"}, "eu-west1")
    assert str(workload.value) == f"p.yaml: {spec.value}"


def test_partition():
    assert [partition(r) for r in ("us-east-1", "cn-north-1", "us-gov-west-1")] == [
        "aws",
        "aws-cn",
        "aws-us-gov",
    ]
    assert all(partition(r) == "aws" for r in AWS_REGIONS)


def test_retention_accepts_every_cloudwatch_value_and_names_the_nearest():
    assert [check_retention_days(d) for d in CLOUDWATCH_RETENTION_DAYS] == list(
        CLOUDWATCH_RETENTION_DAYS
    )
    assert check_retention_days(None) is None
    with pytest.raises(CostCompareError, match=r"retention_days 100 .*\(nearest: 90\)"):
        check_retention_days(100)
    with pytest.raises(CostCompareError, match=r"\(nearest: 400\)"):
        check_retention_days(390)


def test_one_lifecycle_type_for_the_workload_and_provisioning():
    spec = build_spec(
        {"destination": "s3", "bucket": "logs-1", "transition": ["30:standard_ia", "90:GLACIER"]},
        "ap-northeast-1",
    )
    wanted = (LifecycleRule(30, "STANDARD_IA"), LifecycleRule(90, "GLACIER"))
    assert spec.bucket.transitions == wanted
    workload = from_mapping({"s3_lifecycle": [r.as_dict() for r in spec.bucket.transitions]})
    assert workload.s3_lifecycle == spec.bucket.transitions


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([(10, "STANDARD_IA")], "at least 30 days in STANDARD"),
        ([(90, "GLACIER"), (30, "STANDARD_IA")], "does not follow 90:GLACIER"),
        ([(30, "GLACIER"), (60, "GLACIER_IR")], "which S3 does not allow"),
        ([(30, "STANDARD_IA"), (40, "GLACIER")], "stay 30 days in an IA class"),
        ([(30, "TAPE")], "unknown storage class 'TAPE'"),
    ],
)
def test_lifecycle_rules_s3_refuses(rules, message):
    with pytest.raises(CostCompareError, match=message):
        check_lifecycle([LifecycleRule(days, cls) for days, cls in rules])


def test_lifecycle_s3_accepts():
    rules = [LifecycleRule(30, "STANDARD_IA"), LifecycleRule(60, "GLACIER_IR")]
    assert check_lifecycle(rules) == tuple(rules)
    assert check_storage_class(" deep_archive", what="x") == "DEEP_ARCHIVE"


@pytest.mark.parametrize(
    ("text", "expected"),
    [(True, True), ("yes", True), ("On", True), ("1", True), (False, False), ("no", False),
     ("off", False), ("0", False), ("maybe", None), ("", None)],
)  # fmt: skip
def test_parse_bool(text, expected):
    assert parse_bool(text) is expected


def test_names_and_arns():
    assert check_log_group_name("/ssm/session-manager") == "/ssm/session-manager"
    with pytest.raises(CostCompareError, match="not starting with aws/"):
        check_log_group_name("aws/ssm")
    assert check_bucket_name("session-logs-1") == "session-logs-1"
    for bad, message in [("my.logs", "dots"), ("Logs", "uppercase"), ("xn--a-b", "reserved")]:
        with pytest.raises(CostCompareError, match=message):
            check_bucket_name(bad)
    assert check_kms_arn(KEY, "ap-northeast-1", "--kms-key") == KEY
    with pytest.raises(CostCompareError, match="is in ap-northeast-1, not eu-west-1"):
        check_kms_arn(KEY, "eu-west-1", "--kms-key")
    with pytest.raises(CostCompareError, match="malformed key id"):
        check_kms_arn(KEY[:-4], "ap-northeast-1", "--kms-key")


def test_interface_endpoints_one_list_for_cost_and_provisioning():
    from costcompare.awsfacts import SESSION_MANAGER_ENDPOINTS, interface_endpoints
    from costcompare.volumes import BASELINE_INTERFACE_ENDPOINTS

    assert interface_endpoints(cloudwatch=False, kms=False) == SESSION_MANAGER_ENDPOINTS
    assert interface_endpoints(cloudwatch=True, kms=True)[-2:] == ("logs", "kms")
    assert BASELINE_INTERFACE_ENDPOINTS == len(SESSION_MANAGER_ENDPOINTS) == 3
    spec = build_spec({"destination": "both", "bucket": "logs-1"}, "eu-west-1")
    assert spec.interface_services() == tuple(
        f"com.amazonaws.eu-west-1.{n}" for n in ("ssm", "ssmmessages", "ec2messages", "logs", "kms")
    )


def test_account_id_is_twelve_ascii_digits_with_one_wording_everywhere():
    assert check_account_id("012345678901", "--accounts") == "012345678901"
    # 11 digits, 13, a trailing newline, Arabic-Indic digits: each refused, in the caller's type
    for bad in ("12345678901", "1234567890123", "123456789012\n", "\u0661" * 12):
        with pytest.raises(MeasureError) as refused:
            check_account_id(bad, "--accounts", error=MeasureError)
        assert refused.value.problem == f"--accounts {bad!r} is not an account id"
        assert refused.value.fix == "give 12 digits"
    with pytest.raises(CostCompareError) as long:
        check_account_id("9" * 500, "--account")
    assert len(long.value.problem) < 100  # the echoed value is clipped
