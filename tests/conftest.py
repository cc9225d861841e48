"""Shared fixtures. Every test runs with fake AWS credentials: no test can reach a real account."""

from __future__ import annotations

import pytest

from costcompare.pricing import default_table
from costcompare.workload import Workload


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """Fake credentials, no shared config, no profile: botocore can only talk to moto."""
    home = tmp_path_factory.mktemp("aws-home")
    monkeypatch.delenv("COSTCOMPARE_PRICING_FILE", raising=False)
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def table():
    """The bundled pricing table."""
    return default_table()


@pytest.fixture
def plain_workload() -> Workload:
    """A workload with every architecture extra switched off, for hand-computed cases."""
    return Workload(
        region="us-east-1",
        kms=False,
        vpc_endpoints=False,
        metric_filters=0,
        alarms=0,
        searches_per_month=0,
        growth_pct_per_month=0,
        s3_lifecycle=(),
        cloudwatch_overhead_ratio=2.0,  # a flat ratio keeps hand-computed ingestion simple
    )
