"""docker-compose.yml for a topology: a service per node, Prometheus and Grafana.

The render is deterministic (same topology, same bytes) so the committed docker-compose.yml can
be checked against it. Inside the compose network every node listens on 0.0.0.0 at its topology
port and reaches the others by service name (= node name): the ``--host`` flag sets the listen
address and ``CDNLAB_NODE_URLS`` (``name=url,...``) overrides the topology's 127.0.0.1 URLs.
Paths in the file are relative to the directory the compose file is written to.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdn.errors import ConfigError
from cdn.topology import Node, Topology
from cluster import yamltext
from cluster.plan import ADMIN_TOKEN_ENV, HEALTH_PATH, node_arguments
from cluster.prometheus import render_scrape_config

NODE_URLS_ENV = "CDNLAB_NODE_URLS"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
GRAFANA_DIR = PROJECT_ROOT / "configs" / "grafana"
CONTAINER_CONFIGS = "/app/configs"
IMAGE = "cdnlab:local"
PROMETHEUS_IMAGE = "prom/prometheus:v2.53.0"
GRAFANA_IMAGE = "grafana/grafana:11.1.0"
PROMETHEUS_PORT = 9090
GRAFANA_PORT = 3000
RESERVED_SERVICES = ("prometheus", "grafana")
_SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TOKEN_VALUE = (
    f"${{{ADMIN_TOKEN_ENV}:?set {ADMIN_TOKEN_ENV} to a secret first, see docs/cluster.md}}"
)


@dataclass(frozen=True, slots=True)
class ComposeRender:
    """The files `cdn compose` writes: paths relative to the output directory, and their text."""

    compose_text: str
    prometheus_path: str
    prometheus_text: str


def _relative(path: Path, base: Path) -> str:
    rel = Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    return rel if rel.startswith(".") else f"./{rel}"


def _check_names(topology: Topology) -> None:
    for node in topology.nodes:
        if not _SERVICE_NAME.match(node.name):
            raise ConfigError(
                f"{topology.source}:{node.name}.name",
                f"{node.name!r} cannot be a compose service name",
                "lowercase letters, digits, '-' and '_'",
            )
        if node.name in RESERVED_SERVICES:
            raise ConfigError(
                f"{topology.source}:{node.name}.name",
                f"{node.name!r} is taken by the {node.name} service of the compose file",
                "another node name",
            )


def service_url(node: Node) -> str:
    """Where other containers reach ``node``: its service name and topology port."""
    return f"http://{node.name}:{node.port}"


def node_urls(topology: Topology) -> str:
    """The CDNLAB_NODE_URLS value: ``name=url`` for every node, comma-separated."""
    return ",".join(f"{node.name}={service_url(node)}" for node in topology.nodes)


def _healthcheck(port: int) -> dict[str, Any]:
    probe = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}{HEALTH_PATH}', timeout=2)"
    )
    return {
        "test": ["CMD", "python", "-c", probe],
        "interval": "5s",
        "timeout": "3s",
        "retries": 12,
        "start_period": "5s",
    }


def _node_service(
    node: Node, topology: Topology, container_topology: str, context: str, mount: str
) -> dict[str, Any]:
    command = ["cdn", *node_arguments(node, container_topology), "--host", "0.0.0.0"]
    service: dict[str, Any] = {
        "build": {"context": context, "dockerfile": "Dockerfile"},
        "image": IMAGE,
        "init": True,
        "command": command,
        "environment": {
            ADMIN_TOKEN_ENV: TOKEN_VALUE,
            NODE_URLS_ENV: node_urls(topology),
            "PYTHONUNBUFFERED": "1",
        },
        "volumes": [f"{mount}:{container_topology}:ro"],
        "ports": [f"127.0.0.1:{node.port}:{node.port}"],
        "healthcheck": _healthcheck(node.port),
    }
    if node.upstream is not None:
        service["depends_on"] = {node.upstream: {"condition": "service_healthy"}}
    return service


def _free_host_port(preferred: int, taken: set[int]) -> int:
    port = preferred
    while port in taken:
        port += 1
    taken.add(port)
    return port


def render(topology: Topology, topology_file: str | Path, out_dir: str | Path) -> ComposeRender:
    """The compose file and Prometheus config for ``topology``, to be written into ``out_dir``."""
    _check_names(topology)
    out = Path(out_dir)
    topology_path = Path(topology_file)
    shown = _relative(topology_path, out).removeprefix("./")
    container_topology = f"{CONTAINER_CONFIGS}/{topology_path.name}"
    prometheus_rel = f"configs/prometheus/{topology.name}.yml"
    context = _relative(PROJECT_ROOT, out)
    context = "." if context == "./." else context

    services: dict[str, Any] = {}
    for node in topology.nodes:
        services[node.name] = _node_service(
            node, topology, container_topology, context, _relative(topology_path, out)
        )

    taken = {node.port for node in topology.nodes}
    prometheus_port = _free_host_port(PROMETHEUS_PORT, taken)
    grafana_port = _free_host_port(GRAFANA_PORT, taken)
    services["prometheus"] = {
        "image": PROMETHEUS_IMAGE,
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            f"--web.listen-address=0.0.0.0:{PROMETHEUS_PORT}",
        ],
        "volumes": [f"./{prometheus_rel}:/etc/prometheus/prometheus.yml:ro"],
        "ports": [f"127.0.0.1:{prometheus_port}:{PROMETHEUS_PORT}"],
        "depends_on": {node.name: {"condition": "service_started"} for node in topology.nodes},
    }
    grafana = _relative(GRAFANA_DIR, out)
    services["grafana"] = {
        "image": GRAFANA_IMAGE,
        "environment": {
            "GF_AUTH_ANONYMOUS_ENABLED": "true",
            "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
            "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH": "/var/lib/grafana/dashboards/cdnlab.json",
        },
        "volumes": [
            f"{grafana}/provisioning:/etc/grafana/provisioning:ro",
            f"{grafana}/dashboards:/var/lib/grafana/dashboards:ro",
        ],
        "ports": [f"127.0.0.1:{grafana_port}:{GRAFANA_PORT}"],
        "depends_on": {"prometheus": {"condition": "service_started"}},
    }

    header = (
        f"Generated by `cdn compose {shown}`: do not edit; change the topology and re-run.\n"
        f"Run: export {ADMIN_TOKEN_ENV}=<secret>; docker compose up --build (docs/cluster.md).\n"
        f"Grafana: http://127.0.0.1:{grafana_port}  Prometheus: http://127.0.0.1:{prometheus_port}"
    )
    project = re.sub(r"[^a-z0-9_-]+", "-", f"cdnlab-{topology.name}".lower())
    compose_text = yamltext.dump({"name": project, "services": services}, header)
    addresses = {node.name: f"{node.name}:{node.port}" for node in topology.nodes}
    prometheus_text = render_scrape_config(
        topology,
        addresses,
        scrape_interval=5.0,
        header=f"Generated by `cdn compose {shown}` for the compose network; do not edit.",
    )
    return ComposeRender(compose_text, prometheus_rel, prometheus_text)


def write(render_result: ComposeRender, compose_file: str | Path) -> tuple[Path, Path]:
    """Write the compose file and its Prometheus config (beside it); return both paths."""
    compose_path = Path(compose_file)
    prometheus_path = compose_path.parent / render_result.prometheus_path
    prometheus_path.parent.mkdir(parents=True, exist_ok=True)
    compose_path.write_text(render_result.compose_text, encoding="utf-8")
    prometheus_path.write_text(render_result.prometheus_text, encoding="utf-8")
    return compose_path, prometheus_path
