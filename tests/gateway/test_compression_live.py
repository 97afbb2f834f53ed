"""Compression at the edge, live: gzip and br of compressible answers, once per coding, with
``Vary: Accept-Encoding``; Range and conditionals on the compressed representation."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import brotli
import pytest
from gateway_support import Clock, Reply, ScriptedOrigin, gateway_of

from cdn.gateway.behaviors import Behavior
from cdn.gateway.patterns import PathPattern

TEXT = json.dumps([{"id": i, "name": f"item {i}"} for i in range(200)]).encode()
CACHED = ("Cache-Control", "max-age=600")


@pytest.fixture
async def origin() -> AsyncIterator[Any]:
    clock = Clock()
    server = ScriptedOrigin(clock)
    await server.start()
    server.clock_ = clock
    json_reply = Reply(
        headers=(CACHED, ("Content-Type", "application/json"), ("ETag", '"v1"')), body=TEXT
    )
    for path in ("/c/a", "/c/f", "/c/h", "/c/j", "/c/b", "/c/r", "/c/e", "/c/i", "/c/k"):
        server.script(path, json_reply)
    server.script(
        "/c/png", Reply(headers=(CACHED, ("Content-Type", "image/png")), body=b"\x89PNG" * 500)
    )
    server.script("/c/small", Reply(headers=(CACHED, ("Content-Type", "text/plain")), body=b"tiny"))
    gz = gzip.compress(TEXT)
    server.script(
        "/c/pre",
        Reply(
            headers=(CACHED, ("Content-Type", "application/json"), ("Content-Encoding", "gzip")),
            body=gz,
        ),
    )
    server.script("/plain", json_reply)
    yield server
    await server.stop()


@pytest.fixture
async def edge(origin, start_edge_server) -> str:
    gateway = gateway_of(Behavior(PathPattern("/c/*"), "origin", compress=True))
    server = await start_edge_server(origin.url, clock=origin.clock_, gateway=gateway)
    return server.url


async def get(http: Any, url: str, **headers: str) -> tuple[int, Any, bytes]:
    # aiohttp would add its own Accept-Encoding: the viewer's is only what the test says.
    async with http.get(url, headers=headers, skip_auto_headers=("Accept-Encoding",)) as response:
        return response.status, response.headers, await response.read()


async def test_gzip_is_served_to_a_gzip_viewer_with_vary(edge, http) -> None:
    status, headers, body = await get(http, edge + "/c/a", **{"Accept-Encoding": "gzip, deflate"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body) == TEXT
    assert int(headers["Content-Length"]) == len(body) < len(TEXT)


async def test_br_wins_over_gzip(edge, http) -> None:
    _, headers, body = await get(http, edge + "/c/a", **{"Accept-Encoding": "gzip, deflate, br"})
    assert headers["Content-Encoding"] == "br"
    assert brotli.decompress(body) == TEXT


async def test_identity_viewers_get_the_bytes_as_they_are_with_vary(edge, http) -> None:
    _, headers, body = await get(http, edge + "/c/a")
    assert "Content-Encoding" not in headers
    assert headers["Vary"] == "Accept-Encoding"
    assert body == TEXT
    _, headers, body = await get(http, edge + "/c/a", **{"Accept-Encoding": "gzip;q=0, br;q=0"})
    assert "Content-Encoding" not in headers and body == TEXT


async def test_each_coding_is_stored_once_and_spellings_share_it(edge, http, origin) -> None:
    spellings = ("gzip", "GZIP, deflate", "deflate, gzip;q=0.5", "br", "br, gzip", "", "identity")
    for accept in spellings * 2:
        _, headers, _ = await get(http, edge + "/c/b", **{"Accept-Encoding": accept})
    assert headers["X-Cache"].startswith("HIT")
    assert origin.fetches["/c/b"] == 3  # gzip, br, identity
    codings = sorted(seen.get("Accept-Encoding", "identity") for seen in origin.seen["/c/b"])
    assert codings == ["br", "gzip", "identity"]  # the origin sees the normalised field


async def test_the_compressed_etag_is_weak_and_conditionals_hit_it(edge, http) -> None:
    _, headers, _ = await get(http, edge + "/c/e", **{"Accept-Encoding": "gzip"})
    assert headers["ETag"] == 'W/"v1"'
    status, headers, _ = await get(
        http, edge + "/c/e", **{"Accept-Encoding": "gzip", "If-None-Match": 'W/"v1"'}
    )
    assert status == 304
    _, headers, _ = await get(http, edge + "/c/e")
    assert headers["ETag"] == '"v1"'  # identity keeps the origin's strong validator


async def test_a_range_applies_to_the_compressed_representation(edge, http) -> None:
    _, _, whole = await get(http, edge + "/c/r", **{"Accept-Encoding": "gzip"})
    status, headers, part = await get(
        http, edge + "/c/r", **{"Accept-Encoding": "gzip", "Range": "bytes=0-99"}
    )
    assert status == 206
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    assert part == whole[:100]


async def test_a_range_on_a_miss_is_cut_from_the_compressed_body(edge, http) -> None:
    status, headers, part = await get(
        http, edge + "/c/k", **{"Accept-Encoding": "br", "Range": "bytes=0-9"}
    )
    assert status == 206
    assert headers["Content-Encoding"] == "br"
    total = int(headers["Content-Range"].rsplit("/", 1)[1])
    assert total < len(TEXT) and len(part) == 10


async def test_incompressible_small_and_precompressed_answers_are_left_alone(edge, http) -> None:
    _, headers, body = await get(http, edge + "/c/png", **{"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in headers and "Vary" not in headers
    _, headers, body = await get(http, edge + "/c/small", **{"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in headers and body == b"tiny"
    _, headers, body = await get(http, edge + "/c/pre", **{"Accept-Encoding": "gzip, br"})
    assert headers["Content-Encoding"] == "gzip"  # the origin's own, not compressed again
    assert headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(body) == TEXT


async def test_a_behavior_without_compress_does_not_compress(edge, http) -> None:
    _, headers, body = await get(http, edge + "/plain", **{"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in headers and body == TEXT


async def test_compressed_hits_are_served_compressed(edge, http) -> None:
    for _ in range(2):
        _, headers, body = await get(http, edge + "/c/i", **{"Accept-Encoding": "br"})
    assert headers["X-Cache"].startswith("HIT")
    assert brotli.decompress(body) == TEXT


async def test_a_head_miss_is_answered_with_the_compressed_fields(edge, http, origin) -> None:
    headers = {"Accept-Encoding": "gzip"}
    async with http.head(
        edge + "/c/h", headers=headers, skip_auto_headers=("Accept-Encoding",)
    ) as r:
        assert r.status == 200
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.headers["Vary"] == "Accept-Encoding"


async def test_concurrent_viewers_of_each_coding_each_get_their_own(edge, http) -> None:
    codings = ["gzip", "", "br", "gzip", "", "br"]
    answers = await asyncio.gather(
        *(get(http, edge + "/c/j", **{"Accept-Encoding": c}) for c in codings)
    )
    decode = {"gzip": gzip.decompress, "br": brotli.decompress, "": lambda body: body}
    for coding, (status, headers, body) in zip(codings, answers, strict=True):
        assert status == 200
        assert headers.get("Content-Encoding", "") == coding
        assert decode[coding](body) == TEXT


async def test_if_range_with_the_weak_etag_gets_the_whole_compressed_body(edge, http) -> None:
    _, _, whole = await get(http, edge + "/c/f", **{"Accept-Encoding": "gzip"})
    status, _, body = await get(
        http,
        edge + "/c/f",
        **{"Accept-Encoding": "gzip", "Range": "bytes=0-9", "If-Range": 'W/"v1"'},
    )
    assert status == 200  # If-Range needs a strong validator (RFC 9110 §13.1.5)
    assert body == whole
