"""Fixtures of tests/gateway: the live fixtures of tests/live/conftest.py (origins, edges, an
HTTP session), loaded by path under a name of their own (several folders have a conftest.py,
and a bare ``import conftest`` may find another folder's under pytest-xdist)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "gateway_live_fixtures", Path(__file__).resolve().parents[1] / "live" / "conftest.py"
)
assert _SPEC is not None and _SPEC.loader is not None
_LIVE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_LIVE)

start_origin_server = _LIVE.start_origin_server
start_origin = _LIVE.start_origin
start_edge_server = _LIVE.start_edge_server
start_edge = _LIVE.start_edge
http = _LIVE.http
origin_fetches = _LIVE.origin_fetches
edge_admin_headers = _LIVE.edge_admin_headers
