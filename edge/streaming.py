"""Streaming an upstream body to the client as it arrives, keeping it when the core says Store.

Rules: bodies over ``max_cacheable_size`` (or of unknown length growing past it) stream
through unkept in ``CHUNK``s with aiohttp's flow control, so edge memory stays flat. Once the
headers are sent an upstream failure can only cut the client's connection. A kept body
wakes the collapsed followers (``Ticket.finish``); anything else releases them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web

from cdn.cache import Store as CacheStore
from cdn.http import Decision, Headers, Pass, Request, Store, describe
from edge.collapsing import Ticket
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.max_cacheable_size = max_cacheable_size
        self.store = store
        self.metrics = metrics
        self.replies = replies
        self.recorder = recorder
        self.invalidate = invalidate

    async def stream(
        self,
        request: web.Request,
        creq: Request,
        decision: Decision,
        outcome: Store | Pass,
        fetched: Fetched,
        ticket: Ticket | None,
        started: float,
        collapsed: bool,
    ) -> web.StreamResponse:
        """Send the upstream body as it arrives; with Store, keep it (up to the size limit)."""
        response = fetched.response
        code = response.status
        now = self.clock()
        status = describe(decision, outcome, now=now, upstream_status=code, collapsed=collapsed)
        if isinstance(outcome, Store):
            # Client-facing fields come from the stored copy (e.g. no Set-Cookie).
            headers = outcome.entry.headers
        else:
            headers = Headers(response.headers.items())
        out = web.StreamResponse(
            status=code, headers=self.replies.pass_fields(request, headers, status)
        )
        length = response.content_length
        if length is not None and code not in (204, 304) and creq.method != "HEAD":
            out.content_length = length
        keeping = isinstance(outcome, Store)
        limit = self.max_cacheable_size
        chunks: list[bytes] = []
        kept = 0
        sent = 0
        upstream_bytes = self.metrics.upstream_bytes[fetched.kind]
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
                if creq.method != "HEAD":
                    await out.write(chunk)
                    sent += len(chunk)
            await out.write_eof()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Headers are gone already: all we can do is cut the client's connection.
            log.warning("upstream body of %s broke off: %s", creq.target, exc)
            if request.transport is not None:
                request.transport.close()
            keeping = False
        except (ConnectionResetError, asyncio.CancelledError):
            keeping = False
            raise
        finally:
            if keeping and (length is None or kept == length) and isinstance(outcome, Store):
                obj = kept_object(outcome.entry, b"".join(chunks))
                self.store.put(obj)
                if ticket is not None:
                    ticket.finish(obj, cacheable=True)
            elif ticket is not None:
                ticket.abandon()
            self.recorder.count(status.label, started, sent, "upstream")
            if self.recorder.logging:
                self.recorder.log(request, code, status.label, started, sent, fetched)
        if isinstance(outcome, Pass) and outcome.invalidate:
            self.invalidate(outcome.invalidate)
        return out
