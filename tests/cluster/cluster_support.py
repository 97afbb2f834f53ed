"""Helpers of the cluster tests: topologies on free ports, `cdn up` in a subprocess, process checks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cdn.topology import default_topology_path
from cluster.relocate import relocate_topology
from cluster.state import RunState, read_state, state_path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = default_topology_path()


def cdn_subcommands() -> set[str]:
    """Subcommands `cdn --help` lists."""
    from cli.main import build_parser

    parser = build_parser()
    for action in parser._actions:
        if action.dest == "command":
            return set(action.choices)
    return set()


def pids_alive(pids: list[int]) -> list[int]:
    """The ``pids`` that still exist (zombies of other parents count as gone)."""
    alive = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if status != "Z":
            alive.append(pid)
    return alive


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace"
            ):
                found.append(int(entry.name))
    return pids_alive(found)


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


@pytest.fixture
def free_topology(tmp_path: Path) -> Path:
    """configs/local.toml copied to a temp dir with every node on a free port."""
    return relocate_topology(LOCAL, tmp_path)


@dataclass
class UpProcess:
    """A `cdn up` subprocess and everything it printed so far."""

    popen: subprocess.Popen[str]
    topology: Path
    state_dir: Path
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self.lines)

    def state(self) -> RunState | None:
        return read_state(state_path("local", self.state_dir))

    def wait_started(self, timeout: float = 90.0) -> RunState:
        """The run state once `cdn up` published it; fails with its output otherwise."""
        ok = wait_until(lambda: self.state() is not None or self.popen.poll() is not None, timeout)
        state = self.state()
        if not ok or state is None:
            pytest.fail(f"`cdn up` did not start (exit {self.popen.poll()}):\n{self.output()}")
        return state

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM `cdn up` and wait (bounded) for it to exit."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
            pytest.fail(f"`cdn up` did not stop within {timeout}s:\n{self.output()}")


@contextlib.contextmanager
def cdn_up(topology: Path, state_dir: Path, *extra: str) -> Iterator[UpProcess]:
    """Run `cdn up TOPOLOGY` in a subprocess; always stopped (and its nodes checked) at exit."""
    env = dict(os.environ, CDNLAB_STATE_DIR=str(state_dir), PYTHONUNBUFFERED="1")
    env.pop("CDNLAB_ADMIN_TOKEN", None)
    popen = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "up", str(topology), "--grace", "5", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    up = UpProcess(popen, topology, state_dir)

    def pump() -> None:
        assert popen.stdout is not None
        with popen.stdout:
            for line in popen.stdout:
                up.lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield up
    finally:
        state = up.state()
        up.stop()
        reader.join(5)
        if state is not None:
            # Never leave nodes behind, even when a test failed half-way.
            for node in state.nodes:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(node.pid, signal.SIGKILL)
