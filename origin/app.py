"""The origin's aiohttp application: `create_app(settings)` (tests, `origin.server`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cdn.gateway.compression import compressible_type
from cdn.workload import Catalog
from origin import admin
from origin.bodies import prepare_text
from origin.control import FaultControl
from origin.counters import ServedCounters
from origin.echo import echo
from origin.metrics import OriginMetrics
from origin.middleware import observe
from origin.objects import serve_object
from origin.settings import OriginSettings
from origin.state import CATALOG, CONTROL, COUNTERS, METRICS, SETTINGS
from serving.drain import drain_of

__all__ = ["create_app"]


async def _fault_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Start the start-up down timer; release stalled and delayed requests at shutdown."""
    settings = app[SETTINGS]
    if settings.faults.down and settings.down_for is not None:
        await app[CONTROL].apply({}, down_for=settings.down_for)
    yield
    await app[CONTROL].close()


async def _release_on_shutdown(app: web.Application) -> None:
    # on_shutdown runs before aiohttp waits for in-flight handlers: stalls end here.
    app[CONTROL].closing.set()


def create_app(settings: OriginSettings) -> web.Application:
    """The origin app: catalog objects, /echo and the /_cdn/ routes, per ``settings``."""
    app = web.Application(middlewares=[observe])
    counters = ServedCounters(log_size=settings.request_log_size)
    metrics = OriginMetrics()
    app[SETTINGS] = settings
    app[CATALOG] = Catalog(settings.workload)
    if any(compressible_type(family.content_type) for family in settings.workload.paths):
        prepare_text(settings.workload.seed)  # text bodies: made at start, not on a request
    app[COUNTERS] = counters
    app[METRICS] = metrics
    app[CONTROL] = FaultControl(settings.faults, settings.seed, counters, metrics)
    app.cleanup_ctx.append(_fault_lifecycle)
    app.on_shutdown.append(_release_on_shutdown)
    drain_of(app)
    app.add_routes(admin.routes())
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/obj/{id}", serve_object)
    templates = [settings.workload.path, *(p.path for p in settings.workload.paths)]
    for route in dict.fromkeys(_catch_all_path(t) for t in templates if t != "/obj/{id}"):
        app.router.add_get(route, serve_object)  # a path mix: every family's objects
    return app


def _catch_all_path(template: str) -> str:
    """A route matching every path of the workload's template (the id is parsed by the catalog)."""
    prefix = template.split("{id}", 1)[0].rstrip("/")
    return prefix + "/{tail:.*}"
