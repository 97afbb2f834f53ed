"""docker-compose.yml for a topology: a service per node, Prometheus and Grafana.

The render is deterministic (same topology, same bytes) so the committed docker-compose.yml can
be checked against it. Nodes reach each other by service name (= node name): ``CDNLAB_NODE_URLS``
(``name=url,...``) overrides the topology's 127.0.0.1 URLs. Two networks:

- ``bridge`` (the default, the committed file): each node listens on 0.0.0.0 inside its
  container at its topology port, published on the host's 127.0.0.1.
- ``host``: every container shares the host's network (``network_mode: host``), nodes listen
  on 127.0.0.1 at their topology ports, ``extra_hosts`` maps every service name to 127.0.0.1,
  and the image is built with the host network too. For engines without a bridge network
  (``dockerd --bridge=none``, as in the tests) and for peers that must be reached on loopback.
  Prometheus scrapes 127.0.0.1:port, so the same config also serves a Prometheus run on the host.

Prometheus and Grafana are in the ``monitoring`` profile (``docker compose --profile monitoring
up``): the nodes alone need no image but the project's own. Paths in the file are relative to
the directory the compose file is written to.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdn import builtin
from cdn.errors import ConfigError
from cdn.topology import Node, Topology
from cluster import yamltext
from cluster.plan import ADMIN_TOKEN_ENV, HEALTH_PATH, node_arguments
from cluster.prometheus import render_scrape_config

NODE_URLS_ENV = "CDNLAB_NODE_URLS"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTAINER_CONFIGS = "/app/configs"
CONTAINER_DATA = "/data"  # a storage or table origin's volume (the image makes it the user's)
DATA_KINDS = ("storage", "kv")
IMAGE = "cdnlab:local"
NETWORKS = ("bridge", "host")
MONITORING_PROFILE = "monitoring"
BASE_IMAGE_ENV = "CDNLAB_BASE_IMAGE"
BASE_IMAGE = f"${{{BASE_IMAGE_ENV}:-python:3.11-slim}}"
COMPOSE_FILES = {"bridge": "docker-compose.yml", "host": "docker-compose.host.yml"}
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


def data_volume(node: Node) -> str:
    """The named volume that holds a storage or table origin's data."""
    return f"{node.name}-data"


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
        "interval": "2s",
        "timeout": "3s",
        "retries": 30,
        "start_period": "5s",
    }


def _build(context: str, network: str) -> dict[str, Any]:
    build: dict[str, Any] = {
        "context": context,
        "dockerfile": "Dockerfile",
        "args": {"BASE_IMAGE": BASE_IMAGE},
    }
    if network == "host":
        build["network"] = "host"
    return build


def _extra_hosts(topology: Topology) -> list[str]:
    names = [node.name for node in topology.nodes] + list(RESERVED_SERVICES)
    return [f"{name}:127.0.0.1" for name in names]


def _node_service(
    node: Node,
    topology: Topology,
    container_topology: str,
    context: str | None,
    mount: str,
    network: str,
) -> dict[str, Any]:
    listen = "127.0.0.1" if network == "host" else "0.0.0.0"
    volumes = [f"{mount}:{container_topology}:ro"]
    data = None
    if node.role == "origin" and node.kind in DATA_KINDS and node.data is not None:
        # A storage or table origin keeps its data in a named volume, so writes survive
        # `docker compose down` / `up` (and never land in the read-only configs mount).
        folder = f"{CONTAINER_DATA}/{node.name}"
        volumes.append(f"{data_volume(node)}:{CONTAINER_DATA}")
        data = folder if node.kind == "storage" else f"{folder}/{Path(node.data).name}"
    urls = {n.name: service_url(n) for n in topology.nodes} if network == "bridge" else None
    command = [
        "cdn",
        *node_arguments(node, container_topology, topology, data=data, urls=urls),
        "--host",
        listen,
    ]
    service: dict[str, Any] = {}
    if context is not None:
        service["build"] = _build(context, network)
    service.update(
        {
            "image": IMAGE,
            "init": True,
            "command": command,
            "environment": {
                ADMIN_TOKEN_ENV: TOKEN_VALUE,
                NODE_URLS_ENV: node_urls(topology),
                "PYTHONUNBUFFERED": "1",
            },
            "volumes": volumes,
        }
    )
    if network == "host":
        service["network_mode"] = "host"
        service["extra_hosts"] = _extra_hosts(topology)
    else:
        service["ports"] = [f"127.0.0.1:{node.port}:{node.port}"]
    service["healthcheck"] = _healthcheck(node.port)
    if node.upstream is not None:
        service["depends_on"] = {node.upstream: {"condition": "service_healthy"}}
    return service


def _free_host_port(preferred: int, taken: set[int]) -> int:
    port = preferred
    while port in taken:
        port += 1
    taken.add(port)
    return port


def _build_context(out: Path) -> str | None:
    """The clone's root relative to ``out``; None for an installed cdnlab (no Dockerfile)."""
    if not (PROJECT_ROOT / "Dockerfile").is_file():
        return None
    context = _relative(PROJECT_ROOT, out)
    return "." if context == "./." else context


def prometheus_file(topology: Topology, network: str = "bridge") -> str:
    """Where the Prometheus config goes, relative to the compose file's directory."""
    suffix = "" if network == "bridge" else f"-{network}"
    return f"configs/prometheus/{topology.name}{suffix}.yml"


def _monitoring(
    topology: Topology, prometheus_rel: str, out: Path, network: str
) -> tuple[dict[str, Any], dict[str, Any], int, int]:
    taken = {node.port for node in topology.nodes}
    prometheus_port = _free_host_port(PROMETHEUS_PORT, taken)
    grafana_port = _free_host_port(GRAFANA_PORT, taken)
    host = network == "host"
    prometheus: dict[str, Any] = {
        "image": PROMETHEUS_IMAGE,
        "profiles": [MONITORING_PROFILE],
        "command": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--web.listen-address="
            + (f"127.0.0.1:{prometheus_port}" if host else f"0.0.0.0:{PROMETHEUS_PORT}"),
        ],
        "volumes": [f"./{prometheus_rel}:/etc/prometheus/prometheus.yml:ro"],
    }
    grafana_dir = _relative(builtin.data_dir() / "grafana", out)
    grafana: dict[str, Any] = {
        "image": GRAFANA_IMAGE,
        "profiles": [MONITORING_PROFILE],
        "environment": {
            "GF_AUTH_ANONYMOUS_ENABLED": "true",
            "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer",
            "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH": "/var/lib/grafana/dashboards/cdnlab.json",
        },
        "volumes": [
            f"{grafana_dir}/provisioning:/etc/grafana/provisioning:ro",
            f"{grafana_dir}/dashboards:/var/lib/grafana/dashboards:ro",
        ],
    }
    if host:
        grafana["environment"].update(
            {"GF_SERVER_HTTP_ADDR": "127.0.0.1", "GF_SERVER_HTTP_PORT": str(grafana_port)}
        )
        for service in (prometheus, grafana):
            service["network_mode"] = "host"
            service["extra_hosts"] = _extra_hosts(topology)
    else:
        prometheus["ports"] = [f"127.0.0.1:{prometheus_port}:{PROMETHEUS_PORT}"]
        grafana["ports"] = [f"127.0.0.1:{grafana_port}:{GRAFANA_PORT}"]
    prometheus["depends_on"] = {
        node.name: {"condition": "service_started"} for node in topology.nodes
    }
    grafana["depends_on"] = {"prometheus": {"condition": "service_started"}}
    return prometheus, grafana, prometheus_port, grafana_port


def render(
    topology: Topology,
    topology_file: str | Path,
    out_dir: str | Path,
    *,
    network: str = "bridge",
) -> ComposeRender:
    """The compose file and Prometheus config for ``topology``, to be written into ``out_dir``.

    ``network`` is ``bridge`` (published ports) or ``host`` (the host's network, loopback).
    """
    if network not in NETWORKS:
        raise ValueError(f"network {network!r} is not one of {', '.join(NETWORKS)}")
    _check_names(topology)
    out = Path(out_dir)
    topology_path = Path(topology_file)
    shown = _relative(topology_path, out).removeprefix("./")
    if topology_path.resolve().parent == builtin.data_dir().resolve() and not shown.startswith(
        "configs/"
    ):
        shown = topology_path.stem  # a built-in topology, rendered away from the clone
    container_topology = f"{CONTAINER_CONFIGS}/{topology_path.name}"
    prometheus_rel = prometheus_file(topology, network)
    context = _build_context(out)

    services: dict[str, Any] = {}
    for node in topology.nodes:
        services[node.name] = _node_service(
            node, topology, container_topology, context, _relative(topology_path, out), network
        )
    prometheus, grafana, prometheus_port, grafana_port = _monitoring(
        topology, prometheus_rel, out, network
    )
    services["prometheus"] = prometheus
    services["grafana"] = grafana

    variant = "" if network == "bridge" else f" --network {network}"
    up = "docker compose" + ("" if network == "bridge" else f" -f {COMPOSE_FILES[network]}")
    header = (
        f"Generated by `cdn compose {shown}{variant}`: do not edit; change the topology and re-run.\n"
        f"Run: export {ADMIN_TOKEN_ENV}=<secret>; {up} up --build (docs/cluster.md).\n"
        f"With Prometheus and Grafana: {up} --profile {MONITORING_PROFILE} up --build\n"
        f"Grafana: http://127.0.0.1:{grafana_port}  Prometheus: http://127.0.0.1:{prometheus_port}"
    )
    project = re.sub(r"[^a-z0-9_-]+", "-", f"cdnlab-{topology.name}".lower())
    document: dict[str, Any] = {"name": project, "services": services}
    volumes = {
        data_volume(node): {}
        for node in topology.nodes
        if node.role == "origin" and node.kind in DATA_KINDS and node.data is not None
    }
    if volumes:
        document["volumes"] = volumes
    compose_text = yamltext.dump(document, header)
    if network == "host":
        addresses = {node.name: f"127.0.0.1:{node.port}" for node in topology.nodes}
        where = "the host network (127.0.0.1)"
    else:
        addresses = {node.name: f"{node.name}:{node.port}" for node in topology.nodes}
        where = "the compose network"
    prometheus_text = render_scrape_config(
        topology,
        addresses,
        scrape_interval=5.0,
        header=f"Generated by `cdn compose {shown}{variant}` for {where}; do not edit.",
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
