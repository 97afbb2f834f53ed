"""Typed application state of the origin app: every ``web.AppKey`` lives here."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cdn.workload import Catalog
from origin.control import FaultControl
from origin.counters import ServedCounters
from origin.metrics import OriginMetrics
from origin.settings import OriginSettings

__all__ = ["BODY_BYTES", "CATALOG", "CONTROL", "COUNTERS", "METRICS", "SETTINGS"]

SETTINGS = web.AppKey("settings", OriginSettings)
CATALOG = web.AppKey("catalog", Catalog)
COUNTERS = web.AppKey("counters", ServedCounters)
METRICS = web.AppKey("metrics", OriginMetrics)
CONTROL = web.AppKey("control", FaultControl)

# Per-request: body bytes a streaming handler wrote itself (the middleware counts the rest).
# A RequestKey where aiohttp has them (a plain str key warns there, NotAppKeyWarning).
BODY_BYTES: Any = (
    web.RequestKey("body_bytes", int) if hasattr(web, "RequestKey") else "cdnlab.body_bytes"
)
