"""Command-line flags every server takes: where it listens, its admin token, its access log.

Rules: argparse only; values are checked as they are parsed (argparse exits 2 naming the
flag). The subcommands turn the parsed values into their settings.
"""

from __future__ import annotations

import argparse

from serving.auth import ADMIN_TOKEN_ENV, admin_token_from_env

__all__ = ["add_listen_flags", "admin_token", "cannot_listen", "port_number"]


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
