"""What the edge sends upstream besides the core's fields, and how much of a body it buffers.

Rules: the cache step says which fields go upstream (``Fetch.headers``/``Forward.headers``);
this module adds the per-hop ones (Via, CDN-Loop via ``Upstream.request_headers``, and
X-Forwarded-For). Bodies of known length up to ``SMALL_BODY`` are read whole (client request
bodies by ``edge.passthrough``, upstream answers by ``edge.misses``), larger ones streamed.
"""

from __future__ import annotations

from aiohttp import web

from cdn.http import Headers
from edge.upstream import Upstream

__all__ = ["SMALL_BODY", "forward_fields"]

# Bodies of known length up to this are read whole and sent with one write.
SMALL_BODY = 1024 * 1024


def forward_fields(
    upstream: Upstream, request: web.Request, fields: Headers
) -> list[tuple[str, str]]:
    """Fields to send upstream: the core's ``fields``, Via, CDN-Loop and X-Forwarded-For."""
    pairs = upstream.request_headers(
        fields.items(), request.headers.get("Via"), request.headers.get("CDN-Loop")
    )
    remote = request.remote
    if remote:
        forwarded = request.headers.get("X-Forwarded-For")
        pairs.append(("X-Forwarded-For", f"{forwarded}, {remote}" if forwarded else remote))
    return pairs
