"""Cluster purge: send one `POST /_cdn/purge` to every shield and edge at once, report per node.

A node confirms when it answers 200 with JSON ``{"purged": n, ...}``; anything else (down, 401,
timeout, a body we cannot read) is a failure for that node, reported with the reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from cdn.topology import Node
from serving.purge_notify import PURGE_PATH, PurgeRequest, url_path

__all__ = [
    "PURGE_PATH",
    "PurgeOutcome",
    "PurgeRequest",
    "purge_cluster",
    "purge_nodes",
    "url_path",
]


@dataclass(frozen=True, slots=True)
class PurgeOutcome:
    """One node's answer: HTTP status (None when unreachable), purged count, or what went wrong."""

    node: str
    url: str
    status: int | None
    purged: int | None
    error: str | None = None

    @property
    def confirmed(self) -> bool:
        """True when the node answered 200 with a purged count."""
        return self.status == 200 and self.purged is not None and self.error is None


def _reason(status: int) -> str:
    if status == 401:
        return "401 unauthorized: wrong or missing admin token"
    if status == 404:
        return "404: purge endpoint off (node started without an admin token?)"
    return f"HTTP {status}"


async def _purge_one(
    session: aiohttp.ClientSession, node: str, base_url: str, body: Mapping[str, Any], token: str
) -> PurgeOutcome:
    url = base_url + PURGE_PATH
    try:
        async with session.post(
            url, json=dict(body), headers={"Authorization": f"Bearer {token}"}
        ) as response:
            text = await response.text()
            if response.status != 200:
                return PurgeOutcome(node, base_url, response.status, None, _reason(response.status))
            try:
                purged = json.loads(text)["purged"]
            except (ValueError, KeyError, TypeError):
                return PurgeOutcome(node, base_url, 200, None, "answer has no purged count")
            if isinstance(purged, bool) or not isinstance(purged, int):
                return PurgeOutcome(node, base_url, 200, None, f"purged is {purged!r}")
            return PurgeOutcome(node, base_url, 200, purged)
    except TimeoutError:
        return PurgeOutcome(node, base_url, None, None, "timed out")
    except aiohttp.ClientError as exc:
        return PurgeOutcome(node, base_url, None, None, f"unreachable ({exc.__class__.__name__})")


async def purge_nodes(
    targets: Sequence[tuple[str, str]],
    request: PurgeRequest,
    token: str,
    *,
    timeout: float = 10.0,
) -> list[PurgeOutcome]:
    """Purge on every (name, base URL) target concurrently; outcomes in target order."""
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        return list(
            await asyncio.gather(
                *(_purge_one(session, name, url, request.body(), token) for name, url in targets)
            )
        )


def purge_cluster(
    caches: Sequence[Node],
    request: PurgeRequest,
    token: str,
    *,
    timeout: float = 10.0,
    node_urls: Mapping[str, str] | None = None,
) -> list[PurgeOutcome]:
    """Purge on every cache node (shields and edges) and wait for all answers.

    ``node_urls`` maps node names to base URLs where they differ from the topology's
    (``$CDNLAB_NODE_URLS`` in a container network).
    """
    urls = node_urls or {}
    targets = [(node.name, urls.get(node.name, node.url)) for node in caches]
    return asyncio.run(purge_nodes(targets, request, token, timeout=timeout))
