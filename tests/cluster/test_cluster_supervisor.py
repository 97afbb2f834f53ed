"""Supervised processes: own process group, output tail, SIGTERM then SIGKILL, no orphans."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from cluster_support import pids_alive, wait_until

from cluster.supervisor import ChildProcess, child_environment, stop_processes

IGNORES_SIGTERM = (
    "import signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(120)\n"
)


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_output_lines_reach_the_sink_and_the_tail() -> None:
    seen: list[tuple[str, str]] = []
    child = ChildProcess(
        "talker",
        [sys.executable, "-c", "print('one'); print('two')"],
        child_environment({}),
        lambda name, line: seen.append((name, line)),
    )
    child.popen.wait(30)
    child.finish_output()
    assert seen == [("talker", "one"), ("talker", "two")]
    assert child.last_lines() == ["one", "two"]


def test_each_child_leads_its_own_process_group() -> None:
    child = ChildProcess("sleeper", ["sleep", "60"], child_environment({}))
    try:
        assert _group_members(child.pid) == [child.pid]
    finally:
        stop_processes([child], grace=5)


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period() -> None:
    child = ChildProcess("stubborn", [sys.executable, "-c", IGNORES_SIGTERM], child_environment({}))
    assert wait_until(lambda: "ready" in child.tail, 30)
    stop_processes([child], grace=0.5)
    assert child.returncode() == -signal.SIGKILL


def test_stopping_reaches_grandchildren_in_the_group() -> None:
    child = ChildProcess("forker", ["sh", "-c", "sleep 60 & sleep 60"], child_environment({}))
    assert wait_until(lambda: len(_group_members(child.pid)) >= 2, 30)
    members = _group_members(child.pid)
    stop_processes([child], grace=5)
    assert pids_alive(members) == []
    assert _group_members(child.pid) == []
