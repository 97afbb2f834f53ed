"""Ctrl-C during `cdn demo` stops every node of the cluster before the command exits."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from demo_support import DEMO_TIMEOUT, ROOT, demo_command, processes_mentioning

pytestmark = pytest.mark.slow


def _wait_for_load(process: subprocess.Popen[str], log: Path, deadline: float) -> None:
    """Until every edge has logged something and the settle time is over (bounded)."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"cdn demo exited early with {process.returncode}")
        text = log.read_text() if log.is_file() else ""
        if all(f"[{edge}]" in text for edge in ("edge-par", "edge-lon", "edge-ams")):
            return
        time.sleep(0.2)
    pytest.fail("the cluster did not start in time")


def test_ctrl_c_stops_the_cluster_and_exits_130(tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(
        demo_command(out, "--duration", "60s", "--no-plots"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_load(process, out / "cluster.log", time.monotonic() + 90)
        time.sleep(4.0)  # past the peer settling, into the load run
        (topology_file,) = (out / "topology").glob("*.toml")
        assert process.poll() is None, process.communicate()[0]
        assert processes_mentioning(str(topology_file))  # the nodes run
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=DEMO_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, output
    assert "interrupted" in output
    assert processes_mentioning(str(topology_file)) == []
