"""`cdn load` sends the workload's path mix as the simulator models it: POSTs (``post_share``)
and query variants (``query``) drawn by the core's ``cdn.workload.draws`` with the run's seed,
so the same seed sends what the simulator simulated."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from cdn.topology import load_topology
from loadgen import LoadPlan, run_load_sync
from loadgen.schedule import Schedule
from sim.model import SimOptions, Simulation

MIX = """name = "mix"
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
duration = "3s"
seed = 5

[[workload.paths]]
path = "/obj/{{id}}"
post_share = 0.25
query = {{ name = "utm", values = 4 }}
"""

SENT = web.AppKey("sent", list)


def _topology(tmp_path: Path, port: int = 19):
    path = tmp_path / "mix.toml"
    path.write_text(MIX.format(port=port))
    return load_topology(path)


def _requests(topology, seed: int) -> list[tuple[str, str]]:
    schedule = Schedule(LoadPlan(topology=topology, duration=3.0, seed=seed))
    sent = []
    for batch in schedule.batches():
        for k in range(len(batch)):
            method, path, _ = schedule.resolve_path(batch, k)
            sent.append((method, path))
    return sent


def test_the_load_sends_as_many_posts_as_the_simulator_passes_on(tmp_path) -> None:
    topology = _topology(tmp_path)
    posts = sum(method == "POST" for method, _ in _requests(topology, seed=5))
    report = Simulation(topology, SimOptions(seed=5)).run().report
    assert posts > 0
    assert posts == report["pops"]["edge-par"]["outcomes"]["bypass"]


def test_requests_carry_the_query_variant(tmp_path) -> None:
    paths = [path for _, path in _requests(_topology(tmp_path), seed=5)]
    assert {path.partition("?")[2] for path in paths} == {f"utm={k}" for k in range(4)}


def test_the_same_seed_sends_the_same_mix(tmp_path) -> None:
    topology = _topology(tmp_path)
    assert _requests(topology, seed=5) == _requests(topology, seed=5)
    assert _requests(topology, seed=5) != _requests(topology, seed=6)


def test_a_live_run_sends_posts_and_queries(serve, tmp_path) -> None:
    app = web.Application()
    app[SENT] = []

    async def record(request: web.Request) -> web.Response:
        request.app[SENT].append((request.method, request.path_qs))
        return web.Response(body=b"x" * 10)

    app.router.add_route("*", "/{tail:.*}", record)
    served = serve(app)
    topology = _topology(tmp_path, served.port)
    report = run_load_sync(LoadPlan(topology=topology, duration=1.0, seed=5))
    sent = app[SENT]
    assert len(sent) == report.stats.total.requests
    assert {method for method, _ in sent} == {"GET", "POST"}
    assert all("?utm=" in path for _, path in sent)
