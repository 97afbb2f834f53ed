"""Which TCP ports are free: checked before anything starts, and picked for tests and Prometheus."""

from __future__ import annotations

import socket
from collections.abc import Iterable

from cdn.topology import Node
from cluster.errors import PortInUseError


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on ``host:port`` now.

    SO_REUSEADDR matches what aiohttp sets, so a port in TIME_WAIT counts as free (as it is
    for our servers) while a port another process listens on does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def check_ports(nodes: Iterable[Node]) -> None:
    """Raise PortInUseError for the first node whose port (or HTTPS port) is taken."""
    for node in nodes:
        for port in (node.port, node.tls_port):
            if port and not port_is_free(node.host, port):
                raise PortInUseError(node.name, node.host, port)


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free right now (all held open together so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    """One port free right now."""
    return free_ports(1, host)[0]
