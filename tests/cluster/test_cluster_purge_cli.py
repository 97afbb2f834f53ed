"""`cdn purge` reports per node and fails when any node does not confirm."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from typing import ClassVar

from cluster_support import ROOT


def _purge(*args: str, env_token: str | None = None, state_dir=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("CDNLAB_ADMIN_TOKEN", None)
    if env_token:
        env["CDNLAB_ADMIN_TOKEN"] = env_token
    if state_dir is not None:
        env["CDNLAB_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "purge", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_purge_needs_exactly_one_target(free_topology) -> None:
    result = _purge("/obj/1", "--tag", "catalog", "--topology", str(free_topology), "--token", "t")
    assert result.returncode == 2
    assert "exactly one" in result.stderr


def test_purge_without_a_token_or_running_cluster_explains(free_topology, tmp_path) -> None:
    result = _purge("--tag", "catalog", "--topology", str(free_topology), state_dir=tmp_path)
    assert result.returncode == 2
    assert "no admin token" in result.stderr and "cdn up" in result.stderr


def test_purge_of_a_cluster_that_is_down_fails_for_every_node(free_topology) -> None:
    result = _purge(
        "--tag",
        "catalog",
        "--topology",
        str(free_topology),
        "--token",
        "t",
        "--timeout",
        "5",
        "--json",
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["request"] == {"tag": "catalog"}
    assert [n["node"] for n in report["nodes"]] == [
        "shield-fra",
        "edge-par",
        "edge-lon",
        "edge-ams",
    ]
    assert all(not n["confirmed"] and "unreachable" in n["error"] for n in report["nodes"])


class _PurgeRecorder(http.server.BaseHTTPRequestHandler):
    """Answers every purge like a node that had nothing cached, and records who was asked."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append(self.path)
        body = json.dumps({"purged": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_purge_reaches_the_nodes_where_CDNLAB_NODE_URLS_says(free_topology, monkeypatch) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PurgeRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        names = ("shield-fra", "edge-par", "edge-lon", "edge-ams")
        monkeypatch.setenv("CDNLAB_NODE_URLS", ",".join(f"{name}={url}" for name in names))
        result = _purge(
            "--tag", "catalog", "--topology", str(free_topology), "--token", "t", "--json"
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [n["url"] for n in report["nodes"]] == [url] * 4
    assert _PurgeRecorder.seen == ["/_cdn/purge"] * 4


def test_a_malformed_CDNLAB_NODE_URLS_is_a_usage_error(free_topology, monkeypatch) -> None:
    monkeypatch.setenv("CDNLAB_NODE_URLS", "edge-par")
    result = _purge("--tag", "catalog", "--topology", str(free_topology), "--token", "t")
    assert result.returncode == 2
    assert "CDNLAB_NODE_URLS" in result.stderr and "NAME=URL" in result.stderr
