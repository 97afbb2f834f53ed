"""The edge's `/_cdn/` routes and PURGE: health, metrics, purge by URL, prefix or surrogate key.

Rules: purges need ``Authorization: Bearer <token>``; without a configured token they answer
404 as if they did not exist (admin off), with a missing or wrong token 401 (``serving.auth``).
Purge answers are JSON ``{"purged": n, "node": name, ...}`` where n counts the entries removed (hard) or marked
stale (soft). A URL purge removes every variant of the URL's key; prefixes are path prefixes
(``/obj/``) or full URLs and match the start of the cache key.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from edge.collapsing import Collapsing
from edge.metrics import EdgeMetrics
from edge.peers import PeerSet
from edge.proxy import Proxy
from edge.settings import EdgeSettings
from serving.auth import require_admin
from serving.drain import health_state
from serving.pages import json_page, metrics_page, process_facts

__all__ = ["Admin"]


def _target_of(url: str) -> str:
    """The path?query of a URL or target (``http://host/a?b`` -> ``/a?b``)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return url if url.startswith("/") else "/" + url


class Admin:
    """Handlers of the admin and observability routes of one edge app."""

    def __init__(
        self,
        settings: EdgeSettings,
        proxy: Proxy,
        metrics: EdgeMetrics,
        peers: PeerSet,
        collapsing: Collapsing,
    ) -> None:
        self.settings = settings
        self.proxy = proxy
        self.store = proxy.store
        self.metrics = metrics
        self.peers = peers
        self.collapsing = collapsing

    def routes(self) -> list[web.RouteDef]:
        """The /_cdn/ routes (PURGE on any path is dispatched by ``purge_method``)."""
        return [
            web.get("/_cdn/health", self.health),
            web.get("/_cdn/metrics", self.metrics_page),
            web.post("/_cdn/purge", self.purge_json),
        ]

    def _authorize(self, request: web.Request) -> None:
        require_admin(request, self.settings.admin_token)

    async def health(self, request: web.Request) -> web.Response:
        """Node, store occupancy, upstream and peers; 503 ``draining`` once leaving."""
        stats = self.store.stats()
        settings = self.settings
        status, code = health_state(request)
        return json_page(
            {
                "status": status,
                "role": "edge" if settings.upstream_kind == "shield" else "cache",
                "node": settings.name,
                "store": {
                    "bytes": stats.bytes_stored,
                    "objects": stats.objects,
                    "capacity": stats.capacity,
                    "evictions": stats.evictions,
                    "policy": self.store.policy_name,
                },
                "upstream": {
                    "name": settings.upstream_name,
                    "kind": settings.upstream_kind,
                    "url": settings.upstream_url,
                    "emulated_rtt_s": settings.emulated_delay(settings.upstream_location),
                },
                "peers": self.peers.status(),
                "in_flight_keys": len(self.collapsing.core),
                "refreshing": len(self.proxy.refreshing),
                "process": process_facts(),
            },
            code,
        )

    async def metrics_page(self, request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        return metrics_page(self.metrics.exposition())

    def _purge(self, kind: str, value: str, soft: bool) -> int:
        proxy = self.proxy
        if kind == "url":
            count = proxy.purge(_target_of(value), soft=soft)
        elif kind == "prefix":
            prefix = value
            if not (urlsplit(value).scheme and "://" in value):
                prefix = proxy.key_of("/").rstrip("/") + (
                    value if value.startswith("/") else "/" + value
                )
            count = self.store.purge_prefix(prefix, soft=soft)
        else:
            count = self.store.purge_tag(value, soft=soft)
        self.metrics.purge(kind, soft, count)
        return count

    def _answer(self, kind: str, value: str, soft: bool, count: int) -> web.Response:
        return json_page(
            {
                "purged": count,
                "node": self.settings.name,
                "kind": kind,
                "value": value,
                "mode": "soft" if soft else "hard",
            }
        )

    async def purge_json(self, request: web.Request) -> web.Response:
        """``POST /_cdn/purge`` with ``{"url"|"prefix"|"tag": ..., "soft": bool}``."""
        self._authorize(request)
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(
                text='the body is not JSON (expected {"url": "/obj/1"} or {"tag": "t", "soft": true})\n'
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text='the body is not a JSON object (expected {"tag": "t"})\n')
        kinds = [k for k in ("url", "prefix", "tag") if k in body]
        unknown = sorted(set(body) - {"url", "prefix", "tag", "soft"})
        if len(kinds) != 1 or unknown:
            raise web.HTTPBadRequest(
                text="name exactly one of url, prefix or tag, plus optional soft "
                f"(got {sorted(body)})\n"
            )
        kind = kinds[0]
        value = body[kind]
        soft = body.get("soft", False)
        if not isinstance(value, str) or not value or not isinstance(soft, bool):
            raise web.HTTPBadRequest(
                text=f"{kind} must be a non-empty string and soft a boolean (got {body!r})\n"
            )
        return self._answer(kind, value, soft, self._purge(kind, value, soft))

    async def purge_method(self, request: web.Request) -> web.Response:
        """``PURGE /path`` (``Soft-Purge: 1`` or ``?soft`` is not used: soft needs the JSON API)."""
        self._authorize(request)
        target = request.raw_path
        soft = request.headers.get("X-Purge-Soft", "").strip() in ("1", "true", "yes")
        return self._answer("url", target, soft, self._purge("url", target, soft))
