"""Waiting for a node to answer its health URL, and noticing when it dies first."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from cluster.errors import NodeStartError
from cluster.supervisor import ChildProcess

Clock = Callable[[], float]
# Nodes are local: never route health probes through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when a GET of ``url`` returns 2xx within ``timeout`` seconds."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            response.read()
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_healthy(
    child: ChildProcess,
    url: str,
    timeout: float,
    *,
    clock: Clock = time.monotonic,
    interval: float = 0.1,
) -> None:
    """Return once ``url`` answers 2xx; NodeStartError if the process exits or time runs out."""
    deadline = clock() + timeout
    while True:
        code = child.returncode()
        if code is not None:
            child.finish_output()
            raise NodeStartError(
                child.name, f"exited with status {code} before it was healthy", child.last_lines()
            )
        if answers(url):
            return
        if clock() >= deadline:
            raise NodeStartError(
                child.name,
                f"did not answer {url} within {timeout:g}s",
                child.last_lines(),
            )
        time.sleep(interval)
