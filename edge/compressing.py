"""Compression at the edge: the compressed representation of an upstream answer (gzip, br).

Rules: when and which coding are the core's (``cdn.gateway.compression``: ``choose_coding``,
``should_compress``); caching stays the core's cache step. On a behavior with ``compress``:
- the viewer's Accept-Encoding is normalised to the one coding the edge would serve (``br`` >
  ``gzip`` > identity) before the cache step, so the step's variant key (Vary) and the field sent
  upstream hold the normalised value: each object is stored once per coding;
- an answer the origin did not encode, of a compressible type and size, gets
  ``Vary: Accept-Encoding`` (whatever the coding, as nginx's ``gzip_vary``); for a gzip or br
  viewer its body is compressed here, before the cache step sees it, with ``Content-Encoding``,
  the new ``Content-Length`` and a weak ETag (``W/"..."``, as nginx: the bytes differ, the
  meaning does not, and the origin's 304 to a weak If-None-Match still freshens it). A 304 for
  a compressed variant gets the weak ETag too, so freshening keeps the stored one;
- an answer the origin encoded itself gets ``Vary: Accept-Encoding`` (it depends on the
  normalised field we sent) and is left as it is.
Range requests and conditionals then apply to the stored (compressed) representation, as the
cache step answers any stored object.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import brotli
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from cdn.gateway.compression import choose_coding, should_compress
from edge.upstream import Fetched

__all__ = ["VIEWER_CODING", "compressed", "viewer_coding"]

# The normalised coding of a request on a compressing behavior (set by Proxy, read by misses).
VIEWER_CODING = web.RequestKey("cdnlab_viewer_coding", str)
# Bodies above this are compressed off the event loop.
_THREAD_ABOVE = 256 * 1024
_GZIP_LEVEL = 6  # zlib's default
_BROTLI_QUALITY = 5  # a common on-the-fly setting (11 is for precompressed files)


def viewer_coding(accept_encoding: str | None) -> str:
    """The normalised coding for a viewer's Accept-Encoding: ``br``, ``gzip`` or ``identity``."""
    return choose_coding(accept_encoding, brotli=True)


def _encode(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return brotli.compress(body, quality=_BROTLI_QUALITY)
    return gzip.compress(body, compresslevel=_GZIP_LEVEL, mtime=0)


def _weak(etag: str) -> str:
    return etag if etag.startswith("W/") else "W/" + etag


def _with_vary(fields: CIMultiDict[str]) -> None:
    names = {n.strip().lower() for v in fields.getall("Vary", ()) for n in v.split(",")}
    if "accept-encoding" in names or "*" in names:
        return
    values = [v for v in fields.getall("Vary", ()) if v.strip()]
    fields.popall("Vary", None)
    fields["Vary"] = ", ".join([*values, "Accept-Encoding"])


class _Rewritten:
    """An upstream answer with fields (and perhaps the body) replaced: what the edge's
    keeping and streaming read of an ``aiohttp.ClientResponse``."""

    def __init__(
        self, original: aiohttp.ClientResponse, fields: CIMultiDict[str], body: bytes | None
    ) -> None:
        self._original = original
        self._body = body
        self.status = original.status
        self.reason = original.reason
        self.headers = CIMultiDictProxy(fields)
        self.content_length = len(body) if body is not None else original.content_length
        self.content = self if body is not None else original.content

    async def read(self) -> bytes:
        """The (replaced) body."""
        if self._body is None:
            return await self._original.read()
        return self._body

    async def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        """The replaced body in chunks of ``size`` (``content.iter_chunked``)."""
        assert self._body is not None
        for start in range(0, len(self._body), size):
            yield self._body[start : start + size]

    def release(self) -> None:
        """Give the upstream connection back."""
        self._original.release()


async def compressed(fetched: Fetched, coding: str, method: str = "GET") -> Fetched | None:
    """``fetched`` (the answer to ``method``) as the edge serves it to a viewer of ``coding``
    on a compressing behavior (the module's rules); None when the body broke off while being
    read (a 502). Only answers to GET are compressed (a HEAD's has no body to compress)."""
    response = fetched.response
    if method != "GET":
        return fetched
    status = response.status
    fields = response.headers
    encoding = fields.get("Content-Encoding")
    if status == 304:
        etag = fields.get("ETag")
        if coding == "identity" or etag is None or etag.startswith("W/"):
            return fetched
        changed = CIMultiDict(fields)
        changed["ETag"] = _weak(etag)
        return replace(fetched, response=_Rewritten(response, changed, None))  # type: ignore[arg-type]
    if encoding and encoding.strip().lower() != "identity":
        if status != 200:
            return fetched
        changed = CIMultiDict(fields)
        _with_vary(changed)
        return replace(fetched, response=_Rewritten(response, changed, None))  # type: ignore[arg-type]
    if not should_compress(status, fields.get("Content-Type"), encoding, response.content_length):
        return fetched
    changed = CIMultiDict(fields)
    _with_vary(changed)
    if coding == "identity":
        return replace(fetched, response=_Rewritten(response, changed, None))  # type: ignore[arg-type]
    try:
        body = await response.read()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    if len(body) != response.content_length:
        return None
    if len(body) > _THREAD_ABOVE:
        encoded = await asyncio.to_thread(_encode, body, coding)
    else:
        encoded = _encode(body, coding)
    changed.popall("Content-Encoding", None)
    changed["Content-Encoding"] = coding
    changed["Content-Length"] = str(len(encoded))
    etag = changed.get("ETag")
    if etag is not None:
        changed["ETag"] = _weak(etag)
    return replace(fetched, response=_Rewritten(response, changed, encoded))  # type: ignore[arg-type]
