"""Reading a client request before any cache decision: its target, its tier, loops, refusals.

Rules: the edge serves one site. An absolute-form target must name that site (or this
listener) and is cut to path?query; anything else is ``Refused`` (403: not an open proxy,
400: not a path). A request whose ``CDN-Loop`` (RFC 8586) already lists this node is a loop
(508). A ``cdnlab-`` CDN-Loop member means the request came through our own tier.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web
from multidict import CIMultiDictProxy, istr

__all__ = ["CDN_LOOP", "Refused", "check_loop", "origin_form", "tier_loop"]

CDN_LOOP = istr("CDN-Loop")


class Refused(Exception):
    """A request the edge will not handle: answered ``status`` with ``reason``."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.detail = detail


def origin_form(request: web.BaseRequest, target: str, site: str) -> str:
    """The path?query of an absolute-form ``target`` for ``site``; Refused otherwise."""
    if target == "*" or "://" not in target:
        raise Refused(400, f"request target {target!r} is not a path", "bad-target")
    parts = urlsplit(target)
    authority = parts.netloc.lower()
    own = ""
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    if sockname:
        own = f"{sockname[0]}:{sockname[1]}"
    if authority not in (site.lower(), own):
        raise Refused(
            403,
            f"this edge serves {site} only; it is not an open proxy "
            f"(refused absolute-form request for {authority})",
            "foreign-host",
        )
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def tier_loop(fields: CIMultiDictProxy[str]) -> bool:
    """True when the request came through one of our own caches (a ``cdnlab-`` member)."""
    return any(
        member.strip().startswith("cdnlab-")
        for member in ",".join(fields.getall(CDN_LOOP, ())).split(",")
    )


def check_loop(fields: CIMultiDictProxy[str], loop_member: str, node: str) -> None:
    """Refused (508) when ``CDN-Loop`` already lists ``loop_member`` (this node)."""
    loop = fields.get(CDN_LOOP)
    if loop and loop_member in (m.strip() for m in loop.split(",")):
        raise Refused(508, f"request loop: it already passed {node}", "loop")
