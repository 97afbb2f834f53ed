"""Background refresh for stale-while-revalidate (RFC 5861 §3): one task per key at a time.

Rules: the stale copy is served at once (by the caller); this module revalidates or refetches
in a task, keeps what the core's ``absorb`` says (Freshen or Store; never a peer's answer,
the owner keeps that), and keeps serving the stale copy when the upstream fails or answers
an error. Tasks are cancelled at shutdown (``close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cdn.cache import Store as CacheStore
from cdn.http import (
    UPSTREAM_ERROR_STATUSES,
    CacheConfig,
    Freshen,
    Headers,
    Request,
    Response,
    Revalidate,
    StaleHit,
    Store,
    absorb,
)
from edge.keeping import kept_object, put_freshened, read_body
from edge.metrics import EdgeMetrics
from edge.upstream import Upstream, UpstreamError

__all__ = ["Refresher"]

log = logging.getLogger("cdnlab.edge")


class Refresher:
    """Background refreshes of one edge's store; ``upstream`` is set when the app starts."""

    def __init__(
        self,
        config: CacheConfig,
        max_cacheable_size: int,
        store: CacheStore,
        metrics: EdgeMetrics,
    ) -> None:
        self.config = config
        self.max_cacheable_size = max_cacheable_size
        self.store = store
        self.metrics = metrics
        self.upstream: Upstream | None = None
        self.refreshing: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, creq: Request, key: str, decision: StaleHit) -> None:
        """Start the one background refresh of ``key`` unless one is running."""
        if key in self.refreshing or self.upstream is None:
            return
        self.refreshing.add(key)
        task = asyncio.get_running_loop().create_task(self._refresh(creq, key, decision.refresh))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _refresh(self, creq: Request, key: str, refresh: Revalidate) -> None:
        upstream = self.upstream
        assert upstream is not None
        try:
            fields = upstream.request_headers(refresh.headers.items(), None, None)
            try:
                fetched = await upstream.fetch(
                    refresh.method, creq.target, fields, key=key, allow_peers=True
                )
            except UpstreamError as exc:
                log.info("background refresh of %s failed: %s", creq.target, exc.reason)
                return
            try:
                response = fetched.response
                if response.status in UPSTREAM_ERROR_STATUSES:
                    return  # keep serving the stale copy; an error is no replacement
                outcome = absorb(
                    creq,
                    key,
                    refresh,
                    Response(
                        response.status,
                        Headers(response.headers.items()),
                        response.content_length or 0,
                    ),
                    fetched.request_time,
                    fetched.response_time,
                    self.config,
                )
                self.metrics.revalidations[
                    "not-modified" if response.status == 304 else "modified"
                ].inc()
                if isinstance(outcome, Freshen):
                    put_freshened(self.store, key, outcome)
                elif isinstance(outcome, Store) and fetched.kind != "peer":
                    length = response.content_length
                    if length is None or length <= self.max_cacheable_size:
                        body = await read_body(response, self.metrics, fetched.kind)
                        if body is not None and len(body) <= self.max_cacheable_size:
                            self.store.put(kept_object(outcome.entry, body))
            finally:
                fetched.release()
        finally:
            self.refreshing.discard(key)

    async def close(self) -> None:
        """Cancel background refreshes (app shutdown)."""
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
