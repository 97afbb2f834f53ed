"""Which processes a topology needs and how each is launched: the plan `cdn up` executes.

The plan is a value (no processes are started here), so tests and `cdn compose` can read it.
Start order is tiers: the origins, then the shields, then the edges, so each node's upstream is
healthy before it starts.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cdn.topology import Node, Topology

ADMIN_TOKEN_ENV = "CDNLAB_ADMIN_TOKEN"
HEALTH_PATH = "/_cdn/health"
METRICS_PATH = "/_cdn/metrics"


@dataclass(frozen=True, slots=True)
class NodeLaunch:
    """How to run one node: its argv (after the interpreter prefix) and where it answers."""

    node: Node
    argv: tuple[str, ...]

    @property
    def name(self) -> str:
        """The node's topology name."""
        return self.node.name

    @property
    def url(self) -> str:
        """Base URL the node answers at."""
        return self.node.url

    @property
    def health_url(self) -> str:
        """URL of the node's health document."""
        return self.node.url + HEALTH_PATH


def cdn_command(python: str = sys.executable) -> tuple[str, ...]:
    """The argv prefix that runs `cdn` with this interpreter (works without the console script)."""
    return (python, "-m", "cli.main")


def node_arguments(
    node: Node,
    topology_file: str,
    topology: Topology | None = None,
    *,
    data: str | None = None,
    urls: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """The `cdn` subcommand and flags that run ``node`` (without the interpreter prefix).

    A ``storage`` origin runs `cdn storage` on its data folder (relative to the topology
    file), with every shield and edge of ``topology`` as a purge target; a ``kv`` origin runs
    `cdn kv`, which reads its file and purge targets from the topology. ``data`` puts a storage
    or kv origin's data elsewhere (a container's volume), ``urls`` says where the caches
    answer when not at their topology URLs (a container network's service names).
    """
    if node.role == "origin" and node.kind == "storage":
        return storage_arguments(node, topology_file, topology, data=data, urls=urls)
    if node.role == "origin" and node.kind == "kv":
        return ("kv", "--topology", topology_file, *(("--data", data) if data else ()))
    if node.role == "origin" and topology is not None and node != topology.origin:
        return ("origin", "--topology", topology_file, "--node", node.name)
    if node.role == "origin":
        return ("origin", "--topology", topology_file)
    return ("edge", "--topology", topology_file, "--node", node.name)


def storage_arguments(
    node: Node,
    topology_file: str,
    topology: Topology | None,
    *,
    data: str | None = None,
    urls: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """`cdn storage` flags of a storage origin (the admin token comes from the environment)."""
    assert node.data is not None
    folder = data if data is not None else str(Path(topology_file).parent / node.data)
    argv = ["storage", "--data", folder, "--port", str(node.port), "--name", node.name]
    if node.public_read:
        argv += ["--public-read", *node.public_read]
    caches = (*topology.shields, *topology.edges) if topology is not None else ()
    for cache in caches:
        url = (urls or {}).get(cache.name, cache.url)
        argv += ["--purge-target", f"{cache.name}={url}"]
    return tuple(argv)


def tiers(topology: Topology) -> tuple[tuple[Node, ...], ...]:
    """Nodes in start order, grouped by tier: the origins, shields (by chain depth), edges."""
    depth: dict[str, int] = {}

    def chain_depth(node: Node) -> int:
        if node.name not in depth:
            upstream = topology.upstream_of(node)
            depth[node.name] = 0 if upstream is None else chain_depth(upstream) + 1
        return depth[node.name]

    shield_tiers: dict[int, list[Node]] = {}
    for shield in topology.shields:
        shield_tiers.setdefault(chain_depth(shield), []).append(shield)
    ordered = [topology.origins]
    ordered += [tuple(shield_tiers[d]) for d in sorted(shield_tiers)]
    ordered.append(topology.edges)
    return tuple(tier for tier in ordered if tier)


def plan_launches(
    topology: Topology, topology_file: str | Path, python: str = sys.executable
) -> tuple[tuple[NodeLaunch, ...], ...]:
    """Launch specs for every node, grouped by tier in start order."""
    path = str(Path(topology_file).resolve())
    prefix = cdn_command(python)
    return tuple(
        tuple(NodeLaunch(node, (*prefix, *node_arguments(node, path, topology))) for node in tier)
        for tier in tiers(topology)
    )
