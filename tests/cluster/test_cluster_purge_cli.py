"""`cdn purge` reports per node and fails when any node does not confirm."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from cluster_support import ROOT


def _purge(*args: str, env_token: str | None = None, state_dir=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("CDNLAB_ADMIN_TOKEN", None)
    if env_token:
        env["CDNLAB_ADMIN_TOKEN"] = env_token
    if state_dir is not None:
        env["CDNLAB_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "purge", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_purge_needs_exactly_one_target(free_topology) -> None:
    result = _purge("/obj/1", "--tag", "catalog", "--topology", str(free_topology), "--token", "t")
    assert result.returncode == 2
    assert "exactly one" in result.stderr


def test_purge_without_a_token_or_running_cluster_explains(free_topology, tmp_path) -> None:
    result = _purge("--tag", "catalog", "--topology", str(free_topology), state_dir=tmp_path)
    assert result.returncode == 2
    assert "no admin token" in result.stderr and "cdn up" in result.stderr


def test_purge_of_a_cluster_that_is_down_fails_for_every_node(free_topology) -> None:
    result = _purge(
        "--tag",
        "catalog",
        "--topology",
        str(free_topology),
        "--token",
        "t",
        "--timeout",
        "5",
        "--json",
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["request"] == {"tag": "catalog"}
    assert [n["node"] for n in report["nodes"]] == [
        "shield-fra",
        "edge-par",
        "edge-lon",
        "edge-ams",
    ]
    assert all(not n["confirmed"] and "unreachable" in n["error"] for n in report["nodes"])
