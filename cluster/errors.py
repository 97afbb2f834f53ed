"""Errors of the cluster tooling, each phrased for the person running `cdn up` / `cdn purge`."""

from __future__ import annotations


class ClusterError(Exception):
    """The cluster could not be started, reached or stopped; the message says which node and why."""


class PortInUseError(ClusterError):
    """A node's port is taken by another process, so the cluster was not started."""

    def __init__(self, node: str, host: str, port: int) -> None:
        self.node = node
        self.host = host
        self.port = port
        super().__init__(
            f"port {port} of node {node!r} ({host}:{port}) is already in use; stop whatever "
            f"listens there (e.g. `ss -ltnp 'sport = :{port}'`) or change {node}'s port "
            "in the topology"
        )


class NodeStartError(ClusterError):
    """A node exited or did not become healthy in time; carries its last log lines."""

    def __init__(self, node: str, problem: str, last_lines: list[str]) -> None:
        self.node = node
        self.problem = problem
        self.last_lines = last_lines
        tail = "\n".join(f"  [{node}] {line}" for line in last_lines) or "  (no output)"
        super().__init__(f"node {node!r} {problem}; its last log lines:\n{tail}")
