"""Sending a synthetic body: in one piece when small, streamed in chunks when large, none for HEAD."""

from __future__ import annotations

from aiohttp import web
from multidict import CIMultiDict

from origin.bodies import SyntheticObject
from origin.state import BODY_BYTES, SETTINGS

__all__ = ["send_body"]


async def send_body(
    request: web.Request,
    status: int,
    headers: CIMultiDict[str],
    obj: SyntheticObject,
    start: int,
    stop: int,
) -> web.StreamResponse:
    """Bytes ``[start, stop)`` of ``obj``: at once when small, in chunks when large, none for HEAD."""
    length = stop - start
    chunk_size = request.app[SETTINGS].chunk_size
    if request.method == "HEAD":
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = length
        await response.prepare(request)
        await response.write_eof()
        return response
    if length <= chunk_size:
        return web.Response(status=status, headers=headers, body=obj.read(start, stop))
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = length
    await response.prepare(request)
    sent = 0
    try:
        for chunk in obj.chunks(start, stop, chunk_size):
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away mid-body; nothing left to tell it
    finally:
        request[BODY_BYTES] = sent
    return response
