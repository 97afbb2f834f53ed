"""Command-line flags every server takes: where it listens, its admin token, its access log.

Rules: argparse only; values are checked as they are parsed (argparse exits 2 naming the
flag). The subcommands turn the parsed values into their settings.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from cdn.units import parse_duration
from serving.auth import ADMIN_TOKEN_ENV, admin_token_from_env
from serving.limits import ConnectionLimits

__all__ = [
    "add_limit_flags",
    "add_listen_flags",
    "admin_token",
    "cannot_listen",
    "connection_limits",
    "port_number",
]


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (0 = any free port)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is out of range (expected 0 to 65535)")
    return port


def add_listen_flags(
    group: argparse._ArgumentGroup,
    *,
    default_port: int,
    admin_routes: str,
    access_log_help: str,
) -> None:
    """Add --host, --port, --admin-token (``admin_routes`` names what it guards), --access-log."""
    group.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    group.add_argument(
        "--port",
        type=port_number,
        default=None,
        help=f"port (default {default_port}; 0 = any free)",
    )
    group.add_argument(
        "--admin-token",
        default=None,
        help=f"bearer token of {admin_routes} (default: ${ADMIN_TOKEN_ENV}; none = {admin_routes} off)",
    )
    group.add_argument("--access-log", action="store_true", help=access_log_help)


def admin_token(args: argparse.Namespace) -> str | None:
    """--admin-token, else ``$CDNLAB_ADMIN_TOKEN``, else None (admin routes off)."""
    return args.admin_token or admin_token_from_env()


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    """What to tell people when the port cannot be bound."""
    return (
        f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        " (expected a free port; --port 0 picks one)"
    )


def _seconds(text: str) -> float:
    """A positive duration (``60``, ``1s``, ``500ms``) in seconds."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0 (e.g. 60s)")
    return seconds


def _connections(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{count} must be 1 or more")
    return count


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """Add --header-timeout, --body-timeout, --idle-timeout, --max-connections, --drain-timeout."""
    defaults = ConnectionLimits()
    group = parser.add_argument_group("client limits and drain (docs/reliability.md)")
    group.add_argument(
        "--header-timeout",
        type=_seconds,
        default=None,
        help=f"408 and close when a request header takes longer (default {defaults.header_timeout:g}s)",
    )
    group.add_argument(
        "--body-timeout",
        type=_seconds,
        default=None,
        help=f"408 and close when a request body stalls this long (default {defaults.body_timeout:g}s)",
    )
    group.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=None,
        help=f"close idle keep-alive connections after this (default {defaults.idle_timeout:g}s)",
    )
    group.add_argument(
        "--max-connections",
        type=_connections,
        default=None,
        help=f"open connections per process; past it 503 and close (default {defaults.max_connections})",
    )
    group.add_argument(
        "--drain-timeout",
        type=_seconds,
        default=None,
        help="on SIGTERM, how long in-flight requests may take to finish (default 10s)",
    )


def connection_limits(args: argparse.Namespace, base: ConnectionLimits) -> ConnectionLimits:
    """``base`` with the limit flags that were given."""
    changes = {
        name: getattr(args, name)
        for name in ("header_timeout", "body_timeout", "idle_timeout", "max_connections")
        if getattr(args, name, None) is not None
    }
    return replace(base, **changes)
