"""`cdn load` books 429 and 403 as throttled and forbidden, per behavior of the topology."""

from __future__ import annotations

import csv
from pathlib import Path

from aiohttp import web

from cdn.topology import load_topology
from loadgen import LoadPlan, run_load_sync
from loadgen.report import LoadReport

KEY = "cdnlab-test-key-0123456789"
TOPOLOGY = f"""
[origin]
name = "origin"
city = "Ashburn"
[[edge]]
name = "edge"
city = "Paris"
upstream = "origin"
[workload]
objects = 60
path = "/obj/{{id}}"
users = {{ source = "regions", region = [{{ name = "fr", city = "Paris" }}] }}
[[usage_plan]]
name = "basic"
throttle = {{ rate_limit = 5, burst_limit = 10 }}
[[api_key]]
name = "k"
value = "{KEY}"
usage_plan = "basic"
[[behavior]]
path_pattern = "/obj/1*"
api_key_required = true
[[behavior]]
path_pattern = "*"
"""
HEADERS = web.AppKey("headers", list)


def refusing_app() -> web.Application:
    """/obj/<id>: 429 when id % 3 == 0, 403 when id % 3 == 1, else a cache hit."""
    app = web.Application()
    app[HEADERS] = []

    async def obj(request: web.Request) -> web.Response:
        request.app[HEADERS].append((request.path, request.headers.get("x-api-key")))
        obj_id = int(request.match_info["id"])
        if obj_id % 3 == 0:
            return web.json_response({"message": "Too Many Requests"}, status=429)
        if obj_id % 3 == 1:
            return web.json_response({"message": "Forbidden"}, status=403)
        return web.Response(body=b"x" * 10, headers={"X-Cache": "HIT"})

    app.router.add_get("/obj/{id}", obj)
    return app


def _run(serve, tmp_path: Path) -> tuple[LoadReport, web.Application]:
    path = tmp_path / "api.toml"
    path.write_text(TOPOLOGY, encoding="utf-8")
    served = serve(refusing_app())
    plan = LoadPlan(topology=load_topology(path), targets=(served.url,), rate=300, requests=200)
    return run_load_sync(plan), served.app


def test_429_and_403_are_categories_of_their_own(serve, tmp_path: Path) -> None:
    report, _ = _run(serve, tmp_path)
    stats = report.stats
    assert stats.total.errors == 0
    throttled = stats.by_cache_status["throttled"].requests
    forbidden = stats.by_cache_status["forbidden"].requests
    assert throttled > 0 and forbidden > 0
    assert stats.total.throttled == throttled and stats.total.forbidden == forbidden
    assert "error" not in stats.by_cache_status
    doc = report.to_json()
    assert doc["throttled"] == throttled
    assert doc["throttled_share"] == round(throttled / doc["requests"], 6)
    assert doc["forbidden_share"] == round(forbidden / doc["requests"], 6)


def test_requests_are_sliced_by_the_topology_behaviors(serve, tmp_path: Path) -> None:
    report, _ = _run(serve, tmp_path)
    behaviors = report.stats.behaviors
    assert set(behaviors) == {"/obj/1*", "*"}
    assert sum(t.requests for t in behaviors.values()) == report.requests
    assert sum(t.throttled for t in behaviors.values()) == report.stats.total.throttled


def test_behaviors_csv_and_load_json_round_trip_keep_the_refusals(serve, tmp_path: Path) -> None:
    report, _ = _run(serve, tmp_path)
    written = report.write(tmp_path / "out", plots=False)
    assert tmp_path / "out" / "behaviors.csv" in written
    with (tmp_path / "out" / "behaviors.csv").open(encoding="utf-8") as handle:
        rows = {row["name"]: row for row in csv.DictReader(handle)}
    assert sum(int(row["throttled"]) for row in rows.values()) == report.stats.total.throttled
    again = LoadReport.from_json(report.to_json())
    assert again.stats.total.forbidden == report.stats.total.forbidden
    assert again.stats.behaviors["*"].throttled == report.stats.behaviors["*"].throttled


def test_keyed_behaviors_get_the_topology_api_key_and_others_none(serve, tmp_path: Path) -> None:
    report, app = _run(serve, tmp_path)
    assert len(app[HEADERS]) == report.requests
    keyed = {key for path, key in app[HEADERS] if path.startswith("/obj/1")}
    others = {key for path, key in app[HEADERS] if not path.startswith("/obj/1")}
    assert keyed == {KEY}
    assert others == {None}
