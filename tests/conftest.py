"""Shared fixtures. Every test runs with fake AWS credentials: no test can reach a real account."""

from __future__ import annotations

import functools
from pathlib import Path

import botocore.loaders
import pytest

from costcompare.pricing import default_table
from costcompare.workload import Workload


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Spread a run of several test files over the CPUs with pytest-xdist, one file per worker.

    Why: the suite is ~1,500 tests, most of them moto and notebook work bound by one CPU; on the
    2-core machines the suite runs on, two workers nearly halve its wall time. `python -m pytest`
    stays the one command: this hook turns xdist on, instead of `-n` in addopts, so that a
    machine without pytest-xdist (it comes with the `test` extra) still runs the suite, serially.
    `--dist loadfile` keeps each file in one process: module-scoped fixtures (a built wheel, one
    deployed stack) are made once, as in a serial run. A single file, `-n`, `--pdb` or
    `-p no:xdist` keep a serial run (starting workers would cost more than it saves).
    """
    option = config.option
    if (
        not config.pluginmanager.hasplugin("xdist")
        or hasattr(config, "workerinput")  # this process is already an xdist worker
        or option.numprocesses is not None
        or option.dist != "no"
        or option.usepdb
        or option.collectonly
        or not _runs_several_files(config.args)
    ):
        return
    workers = config.hook.pytest_xdist_auto_num_workers(config=config)
    if workers >= 2:
        option.numprocesses = workers
        option.dist = "loadfile"


def _runs_several_files(args: list[str]) -> bool:
    """Whether the command line names a folder (the default `tests`) or two files or more."""
    paths = {arg.split("::")[0] for arg in args}
    return len(paths) >= 2 or any(Path(path).is_dir() for path in paths)


def pytest_configure(config: pytest.Config) -> None:
    """Parse each botocore JSON file (service models, endpoints) once per test process."""
    botocore.loaders.JSONFileLoader.load_file = _load_json_file_once


@functools.cache
def _parsed_json_file(loader: type, file_path: str) -> object:
    return _load_json_file(loader(), file_path)


_load_json_file = botocore.loaders.JSONFileLoader.load_file


def _load_json_file_once(self: botocore.loaders.JSONFileLoader, file_path: str) -> object:
    """botocore's own load, remembered by path: the same parsed model for every session.

    Why: every boto3 session the tests make (moto resets boto3's default one per test; each
    AwsContext has its own) re-parsed the service models, ec2's several MB of JSON among them:
    ~20 % of the provisioning tests' time. costcompare already shares one loader, so one parsed
    model, between all its own sessions (costcompare/aws.py); this extends that to the tests' and
    moto's sessions. Models are read, never written, once loaded (as within one session).
    """
    return _parsed_json_file(type(self), file_path)


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
