"""`cdn load --faults FILE` on a `cdn up` cluster: faults happen at their times and are undone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cluster_support import ROOT, cdn_up, wait_until

from cluster.state import read_state, state_path


def _process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _load(topology: Path, state_dir: Path, faults: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CDNLAB_STATE_DIR=str(state_dir))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "load",
            "--topology",
            str(topology),
            "--duration",
            "4s",
            "--rate",
            "50",
            "--quiet",
            "--faults",
            str(faults),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_stopped_edge_is_continued_when_its_fault_ends(
    free_topology: Path, tmp_path: Path
) -> None:
    faults = tmp_path / "stop.toml"
    faults.write_text('[[fault]]\nat = "1s"\nkind = "stop"\nnode = "edge-ams"\nfor = "1s"\n')
    with cdn_up(free_topology, tmp_path / "state") as up:
        state = up.wait_started(timeout=120)
        result = _load(free_topology, tmp_path / "state", faults)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "stop edge-ams at 1s for 1s" in result.stdout
        assert "end of stop edge-ams" in result.stdout
        assert _process_state(state.node("edge-ams").pid) != "T"


def test_a_restarted_edge_comes_back_with_a_new_pid_in_the_run_state(
    free_topology: Path, tmp_path: Path
) -> None:
    faults = tmp_path / "restart.toml"
    faults.write_text('[[fault]]\nat = "1s"\nkind = "restart"\nnode = "edge-lon"\nfor = "1s"\n')
    with cdn_up(free_topology, tmp_path / "state") as up:
        before = up.wait_started(timeout=120).node("edge-lon").pid
        result = _load(free_topology, tmp_path / "state", faults)
        assert result.returncode == 0, result.stdout + result.stderr
        after = read_state(state_path("local", tmp_path / "state"))
        assert after is not None
        pid = after.node("edge-lon").pid
        assert pid != before
        assert wait_until(lambda: _process_state(pid) in "RS", 10)
