"""serving.tls: a self-signed certificate that a verifying client accepts over real TLS."""

from __future__ import annotations

import ssl

import aiohttp
import pytest
from aiohttp import web

from serving.tls import client_context, make_self_signed, server_context


async def test_a_client_with_the_certificate_as_ca_talks_https_to_the_server(tmp_path) -> None:
    made = make_self_signed(tmp_path)
    assert len(made.fingerprint.split(":")) == 32
    assert made.key.stat().st_mode & 0o077 == 0

    async def secret(request: web.Request) -> web.Response:
        return web.Response(text="secret")

    app = web.Application()
    app.router.add_get("/", secret)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(made.cert, made.key))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(
                f"https://127.0.0.1:{port}/", ssl=client_context(made.cert)
            ) as response:
                assert await response.text() == "secret"
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with session.get(f"https://127.0.0.1:{port}/", ssl=client_context()):
                    pass
    finally:
        await runner.cleanup()


def test_a_missing_certificate_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot load TLS certificate"):
        server_context(tmp_path / "none.pem", tmp_path / "none.key")


def test_the_contexts_verify_by_default(tmp_path) -> None:
    assert client_context().verify_mode == ssl.CERT_REQUIRED
