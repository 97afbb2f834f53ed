"""The edge's HTTPS listener, live: a self-signed certificate made at start that curl
(``--cacert``) and aiohttp accept, each viewer protocol policy over http and https, and https
origins verified against a CA file."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from gateway_support import Clock, Reply, ScriptedOrigin, gateway_of

from cdn.gateway.behaviors import Behavior, ExternalOrigin, Gateway
from cdn.gateway.patterns import PathPattern
from cli.main import main
from serving.tls import client_context, make_self_signed, server_context

POLICIES = gateway_of(
    Behavior(PathPattern("/r/*"), "origin", viewer_protocol_policy="redirect-to-https"),
    Behavior(PathPattern("/s/*"), "origin", viewer_protocol_policy="https-only"),
)


@pytest.fixture
async def origin() -> AsyncIterator[Any]:
    clock = Clock()
    server = ScriptedOrigin(clock)
    await server.start()
    for path in ("/a/1", "/r/1", "/r/1?x=1", "/s/1"):
        server.script(path, Reply(headers=(("Cache-Control", "max-age=60"),), body=b"hello"))
    server.clock_ = clock
    yield server
    await server.stop()


@pytest.fixture
async def edge(origin, start_edge_server) -> Any:
    return await start_edge_server(origin.url, clock=origin.clock_, gateway=POLICIES, tls_port=0)


async def curl(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "curl", "-sS", "--max-time", "10", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_curl_trusts_the_self_signed_certificate_given_as_cacert(edge) -> None:
    cert = edge.settings.tls_cert
    code, out = await curl("--cacert", cert, "-o", "/dev/null", "-w", "%{http_code}",
                           edge.tls_url + "/a/1")  # fmt: skip
    assert (code, out) == (0, "200")
    code, out = await curl("-o", "/dev/null", edge.tls_url + "/a/1")  # no CA: refused
    assert code == 60, out


async def test_the_printed_fingerprint_is_the_served_certificates(edge) -> None:
    host, port = edge.tls_url.removeprefix("https://").split(":")
    context = client_context(edge.settings.tls_cert)
    _, writer = await asyncio.open_connection(host, int(port), ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    digest = hashlib.sha256(der).hexdigest().upper()
    assert edge.certificate.fingerprint == ":".join(digest[i : i + 2] for i in range(0, 64, 2))


async def test_allow_all_serves_http_and_https_from_one_cache(edge, http, origin) -> None:
    tls = client_context(edge.settings.tls_cert)
    async with http.get(edge.url + "/a/1") as response:
        assert await response.read() == b"hello"
    async with http.get(edge.tls_url + "/a/1", ssl=tls) as response:
        assert await response.read() == b"hello"
        assert response.headers["X-Cache"].startswith("HIT")
    assert origin.fetches["/a/1"] == 1


async def test_redirect_to_https_answers_http_get_with_301_to_the_https_port(edge, http) -> None:
    tls_port = edge.tls_url.rsplit(":", 1)[1]
    for method in ("GET", "HEAD"):
        async with http.request(method, edge.url + "/r/1?x=1", allow_redirects=False) as r:
            await r.read()
            assert r.status == 301
            assert r.headers["Location"] == f"https://127.0.0.1:{tls_port}/r/1?x=1"
            assert "detail=redirect" in r.headers["Cache-Status"]
    code, out = await curl("-L", "--cacert", edge.settings.tls_cert, edge.url + "/r/1?x=1")
    assert (code, out) == (0, "hello")


async def test_redirect_to_https_refuses_other_http_methods(edge, http) -> None:
    async with http.post(edge.url + "/r/1", data=b"x") as response:
        await response.read()
        assert response.status == 403


async def test_https_only_refuses_http_and_serves_https(edge, http) -> None:
    async with http.get(edge.url + "/s/1", allow_redirects=False) as response:
        await response.read()
        assert response.status == 403
        assert "detail=https-only" in response.headers["Cache-Status"]
    code, out = await curl("--cacert", edge.settings.tls_cert, edge.tls_url + "/s/1")
    assert (code, out) == (0, "hello")


async def test_a_given_certificate_is_used_and_none_is_made(
    origin, start_edge_server, tmp_path, http
) -> None:
    made = make_self_signed(tmp_path)
    server = await start_edge_server(
        origin.url, tls_port=0, tls_cert=str(made.cert), tls_key=str(made.key)
    )
    assert server.certificate is None
    async with http.get(server.tls_url + "/a/1", ssl=client_context(made.cert)) as response:
        assert response.status == 200


@pytest.fixture
async def https_origin(tmp_path) -> AsyncIterator[tuple[str, Any]]:
    made = make_self_signed(tmp_path / "origin")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=b"over tls", headers={"Cache-Control": "max-age=60"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(made.cert, made.key))
    await site.start()
    yield f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", made  # type: ignore[union-attr]
    await runner.cleanup()


async def test_an_https_origin_is_verified_with_the_ca_file(
    https_origin, start_edge_server, http
) -> None:
    url, made = https_origin
    edge = await start_edge_server(url, origin_ca_file=str(made.cert))
    async with http.get(edge.url + "/o/1") as response:
        assert (response.status, await response.read()) == (200, b"over tls")


async def test_an_https_origin_with_an_untrusted_certificate_is_a_502(
    https_origin, start_edge_server, http
) -> None:
    url, _ = https_origin
    edge = await start_edge_server(url)  # the system's CAs do not know it
    async with http.get(edge.url + "/o/2") as response:
        await response.read()
        assert response.status == 502


def test_contexts_refuse_old_protocols() -> None:
    assert client_context().minimum_version >= ssl.TLSVersion.TLSv1_2


def test_cdn_edge_refuses_a_certificate_without_its_key(tmp_path, capsys) -> None:
    argv = ["edge", "--origin", "http://127.0.0.1:9", "--tls-port", "0"]
    assert main([*argv, "--tls-cert", str(tmp_path / "c.pem")]) == 2
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


def test_cdn_edge_names_a_certificate_it_cannot_load(tmp_path, capsys) -> None:
    argv = ["edge", "--origin", "http://127.0.0.1:9", "--tls-port", "0"]
    assert main([*argv, "--tls-cert", str(tmp_path / "c.pem"), "--tls-key", "k.pem"]) == 2
    assert "cannot load TLS certificate" in capsys.readouterr().err


async def test_a_busy_https_port_is_a_clear_error(origin, start_edge_server):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        with pytest.raises(OSError, match=f"HTTPS port {port}"):
            await start_edge_server(origin.url, tls_port=port)
    finally:
        busy.close()


async def test_an_external_https_origin_is_verified_with_its_ca_file(
    https_origin, origin, start_edge_server, http
) -> None:
    url, made = https_origin
    behaviors = (
        Behavior(PathPattern("/trusted/*"), "secure"),
        Behavior(PathPattern("/untrusted/*"), "unknown-ca"),
        Behavior(PathPattern("*"), "origin"),
    )
    gateway = Gateway(
        behaviors,
        external_origins=(
            ExternalOrigin("secure", url, ca_file=str(made.cert)),
            ExternalOrigin("unknown-ca", url),
        ),
    )
    edge = await start_edge_server(origin.url, gateway=gateway)
    async with http.get(edge.url + "/trusted/1") as response:
        assert (response.status, await response.read()) == (200, b"over tls")
    async with http.get(edge.url + "/untrusted/1") as response:
        await response.read()
        assert response.status == 502
