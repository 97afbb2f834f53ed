"""The load generator as anycast: a user whose edge refuses connections goes to its next-nearest."""

from __future__ import annotations

import socket

import pytest
from load_apps import ServerThread

from cdn.topology import default_topology_path, load_topology
from loadgen import LoadPlan, run_load_sync
from origin.app import create_app
from origin.settings import OriginSettings


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("client", ["auto", "aiohttp"])  # the lean client, then aiohttp's
def test_requests_to_a_dead_edge_go_to_the_next_nearest_edge(client: str) -> None:
    topology = load_topology(default_topology_path())
    settings = OriginSettings.from_topology(topology, host="127.0.0.1", port=0)
    server = ServerThread(create_app(settings))
    served = server.start()
    try:
        # Every edge but edge-par "is" the origin (same paths, 200s); edge-par is dead.
        edge_urls = tuple(
            (edge.name, _closed_port_url() if edge.name == "edge-par" else served.url)
            for edge in topology.edges
        )
        plan = LoadPlan(
            topology=topology, edge_urls=edge_urls, rate=300, requests=150, client=client
        )
        report = run_load_sync(plan)
    finally:
        server.stop()
    assert report.stats.total.errors == 0
    assert report.stats.total.responses == 150
    assert report.stats.pops.get("edge-par") is None or report.stats.pops["edge-par"].requests == 0


def test_requests_to_a_hung_edge_go_to_the_next_nearest_edge_after_the_head_timeout() -> None:
    topology = load_topology(default_topology_path())
    settings = OriginSettings.from_topology(topology, host="127.0.0.1", port=0)
    server = ServerThread(create_app(settings))
    served = server.start()
    # A hung edge (as under SIGSTOP): the kernel accepts connections, nothing ever answers.
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1024)
    try:
        edge_urls = tuple(
            (
                edge.name,
                f"http://127.0.0.1:{hung.getsockname()[1]}"
                if edge.name == "edge-par"
                else served.url,
            )
            for edge in topology.edges
        )
        plan = LoadPlan(
            topology=topology,
            edge_urls=edge_urls,
            rate=300,
            requests=150,
            timeout=5.0,
            head_timeout=0.3,
        )
        report = run_load_sync(plan)
    finally:
        hung.close()
        server.stop()
    assert report.stats.total.errors == 0
    assert report.stats.total.responses == 150


def test_a_head_timeout_at_or_above_the_request_timeout_is_refused() -> None:
    from loadgen.plan import check_plan

    plan = LoadPlan(duration=1.0, timeout=2.0, head_timeout=2.0)
    with pytest.raises(ValueError, match=r"head timeout 2\.0 is out of range"):
        check_plan(plan)


def test_when_every_edge_of_a_chain_is_moved_away_from_the_one_free_soonest_is_used() -> None:
    from loadgen.runner import LoadRun

    run = LoadRun(LoadPlan(duration=1.0))
    chain = next(row[0] for row in run.schedule.routes if row[0].fallback is not None)
    pops = []
    route = chain
    while route is not None:
        pops.append(route.pop)
        route = route.fallback
    assert len(pops) >= 2
    # all moved; the second one's move ends first: users go there, not to the last
    run.moved = {pop: 100.0 + 10 * i for i, pop in enumerate(pops)}
    run.moved[pops[1]] = 50.0
    assert run._anycast(chain, now=10.0).pop == pops[1]
    run.moved[pops[1]] = 0.0  # free again: the usual walk reaches it
    assert run._anycast(chain, now=10.0).pop == pops[1]
