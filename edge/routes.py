"""Where a behavior's misses go: its own origin, or an origin group with failover (live).

Rules: a behavior whose ``target_origin`` is the topology's (first) origin goes the edge's usual
way (peers, shield or origin, fallbacks: ``edge.upstream``). One that names another
``[[origin]]``, an ``[[external_origin]]`` or an ``[[origin_group]]`` is fetched by the edge
from that origin directly (no peer, no shield: CloudFront's edges fail over between a group's origins
themselves). When to try the group's secondary is the core's rule
(``cdn.gateway.failover.fails_over``: GET, HEAD and OPTIONS, on a connection failure, a
timeout, or one of the group's ``failover_statuses``; never POST or any request with a body).
The answer says which origin gave it: a Cache-Status member of the group (RFC 9211), e.g.
``cdnlab-group-static; detail="origin-b"``, or ``detail="origin-b (primary origin: 503)"``
after a failover; it is stored with the object, so hits say it too. Origins over https are
verified (the system's CAs, or the external origin's ``ca_file``).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from cdn.gateway.behaviors import Gateway, OriginGroup
from cdn.gateway.failover import fails_over
from edge.upstream import Fetched, Upstream, UpstreamError
from serving.tls import client_context

__all__ = ["ORIGIN_ROUTE", "OriginRoute", "RouteMember", "fetch_routed", "origin_routes"]

# The route of a request whose behavior has its own (set by Proxy, read by misses/passthrough).
ORIGIN_ROUTE = web.RequestKey("cdnlab_origin_route", object)


@dataclass(frozen=True, slots=True)
class RouteMember:
    """One origin of a route: its name, base URL and TLS context (None: plain http or the
    session's default verification)."""

    name: str
    url: str
    ssl: ssl.SSLContext | None = None


@dataclass(frozen=True, slots=True)
class OriginRoute:
    """The origins a behavior's misses go to: one, or a group's primary and secondary."""

    members: tuple[RouteMember, ...]
    group: OriginGroup | None = None


def origin_routes(
    gateway: Gateway, main_origin: str, main_url: str, urls: Mapping[str, str]
) -> dict[int, OriginRoute]:
    """The route of each behavior (by ``id``) that does not go the usual way. ``urls``
    overrides origins' URLs by name (``--upstream-url NAME=URL``)."""
    contexts: dict[str | None, ssl.SSLContext] = {}

    def member(name: str) -> RouteMember:
        if name == main_origin:
            return RouteMember(name, urls.get(name, main_url))
        for external in gateway.external_origins:
            if external.name == name:
                url = urls.get(name, external.url)
                context = None
                if url.startswith("https:") and external.ca_file is not None:
                    context = contexts.get(external.ca_file)
                    if context is None:
                        context = contexts[external.ca_file] = client_context(external.ca_file)
                return RouteMember(name, url, context)
        if name in urls:  # another [[origin]] of the topology (EdgeSettings.node_urls)
            return RouteMember(name, urls[name])
        raise ValueError(f"origin {name!r} is neither one of the topology's origins nor external")

    routes: dict[int, OriginRoute] = {}
    for behavior in gateway.behaviors:
        target = behavior.target_origin
        group = gateway.origin_group(target)
        if group is not None:
            routes[id(behavior)] = OriginRoute(tuple(member(m) for m in group.members), group)
        elif target != main_origin:
            routes[id(behavior)] = OriginRoute((member(target),))
    return routes


def _member_of(fetched: Fetched, group: OriginGroup, answered: str, why: str | None) -> Fetched:
    """``fetched`` with the group's Cache-Status member before the answering origin's own."""
    detail = answered if why is None else f"{answered} ({why})"
    detail = detail.replace("\\", "\\\\").replace('"', '\\"')
    member = f'cdnlab-group-{group.name}; detail="{detail}"'
    response = fetched.response
    fields = CIMultiDict(response.headers)
    upstream = ", ".join(fields.popall("Cache-Status", ()))
    fields["Cache-Status"] = f"{upstream}, {member}" if upstream else member
    return replace(fetched, response=_Relabelled(response, fields))  # type: ignore[arg-type]


class _Relabelled:
    """An upstream answer with other fields; everything else is the original's."""

    def __init__(self, original: Any, fields: CIMultiDict[str]) -> None:
        self._original = original
        self.headers = CIMultiDictProxy(fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


async def fetch_routed(
    upstream: Upstream,
    route: OriginRoute,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    data: Any = None,
) -> Fetched:
    """``method target`` from the route's origins (failing over as the module's rules say);
    UpstreamError when the last origin tried failed."""
    primary = route.members[0]
    group = route.group
    try:
        fetched = await upstream.fetch_at(
            "origin", primary.name, primary.url, method, target, headers, data, primary.ssl
        )
    except UpstreamError as exc:
        if group is None or data is not None or not fails_over(group, method, None):
            raise
        why = f"primary {primary.name}: {exc.kind}"
        upstream.metrics.failover("origin", exc.kind)
    else:
        if group is None:
            return fetched
        status = fetched.response.status
        if data is not None or not fails_over(group, method, status):
            return _member_of(fetched, group, primary.name, None)
        fetched.release()
        why = f"primary {primary.name}: {status}"
        upstream.metrics.failover("origin", "status")
    secondary = route.members[1]
    fetched = await upstream.fetch_at(
        "origin", secondary.name, secondary.url, method, target, headers, data, secondary.ssl
    )
    return _member_of(fetched, group, secondary.name, why)
