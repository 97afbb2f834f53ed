"""Render docker-compose.yml for a topology: a container per node, Prometheus and Grafana.

Each node runs `cdn origin` / `cdn edge` from an image built with the project's Dockerfile,
listens on 0.0.0.0 at its topology port (published on 127.0.0.1), reaches the others by service
name, and starts after its upstream is healthy. Prometheus scrapes every node (its config is
written to configs/prometheus/<topology name>.yml beside the compose file) and Grafana shows the
provisioned dashboard from configs/grafana/. The output is deterministic: the committed
docker-compose.yml is exactly `cdn compose configs/local.toml`.

examples:
  cdn compose configs/local.toml                   # writes docker-compose.yml
  cdn compose configs/world.toml -o world-compose.yml
  export CDNLAB_ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe())')
  docker compose up --build
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cdn.topology import default_topology_path, load_topology
from cluster.compose import render, write

NAME = "compose"
HELP = "render docker-compose.yml (nodes, Prometheus, Grafana) for a topology"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn compose`."""
    parser.add_argument(
        "topology", nargs="?", default=None, help="topology TOML (default: configs/local.toml)"
    )
    parser.add_argument(
        "-o",
        "--output",
        default="docker-compose.yml",
        help="compose file to write (default docker-compose.yml); '-' prints it instead",
    )


def run(args: argparse.Namespace) -> int:
    """Render and write (or print) the compose file and its Prometheus config."""
    path = Path(args.topology) if args.topology else default_topology_path()
    topology = load_topology(path)
    if args.output == "-":
        result = render(topology, path, Path.cwd())
        sys.stdout.write(result.compose_text)
        return 0
    output = Path(args.output)
    result = render(topology, path, output.parent)
    compose_path, prometheus_path = write(result, output)
    services = len(topology.nodes) + 2
    print(f"wrote {compose_path} ({services} services) and {prometheus_path}")
    return 0
