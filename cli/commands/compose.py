"""Render docker-compose.yml for a topology: a container per node, Prometheus and Grafana.

Each node runs `cdn origin` / `cdn edge` from an image built with the project's Dockerfile,
reaches the others by service name, and starts after its upstream is healthy. Prometheus scrapes
every node (its config is written to configs/prometheus/<topology name>.yml beside the compose
file) and Grafana shows the provisioned dashboard; both are in the `monitoring` profile. The
output is deterministic: the committed docker-compose.yml is exactly
`cdn compose configs/local.toml`.

--network bridge (default): each node listens on 0.0.0.0 in its container, its topology port
published on 127.0.0.1. --network host: the containers share the host's network and listen on
127.0.0.1 (service names mapped to 127.0.0.1 with extra_hosts); for engines with no bridge
network; written to docker-compose.host.yml unless -o says otherwise. The topology is a file or
a built-in name (local, world). The base image is $CDNLAB_BASE_IMAGE (default python:3.11-slim).

examples:
  cdn compose configs/local.toml                   # writes docker-compose.yml
  cdn compose world -o world-compose.yml           # the built-in world topology
  cdn compose local --network host                 # writes docker-compose.host.yml
  export CDNLAB_ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe())')
  docker compose up --build                        # nodes only
  docker compose --profile monitoring up --build   # with Prometheus and Grafana
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cdn.topology import default_topology_path, load_topology
from cli.argtypes import topology_file
from cluster.compose import COMPOSE_FILES, NETWORKS, render, write

NAME = "compose"
HELP = "render docker-compose.yml (nodes, Prometheus, Grafana) for a topology"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn compose`."""
    parser.add_argument(
        "topology",
        nargs="?",
        type=topology_file,
        default=None,
        help="topology TOML file or built-in name (default: local, i.e. configs/local.toml)",
    )
    parser.add_argument(
        "--network",
        choices=NETWORKS,
        default="bridge",
        help="bridge: published ports (default); host: the host's network, loopback only",
    )
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        help="compose file to write (default docker-compose.yml, docker-compose.host.yml "
        "for --network host); '-' prints it instead",
    )


def run(args: argparse.Namespace) -> int:
    """Render and write (or print) the compose file and its Prometheus config."""
    path = args.topology or default_topology_path()
    topology = load_topology(path)
    if args.output == "-":
        result = render(topology, path, Path.cwd(), network=args.network)
        sys.stdout.write(result.compose_text)
        return 0
    output = Path(args.output or COMPOSE_FILES[args.network])
    result = render(topology, path, output.parent, network=args.network)
    compose_path, prometheus_path = write(result, output)
    services = len(topology.nodes) + 2
    print(f"wrote {compose_path} ({services} services) and {prometheus_path}")
    return 0
