"""Helpers of the demo tests: `cdn demo` in a subprocess and process checks (Linux /proc)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 240.0  # the run itself takes ~30 s; a loaded CI machine gets a wide margin


def processes_mentioning(text: str) -> list[int]:
    """Pids (not zombies) whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            )
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
            if text in cmdline and state != "Z":
                found.append(int(entry.name))
    return found


def demo_command(out: Path, *extra: str) -> list[str]:
    """`cdn demo` on free ports writing to ``out``, as the current Python runs it."""
    return [sys.executable, "-m", "cli.main", "demo", "--free-ports", "--out", str(out), *extra]


def run_demo(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run `cdn demo` to the end (bounded by DEMO_TIMEOUT) and return its output."""
    return subprocess.run(
        demo_command(out, *extra),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
