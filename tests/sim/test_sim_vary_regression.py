"""Regression (issue 11): the simulator predicts the edge's answers when a URL starts to Vary.

The origin first answers without Vary (max-age=1), then with ``Vary: Accept-Encoding`` and
max-age=100 (tests/live/test_edge_vary_regression.py is the same sequence at the live edge).
After the Vary answer, requests are hits: one upstream fetch for it, none after.
"""

from __future__ import annotations

from pathlib import Path

from sim_scenarios import write_scenario

from cdn.topology import CacheRule, load_topology
from sim.model import SimOptions, Simulation
from sim.origin_headers import OriginHeaders
from sim.outcomes import HIT, MISS, REVALIDATED

PLAIN = OriginHeaders(CacheRule("/", "max-age=1"))
VARIED = OriginHeaders(CacheRule("/", "max-age=100", vary="Accept-Encoding"))


def test_requests_after_the_vary_response_are_hits(tmp_path: Path) -> None:
    simulation = Simulation(
        load_topology(write_scenario(tmp_path)), SimOptions(requests=1, exact_http=True)
    )
    edge = simulation.nodes["edge-nyc"]
    edge.cache.origin = PLAIN
    codes = []
    t = 100.0
    for number in range(5):
        done, code, _, _ = edge.serve("/a", 1, 1000, t, False, False)
        codes.append(code)
        t = done + 0.5
        if number == 0:
            edge.cache.origin = VARIED
            t += 2.0  # the variant-less entry goes stale
    assert codes[:2] == [MISS, REVALIDATED]
    assert codes[2:] == [HIT, HIT, HIT]
    assert edge.upstream_requests == 2
