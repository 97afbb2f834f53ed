"""Keeping what the upstream sent: bodies read whole, objects put in the store, 304 freshening.

Rules: what to keep is the core's answer (the cache step's Keep or Renew); this module reads
the bytes and puts ``CachedObject``s in the store. The stored size is the body's real length.
"""

from __future__ import annotations

from dataclasses import replace

import aiohttp

from cdn.cache import Store as CacheStore
from cdn.http import Entry, Headers, Renew, Response
from edge.metrics import EdgeMetrics
from edge.stored import CachedObject
from edge.upstream import Fetched

__all__ = ["kept_object", "put_freshened", "read_body", "upstream_response"]


def upstream_response(fetched: Fetched) -> Response:
    """The core's view of an upstream answer: status, fields and announced size (no body)."""
    response = fetched.response
    return Response(
        response.status, Headers(response.headers.items()), response.content_length or 0
    )


def kept_object(entry: Entry, body: bytes) -> CachedObject:
    """``entry`` with its ``body`` (the entry's size corrected to the body's length)."""
    return CachedObject(entry if entry.size == len(body) else replace(entry, size=len(body)), body)


async def read_body(
    response: aiohttp.ClientResponse, metrics: EdgeMetrics, kind: str
) -> bytes | None:
    """The whole upstream body, or None when it broke off or is shorter than announced."""
    try:
        body = await response.read()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return None
    if response.content_length is not None and len(body) != response.content_length:
        return None
    metrics.upstream_bytes[kind].inc(len(body))
    return body


def put_freshened(store: CacheStore, key: str, renew: Renew) -> CachedObject | None:
    """Put 304-freshened entries back beside their bodies; the object to serve (or None)."""
    served: CachedObject | None = None
    first = renew.entries[0]
    for entry in renew.entries:
        old = store.get(key, entry.variant)
        if old is None:
            continue
        obj = old.with_entry(entry)
        store.put(obj)
        if entry is first:
            served = obj
    return served
