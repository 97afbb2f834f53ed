"""Pre-rendered HTTP/1.1 responses for the hit path: header bytes built once, written as is.

Rules: a fresh hit's status line and header block change only when its Age (or the ttl in
Cache-Status) changes, i.e. once a second, so the edge renders them once per second per
stored object (``render_head``) and a hit writes those bytes and the body straight to the
transport (``PrerenderedResponse``), skipping aiohttp's per-response header dict, defaults
and serialisation. Used only where the bytes are the same as aiohttp would send: an HTTP/1.1
keep-alive request (no ``Connection`` field needed) and a status that carries a body
(``renderable_status``). Header values are checked for CR/LF when rendered, as aiohttp's
serialiser checks them per response. Everything else goes through ``web.Response``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest

__all__ = ["JOIN_LIMIT", "PrerenderedResponse", "http_date", "render_head", "renderable_status"]

# Bodies up to this are kept joined with their header block (one buffer, one write).
JOIN_LIMIT = 16 * 1024
# Past this many bytes waiting in the socket buffer, a hit waits for the client to read.
_HIGH_WATER = 64 * 1024
_REASONS = {status.value: status.phrase for status in HTTPStatus}


def renderable_status(status: int) -> bool:
    """True for statuses whose response has a body and Content-Length (not 1xx, 204, 304)."""
    return status >= 200 and status != 204 and status != 304


def http_date(seconds: float) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7) for ``seconds`` since the epoch."""
    return formatdate(int(seconds), usegmt=True)


def render_head(status: int, fields: Iterable[tuple[str, str]], content_length: int) -> bytes:
    """Status line and header block (ending with the blank line) of an HTTP/1.1 response.

    ``fields`` must not hold Content-Length (it is written from ``content_length``); a Date
    is added when ``fields`` has none. Raises ValueError on CR or LF in a name or value.
    """
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
    dated = False
    for name, value in fields:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"newline in header field {name!r}")
        if not dated and name.lower() == "date":
            dated = True
        lines.append(f"{name}: {value}")
    if not dated:
        lines.append(f"Date: {http_date(time.time())}")
    lines.append(f"Content-Length: {content_length}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8")


class PrerenderedResponse(web.StreamResponse):
    """A response whose bytes are ready: ``chunks`` (header block, then body parts) as is.

    aiohttp's protocol only calls ``prepare`` and ``write_eof`` and reads ``keep_alive``;
    this class does those with a write of the ready bytes. The caller guarantees an
    HTTP/1.1 keep-alive request (so the connection stays open, as the bytes promise).
    """

    def __init__(self, status: int, chunks: tuple[bytes, ...]) -> None:
        # No super().__init__(): its header multidict is what this class exists to avoid.
        self._state = {}
        self._status = status
        self._reason = _REASONS.get(status, "")
        self._keep_alive = True
        self._chunks = chunks

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        if self._eof_sent:
            return None
        self._req = request
        return None

    async def write_eof(self, data: bytes = b"") -> None:
        if self._eof_sent:
            return
        self._eof_sent = True
        request = self._req
        assert request is not None
        self._req = None
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away")
        chunks = self._chunks
        if len(chunks) == 1:
            transport.write(chunks[0])
        else:
            transport.writelines(chunks)
        if transport.get_write_buffer_size() > _HIGH_WATER:
            await request.writer.drain()
