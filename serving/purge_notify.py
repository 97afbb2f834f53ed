"""Purge notifications: a storage or table origin tells the CDN's caches that objects changed.

Rules: ``notify`` never blocks and never fails the write that caused it: it queues one purge per
cache node and a background task per node delivers them in order. A node that is down, slow or
answers anything but 200 keeps its queue and is retried with a growing backoff (``retry_initial``
doubling up to ``retry_max``); purges queued twice for the same node collapse into one. The
optional webhook (``--notify URL``) gets one JSON POST per change, with the same retry rule, for
users' own pipelines. ``pending`` counts undelivered purges (a gauge for /_cdn/metrics), and
``drained`` waits until none is left (tests, graceful stop).

The body of a purge is ``PurgeRequest.body()``, the one the edge's ``POST /_cdn/purge`` takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

__all__ = ["PURGE_PATH", "PurgeNotifier", "PurgeRequest", "PurgeTarget", "url_path"]

PURGE_PATH = "/_cdn/purge"

log = logging.getLogger("cdnlab.purge")


def url_path(url: str) -> str:
    """The path and query of ``url``; a full URL (``http://host/obj/1``) is cut to ``/obj/1``."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return url


@dataclass(frozen=True, slots=True)
class PurgeRequest:
    """What to purge: exactly one of a URL path, a path prefix or a surrogate-key tag."""

    url: str | None = None
    prefix: str | None = None
    tag: str | None = None
    soft: bool = False

    def __post_init__(self) -> None:
        given = [v for v in (self.url, self.prefix, self.tag) if v is not None]
        if len(given) != 1:
            raise ValueError("a purge names exactly one of url, prefix or tag")

    @property
    def kind(self) -> str:
        """``url``, ``prefix`` or ``tag``."""
        if self.url is not None:
            return "url"
        return "prefix" if self.prefix is not None else "tag"

    def body(self) -> dict[str, Any]:
        """The JSON body the edge's purge endpoint takes."""
        body: dict[str, Any]
        if self.url is not None:
            body = {"url": url_path(self.url)}
        elif self.prefix is not None:
            body = {"prefix": self.prefix}
        else:
            body = {"tag": self.tag}
        if self.soft:
            body["soft"] = True
        return body


@dataclass(frozen=True, slots=True)
class PurgeTarget:
    """A cache node (edge or shield) to purge: its name and base URL (``http://127.0.0.1:8121``)."""

    name: str
    url: str


@dataclass(slots=True)
class _Queue:
    """One destination's undelivered purges, oldest first, each at most once."""

    items: dict[PurgeRequest | tuple[str, str], None] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class PurgeNotifier:
    """Delivers purges to cache nodes (and an optional webhook) in the background, with retries."""

    def __init__(
        self,
        targets: Sequence[PurgeTarget],
        token: str | None,
        *,
        webhook: str | None = None,
        retry_initial: float = 0.2,
        retry_max: float = 10.0,
        timeout: float = 5.0,
    ) -> None:
        if retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError(
                f"retry_initial must be > 0 and <= retry_max (got {retry_initial}, {retry_max})"
            )
        self.targets = tuple(targets)
        self.token = token
        self.webhook = webhook
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.delivered = 0
        self.failures = 0
        self._queues: dict[str, _Queue] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None

    @property
    def pending(self) -> int:
        """Purges (and webhook calls) queued and not yet confirmed."""
        return sum(len(queue.items) for queue in self._queues.values())

    async def start(self) -> None:
        """Open the client session and start one delivery task per destination."""
        if self._session is not None:
            return
        self._session = aiohttp.ClientSession(timeout=self.timeout)
        loop = asyncio.get_running_loop()
        destinations = [target.name for target in self.targets]
        if self.webhook:
            destinations.append("webhook")
        for name in destinations:
            queue = self._queues.setdefault(name, _Queue())
            self._tasks.append(loop.create_task(self._deliver(name, queue)))

    async def close(self) -> None:
        """Stop delivering (what is still pending is dropped and logged) and close the session."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.pending:
            log.warning("%d purge notifications were not delivered before stop", self.pending)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def notify(self, requests: Iterable[PurgeRequest], *, event: str = "change") -> None:
        """Queue ``requests`` for every cache node, and one webhook call per request."""
        requests = list(requests)
        for target in self.targets:
            queue = self._queues.setdefault(target.name, _Queue())
            for request in requests:
                queue.items[request] = None
            queue.wake.set()
        if self.webhook:
            queue = self._queues.setdefault("webhook", _Queue())
            for request in requests:
                queue.items[(event, request.url or request.prefix or request.tag or "")] = None
            queue.wake.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until nothing is pending (True) or ``timeout`` seconds passed (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def _deliver(self, name: str, queue: _Queue) -> None:
        backoff = self.retry_initial
        while True:
            if not queue.items:
                queue.wake.clear()
                await queue.wake.wait()
                continue
            item = next(iter(queue.items))
            if await self._send(name, item):
                queue.items.pop(item, None)
                self.delivered += 1
                backoff = self.retry_initial
                continue
            self.failures += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.retry_max)

    async def _send(self, name: str, item: PurgeRequest | tuple[str, str]) -> bool:
        session = self._session
        assert session is not None
        if isinstance(item, PurgeRequest):
            target = next(t for t in self.targets if t.name == name)
            url = target.url + PURGE_PATH
            body: Mapping[str, Any] = item.body()
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        else:
            assert self.webhook is not None
            url = self.webhook
            body = {"event": item[0], "url": item[1]}
            headers = {}
        try:
            async with session.post(url, json=dict(body), headers=headers) as response:
                await response.read()
                if response.status == 200:
                    return True
                log.warning("purge notification to %s answered %d", name, response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.info("purge notification to %s failed: %s", name, type(exc).__name__)
        return False
