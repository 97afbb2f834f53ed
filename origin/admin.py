"""The `/_cdn/` routes: health, metrics, stats, and the admin API (faults, request log).

Admin routes need ``Authorization: Bearer <token>``; without a configured token they answer
404 as if they did not exist (off), with a missing or wrong token 401 (``serving.auth``).
"""

from __future__ import annotations

from aiohttp import web

from origin.query import bad_request, duration_param, int_param
from origin.state import CONTROL, COUNTERS, METRICS, SETTINGS
from serving.auth import require_admin
from serving.drain import health_state
from serving.pages import json_page, metrics_page, process_facts

__all__ = ["routes"]


def _authorize(request: web.Request) -> None:
    """Raise 404/401 unless the request carries the configured admin token."""
    require_admin(request, request.app[SETTINGS].admin_token)


async def health(request: web.Request) -> web.Response:
    """200 with the node name and whether faults are on; 503 ``draining`` once leaving."""
    control = request.app[CONTROL]
    status, code = health_state(request)
    return json_page(
        {
            "status": status,
            "role": "origin",
            "name": request.app[SETTINGS].name,
            "faults_active": control.faults.active,
            "process": process_facts(),
        },
        code,
    )


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this app's registry."""
    return metrics_page(request.app[METRICS].exposition())


async def stats(request: web.Request) -> web.Response:
    """What the origin served: per path and target counts, statuses, 304s, bytes, faults."""
    return json_page(request.app[COUNTERS].to_json())


async def reset_stats(request: web.Request) -> web.Response:
    """Zero the counters (admin)."""
    _authorize(request)
    request.app[COUNTERS].reset()
    return json_page(request.app[COUNTERS].to_json())


async def request_log(request: web.Request) -> web.Response:
    """The last requests received, ``?path=`` to filter, ``?limit=`` (default 100) (admin)."""
    _authorize(request)
    counters = request.app[COUNTERS]
    limit = int_param(request.query, "limit", 0, counters.log_size)
    return json_page(counters.records(request.query.get("path"), 100 if limit is None else limit))


async def show_faults(request: web.Request) -> web.Response:
    """The faults in force (admin)."""
    _authorize(request)
    return json_page(request.app[CONTROL].faults.to_json())


async def change_faults(request: web.Request) -> web.Response:
    """Merge a JSON object of fault fields into the faults in force (admin).

    ``down_for`` (seconds or "5s") switches down off again after that long; ``"reset": true``
    first clears every fault.
    """
    _authorize(request)
    try:
        changes = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            'the body is not JSON (expected an object like {"error_rate": 0.5})'
        ) from None
    if not isinstance(changes, dict):
        raise bad_request('the body is not a JSON object (expected {"field": value, ...})')
    control = request.app[CONTROL]
    down_for = None
    if "down_for" in changes:
        down_for = duration_param({"down_for": str(changes.pop("down_for"))}, "down_for", 3600)
    try:
        if changes.pop("reset", False) is True:
            await control.clear()
        faults = await control.apply(changes, down_for=down_for)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return json_page(faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    """Switch every fault off (admin)."""
    _authorize(request)
    faults = await request.app[CONTROL].clear()
    return json_page(faults.to_json())


def routes() -> list[web.RouteDef]:
    """The `/_cdn/` route table."""
    return [
        web.get("/_cdn/health", health, allow_head=True),
        web.get("/_cdn/metrics", metrics),
        web.get("/_cdn/stats", stats),
        web.delete("/_cdn/stats", reset_stats),
        web.get("/_cdn/requests", request_log),
        web.get("/_cdn/faults", show_faults),
        web.post("/_cdn/faults", change_faults),
        web.delete("/_cdn/faults", clear_faults),
    ]
