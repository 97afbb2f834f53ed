"""The lean hit path: pre-rendered responses (edge.wire) on raw sockets, and its fall-backs.

A fresh hit on a keep-alive HTTP/1.1 connection is written from bytes rendered once per
second; these tests read those bytes off the wire (pipelining, HEAD framing, HTTP/1.0 and
``Connection: close`` taking the ordinary aiohttp path) and check the fields RFC 9111 needs.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from edge.wire import http_date, render_head, renderable_status


async def get(http, url: str, **kwargs) -> tuple[int, dict, bytes]:
    async with http.get(url, **kwargs) as response:
        return response.status, response.headers.copy(), await response.read()


async def read_response(reader: asyncio.StreamReader, head: bool = False):
    """(status line, {lowercased name: value}, body) of one response framed by Content-Length."""
    block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = block.decode().split("\r\n")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            assert name.lower() not in fields, f"duplicate field {name}"
            fields[name.lower()] = value.strip()
    length = 0 if head else int(fields["content-length"])
    body = await asyncio.wait_for(reader.readexactly(length), 10)
    return lines[0], fields, body


async def open_edge(edge: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(edge)
    return await asyncio.open_connection(parts.hostname, parts.port)


def request_bytes(method: str, target: str, version: str = "1.1", *extra: str) -> bytes:
    lines = [f"{method} {target} HTTP/{version}", "Host: example.test", *extra, "", ""]
    return "\r\n".join(lines).encode()


async def test_pipelined_hits_on_one_connection_carry_every_field(
    start_origin, start_edge, http
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, miss, body = await get(http, edge + "/obj/21?size=3000")
    reader, writer = await open_edge(edge)
    try:
        writer.write(request_bytes("GET", "/obj/21?size=3000") * 3)
        for _ in range(3):
            status, fields, got = await read_response(reader)
            assert status == "HTTP/1.1 200 OK"
            assert got == body
            assert fields["content-length"] == "3000"
            assert fields["x-cache"] == "HIT"
            assert fields["cache-status"].startswith("cdnlab-edge; hit; ttl=")
            assert fields["via"] == "1.1 edge"
            assert int(fields["age"]) >= 0
            assert fields["etag"] == miss["ETag"]
            assert fields["cache-control"] == miss["Cache-Control"]
            assert fields["date"] == miss["Date"]  # the stored response's Date (RFC 9111 §4)
            assert "connection" not in fields
            assert "surrogate-key" not in fields
        assert not writer.is_closing()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_pipelined_hits_and_misses_are_answered_in_order(
    start_origin, start_edge, http
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/26?size=500")
    reader, writer = await open_edge(edge)
    try:
        # hit, miss, hit, a 404 miss, hit: answered on arrival or by aiohttp, never reordered.
        for target in ("/obj/26?size=500", "/obj/27?size=700", "/obj/26?size=500"):
            writer.write(request_bytes("GET", target))
        writer.write(request_bytes("GET", "/nothing-here"))
        writer.write(request_bytes("GET", "/obj/26?size=500"))
        sizes = []
        for _ in range(5):
            status, fields, body = await read_response(reader)
            sizes.append((status.split()[1], fields["x-cache"], len(body)))
        assert sizes[0] == ("200", "HIT", 500)
        assert sizes[1] == ("200", "MISS", 700)
        assert sizes[2] == ("200", "HIT", 500)
        assert sizes[3][0] == "404"
        assert sizes[4] == ("200", "HIT", 500)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_many_pipelined_large_hits_wait_for_a_slow_reader(
    start_origin, start_edge, http
) -> None:
    # 40 x 100 KiB asked at once: past the write buffer's high-water mark the rest go
    # through aiohttp's path, which waits for the client; every byte arrives, in order.
    origin = await start_origin()
    edge = await start_edge(origin)
    _, _, body = await get(http, edge + "/obj/28?size=102400")
    reader, writer = await open_edge(edge)
    try:
        writer.write(request_bytes("GET", "/obj/28?size=102400") * 40)
        await asyncio.sleep(0.2)  # let the edge fill its buffers before anything is read
        for _ in range(40):
            status, fields, got = await read_response(reader)
            assert status == "HTTP/1.1 200 OK"
            assert fields["x-cache"] == "HIT"
            assert got == body
    finally:
        writer.close()
        await writer.wait_closed()


async def test_head_hit_has_the_get_length_and_no_body(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/22?size=2000")
    reader, writer = await open_edge(edge)
    try:
        # HEAD then GET on one connection: the GET's status line must follow the HEAD's
        # header block directly (no body bytes in between).
        writer.write(request_bytes("HEAD", "/obj/22?size=2000"))
        writer.write(request_bytes("GET", "/obj/22?size=2000"))
        status, fields, _ = await read_response(reader, head=True)
        assert status == "HTTP/1.1 200 OK"
        assert fields["content-length"] == "2000"
        assert fields["x-cache"] == "HIT"
        status, fields, body = await read_response(reader)
        assert status == "HTTP/1.1 200 OK"
        assert len(body) == 2000
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize(
    ("version", "extra"), [("1.0", ()), ("1.1", ("Connection: close",))], ids=["http10", "close"]
)
async def test_hits_that_end_the_connection_take_the_ordinary_path(
    start_origin, start_edge, http, version, extra
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, _, body = await get(http, edge + "/obj/23")
    reader, writer = await open_edge(edge)
    try:
        writer.write(request_bytes("GET", "/obj/23", version, *extra))
        status, fields, got = await read_response(reader)
        assert status.endswith("200 OK")
        assert got == body
        assert fields["x-cache"] == "HIT"
        assert fields["via"] == "1.1 edge"
        assert "age" in fields
        if version == "1.1":
            assert fields["connection"] == "close"
        assert await asyncio.wait_for(reader.read(), 10) == b""  # the edge closed it
    finally:
        writer.close()
        await writer.wait_closed()


async def test_client_and_tier_hits_alternate_without_mixing_fields(
    start_origin, start_edge, http
) -> None:
    origin = await start_origin()  # local.toml's /obj/ rule sends Surrogate-Key
    edge = await start_edge(origin)
    await get(http, edge + "/obj/24")
    for _ in range(2):
        _, client, _ = await get(http, edge + "/obj/24")
        _, tier, _ = await get(http, edge + "/obj/24", headers={"CDN-Loop": "cdnlab-edge-par"})
        assert client["X-Cache"] == tier["X-Cache"] == "HIT"
        assert "Surrogate-Key" not in client
        assert "obj-24" in tier["Surrogate-Key"].split()


async def test_requests_with_directives_or_conditionals_leave_the_hit_path(
    start_origin, start_edge, http
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, first, body = await get(http, edge + "/obj/25")
    status, headers, _ = await get(http, edge + "/obj/25", headers={"If-None-Match": first["ETag"]})
    assert (status, headers["X-Cache"]) == (304, "HIT")
    status, headers, got = await get(http, edge + "/obj/25", headers={"Range": "bytes=0-9"})
    assert (status, got) == (206, body[:10])
    status, headers, _ = await get(http, edge + "/obj/25", headers={"Cache-Control": "no-cache"})
    assert status == 200
    assert headers["X-Cache"] != "HIT"  # revalidated with the origin, not served as is
    status, headers, got = await get(http, edge + "/obj/25", headers={"Pragma": "no-cache"})
    assert (status, got) == (200, body)
    assert headers["X-Cache"] != "HIT"


def test_render_head_frames_the_fields_and_adds_a_missing_date() -> None:
    block = render_head(404, [("Content-Type", "text/plain"), ("Age", "3")], 12)
    text = block.decode()
    assert text.startswith("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nAge: 3\r\n")
    assert "\r\nDate: " in text
    assert text.endswith("Content-Length: 12\r\n\r\n")
    dated = render_head(200, [("Date", http_date(0))], 0).decode()
    assert dated.count("Date:") == 1
    assert "Date: Thu, 01 Jan 1970 00:00:00 GMT" in dated


def test_render_head_refuses_newlines_in_fields() -> None:
    with pytest.raises(ValueError, match="newline"):
        render_head(200, [("X-Evil", "a\r\nSet-Cookie: x=1")], 0)


def test_only_statuses_with_a_body_are_rendered() -> None:
    assert renderable_status(200) and renderable_status(404) and renderable_status(301)
    assert not renderable_status(204)
    assert not renderable_status(304)
    assert not renderable_status(100)
