"""`pip install cdnlab` for real: a wheel in a fresh virtual environment works outside the clone.

The wheel is built from this tree, installed (not editable) with its dependencies into a new
venv, and its `cdn` is run from empty temporary folders with no path to the clone: the built-in
topologies and plans must come from inside the package (cdn.builtin, importlib.resources).
Dependencies come from pip's configured indexes and its cache, so a warm run takes about 30 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "out", "runs", ".cdnlab", "tests")
NOT_SOURCE += ("__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis")


@dataclass(frozen=True, slots=True)
class Installed:
    """A fresh venv with the cdnlab wheel installed, and the wheel itself."""

    wheel: Path
    bin: Path

    def cdn(self, cwd: Path, *args: str, timeout: float = 180.0) -> subprocess.CompletedProcess:
        """`cdn ARGS` of the venv, run in ``cwd`` with nothing pointing at the clone."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(self.bin / "cdn"), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _pip(*args: str, timeout: float = 600.0) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"pip {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: an in-tree build leaves build/ behind, whose stale files a later
    # wheel would pick up. No build isolation: this environment has setuptools already.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(work), str(source))
    (wheel,) = work.glob("cdnlab-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # This interpreter's pip installs into the new venv (--python): no pip bootstrap there.
    _pip("--python", str(python), "install", "--quiet", str(wheel))
    return Installed(wheel, env_dir / "bin")


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


def test_the_wheel_ships_the_builtin_topologies_and_plans(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    for name in ("local.toml", "world.toml", "plan-world.toml", "grafana/dashboards/cdnlab.json"):
        assert f"cdnlab_configs/{name}" in names


def test_the_installed_package_is_not_the_clone(installed: Installed, empty: Path) -> None:
    result = subprocess.run(
        [str(installed.bin / "python"), "-c", "import cdn.builtin as b; print(b.data_dir())"],
        cwd=empty,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).is_relative_to(installed.bin.parent)


def test_cdn_demo_runs_from_an_empty_folder(installed: Installed, empty: Path) -> None:
    # --free-ports: the built-in topology's own ports may be taken by another test or a user.
    result = installed.cdn(empty, "demo", "--duration", "3s", "--free-ports", "--out", "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (empty / "demo" / "compare.json").is_file()


def test_cdn_sim_world_runs_from_an_empty_folder(installed: Installed, empty: Path) -> None:
    result = installed.cdn(empty, "sim", "world", "--requests", "10000", "--out", "sim", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (empty / "sim" / "report.json").is_file()


def test_cdn_init_writes_the_builtin_files_into_an_empty_folder(
    installed: Installed, empty: Path
) -> None:
    result = installed.cdn(empty, "init")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("local.toml", "world.toml", "plan-world.toml"):
        assert (empty / name).read_bytes() == (ROOT / "configs" / name).read_bytes()


def test_an_unknown_builtin_name_is_a_clear_error(installed: Installed, empty: Path) -> None:
    result = installed.cdn(empty, "sim", "nowhere")
    assert result.returncode == 2
    assert "one of: functions, gateway, local, storage, three-continents, world" in result.stderr
    assert "Traceback" not in result.stderr
