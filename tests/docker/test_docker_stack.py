"""`docker compose up` for real: the image, the stack of configs/local.toml, and `docker compose down`.

One stack serves the module: configs/local.toml copied onto free ports, rendered with
`cdn compose --network host` (the containers share the host's network and listen on 127.0.0.1,
so the tests reach them on loopback), built from the Dockerfile on $CDNLAB_BASE_IMAGE and brought
up with `docker compose up --build --wait`. Prometheus and Grafana stay out (their profile is not
enabled); the host's `prometheus` binary scrapes the containers with the generated config
instead. The tests run in file order in one worker (--dist loadfile); the last one takes the stack
down. Without a Docker engine the module skips with the reason (.ci/run starts one).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docker_support import (
    BASE_IMAGE_ENV,
    ROOT,
    ComposeProject,
    cdn_command,
    find_engine,
    http_get,
    http_request,
    labelled_containers,
    wait_until,
)
from prometheus_client.parser import text_string_to_metric_families

from cdn.topology import Topology, default_topology_path, load_topology
from cluster.ports import free_ports, port_is_free
from cluster.prometheus import find_prometheus, prometheus_argv
from cluster.relocate import relocate_topology

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TOKEN_ENV = "CDNLAB_ADMIN_TOKEN"
HIT_STATUSES = ("hit", "stale", "revalidated", "collapsed")


@dataclass(frozen=True, slots=True)
class Stack:
    """The running compose project of this module and what it was made from."""

    project: ComposeProject
    topology: Topology
    topology_file: Path
    compose_dir: Path
    token: str

    def url(self, node: str) -> str:
        return self.topology.node(node).url

    def origin_fetches(self, path: str) -> int:
        _, _, body = http_get(self.url("origin") + "/_cdn/stats")
        return json.loads(body)["paths"].get(path, 0)

    def cdn(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`cdn ARGS` on the host, with the stack's admin token in the environment."""
        full_env = {k: v for k, v in os.environ.items() if k != "CDNLAB_NODE_URLS"}
        full_env.update({TOKEN_ENV: self.token, **env})
        return subprocess.run(
            cdn_command(*args),
            cwd=self.compose_dir,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    engine = find_engine()
    if engine.reason is not None:
        pytest.skip(engine.reason)
    assert engine.base_image is not None
    work = tmp_path_factory.mktemp("docker")
    topology_file = relocate_topology(default_topology_path(), work)
    compose_file = work / "docker-compose.yml"
    rendered = subprocess.run(
        cdn_command("compose", str(topology_file), "--network", "host", "-o", str(compose_file)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    token = secrets.token_urlsafe(16)
    env = dict(os.environ, **{TOKEN_ENV: token, BASE_IMAGE_ENV: engine.base_image})
    project = ComposeProject(f"cdnlab-test-{secrets.token_hex(4)}", compose_file, env)
    try:
        up = project.run(
            "up", "--detach", "--build", "--wait", "--wait-timeout", "240", timeout=900
        )
        if up.returncode != 0:
            logs = project.run("logs", "--no-color", timeout=60)
            pytest.fail(f"docker compose up failed:\n{up.stdout}\n{up.stderr}\n{logs.stdout}")
        yield Stack(project, load_topology(topology_file), topology_file, work, token)
    finally:
        # A safety net for a failed test: the last test takes the stack down and checks it.
        project.run("down", "--timeout", "10", "--remove-orphans", timeout=180)


def _edge_cache_status(headers: dict[str, str], edge: str) -> str:
    """The member of Cache-Status (RFC 9211) that ``edge`` added (the last one)."""
    members = [m.strip() for m in headers.get("cache-status", "").split(",")]
    return next((m for m in reversed(members) if m.startswith(f"cdnlab-{edge};")), "")


def _hits(headers: dict[str, str]) -> list[str]:
    members = [m.strip() for m in headers.get("cache-status", "").split(",")]
    return [m for m in members if any(p.strip() in HIT_STATUSES for p in m.split(";")[1:])]


def _object_owned_by(stack: Stack, edge: str, start: int) -> tuple[str, dict[str, str]]:
    """A new path whose first fetch through ``edge`` is stored there (not peer-owned)."""
    for number in range(start, start + 200):
        path = f"/obj/{number}"
        status, headers, _ = http_get(stack.url(edge) + path)
        assert status == 200, (path, status)
        if "peer-owned" not in _edge_cache_status(headers, edge):
            return path, headers
    pytest.fail(f"{edge} owns none of /obj/{start}..{start + 199}")


def test_every_service_is_running_and_healthy(stack: Stack) -> None:
    containers = stack.project.containers()
    services = {c["Service"]: c for c in containers}
    assert set(services) == {node.name for node in stack.topology.nodes}
    for name, container in services.items():
        assert container["State"] == "running", (name, container)
        assert container["Health"] == "healthy", (name, container)


def test_an_edge_misses_then_hits_an_object_it_owns(stack: Stack) -> None:
    path, first = _object_owned_by(stack, "edge-par", start=1000)
    assert first.get("x-cache", "").upper().startswith("MISS"), first
    status, second, _ = http_get(stack.url("edge-par") + path)
    assert status == 200
    assert second.get("x-cache", "").upper() == "HIT", second
    assert stack.origin_fetches(path) == 1


def test_a_peer_owned_object_is_a_hit_through_a_second_edge(stack: Stack) -> None:
    path, _ = _object_owned_by(stack, "edge-lon", start=2000)
    status, headers, _ = http_get(stack.url("edge-par") + path)
    assert status == 200
    assert "peer-owned" in _edge_cache_status(headers, "edge-par"), headers
    assert any(hit.startswith("cdnlab-edge-lon;") for hit in _hits(headers)), headers
    assert stack.origin_fetches(path) == 1


def _purge(stack: Stack, node: str, body: dict, token: str | None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    url = stack.url(node) + "/_cdn/purge"
    status, _, answer = http_request("POST", url, json.dumps(body).encode(), headers)
    return status, answer


def test_purge_without_the_token_is_refused(stack: Stack) -> None:
    path, _ = _object_owned_by(stack, "edge-ams", start=3000)
    assert _purge(stack, "edge-ams", {"url": path}, token=None)[0] == 401
    assert _purge(stack, "edge-ams", {"url": path}, token="not-the-token")[0] == 401
    _, headers, _ = http_get(stack.url("edge-ams") + path)
    assert headers.get("x-cache", "").upper() == "HIT", headers


def test_purge_with_the_token_makes_the_object_miss(stack: Stack) -> None:
    path, _ = _object_owned_by(stack, "edge-ams", start=4000)
    status, answer = _purge(stack, "edge-ams", {"url": path}, token=stack.token)
    assert status == 200, answer
    assert json.loads(answer)["purged"] >= 1
    _, headers, _ = http_get(stack.url("edge-ams") + path)
    assert headers.get("x-cache", "").upper().startswith("MISS"), headers


def _warm(stack: Stack, paths: list[str]) -> None:
    for path in paths:
        for edge in stack.topology.edges:
            assert http_get(stack.url(edge.name) + path)[0] == 200


def _confirmed_purge(result: subprocess.CompletedProcess[str], stack: Stack) -> int:
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {n["node"] for n in report["nodes"]} == {c.name for c in stack.topology.caches}
    assert all(n["confirmed"] for n in report["nodes"]), report
    return sum(n["purged"] for n in report["nodes"])


def test_cdn_purge_by_tag_from_the_host_reaches_every_container(stack: Stack) -> None:
    _warm(stack, [f"/obj/{n}" for n in range(5000, 5010)])
    result = stack.cdn(
        "purge", "--topology", str(stack.topology_file), "--tag", "catalog", "--json"
    )
    assert _confirmed_purge(result, stack) >= 1


def test_cdn_purge_reaches_the_nodes_named_in_CDNLAB_NODE_URLS(stack: Stack) -> None:
    # configs/local.toml's own ports are not the stack's: only CDNLAB_NODE_URLS leads there.
    urls = ",".join(f"{n.name}={n.url}" for n in stack.topology.nodes)
    _warm(stack, [f"/obj/{n}" for n in range(6000, 6005)])
    result = stack.cdn(
        "purge", "--topology", "local", "--tag", "catalog", "--json", CDNLAB_NODE_URLS=urls
    )
    assert _confirmed_purge(result, stack) >= 1


def test_every_node_serves_prometheus_metrics(stack: Stack) -> None:
    for node in stack.topology.nodes:
        status, headers, body = http_get(stack.url(node.name) + "/_cdn/metrics")
        assert status == 200, node.name
        assert headers.get("content-type", "").startswith("text/plain"), headers
        names = {family.name for family in text_string_to_metric_families(body.decode())}
        assert any(name.startswith("cdnlab_") for name in names), (node.name, sorted(names))


def test_a_short_load_test_has_no_errors(stack: Stack) -> None:
    out = stack.compose_dir / "load"
    result = stack.cdn(
        "load", "--topology", str(stack.topology_file), "--duration", "3s", "--rate", "60",
        "--out", str(out), "--no-plots", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((out / "load.json").read_text())
    assert report["requests"] > 0
    assert report["errors"]["total"] == 0, report["errors"]


@pytest.mark.skipif(
    find_prometheus() is None, reason="no `prometheus` binary (apt-get install prometheus)"
)
def test_prometheus_scrapes_every_container_with_the_generated_config(
    stack: Stack, tmp_path: Path
) -> None:
    config = stack.compose_dir / "configs" / "prometheus" / f"{stack.topology.name}-host.yml"
    assert config.is_file()
    binary = find_prometheus()
    assert binary is not None
    port = free_ports(1)[0]
    argv = prometheus_argv(binary, str(config), str(tmp_path / "data"), "127.0.0.1", port)
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as server:
        try:
            query = urllib.parse.urlencode({"query": "up"})
            url = f"http://127.0.0.1:{port}/api/v1/query?{query}"
            seen: dict[str, str] = {}

            def every_node_up() -> bool:
                try:
                    status, _, body = http_get(url, timeout=5)
                except OSError:
                    return False
                if status != 200:
                    return False
                results = json.loads(body)["data"]["result"]
                seen.clear()
                seen.update({r["metric"]["node"]: r["value"][1] for r in results})
                return seen == {node.name: "1" for node in stack.topology.nodes}

            assert wait_until(every_node_up, timeout=60, interval=1.0), seen
        finally:
            server.terminate()
            server.wait(30)


def test_compose_down_leaves_nothing_running(stack: Stack) -> None:
    down = stack.project.run("down", "--timeout", "10", "--remove-orphans", timeout=180)
    assert down.returncode == 0, down.stderr
    assert labelled_containers(stack.project.name) == []
    for node in stack.topology.nodes:
        assert wait_until(lambda n=node: port_is_free(n.host, n.port), timeout=10), node.name
