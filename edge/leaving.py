"""Peers leaving a group: a draining edge tells its peers, and they stop routing to it at once.

Rules: ``POST /_cdn/peers/leaving`` with ``{"node": NAME}`` marks the group member NAME down
(``PeerSet.mark_down``) so its keys go to the next owner; the first successful health probe
of NAME brings it back (a draining node's health is 503, so it stays down until it is back
for real). With an admin token configured the notice needs it (``serving.auth``); without one
it is accepted from anyone, which is harmless: a wrong notice lasts one probe interval.
Answers: 200 ``{"node": me, "down": NAME}``, 400 for a body that is not that JSON object,
404 for a name that is not a peer of this node.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web

from edge.peers import PeerSet
from edge.settings import EdgeSettings
from serving.auth import require_admin

__all__ = ["LEAVING_PATH", "leaving_route", "tell_peers_leaving"]

LEAVING_PATH = "/_cdn/peers/leaving"


def leaving_route(settings: EdgeSettings, peers: PeerSet) -> web.RouteDef:
    """The ``POST /_cdn/peers/leaving`` route of an edge with ``peers``."""

    async def leaving(request: web.Request) -> web.Response:
        if settings.admin_token:
            require_admin(request, settings.admin_token)
        try:
            document = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            document = None
        name = document.get("node") if isinstance(document, dict) else None
        if not isinstance(name, str) or not name:
            raise web.HTTPBadRequest(
                text='expected a JSON object {"node": "<peer name>"} (the peer that is leaving)\n'
            )
        if name not in peers.peers:
            raise web.HTTPNotFound(
                text=f"{name!r} is not a peer of {settings.name} "
                f"(its peers: {', '.join(sorted(peers.peers)) or 'none'})\n"
            )
        peers.mark_down(name)
        return web.json_response({"node": settings.name, "down": name})

    return web.post(LEAVING_PATH, leaving)


async def tell_peers_leaving(
    session: aiohttp.ClientSession, settings: EdgeSettings, timeout: float
) -> dict[str, int | str]:
    """Tell every peer this node is leaving; each peer's answer status (or the error)."""
    headers = {"Authorization": f"Bearer {settings.admin_token}"} if settings.admin_token else {}

    async def one(url: str) -> int | str:
        try:
            async with session.post(
                url + LEAVING_PATH,
                json={"node": settings.name},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"

    answers = await asyncio.gather(*(one(peer.url) for peer in settings.peers))
    return {peer.name: answer for peer, answer in zip(settings.peers, answers, strict=True)}
