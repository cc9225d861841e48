"""End to end: a real moto server (HTTP on loopback, served by a thread of this process), the
real CLI in a subprocess with --endpoint-url, read back by the AWS CLI as an independent client
would. Loopback only; no network, no real account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from test_provision_support import fast_moto
from typer.testing import CliRunner

from costcompare.cli import app

REGION = "ap-northeast-1"
BUCKET = "e2e-session-logs"
GROUP = "/ssm/session-manager"
ROLE = "e2e-instance-role"
CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # The server is a thread of this process (only the CLIs are subprocesses): the fast moto
    # settings, AmazonSSMManagedInstanceCore included, apply to it as to mock_aws.
    fast_moto(monkeypatch)
    # Port 0: the OS binds a free port atomically. Picking one first and binding it later could
    # race another process (tests run in parallel xdist workers) for the same port.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # The server shares moto's in-process state: start from an empty account, leave none behind.
    _reset(url)
    try:
        yield url
    finally:
        _reset(url)
        server.stop()


def _reset(url: str) -> None:
    """moto's reset API; no proxy, whatever the environment says (loopback only)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


def _aws(endpoint: str, *args: str) -> subprocess.Popen:
    """The AWS CLI (awscli from PyPI), started in the background; JSON on stdout."""
    command = [sys.executable, "-m", "awscli", *args, "--endpoint-url", endpoint]
    command += ["--region", REGION, "--output", "json"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out)


def test_cli_provisions_a_moto_server_and_the_aws_cli_reads_it_back(endpoint):
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=endpoint)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone=f"{REGION}a")
    subnet_id = subnet["Subnet"]["SubnetId"]
    iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint)
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument="{}")  # without the core policy
    options = [
        "--destination", "both", "--bucket", BUCKET, "--retention-days", "731",
        "--vpc-id", vpc, "--subnet", subnet_id, "--idle-timeout", "15", "--role", ROLE,
        "--region", REGION, "--endpoint-url", endpoint,
    ]  # fmt: skip

    applied = subprocess.run(
        [sys.executable, "-m", "costcompare.cli", "provision", "apply", *options, "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert applied.returncode == 0, applied.stderr
    steps = " ".join(applied.stderr.split())  # each step's line wraps to the terminal width
    assert "[30/30] preferences document SSM-SessionManagerRunShell" in steps
    assert f"iam role {ROLE}: attach the AWS managed AmazonSSMManagedInstanceCore" in steps

    # Independent reads, in parallel: the AWS CLI talks to the same server.
    document = _aws(endpoint, "ssm", "get-document", "--name", "SSM-SessionManagerRunShell")
    groups = _aws(endpoint, "logs", "describe-log-groups", "--log-group-name-prefix", GROUP)
    encryption = _aws(endpoint, "s3api", "get-bucket-encryption", "--bucket", BUCKET)
    endpoints = _aws(endpoint, "ec2", "describe-vpc-endpoints")

    inputs = json.loads(_result(document)["Content"])["inputs"]
    assert inputs["cloudWatchLogGroupName"] == GROUP
    assert inputs["s3BucketName"] == BUCKET
    assert inputs["s3EncryptionEnabled"] is True and inputs["cloudWatchEncryptionEnabled"] is True
    assert inputs["idleSessionTimeout"] == "15"
    group = _result(groups)["logGroups"][0]
    assert group["retentionInDays"] == 731
    assert group["kmsKeyId"].startswith(f"arn:aws:kms:{REGION}:123456789012:key/")
    rule = _result(encryption)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["BucketKeyEnabled"] is True
    # boto3, not a fifth AWS CLI process (~0.8 s more on two CPUs): still not the tool's code.
    attached = iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]
    assert sorted(p["PolicyArn"] for p in attached) == [
        "arn:aws:iam::123456789012:policy/costcompare-session-logging-ap-northeast-1",
        CORE,
    ]
    services = sorted(e["ServiceName"] for e in _result(endpoints)["VpcEndpoints"])
    assert services == sorted(
        f"com.amazonaws.{REGION}.{name}"
        for name in ("ssm", "ssmmessages", "ec2messages", "logs", "kms", "s3")
    )

    # Run again against the server: nothing left to do.
    again = CliRunner().invoke(app, ["provision", "plan", *options, "--output", "json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["empty"] is True
