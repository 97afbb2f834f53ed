"""Background refresh for stale-while-revalidate (RFC 5861 §3): one task per key at a time.

Rules: the stale copy is served at once (by the caller, from the step's ``Serve`` with a
``refresh``); this module sends that refresh upstream in a task, hands the answer to the same
``CacheStep`` and keeps what it says (Renew or Keep; never a peer's answer, the owner keeps
that), and keeps serving the stale copy when the upstream fails or answers an error. Tasks
are cancelled at shutdown (``close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from cdn.cache import Store as EntryStore
from cdn.http import UPSTREAM_ERROR_STATUSES, CacheStep, Keep, Renew, Revalidate
from edge.compressing import compressed
from edge.keeping import kept_object, put_freshened, read_body, upstream_response
from edge.metrics import EdgeMetrics
from edge.routes import OriginRoute, fetch_routed
from edge.upstream import Upstream, UpstreamError

__all__ = ["Refresher"]

log = logging.getLogger("cdnlab.edge")


class Refresher:
    """Background refreshes of one edge's store; ``upstream`` is set when the app starts."""

    def __init__(self, max_cacheable_size: int, store: EntryStore, metrics: EdgeMetrics) -> None:
        self.max_cacheable_size = max_cacheable_size
        self.store = store
        self.metrics = metrics
        self.upstream: Upstream | None = None
        self.refreshing: set[str] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def start(
        self,
        step: CacheStep,
        target: str,
        refresh: Revalidate,
        coding: str | None = None,
        route: OriginRoute | None = None,
    ) -> None:
        """Start the one background refresh of the step's key unless one is running
        (``coding``: the viewer's normalised coding on a compressing behavior; ``route``: the
        behavior's own origin or group, ``edge.routes``)."""
        key = step.key
        if key in self.refreshing or self.upstream is None:
            return
        self.refreshing.add(key)
        task = asyncio.get_running_loop().create_task(
            self._refresh(step, target, refresh, coding, route)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _refresh(
        self,
        step: CacheStep,
        target: str,
        refresh: Revalidate,
        coding: str | None,
        route: OriginRoute | None,
    ) -> None:
        upstream = self.upstream
        assert upstream is not None
        key = step.key
        try:
            fields = upstream.request_headers(refresh.headers.items(), None, None)
            try:
                if route is None:
                    fetched = await upstream.fetch(
                        refresh.method, target, fields, key=key, allow_peers=True
                    )
                else:
                    fetched = await fetch_routed(upstream, route, refresh.method, target, fields)
            except UpstreamError as exc:
                log.info("background refresh of %s failed: %s", target, exc.reason)
                return
            if coding is not None:
                encoded = await compressed(fetched, coding, refresh.method)
                if encoded is None:
                    fetched.release()
                    return
                fetched = encoded
            try:
                response = fetched.response
                action = step.received(
                    upstream_response(fetched), fetched.request_time, fetched.response_time
                )
                if response.status not in UPSTREAM_ERROR_STATUSES:
                    self.metrics.revalidations[
                        "not-modified" if response.status == 304 else "modified"
                    ].inc()
                if isinstance(action, Renew):
                    put_freshened(self.store, key, action)
                elif isinstance(action, Keep) and fetched.kind != "peer":
                    length = response.content_length
                    if length is None or length <= self.max_cacheable_size:
                        body = await read_body(response, self.metrics, fetched.kind)
                        if body is not None and len(body) <= self.max_cacheable_size:
                            self.store.put(kept_object(action.entry, body))
                # Anything else (an error kept stale, a Relay) leaves the stale copy in place.
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
