"""The wheel carries the pricing data and the default profile, and works outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = _copy_of_the_sources(tmp_path_factory.mktemp("source"))
    # No build isolation: the test must not download anything; setuptools is already here.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return next(out.glob("costcompare-*.whl"))


def _copy_of_the_sources(target: Path) -> Path:
    """pyproject.toml, the README and the packages it names, copied to `target`.

    Building in the checkout writes build/ and *.egg-info into it, under the feet of tests that
    run at the same time in other xdist workers; a copy keeps the checkout read-only. The copy
    is what the wheel is made of, so a file the build needs and the copy lacks fails this test.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    readme = project["project"]["readme"]
    for name in ("pyproject.toml", readme):
        shutil.copy2(ROOT / name, target / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        for package in ROOT.glob(pattern):
            if (package / "__init__.py").is_file():
                shutil.copytree(package, target / package.name, ignore=skip)
    return target


def test_wheel_contains_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "pricing_data/prices.csv",
        "pricing_data/free_tier.csv",
        "pricing_data/s3_storage_classes.csv",
        "costcompare/profiles/tokyo-300.yaml",
        "costcompare/schemas/estimate.schema.json",
        "provision/__init__.py",
    ):
        assert required in names


def _see_dependencies_of_this_interpreter(python: Path) -> None:
    """Let a fresh venv import the dependencies the running interpreter has, whatever they are.

    The test must not download anything, so the wheel is installed with --no-deps. "System site
    packages" are the base interpreter's, which inside a venv (the README's set-up, `.ci/run`) lack
    typer and the rest; instead a `.pth` file appends this interpreter's own site directories.
    Paths listed in a `.pth` are added as plain entries: their own `.pth` files (an editable
    install of the checkout) are not run, and the venv's site-packages, holding the wheel, comes
    first on `sys.path`.
    """
    site_dirs = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    assert site_dirs, f"no site directory on sys.path: {sys.path}"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(target, "_outer_dependencies.pth").write_text("\n".join(site_dirs) + "\n")


def test_installed_wheel_runs_estimate_outside_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    _see_dependencies_of_this_interpreter(python)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--force-reinstall", "-q", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run(
        [str(python), "-c", "import costcompare, pricing_data; print(costcompare.__file__)"],
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert str(env_dir) in probe.stdout, "imported the checkout, not the installed wheel"
    result = subprocess.run(
        [str(env_dir / "bin" / "costcompare"), "estimate", "-o", "json"],
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    data = json.loads(result.stdout)
    assert data["region"] == "ap-northeast-1" and len(data["destinations"]) == 4
