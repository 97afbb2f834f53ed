"""Safety: never an open proxy, bad requests get a 4xx with a reason (never a 500), Range rules."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


async def raw_request(url: str, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes to the server at ``url``; the status code and the whole answer."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    status = int(data.split(b" ", 2)[1])
    return status, data


async def test_absolute_form_for_a_foreign_host_is_refused_and_never_fetched(
    start_origin, start_edge, http
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    status, answer = await raw_request(
        edge,
        b"GET http://evil.example/obj/1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    )
    assert status == 403
    assert b"not an open proxy" in answer
    assert b"X-Cache: ERROR" in answer
    async with http.get(origin + "/_cdn/stats") as response:
        assert (await response.json())["total"] == 0


async def test_absolute_form_for_the_site_itself_is_served(start_origin, start_edge) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    site = urlsplit(origin).netloc.encode()
    status, _ = await raw_request(
        edge,
        b"GET http://"
        + site
        + b"/obj/1 HTTP/1.1\r\nHost: "
        + site
        + b"\r\nConnection: close\r\n\r\n",
    )
    assert status == 200


async def test_client_host_header_does_not_choose_the_upstream(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    async with http.get(edge + "/obj/80", headers={"Host": "evil.example"}) as response:
        assert response.status == 200
    assert await origin_fetches(origin, "/obj/80") == 1


async def test_connect_is_refused(start_origin, start_edge) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    status, answer = await raw_request(
        edge,
        b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nConnection: close\r\n\r\n",
    )
    assert 400 <= status < 500
    assert b"Traceback" not in answer


async def test_malformed_header_line_is_400_not_500(start_origin, start_edge) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    status, answer = await raw_request(
        edge, b"GET /obj/1 HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n"
    )
    assert status == 400
    assert b"Traceback" not in answer


async def test_oversized_header_is_4xx(start_origin, start_edge) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    big = b"X-Big: " + b"a" * 20000 + b"\r\n"
    status, answer = await raw_request(edge, b"GET /obj/1 HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert 400 <= status < 500
    assert b"Traceback" not in answer


async def test_bad_cache_control_is_not_a_500(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    for value in ("max-age=banana", "max-stale=-1, =, ,,", 'no-cache="unterminated'):
        async with http.get(edge + "/obj/81", headers={"Cache-Control": value}) as response:
            await response.read()
            assert response.status < 500, value


async def test_range_from_cache_is_206(start_origin, start_edge, http, origin_fetches) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    async with http.get(edge + "/obj/82?size=1000") as response:
        full = await response.read()
    async with http.get(edge + "/obj/82?size=1000", headers={"Range": "bytes=10-19"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == "bytes 10-19/1000"
        assert response.headers["X-Cache"] == "HIT"
        assert await response.read() == full[10:20]
    async with http.get(edge + "/obj/82?size=1000", headers={"Range": "bytes=-5"}) as response:
        assert response.status == 206
        assert await response.read() == full[-5:]
    assert await origin_fetches(origin, "/obj/82?size=1000") == 1


async def test_range_miss_fetches_the_full_object_and_caches_it(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    url = edge + "/obj/83?size=1000"
    async with http.get(url, headers={"Range": "bytes=0-9"}) as response:
        assert response.status == 206
        assert len(await response.read()) == 10
    async with http.get(url) as response:
        assert response.headers["X-Cache"] == "HIT"
        assert len(await response.read()) == 1000
    # The origin got exactly one request for it: the full GET.
    assert await origin_fetches(origin, "/obj/83?size=1000") == 1


async def test_unsatisfiable_range_is_416(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    url = edge + "/obj/84?size=100"
    await (await http.get(url)).read()
    async with http.get(url, headers={"Range": "bytes=500-600"}) as response:
        assert response.status == 416
        assert response.headers["Content-Range"] == "bytes */100"
        assert "X-Cache" in response.headers


async def test_malformed_range_is_ignored_as_at_the_origin(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    url = edge + "/obj/85?size=100"
    full = await (await http.get(url)).read()
    for value in ("bytes=abc-def", "bytes=abc", "pages=1-2"):
        async with http.get(url, headers={"Range": value}) as response:
            assert response.status == 200, value
            assert await response.read() == full


async def test_two_ranges_are_a_multipart_206_as_at_the_origin(start_origin, start_edge, http):
    origin = await start_origin()
    edge = await start_edge(origin)
    url = "/obj/86?size=100"
    full = await (await http.get(edge + url)).read()
    answers = []
    for base in (origin, edge):
        async with http.get(base + url, headers={"Range": "bytes=0-1,5-6"}) as response:
            answers.append((response.status, response.content_type, await response.read()))
    assert answers[0] == answers[1]
    assert answers[1][0] == 206 and answers[1][1] == "multipart/byteranges"
    assert full[0:2] in answers[1][2] and full[5:7] in answers[1][2]


async def test_loop_through_ourselves_is_refused(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, name="edge-x")
    async with http.get(edge + "/obj/86", headers={"CDN-Loop": "cdnlab-edge-x"}) as response:
        assert response.status == 508
