"""The emulated user <-> edge leg (loadgen.latency): the simulator's formulas, on the live path."""

from __future__ import annotations

import asyncio
import time
import tomllib

from load_apps import cache_app

from cdn.geo import propagation_delay
from cdn.latency import LatencyModel
from cdn.topology import parse_topology
from loadgen import LoadPlan, run_load_sync
from loadgen.latency import DelayedSends, UserLeg
from loadgen.schedule import Schedule

TOPOLOGY = """
name = "far"
[origin]
name = "origin"
port = 8300
city = "London"
[[edge]]
name = "edge-lon"
port = 8321
city = "London"
upstream = "origin"
[workload]
objects = 20
rate = 50
seed = 3
path = "/obj/{id}"
[workload.users]
source = "regions"
region = [{ name = "Sydney", city = "Sydney", weight = 1 }]
[network]
route_inflation = 1.5
emulate_latency = %s
"""


def _topology(emulate: bool):
    return parse_topology(tomllib.loads(TOPOLOGY % ("true" if emulate else "false")), "far.toml")


def test_routes_carry_the_users_one_way_delay_only_when_latency_is_emulated() -> None:
    on = Schedule(LoadPlan(topology=_topology(True), requests=1)).routes[0][0]
    off = Schedule(LoadPlan(topology=_topology(False), requests=1)).routes[0][0]
    topology = _topology(True)
    sydney = Schedule(LoadPlan(topology=topology, requests=1)).users.locations[0].location.point
    expected = propagation_delay(sydney, topology.node("edge-lon").location.point, 1.5)
    assert on.one_way == expected > 0.1
    assert off.one_way == 0.0


def test_the_leg_is_the_simulators_arithmetic() -> None:
    model = LatencyModel(new_connection_share=1.0, tls=True, client_bandwidth_bps=8e6)
    leg = UserLeg(model, seed=1)
    assert leg.before(0.010) == model.to_edge(0.010, True) == 0.010 + 2 * 2 * 0.010
    assert leg.after(0.010, 1000, False) == 0.010 + 1000 * 8 / 8e6


def test_new_connection_draws_follow_the_share_and_the_seed() -> None:
    model = LatencyModel(new_connection_share=0.3)
    leg_a, leg_b = UserLeg(model, seed=5), UserLeg(model, seed=5)
    a = [leg_a.before(1.0) > 1.0 for _ in range(2000)]
    b = [leg_b.before(1.0) > 1.0 for _ in range(2000)]
    assert a == b
    assert 0.25 < sum(a) / len(a) < 0.35
    never = UserLeg(LatencyModel(new_connection_share=0.0), seed=5)
    assert all(never.before(1.0) == 1.0 for _ in range(100))


def test_a_delayed_send_never_runs_before_its_time() -> None:
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        delayed = DelayedSends(loop, time.perf_counter, spin=0.0015)
        ran: list[float] = []
        done = loop.create_future()
        when = time.perf_counter() + 0.005
        delayed.at(when, lambda: (ran.append(time.perf_counter() - when), done.set_result(None)))
        assert delayed.pending == 1
        await done
        assert delayed.pending == 0
        return ran

    assert asyncio.run(main())[0] >= 0.0


def test_every_response_pays_the_round_trip_to_its_far_edge(serve) -> None:
    topology = _topology(True)
    served = serve(cache_app())
    plan = LoadPlan(
        topology=topology, edge_urls=(("edge-lon", served.url),), rate=50, requests=6, seed=3
    )
    report = run_load_sync(plan)
    one_way = Schedule(plan).routes[0][0].one_way
    assert report.stats.total.responses > 0
    # Latency runs from the intended send: at least the way there and back (HDR keeps 3 digits).
    assert report.stats.total.latency.get_min_value() >= 2 * one_way * 1e6 * 0.999
