"""Field values with obs-text pass through the edge as the octets they were (RFC 9110 §5.5).

"A recipient SHOULD treat other octets in field content (obs-text) as opaque data": an origin's
`ETag: "abc<0xFC>"` reaches the client with that octet on a miss and on a hit, a client's
`If-None-Match` with the same octets matches it, and a request's obs-text reaches the origin.
The origin here is a raw socket server and the client a raw socket, so the test sees bytes,
not what any HTTP library makes of them. (cache-tests: conditional-etag-strong-respond-obs-text.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from multidict import CIMultiDict

from edge.wire import _serialize_headers_passing_obs_text, pass_obs_text

ETAG = b'"abc\xfc"'


class RawOrigin:
    """Answers every GET with fixed bytes (an ETag with obs-text); keeps the request heads."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nETag: " + ETAG + b"\r\n"
                    b"X-Raw: caf\xe9\r\nContent-Length: 5\r\n\r\nhello"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def raw_origin() -> AsyncIterator[tuple[RawOrigin, str]]:
    origin = RawOrigin()
    url = await origin.start()
    yield origin, url
    await origin.stop()


async def exchange(edge_url: str, target: str, *fields: bytes) -> tuple[bytes, bytes]:
    """One request on a fresh connection: (the response head, its body)."""
    parts = urlsplit(edge_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        extra = b"".join(field + b"\r\n" for field in fields)
        writer.write(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await asyncio.wait_for(reader.readexactly(length), 10)
        return head, body
    finally:
        writer.close()


def field(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.lower() == name.lower():
            return value.strip()
    return None


async def test_an_etag_with_obs_text_reaches_the_client_as_sent_on_a_miss_and_a_hit(
    raw_origin, start_edge_server
) -> None:
    _, url = raw_origin
    edge = await start_edge_server(url)
    miss, body = await exchange(edge.url, "/o")
    hit, _ = await exchange(edge.url, "/o")
    assert body == b"hello"
    assert (field(miss, b"x-cache"), field(hit, b"x-cache")) == (b"MISS", b"HIT")
    assert field(miss, b"etag") == field(hit, b"etag") == ETAG
    assert field(miss, b"x-raw") == field(hit, b"x-raw") == b"caf\xe9"


async def test_if_none_match_with_the_same_octets_matches(raw_origin, start_edge_server) -> None:
    _, url = raw_origin
    edge = await start_edge_server(url)
    await exchange(edge.url, "/o")
    head, body = await exchange(edge.url, "/o", b"If-None-Match: " + ETAG)
    assert head.startswith(b"HTTP/1.1 304")
    assert (field(head, b"etag"), body) == (ETAG, b"")


async def test_a_requests_obs_text_reaches_the_origin(raw_origin, start_edge_server) -> None:
    origin, url = raw_origin
    edge = await start_edge_server(url)
    await exchange(edge.url, "/asked", b"X-Note: caf\xe9")
    assert b"\r\nX-Note: caf\xe9\r\n" in origin.heads[-1]


def test_the_serializer_still_refuses_newlines_in_fields() -> None:
    assert pass_obs_text()
    with pytest.raises(ValueError, match="Newline or carriage return"):
        _serialize_headers_passing_obs_text("HTTP/1.1 200 OK", CIMultiDict({"X": "a\udcfc\nb"}))


def test_ascii_and_text_fields_serialize_as_aiohttp_does() -> None:
    headers = CIMultiDict([("ETag", '"a"'), ("X-Name", "é")])
    assert _serialize_headers_passing_obs_text("HTTP/1.1 200 OK", headers) == (
        b'HTTP/1.1 200 OK\r\nETag: "a"\r\nX-Name: \xc3\xa9\r\n\r\n'
    )


async def test_a_multi_range_answer_of_such_an_object_is_framed_with_a_safe_boundary(
    raw_origin, start_edge_server
) -> None:
    # The boundary comes from the entity-tag (parts of one representation share it), as hex:
    # the tag's own characters (here obs-text) may not appear in a boundary (RFC 2046 §5.1.1).
    _, url = raw_origin
    edge = await start_edge_server(url)
    await exchange(edge.url, "/o")
    head, body = await exchange(edge.url, "/o", b"Range: bytes=0-1,3-4")
    assert head.startswith(b"HTTP/1.1 206")
    kind, _, boundary = field(head, b"content-type").partition(b"; boundary=")
    assert kind == b"multipart/byteranges"
    assert boundary.startswith(b"cdnlab-") and boundary[7:].isalnum() and boundary.isascii()
    parts = body.split(b"--" + boundary)
    assert [part.rpartition(b"\r\n\r\n")[2].rstrip(b"\r\n") for part in parts[1:3]] == [
        b"he",
        b"lo",
    ]
    assert parts[-1].startswith(b"--")
