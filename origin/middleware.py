"""The one middleware of the origin: counts and times every request and injects the faults.

Admin routes (/_cdn/...) are timed in the metrics but neither counted in the stats nor
subject to faults, so tests can always reach them while the origin misbehaves.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from origin.control import FaultControl
from origin.counters import RequestRecord
from origin.state import BODY_BYTES, CONTROL, COUNTERS, METRICS, SETTINGS

__all__ = ["NO_RESPONSE", "observe"]

# Status recorded for a request whose connection was closed without an answer (down, stall).
NO_RESPONSE = 0
ADMIN_PREFIX = "/_cdn/"


def _route_of(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    return resource.canonical if resource is not None else "unmatched"


def _body_bytes(request: web.Request, response: web.StreamResponse) -> int:
    written = request.get(BODY_BYTES)
    if written is not None:
        return written
    if request.method == "HEAD" or response.status in (204, 304):
        return 0
    if isinstance(response, web.Response) and response.body is not None:
        body = response.body
        return len(body) if isinstance(body, bytes | bytearray) else response.content_length or 0
    return 0


def _abort(request: web.Request) -> web.Response:
    """Drop the connection without an answer; the returned response is never written."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=503)


async def _with_faults(
    request: web.Request, handler: Handler, control: FaultControl
) -> tuple[web.StreamResponse, bool]:
    """The response, and False when the connection was dropped on purpose."""
    faults = control.faults
    if faults.down:
        control.count("down")
        return _abort(request), False
    if faults.stall_rate and control.rng.random() < faults.stall_rate:
        control.count("stall")
        await control.stall(request.transport)
        return _abort(request), False
    delay = faults.delay(control.rng)
    if delay > 0:
        control.count("latency")
        if not await control.wait(delay):
            return _abort(request), False
    if faults.error_rate and control.draws_error(request.path):
        control.count("error")
        status = faults.error_status
        return web.Response(
            status=status,
            text=f"injected fault: {status}\n",
            headers={"X-Cdnlab-Fault": "error"},
        ), True
    return await handler(request), True


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count, time and (outside /_cdn/) inject faults into every request."""
    app = request.app
    started = asyncio.get_running_loop().time()
    admin = request.path.startswith(ADMIN_PREFIX)
    counters = app[COUNTERS]
    if not admin:
        counters.received(
            RequestRecord(
                request.method, request.path, request.path_qs, tuple(request.headers.items())
            )
        )
    control = app[CONTROL]
    status, body_bytes = 500, 0
    try:
        answered = True
        service_time = app[SETTINGS].service_time
        if service_time > 0.0 and not admin:  # emulated service time (network.origin_service_ms)
            await control.wait(service_time)
        if not admin and control.faults.active and request.path.startswith(control.faults.prefix):
            response, answered = await _with_faults(request, handler, control)
        else:
            response = await handler(request)
        status = response.status if answered else NO_RESPONSE
        body_bytes = _body_bytes(request, response) if answered else 0
        return response
    except web.HTTPException as exc:
        status, body_bytes = exc.status, len(exc.body or b"") if isinstance(exc.body, bytes) else 0
        raise
    finally:
        seconds = asyncio.get_running_loop().time() - started
        app[METRICS].observe(_route_of(request), status, body_bytes, seconds)
        if not admin:
            counters.answered(status, body_bytes)
