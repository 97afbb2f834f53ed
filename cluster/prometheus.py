"""Prometheus for a cluster: the generated scrape config and, for `cdn up`, a local server.

One scrape job covers every node at ``/_cdn/metrics``; each target carries ``node`` and ``role``
labels. ``honor_labels`` keeps the ``node`` label the servers put on their own series (the same
value), so queries never see an ``exported_node`` duplicate.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Any

from cdn.topology import Topology
from cluster import yamltext
from cluster.plan import METRICS_PATH

PROMETHEUS_BINARY = "prometheus"
JOB = "cdnlab"


def scrape_config(
    topology: Topology,
    addresses: Mapping[str, str] | None = None,
    *,
    scrape_interval: float = 5.0,
) -> dict[str, Any]:
    """The Prometheus configuration as a mapping; ``addresses`` maps node names to host:port."""
    static = []
    for node in topology.nodes:
        address = (addresses or {}).get(node.name, f"{node.host}:{node.port}")
        static.append({"targets": [address], "labels": {"node": node.name, "role": node.role}})
    interval = f"{scrape_interval:g}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": METRICS_PATH,
                "honor_labels": True,
                "static_configs": static,
            }
        ],
    }


def render_scrape_config(
    topology: Topology,
    addresses: Mapping[str, str] | None = None,
    *,
    scrape_interval: float = 5.0,
    header: str = "",
) -> str:
    """The scrape configuration as YAML text."""
    document = scrape_config(topology, addresses, scrape_interval=scrape_interval)
    return yamltext.dump(document, header)


def find_prometheus(binary: str = PROMETHEUS_BINARY) -> str | None:
    """Path of the Prometheus server binary, or None when it is not installed."""
    return shutil.which(binary)


def prometheus_argv(
    binary: str, config_file: str, data_dir: str, host: str, port: int
) -> tuple[str, ...]:
    """Command line of a throwaway Prometheus server (data in ``data_dir``)."""
    return (
        binary,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address={host}:{port}",
        "--storage.tsdb.retention.time=1d",
        "--log.level=warn",
    )
