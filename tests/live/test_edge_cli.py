"""`cdn edge`: --help, settings from flags and topology, --workers with SO_REUSEPORT, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from live_support import wait_healthy

from cdn.topology import default_topology_path
from cli.commands.edge import build_settings
from cli.errors import UserError
from cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


def settings_from(argv: list[str]):
    return build_settings(build_parser().parse_args(["edge", *argv]))


def test_help_describes_the_edge() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "edge", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag in (
        "--origin",
        "--topology",
        "--node",
        "--workers",
        "--admin-token",
        "--upstream-url",
    ):
        assert flag in result.stdout


def test_flags_become_settings(monkeypatch) -> None:
    monkeypatch.delenv("CDNLAB_ADMIN_TOKEN", raising=False)
    settings = settings_from(
        [
            "--origin",
            "http://127.0.0.1:9000",
            "--cache-size",
            "1MiB",
            "--policy",
            "s3fifo",
            "--negative-ttl",
            "5s",
            "--ignore-query-param",
            "utm",
            "--sort-query",
            "--stale-if-error",
            "1m",
        ]
    )
    assert settings.upstream_url == "http://127.0.0.1:9000"
    assert settings.site_host == "127.0.0.1:9000"
    assert settings.cache_size == 1024 * 1024
    assert settings.policy == "s3fifo"
    assert settings.cache_config.negative_ttl[404] == 5.0
    assert settings.cache_config.stale_if_error_seconds == 60.0
    assert settings.ignore_query_params == ("utm",)
    assert settings.sort_query_params
    assert settings.admin_token is None


def test_admin_token_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CDNLAB_ADMIN_TOKEN", "s3cret")
    assert settings_from(["--origin", "http://127.0.0.1:9000"]).admin_token == "s3cret"


def test_topology_node_settings(monkeypatch) -> None:
    monkeypatch.delenv("CDNLAB_NODE_URLS", raising=False)
    settings = settings_from(["--topology", str(default_topology_path()), "--node", "edge-par"])
    assert settings.name == "edge-par"
    assert settings.upstream_name == "shield-fra"
    assert settings.upstream_kind == "shield"
    assert settings.upstream_url == "http://127.0.0.1:8110"
    assert settings.site_host == "127.0.0.1:8100"
    assert {peer.name for peer in settings.peers} == {"edge-lon", "edge-ams"}
    assert settings.cache_config.stale_if_error_seconds == 60.0


def test_node_urls_override_for_containers(monkeypatch) -> None:
    monkeypatch.setenv(
        "CDNLAB_NODE_URLS", "shield-fra=http://shield-fra:8110,edge-lon=http://edge-lon:8122"
    )
    settings = settings_from(
        [
            "--topology",
            str(default_topology_path()),
            "--node",
            "edge-par",
            "--host",
            "0.0.0.0",
            "--upstream-url",
            "edge-ams=http://ams:8123",
        ]
    )
    assert settings.host == "0.0.0.0"
    assert settings.upstream_url == "http://shield-fra:8110"
    urls = {peer.name: peer.url for peer in settings.peers}
    assert urls == {"edge-lon": "http://edge-lon:8122", "edge-ams": "http://ams:8123"}


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--origin", "ftp://x"],
        ["--origin", "http://127.0.0.1:1", "--cache-size", "lots"],
        ["--origin", "http://127.0.0.1:1", "--workers", "0"],
        ["--topology", str(default_topology_path())],
        ["--topology", str(default_topology_path()), "--node", "origin"],
        ["--origin", "http://127.0.0.1:1", "--upstream-url", "nonsense"],
    ],
)
def test_bad_flags_are_user_errors(argv: list[str]) -> None:
    with pytest.raises(UserError):
        settings_from(argv)


async def test_two_workers_serve_on_one_port_and_stop_on_sigterm(start_origin, free_port) -> None:
    origin = await start_origin()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli.main",
            "edge",
            "--port",
            str(free_port),
            "--origin",
            origin,
            "--workers",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{free_port}"
        await wait_healthy(url, process)
        statuses = set()
        for _ in range(20):
            # A new session each time: new connections, spread over the workers.
            async with aiohttp.ClientSession() as session, session.get(url + "/obj/1") as response:
                await response.read()
                statuses.add(response.status)
        assert statuses == {200}
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) == 2
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_origin_auth_without_keys_in_the_environment_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.delenv("CDNLAB_ORIGIN_ACCESS_KEY", raising=False)
    with pytest.raises(UserError, match=r"needs \$CDNLAB_ORIGIN_ACCESS_KEY"):
        settings_from(["--origin", "http://127.0.0.1:9", "--origin-auth", "sigv4"])
