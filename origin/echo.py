"""`/echo`: any method; answers with the status, headers, body size and delay the query asks for.

Without ``size`` or ``body`` the body is a JSON report of the request as received (method,
path, query, headers in order, body length), so tests can check what a proxy forwarded.
"""

from __future__ import annotations

import json

from aiohttp import web
from multidict import CIMultiDict

from origin.bodies import synthetic_object
from origin.query import bad_request, duration_param, header_params, int_param, size_param
from origin.sending import send_body
from origin.state import CONTROL, SETTINGS

__all__ = ["echo"]

# Statuses that never carry a body (RFC 9110 §6.4.1).
_NO_BODY = frozenset({204, 304})


async def echo(request: web.Request) -> web.StreamResponse:
    """Answer as the query says: ``status``, repeated ``h=Name:Value``, ``size``, ``body``, ``delay``."""
    settings = request.app[SETTINGS]
    query = request.query
    status = int_param(query, "status", 200, 599) or 200
    fields = header_params(query.getall("h", []))
    size = size_param(query, "size", settings.max_size)
    delay = duration_param(query, "delay", settings.max_delay)
    if size is not None and "body" in query:
        raise bad_request("give size or body, not both")
    received = await request.read()
    if delay:
        await request.app[CONTROL].wait(delay)
    headers: CIMultiDict[str] = CIMultiDict()
    if "body" in query:
        body = query["body"].encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    elif size is not None:
        headers["Content-Type"] = "application/octet-stream"
        headers.extend(fields)
        obj = synthetic_object(settings.workload.seed, 0, size)
        return await send_body(request, status, headers, obj, 0, 0 if status in _NO_BODY else size)
    else:
        body = json.dumps(_report(request, len(received)), indent=1).encode() + b"\n"
        headers["Content-Type"] = "application/json"
    for name, value in fields:
        headers.add(name, value)
    if status in _NO_BODY:
        body = b""
    return web.Response(status=status, headers=headers, body=body)


def _report(request: web.Request, body_bytes: int) -> dict[str, object]:
    """What the echo route received, as JSON."""
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return {
        "method": request.method,
        "path": request.path,
        "query": [[k, v] for k, v in request.query.items()],
        "headers": [[k, v] for k, v in request.headers.items()],
        "body_bytes": body_bytes,
        "peer": peer[0] if peer else None,
        "version": f"{request.version.major}.{request.version.minor}",
    }
