"""`cdn load` sends the workload's ``accept_encoding`` mix as the simulator draws it
(``cdn.workload.draws.draw_coding``, its own seeded stream, one draw per request in order)."""

from __future__ import annotations

import random
from pathlib import Path

from aiohttp import web

from cdn.gateway.compression import accept_encoding_field, choose_coding
from cdn.topology import load_topology
from cdn.workload.draws import coding_seed, draw_coding
from loadgen import LoadPlan, run_load_sync
from loadgen.schedule import Schedule

TOPOLOGY = """name = "ae"
[origin]
name = "origin"
port = 9
city = "Ashburn"

[[edge]]
name = "edge-par"
port = {port}
city = "Paris"

[workload]
objects = 200
rate = 200
duration = "2s"
seed = 5
{accept}
"""

FIELDS = web.AppKey("fields", list)
MIX = "accept_encoding = { br = 0.6, gzip = 0.3, identity = 0.1 }"


def _topology(tmp_path: Path, accept: str = MIX, port: int = 19):
    path = tmp_path / "ae.toml"
    path.write_text(TOPOLOGY.format(port=port, accept=accept), encoding="utf-8")
    return load_topology(path)


def _fields(topology, seed: int = 5) -> list[str | None]:
    schedule = Schedule(LoadPlan(topology=topology, duration=2.0, seed=seed))
    sent = []
    for batch in schedule.batches():
        for k in range(len(batch)):
            _, _, route = schedule.resolve_path(batch, k)
            sent.append(route.headers.get("Accept-Encoding"))
    return sent


def test_each_request_carries_the_coding_the_simulator_draws(tmp_path: Path) -> None:
    topology = _topology(tmp_path)
    sent = _fields(topology)
    uniform = random.Random(coding_seed(5)).random
    drawn = [draw_coding(uniform, topology.workload.accept_encoding) for _ in sent]
    assert sent == [accept_encoding_field(coding) for coding in drawn]
    assert {choose_coding(field, brotli=True) for field in sent} == {"br", "gzip", "identity"}


def test_without_the_key_no_accept_encoding_is_added(tmp_path: Path) -> None:
    assert set(_fields(_topology(tmp_path, accept=""))) == {None}


def test_a_live_run_sends_the_mix(serve, tmp_path: Path) -> None:
    app = web.Application()
    app[FIELDS] = []

    async def record(request: web.Request) -> web.Response:
        request.app[FIELDS].append(request.headers.get("Accept-Encoding"))
        return web.Response(body=b"x" * 10)

    app.router.add_route("*", "/{tail:.*}", record)
    served = serve(app)
    topology = _topology(tmp_path, port=served.port)
    report = run_load_sync(LoadPlan(topology=topology, duration=1.0, seed=5))
    fields = app[FIELDS]
    assert len(fields) == report.stats.total.requests
    assert sorted(fields, key=str) == sorted(_fields(topology)[: len(fields)], key=str)
