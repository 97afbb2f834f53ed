"""Answers of the ``/_cdn/`` observability and admin routes: JSON documents and metrics text.

Rules: never cached by anyone (``Cache-Control: no-store``).
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

__all__ = ["json_page", "metrics_page", "process_facts"]


def json_page(data: Any, status: int = 200) -> web.Response:
    """``data`` as indented JSON with a trailing newline."""
    return web.Response(
        status=status,
        text=json.dumps(data, indent=1) + "\n",
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def metrics_page(exposition: bytes) -> web.Response:
    """A Prometheus text exposition (``/_cdn/metrics``)."""
    response = web.Response(body=exposition, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def process_facts() -> dict[str, int]:
    """This server process's pid and live asyncio tasks (``bench/soak.py`` watches them)."""
    return {"pid": os.getpid(), "asyncio_tasks": len(asyncio.all_tasks())}
