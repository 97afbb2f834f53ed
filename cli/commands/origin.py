"""Run the origin server: a synthetic catalog with cache headers, /echo, faults and metrics.

`GET /obj/{id}` serves a deterministic body (size from the workload's size distribution, or
`?size=BYTES`) with ETag, Last-Modified and the cache rule headers of the topology
(Cache-Control, Expires, Vary, Surrogate-Key). Conditional GET, HEAD and Range work as in
RFC 9110. `/echo` answers any status, headers, size and delay the query asks for.
`/_cdn/health`, `/_cdn/metrics` (Prometheus) and `/_cdn/stats` are always on; the admin
routes (`/_cdn/faults`, `/_cdn/requests`) need --admin-token or CDNLAB_ADMIN_TOKEN.

examples:
  cdn origin --port 8100
  cdn origin --topology configs/local.toml --admin-token secret
  cdn origin --topology configs/gateway.toml --node origin-b     # one of its [[origin]]s
  cdn origin --port 8100 --latency 50ms --jitter 10ms --error-rate 0.1

Reference: docs/origin.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from cdn.topology import load_topology
from cdn.units import parse_duration
from cli.argtypes import topology_file
from cli.errors import UserError
from origin.faults import DOWN_MODES, Faults
from origin.settings import OriginSettings
from serving.flags import (
    add_limit_flags,
    add_listen_flags,
    admin_token,
    cannot_listen,
    connection_limits,
)

NAME = "origin"
HELP = "run the origin server (synthetic catalog, /echo, fault injection, metrics)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `cdn origin` flags."""
    where = parser.add_argument_group("where")
    add_listen_flags(
        where,
        default_port=8100,
        admin_routes="the admin routes",
        access_log_help="log every request to stderr",
    )
    where.add_argument(
        "--topology",
        metavar="FILE",
        type=topology_file,
        default=None,
        help="(file or built-in name) take cache rules, workload and port from this file's [origin] node",
    )
    where.add_argument(
        "--node",
        metavar="NAME",
        default=None,
        help="with --topology: which [[origin]] to run (default: the first)",
    )
    faults = parser.add_argument_group("faults at start-up (change them later: POST /_cdn/faults)")
    faults.add_argument("--latency", default=None, help="added delay per request, e.g. 50ms")
    faults.add_argument("--jitter", default=None, help="uniform +/- spread of the delay, e.g. 10ms")
    faults.add_argument("--error-rate", type=float, default=None, help="share of 5xx answers, 0..1")
    faults.add_argument("--error-status", type=int, default=None, help="status of those (503)")
    faults.add_argument(
        "--stall-rate", type=float, default=None, help="share of requests never answered, 0..1"
    )
    faults.add_argument("--down", action="store_true", help="start down (see --down-mode)")
    faults.add_argument(
        "--down-mode",
        choices=DOWN_MODES,
        default=None,
        help="refuse: close the port; reset: keep it, drop each request's connection",
    )
    faults.add_argument("--down-for", default=None, help="with --down: come up after this long")
    faults.add_argument("--fault-prefix", default=None, help="faults only for paths under this")
    faults.add_argument("--seed", type=int, default=None, help="seed of the fault rng")
    add_limit_flags(parser)


def _fault_changes(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {
        "latency": args.latency,
        "jitter": args.jitter,
        "error_rate": args.error_rate,
        "error_status": args.error_status,
        "stall_rate": args.stall_rate,
        "down_mode": args.down_mode,
        "prefix": args.fault_prefix,
    }
    if args.down:
        changes["down"] = True
    return {key: value for key, value in changes.items() if value is not None}


def build_settings(args: argparse.Namespace) -> OriginSettings:
    """OriginSettings from the flags (UserError naming the flag when one is wrong)."""
    base = OriginSettings()
    if args.node and not args.topology:
        raise UserError("--node needs --topology (the file that names the origin)")
    if args.topology:
        topology = load_topology(args.topology)
        try:
            base = OriginSettings.from_topology(topology, node=args.node)
        except ValueError as exc:
            raise UserError(f"--node: {exc}") from None
    try:
        faults = Faults().merged(_fault_changes(args))
    except ValueError as exc:
        flag = "--" + str(exc).split(":", 1)[0].replace("_", "-").replace("prefix", "fault-prefix")
        raise UserError(f"{flag}: {str(exc).split(': ', 1)[-1]}") from None
    down_for = None
    if args.down_for is not None:
        try:
            down_for = parse_duration(args.down_for)
        except ValueError as exc:
            raise UserError(f"--down-for: {exc}") from None
        if not args.down:
            raise UserError("--down-for needs --down")
    return base.with_changes(
        host=args.host or base.host,
        port=base.port if args.port is None else args.port,
        faults=faults,
        down_for=down_for,
        admin_token=admin_token(args),
        access_log=args.access_log,
        fault_seed=args.seed,
        limits=connection_limits(args, base.limits),
        drain_timeout=args.drain_timeout or base.drain_timeout,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a graceful shutdown."""
    import logging

    from origin.server import run as run_origin

    settings = build_settings(args)
    if settings.access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run_origin(settings)
    except OSError as exc:
        raise UserError(cannot_listen(settings.host, settings.port, exc)) from None
    return 0
