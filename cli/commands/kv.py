"""Run cdn kv: a DynamoDB-compatible table origin on a SQLite file, with a cacheable read facade.

Any DynamoDB client works against it (boto3, the AWS CLI, SDKs) with --endpoint-url: tables,
items, condition/update/projection expressions, Query, Scan, batches. Data lives in one SQLite
file in WAL mode and survives restarts; an acknowledged write survives the process being
killed (synchronous=NORMAL; --synchronous full also survives power loss, at an fsync per write).
With --access-key/--secret-key every call must be SigV4-signed with them. The read facade
`GET /tables/{table}/items/{pk}[/{sk}]` returns items as plain JSON that edges can cache;
with --topology, its cache rules apply and every write purges the changed URLs on its caches.

examples:
  cdn kv --data tables.sqlite --port 8000
  cdn kv --data tables.sqlite --port 8000 --access-key AKIDLOCAL --secret-key s3cret
  aws dynamodb list-tables --endpoint-url http://127.0.0.1:8000

Reference: docs/kv.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cdn.topology import load_topology
from cdn.units import parse_duration
from cli.errors import UserError
from serving.flags import (
    add_limit_flags,
    add_listen_flags,
    admin_token,
    cannot_listen,
    connection_limits,
)

NAME = "kv"
HELP = "run a DynamoDB-compatible table origin on SQLite (boto3, AWS CLI), cacheable reads"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `cdn kv` flags."""
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data",
        metavar="FILE",
        default=None,
        help="the SQLite file, created if missing (default with --topology: its [origin] data)",
    )
    data.add_argument(
        "--synchronous",
        choices=("normal", "full"),
        default="normal",
        help="normal: acknowledged writes survive a crash or kill of the process (default);"
        " full: also a power loss, with an fsync per write",
    )
    where = parser.add_argument_group("where")
    add_listen_flags(
        where,
        default_port=8000,
        admin_routes="purges sent to the caches",
        access_log_help="log every request to stderr",
    )
    where.add_argument(
        "--topology",
        metavar="FILE",
        default=None,
        help="take the port, data file, cache rules and the caches to purge (its shields and"
        ' edges) from this file\'s kind = "kv" [origin]',
    )
    where.add_argument(
        "--purge-wait",
        default="1s",
        help="how long a write waits for the caches to confirm its purges before answering"
        " (then they are retried in the background; 0 = background only; default 1s)",
    )
    auth = parser.add_argument_group("authentication (both or neither)")
    auth.add_argument("--access-key", default=None, help="access key id clients sign with")
    auth.add_argument("--secret-key", default=None, help="its secret access key")
    add_limit_flags(parser)


def build_settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """KvSettings from the flags (UserError naming the flag when one is wrong)."""
    from edge.settings import node_urls_from_env
    from kv.settings import KvSettings
    from serving.purge_notify import PurgeTarget

    if (args.access_key is None) != (args.secret_key is None):
        raise UserError("--access-key and --secret-key go together (give both or neither)")
    data = args.data
    settings = KvSettings(data=data or "")
    if args.topology:
        topology = load_topology(args.topology)
        origin = topology.origin
        try:
            node_urls = node_urls_from_env()  # docker-compose: caches by service name
        except ValueError as exc:
            raise UserError(f"$CDNLAB_NODE_URLS: {exc}") from None
        if data is None and origin.data is not None:
            # A relative data path is relative to the topology file, wherever cdn runs.
            data = str(Path(args.topology).resolve().parent / origin.data)
        settings = settings.with_changes(
            data=data or "",
            name=origin.name,
            host=origin.host,
            port=origin.port,
            cache_rules=topology.cache_rules,
            purge_targets=tuple(
                PurgeTarget(n.name, node_urls.get(n.name, n.url)) for n in topology.caches
            ),
        )
    if not data:
        raise UserError(
            '--data is required (or --topology with a kind = "kv" [origin] and its data)'
        )
    try:
        purge_wait = parse_duration(args.purge_wait)
    except ValueError as exc:
        raise UserError(f"--purge-wait: {exc}") from None
    credentials = {args.access_key: args.secret_key} if args.access_key else {}
    return settings.with_changes(
        host=args.host or settings.host,
        port=settings.port if args.port is None else args.port,
        synchronous=args.synchronous,
        purge_wait=purge_wait,
        credentials=credentials,
        admin_token=admin_token(args),
        access_log=args.access_log,
        limits=connection_limits(args, settings.limits),
        drain_timeout=args.drain_timeout or settings.drain_timeout,
    )


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a graceful shutdown."""
    import sqlite3

    from kv.server import run as run_kv

    settings = build_settings(args)
    if settings.access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run_kv(settings)
    except OSError as exc:
        raise UserError(cannot_listen(settings.host, settings.port, exc)) from None
    except sqlite3.Error as exc:
        raise UserError(f"--data {settings.data}: cannot use it as a SQLite file: {exc}") from None
    return 0
