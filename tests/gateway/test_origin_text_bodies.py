"""The synthetic origin serves a path family's ``content_type``: text bodies for the types the
edge compresses, so a compressing behavior compresses them live as the simulator assumes."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import pytest
from gateway_support import gateway_of

from cdn.gateway.behaviors import Behavior
from cdn.gateway.compression import COMPRESSION_RATIOS
from cdn.gateway.patterns import PathPattern
from cdn.topology import Workload, WorkloadPath
from origin.bodies import synthetic_object

SEED = 5
WORKLOAD = Workload(
    seed=SEED,
    paths=(
        WorkloadPath("/static/{id}", share=0.5, content_type="text/css"),
        WorkloadPath("/media/{id}", share=0.5, content_type="video/mp4"),
    ),
)


@pytest.fixture
async def origin(start_origin) -> str:
    return await start_origin(workload=WORKLOAD)


async def get(http: Any, url: str, **headers: str) -> tuple[int, Any, bytes]:
    # aiohttp would add its own Accept-Encoding: the viewer's is only what the test says.
    async with http.get(url, headers=headers, skip_auto_headers=("Accept-Encoding",)) as response:
        return response.status, response.headers, await response.read()


async def test_a_text_family_is_served_as_its_type_with_a_text_body(origin, http) -> None:
    status, headers, body = await get(http, origin + "/static/3?size=8192")
    assert status == 200
    assert headers["Content-Type"] == "text/css"
    assert body == synthetic_object(SEED, 3, 8192, text=True).read(0, 8192)
    assert headers["ETag"] == synthetic_object(SEED, 3, 8192, text=True).etag


async def test_a_text_body_differs_from_the_octets_of_the_same_object(origin, http) -> None:
    _, text_headers, text = await get(http, origin + "/static/3?size=8192")
    _, octet_headers, octets = await get(http, origin + "/obj/3?size=8192")
    _, media_headers, media = await get(http, origin + "/media/3?size=8192")
    assert octet_headers["Content-Type"] == "application/octet-stream"
    assert media_headers["Content-Type"] == "video/mp4"
    assert media == octets and text != octets
    assert text_headers["ETag"] != octet_headers["ETag"]


async def test_a_text_body_compresses_about_as_the_simulator_assumes(origin, http) -> None:
    # At the examples' median size (8 KiB), with the edge's levels (zlib 6, brotli 5).
    for obj_id in range(4):
        _, _, body = await get(http, origin + f"/static/{obj_id}?size=8192")
        assert abs(len(gzip.compress(body, 6)) / len(body) - COMPRESSION_RATIOS["gzip"]) < 0.05
        ratio = len(brotli.compress(body, quality=5)) / len(body)
        assert abs(ratio - COMPRESSION_RATIOS["br"]) < 0.05


async def test_ranges_of_a_text_body_are_its_bytes(origin, http) -> None:
    whole = synthetic_object(SEED, 9, 300_000, text=True).read(0, 300_000)
    status, headers, part = await get(
        http, origin + "/static/9?size=300000", Range="bytes=262000-263999"
    )
    assert status == 206 and part == whole[262000:264000]
    status, headers, body = await get(
        http, origin + "/static/9?size=300000", Range="bytes=0-9,100-109"
    )
    assert status == 206 and headers["Content-Type"].startswith("multipart/byteranges")
    assert body.count(b"Content-Type: text/css\r\n") == 2
    assert whole[100:110] in body


async def test_a_compressing_behavior_compresses_the_origins_text(
    origin, start_edge_server, http
) -> None:
    gateway = gateway_of(
        Behavior(PathPattern("/static/*"), "origin", compress=True),
        Behavior(PathPattern("/media/*"), "origin", compress=True),
    )
    edge = (await start_edge_server(origin, gateway=gateway)).url
    identity = synthetic_object(SEED, 4, 8192, text=True).read(0, 8192)
    status, headers, body = await get(
        http, edge + "/static/4?size=8192", **{"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in headers["Vary"]
    assert gzip.decompress(body) == identity and len(body) < 0.5 * len(identity)
    _, media_headers, _ = await get(
        http, edge + "/media/4?size=8192", **{"Accept-Encoding": "gzip"}
    )
    assert "Content-Encoding" not in media_headers  # video/mp4: not compressible
