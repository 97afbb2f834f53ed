"""Streaming an upstream body to the client as it arrives, keeping it when the core says Store.

Rules: bodies over ``max_cacheable_size`` (or of unknown length growing past it) stream
through unkept in ``CHUNK``s with aiohttp's flow control, so edge memory stays flat. Once the
headers are sent an upstream failure can only cut the client's connection. A kept body
wakes the collapsed followers (``Ticket.finish``); anything else releases them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
from aiohttp import web

from cdn.cache import Store as CacheStore
from cdn.http import CacheStatus, Entry, Headers
from edge.collapsing import Ticket
from edge.functions import FUNCTION_PASS
from edge.keeping import kept_object
from edge.metrics import EdgeMetrics
from edge.recording import Recorder
from edge.replies import Replies
from edge.upstream import Fetched

__all__ = ["CHUNK", "Streamer"]

log = logging.getLogger("cdnlab.edge")

CHUNK = 64 * 1024


class Streamer:
    """Streams upstream answers of one edge; ``invalidate`` runs a Pass's §4.4 invalidation."""

    def __init__(
        self,
        max_cacheable_size: int,
        store: CacheStore,
        metrics: EdgeMetrics,
        replies: Replies,
        recorder: Recorder,
        invalidate: Callable[[tuple[str, ...]], int],
    ) -> None:
        self.max_cacheable_size = max_cacheable_size
        self.store = store
        self.metrics = metrics
        self.replies = replies
        self.recorder = recorder
        self.invalidate = invalidate

    async def stream(
        self,
        request: web.Request,
        status: CacheStatus,
        fetched: Fetched,
        keep: Entry | None,
        ticket: Ticket | None,
        started: float,
        invalidate: tuple[str, ...] = (),
        served: Entry | None = None,
    ) -> web.StreamResponse:
        """Send the upstream body as it arrives; with ``keep``, store it (up to the size limit).

        ``status`` is the step's Cache-Status; ``invalidate`` the targets a Relay removes (§4.4);
        ``served`` the core's ``Keep.served`` (this answer's own fields when storing dropped some).
        """
        response = fetched.response
        code = response.status
        method = request.method
        # Client-facing fields of a kept answer: the core's (Keep.served, else the stored copy).
        source = served if served is not None else keep
        headers = source.headers if source is not None else Headers(response.headers.items())
        out = web.StreamResponse(
            status=code, headers=self.replies.pass_fields(request, headers, status)
        )
        length = response.content_length
        if length is not None and code not in (204, 304) and method != "HEAD":
            out.content_length = length
        keeping = keep is not None
        limit = self.max_cacheable_size
        chunks: list[bytes] = []
        kept = 0
        sent = 0
        upstream_bytes = self.metrics.upstream_bytes[fetched.kind]
        passing = request.get(FUNCTION_PASS)
        if passing is not None:  # viewer-response, before the head leaves (edge.functions)
            await passing.before_stream(out)
        try:
            await out.prepare(request)
            async for chunk in response.content.iter_chunked(CHUNK):
                upstream_bytes.inc(len(chunk))
                if keeping:
                    kept += len(chunk)
                    if kept > limit:
                        keeping = False
                        chunks = []
                        if ticket is not None:
                            ticket.finish(None, cacheable=False)
                    else:
                        chunks.append(chunk)
                if method != "HEAD":
                    await out.write(chunk)
                    sent += len(chunk)
            await out.write_eof()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Headers are gone already: all we can do is cut the client's connection.
            log.warning("upstream body of %s broke off: %s", request.raw_path, exc)
            if request.transport is not None:
                request.transport.close()
            keeping = False
        except (ConnectionResetError, asyncio.CancelledError):
            keeping = False
            raise
        finally:
            if keeping and keep is not None and (length is None or kept == length):
                obj = kept_object(keep, b"".join(chunks))
                self.store.put(obj)
                if ticket is not None:
                    ticket.finish(obj, cacheable=True)
            elif ticket is not None:
                ticket.abandon()
            self.recorder.count(status.label, started, sent, "upstream")
            if self.recorder.logging:
                self.recorder.log(request, code, status.label, started, sent, fetched)
        if invalidate:
            self.invalidate(invalidate)
        return out
