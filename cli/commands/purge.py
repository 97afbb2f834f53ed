"""Purge cached objects on every shield and edge of a cluster at once, and report per node.

Give exactly one of: a URL (a path like /obj/1, or a full URL whose path is used), --prefix P
(every URL starting with P) or --tag T (every response whose Surrogate-Key lists T). --soft marks
entries stale instead of removing them, so they are revalidated before being served again.

The admin token is --token, else $CDNLAB_ADMIN_TOKEN, else the one in the run-state file that
`cdn up` wrote for the topology. Nodes are reached at the topology's URLs, or where
$CDNLAB_NODE_URLS ("name=url,name=url", as in docker-compose.yml) says. Exit status: 0 when
every node confirmed, 1 when any did not (down, 401 unauthorized, timeout), 2 for bad arguments
or no token.

examples:
  cdn purge --tag catalog
  cdn purge /obj/42 --topology configs/local.toml
  cdn purge --prefix /obj/1 --soft
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cdn.topology import Topology, default_topology_path, load_topology
from cli.argtypes import topology_file
from cli.errors import UserError
from cluster.plan import ADMIN_TOKEN_ENV
from cluster.purge import PurgeOutcome, PurgeRequest, purge_cluster
from cluster.state import running_state, state_path
from edge.settings import NODE_URLS_ENV, node_urls_from_env

NAME = "purge"
HELP = "purge a URL, prefix or tag on every shield and edge of a running cluster"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn purge`."""
    parser.add_argument("url", nargs="?", default=None, help="URL or path to purge, e.g. /obj/1")
    parser.add_argument("--prefix", default=None, help="purge every URL under this path prefix")
    parser.add_argument("--tag", default=None, help="purge every response tagged with this key")
    parser.add_argument(
        "--soft", action="store_true", help="mark stale (revalidate before reuse) instead of delete"
    )
    parser.add_argument(
        "--topology",
        type=topology_file,
        default=None,
        help="topology TOML file or built-in name of the cluster (default: local)",
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"admin token (default: ${ADMIN_TOKEN_ENV}, else the run-state file of `cdn up`)",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="per-node timeout"
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="directory of run-state files (default $CDNLAB_STATE_DIR or ./.cdnlab/run)",
    )
    parser.add_argument("--json", action="store_true", help="print the outcomes as JSON")


def _request(args: argparse.Namespace) -> PurgeRequest:
    given = [v for v in (args.url, args.prefix, args.tag) if v is not None]
    if len(given) != 1:
        raise UserError("give exactly one of URL, --prefix P or --tag T")
    if args.prefix is not None and not args.prefix.startswith("/"):
        raise UserError(f"--prefix {args.prefix!r} must be a path starting with /")
    if args.url is not None and not (args.url.startswith("/") or "://" in args.url):
        raise UserError(f"URL {args.url!r} must be a path like /obj/1 or a full http:// URL")
    return PurgeRequest(url=args.url, prefix=args.prefix, tag=args.tag, soft=args.soft)


def _token(args: argparse.Namespace, topology: Topology) -> str:
    if args.token:
        return args.token
    if os.environ.get(ADMIN_TOKEN_ENV):
        return os.environ[ADMIN_TOKEN_ENV]
    state = running_state(topology.name, args.state_dir)
    if state is not None:
        return state.token
    raise UserError(
        f"no admin token: pass --token, set {ADMIN_TOKEN_ENV}, or run `cdn up` for "
        f"{topology.name!r} (its token is read from {state_path(topology.name, args.state_dir)})"
    )


def outcome_table(outcomes: list[PurgeOutcome], request: PurgeRequest) -> Table:
    """Per-node result table."""
    what = json.dumps(request.body())
    table = Table(title=f"purge {what}")
    for column in ("node", "URL", "status", "purged", "result"):
        table.add_column(column, justify="right" if column == "purged" else "left")
    for outcome in outcomes:
        table.add_row(
            outcome.node,
            outcome.url,
            str(outcome.status) if outcome.status is not None else "-",
            str(outcome.purged) if outcome.purged is not None else "-",
            "[green]ok[/]" if outcome.confirmed else f"[red]{outcome.error}[/]",
        )
    return table


def run(args: argparse.Namespace) -> int:
    """Fan the purge out and print what each node said."""
    request = _request(args)
    topology = load_topology(Path(args.topology) if args.topology else default_topology_path())
    token = _token(args, topology)
    try:
        node_urls = node_urls_from_env()
    except ValueError as exc:
        raise UserError(f"${NODE_URLS_ENV}: {exc}") from None
    outcomes = purge_cluster(
        topology.caches, request, token, timeout=args.timeout, node_urls=node_urls
    )
    failed = [o for o in outcomes if not o.confirmed]
    if args.json:
        print(
            json.dumps(
                {
                    "request": request.body(),
                    "nodes": [
                        {
                            "node": o.node,
                            "url": o.url,
                            "status": o.status,
                            "purged": o.purged,
                            "confirmed": o.confirmed,
                            "error": o.error,
                        }
                        for o in outcomes
                    ],
                },
                indent=2,
            )
        )
    else:
        console = Console(highlight=False)
        console.print(outcome_table(outcomes, request))
        total = sum(o.purged or 0 for o in outcomes)
        if failed:
            names = ", ".join(o.node for o in failed)
            console.print(
                f"[red]{len(failed)} of {len(outcomes)} nodes did not confirm: {names}[/]"
            )
        else:
            console.print(f"all {len(outcomes)} nodes confirmed; {total} objects purged")
    return 1 if failed else 0
