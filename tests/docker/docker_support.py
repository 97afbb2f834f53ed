"""Helpers of the docker tests: find an engine, Compose v2 and a base image, or say why not.

The engine is whatever $DOCKER_HOST (else the default socket) answers. `.ci/docker-up start`
starts one and prints DOCKER_HOST, DOCKER_CONFIG (Compose v2 as a CLI plugin) and
CDNLAB_BASE_IMAGE (the stand-in for python:3.11-slim on machines with no registry): `eval` them
before pytest, or let .ci/run do it in the background, naming in $CDNLAB_DOCKER_ENV_FILE the file
the exports will be written to; the tests wait for that file. Nothing here
pulls an image: a missing base image is a reason to skip, never a download.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE_ENV = "CDNLAB_BASE_IMAGE"
DEFAULT_BASE_IMAGE = "python:3.11-slim"
START_HINT = 'start one with `eval "$(.ci/docker-up start)"` (root; installs docker.io)'
ENV_FILE_ENV = "CDNLAB_DOCKER_ENV_FILE"
ENV_FILE_TIMEOUT = 900.0
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def docker(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; never raises on a non-zero exit (callers look at returncode)."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass(frozen=True, slots=True)
class Engine:
    """A Docker engine the tests may use, or why there is none (``reason``)."""

    base_image: str | None
    reason: str | None


def engine_exports(text: str) -> dict[str, str]:
    """The variables of ``export NAME=VALUE`` lines (what `.ci/docker-up start` prints)."""
    found = {}
    for line in text.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            found[name] = value
    return found


def await_engine_set_up(timeout: float = ENV_FILE_TIMEOUT) -> str | None:
    """Wait for the engine .ci/run is setting up in the background and adopt its exports.

    Without $CDNLAB_DOCKER_ENV_FILE there is nothing to wait for (the engine, if any, is already
    in the environment). Returns the reason to skip, or None.
    """
    path = os.environ.get(ENV_FILE_ENV)
    if not path:
        return None
    env_file = Path(path)
    if not wait_until(env_file.exists, timeout=timeout, interval=1.0):
        return f"the Docker engine set up by .ci/run was not ready within {timeout:g} s"
    exports = engine_exports(env_file.read_text())
    if "DOCKER_HOST" not in exports:
        return (
            "the Docker engine .ci/run set up in the background could not be started "
            "(its `docker-up:` lines say why)"
        )
    os.environ.update(exports)
    return None


def find_engine() -> Engine:
    """The engine, Compose v2 and base image the docker tests need, or the reason to skip."""
    waited = await_engine_set_up()
    if waited is not None:
        return Engine(None, waited)
    if shutil.which("docker") is None:
        return Engine(None, f"no docker CLI on PATH; {START_HINT}")
    where = os.environ.get("DOCKER_HOST", "the default socket")
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", timeout=20)
    except subprocess.TimeoutExpired:
        return Engine(None, f"the Docker engine at {where} does not answer; {START_HINT}")
    if info.returncode != 0:
        return Engine(None, f"no Docker engine at {where}; {START_HINT}")
    compose = docker("compose", "version", "--short", timeout=20)
    if compose.returncode != 0 or not compose.stdout.strip().lstrip("v").startswith("2"):
        return Engine(None, "no Compose v2 plugin (`docker compose`); .ci/docker-up installs it")
    wanted = os.environ.get(BASE_IMAGE_ENV) or DEFAULT_BASE_IMAGE
    if docker("image", "inspect", wanted, timeout=20).returncode != 0:
        return Engine(
            None,
            f"base image {wanted} is not in the engine and nothing is pulled here; "
            f"set {BASE_IMAGE_ENV} (.ci/docker-up makes a stand-in from Debian packages)",
        )
    return Engine(wanted, None)


def http_get(url: str, timeout: float = 15.0) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers (lower-case names), body."""
    return http_request("GET", url, timeout=timeout)


def http_request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request on loopback: status, headers (lower-case names), body."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            found = {k.lower(): v for k, v in response.headers.items()}
            return response.status, found, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


@dataclass(frozen=True, slots=True)
class ComposeProject:
    """`docker compose -p NAME -f FILE` for one rendered stack, with its environment."""

    name: str
    file: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """`docker compose ... ARGS` (never raises on a non-zero exit)."""
        return subprocess.run(
            ["docker", "compose", "-p", self.name, "-f", str(self.file), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.file.parent,
            check=False,
        )

    def containers(self) -> list[dict]:
        """Every container of the project, running or not (`docker compose ps -a`)."""
        result = self.run("ps", "-a", "--format", "json", timeout=60)
        assert result.returncode == 0, result.stderr
        return parse_json_lines(result.stdout)


def parse_json_lines(text: str) -> list[dict]:
    """Compose prints one JSON object per line (v2.21+) or one JSON array (older v2)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def labelled_containers(project: str) -> list[str]:
    """Ids of containers the engine still has for compose project ``project``."""
    result = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def cdn_command(*args: str) -> Sequence[str]:
    """`cdn ARGS` with this interpreter (the project's venv)."""
    import sys

    return [sys.executable, "-m", "cli.main", *args]
