"""The schedule: the simulator's stream, rate profiles, and routing to each user's nearest edge."""

from __future__ import annotations

import numpy as np
import pytest
from load_apps import LOG, cache_app

from cdn.geo import Point, distance_km
from cdn.topology import load_topology
from cdn.workload.arrivals import RequestStream
from loadgen import LoadPlan, run_load_sync
from loadgen.profile import parse_profile
from loadgen.schedule import Schedule


def test_the_schedule_is_the_simulators_stream() -> None:
    plan = LoadPlan(targets=("http://127.0.0.1:9",), duration=2.0, seed=11)
    schedule = Schedule(plan)
    ours = [(t, u) for b in schedule.batches() for t, u in zip(b.times, b.users, strict=True)]
    workload = schedule.workload
    stream = RequestStream(workload, seed=11, duration=2.0)
    theirs = [(r.time, r.user) for r in stream]
    assert ours == theirs
    ids = [
        schedule.resolve(b, k)[1].rsplit("/", 1)[1]
        for b in schedule.batches()
        for k in range(len(b))
    ]
    assert ids == [str(r.obj_id) for r in stream]


def test_ramp_profile_warps_times_to_the_asked_rates() -> None:
    profile = parse_profile("ramp:100-300", rate=200, duration=10.0)
    assert profile.count_until(10.0) == pytest.approx(2000.0)
    counts = np.arange(0, 2000, 1.0)
    times = profile.time_of(counts, 10.0)
    first, last = np.sum(times < 1.0), np.sum(times >= 9.0)
    assert first == pytest.approx(110, abs=1)  # integral of 100 + 20 t over [0, 1)
    assert last == pytest.approx(290, abs=1)
    assert np.all(np.diff(times) > 0)


def test_step_and_spike_profiles() -> None:
    step = parse_profile("step:100,300/2s", rate=100, duration=None)
    assert step.count_until(4.0) == pytest.approx(800.0, rel=1e-4)
    spike = parse_profile("spike:1000@1s+0.5s", rate=100, duration=None)
    assert spike.count_until(2.0) == pytest.approx(100 * 1.5 + 1000 * 0.5, rel=1e-4)


def test_a_ramp_schedule_asks_the_profiles_mean_rate() -> None:
    plan = LoadPlan(
        targets=("http://127.0.0.1:9",),
        rate=200,
        duration=4.0,
        profile="ramp:100-300",
        arrival="constant",
    )
    schedule = Schedule(plan)
    times = [t for b in schedule.batches() for t in b.times]
    assert schedule.asked_rate == pytest.approx(200.0)
    assert len(times) == pytest.approx(800, abs=2)
    assert sum(t < 1.0 for t in times) == pytest.approx(125, abs=2)
    assert sum(t >= 3.0 for t in times) == pytest.approx(275, abs=2)


def test_each_user_goes_to_its_nearest_edge(serve, tmp_path) -> None:
    apps = {name: serve(cache_app()) for name in ("edge-par", "edge-lon", "edge-tyo")}
    cities = {"edge-par": "Paris", "edge-lon": "London", "edge-tyo": "Tokyo"}
    edges = "\n".join(
        f'[[edge]]\nname = "{name}"\nport = {served.port}\ncity = "{cities[name]}"\n'
        f'cache_size = "1MiB"\n'
        for name, served in apps.items()
    )
    topo = tmp_path / "topo.toml"
    topo.write_text(
        'name = "t"\n[origin]\nname = "origin"\nport = 9\ncity = "Ashburn"\n'
        + edges
        + "[workload]\nobjects = 100\nrate = 300\nseed = 3\n"
        + '[workload.users]\nsource = "regions"\nregion = [\n'
        + '  { name = "Paris", city = "Paris", weight = 1 },\n'
        + '  { name = "Reading", city = "Reading", weight = 1 },\n'
        + '  { name = "Osaka", city = "Osaka", weight = 1 },\n]\n'
    )
    topology = load_topology(topo)
    report = run_load_sync(LoadPlan(topology=topology, duration=1.5))
    assert set(report.stats.pops) == set(apps)
    for name, served in apps.items():
        edge = topology.node(name)
        log = served.app[LOG]
        assert len(log) == report.stats.pops[name].requests
        for _, location in log:
            lat, lon = (float(x) for x in location.split(","))
            user = Point(lat, lon)
            nearest = min(topology.edges, key=lambda n: distance_km(user, n.location.point))
            assert nearest == edge
    assert set(report.stats.regions) == {"Paris", "Reading", "Osaka"}  # region names, as cdn sim
    assert set(report.stats.locations) == {"Paris", "Reading", "Osaka"}


def test_edge_urls_from_a_run_state_replace_the_topology_ports() -> None:
    plan = LoadPlan(duration=1.0, edge_urls=(("edge-par", "http://127.0.0.1:40001/"),))
    schedule = Schedule(plan)
    urls = {
        route.pop: url.rsplit("/obj/", 1)[0]
        for b in schedule.batches()
        for _, url, route in (schedule.resolve(b, k) for k in range(len(b)))
    }
    assert urls["edge-par"] == "http://127.0.0.1:40001"
    assert urls["edge-lon"] == schedule.topology.node("edge-lon").url


def test_a_trace_sets_the_send_times_and_objects(serve, tmp_path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text(
        "timestamp,object_id,size_bytes\n"
        + "".join(f"{10 + i * 0.01},{i % 7},100\n" for i in range(50))
    )
    served = serve(cache_app())
    plan = LoadPlan(targets=(served.url,), trace=str(trace))
    schedule = Schedule(plan)
    times = [t for b in schedule.batches() for t in b.times]
    assert times == pytest.approx([i * 0.01 for i in range(50)])
    report = run_load_sync(plan)
    assert report.requests == 50
    assert sorted(path for path, _ in served.app[LOG]) == sorted(f"/obj/{i % 7}" for i in range(50))
    assert report.plan["arrival"] == "trace"
    assert report.asked_rate == pytest.approx(50 / 0.49, rel=0.01)
