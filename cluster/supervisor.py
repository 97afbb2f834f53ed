"""Child processes of a cluster: each in its own process group, its output pumped line by line.

Why process groups: a node may fork workers (``workers > 1``); signalling the group reaches them
all, so stopping a node leaves no orphans and frees its port. Why PR_SET_PDEATHSIG: if the
launcher itself is killed with SIGKILL it cannot clean up, so the kernel sends each child
SIGTERM instead (Linux only; elsewhere the launcher's own stop is the only guard).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence

LogSink = Callable[[str, str], None]
"""Receives (process name, one output line without its newline)."""

TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1


STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


def _die_with_parent() -> None:
    """In the child before exec: unblock stop signals, ask for SIGTERM when the launcher dies."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(
    argv: tuple[str, ...], env: Mapping[str, str], cwd: str | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


class ChildProcess:
    """One supervised process: started in a new session, output kept as a tail and sent to a sink."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        sink: LogSink | None = None,
        cwd: str | None = None,
    ) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._sink = sink
        self.expected_exit = False
        self.popen = _spawn(self.argv, env, cwd)
        self._pump = threading.Thread(target=self._read_output, name=f"log-{name}", daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        """Process id, also the id of the process group it leads."""
        return self.popen.pid

    def _read_output(self) -> None:
        assert self.popen.stdout is not None
        with self.popen.stdout:
            for raw in self.popen.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self.tail.append(line)
                if self._sink is not None:
                    self._sink(self.name, line)

    def last_lines(self, count: int = 15) -> list[str]:
        """The last ``count`` lines the process printed."""
        return list(self.tail)[-count:]

    def returncode(self) -> int | None:
        """Exit status when the process has exited, else None."""
        return self.popen.poll()

    def signal_group(self, signum: int) -> None:
        """Send ``signum`` to the process group (the node and any workers it forked)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def finish_output(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until the log pump has read everything the process wrote."""
        self._pump.join(timeout)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_processes(children: Sequence[ChildProcess], grace: float = 5.0) -> None:
    """SIGTERM every child's group, wait up to ``grace`` seconds, then SIGKILL what is left.

    Waits for the leaders (reaping them) and for their groups to empty, so ports are free when
    this returns.
    """
    for child in children:
        child.expected_exit = True
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        remaining = max(0.0, deadline - time.monotonic())
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.popen.wait(remaining)
    while time.monotonic() < deadline and any(_group_alive(c.pid) for c in children):
        time.sleep(0.05)
    for child in children:
        if child.returncode() is None or _group_alive(child.pid):
            child.signal_group(signal.SIGKILL)
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.popen.wait(5.0)
        kill_deadline = time.monotonic() + 5.0
        while _group_alive(child.pid) and time.monotonic() < kill_deadline:
            time.sleep(0.02)
        child.finish_output()


def stop_groups(pgids: Sequence[int], grace: float = 5.0) -> None:
    """SIGTERM process groups that are not our children (e.g. nodes a fault restarted), wait up
    to ``grace`` seconds for them to empty, then SIGKILL what is left."""
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_group_alive(pgid) for pgid in pgids):
        time.sleep(0.05)
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The launcher's environment plus ``extra``, with unbuffered Python output for live logs."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env
