"""The simulator routes each behavior's misses to its target origin, as the live edge does
(``edge.routes``): another ``[[origin]]`` or a group's primary directly from the edge (no peer,
no shield), with that origin's own place, capacity and counts in report.json's ``origins``."""

from __future__ import annotations

import tomllib

from cdn.topology import parse_topology
from sim.model import SimOptions, Simulation

TOPOLOGY = """
[[origin]]
name = "origin-a"
city = "Ashburn"

[[origin]]
name = "origin-b"
city = "Sydney"

[[shield]]
name = "shield-eu"
city = "Frankfurt"
upstream = "origin-a"

[[edge]]
name = "edge-par"
city = "Paris"
upstream = "shield-eu"

[workload]
objects = 500
rate = 200
duration = "10s"

[[workload.paths]]
path = "/a/{id}"

[[workload.paths]]
path = "/b/{id}"

[[behavior]]
path_pattern = "/b/*"
target_origin = "%s"

[[behavior]]
path_pattern = "*"
target_origin = "origin-a"
"""

GROUP = '\n[[origin_group]]\nname = "pair"\nmembers = ["origin-b", "origin-a"]\n'


def _report(target: str, extra: str = "") -> dict:
    topology = parse_topology(tomllib.loads(TOPOLOGY % target + extra), "two.toml")
    return Simulation(topology, SimOptions(seed=7)).run().report


def test_each_origin_serves_the_misses_of_its_behaviors() -> None:
    report = _report("origin-b")
    origins = report["origins"]
    assert origins["origin-a"]["requests"] > 0
    assert origins["origin-b"]["requests"] > 0
    assert report["origin"]["requests"] == origins["origin-a"]["requests"]


def test_a_behavior_on_another_origin_skips_the_shield() -> None:
    report = _report("origin-b")
    shield = report["pops"]["shield-eu"]
    # Only the first origin's behavior goes through the shield.
    assert shield["requests"] == report["origins"]["origin-a"]["requests"] + shield["hits"]


def test_a_far_origin_makes_its_behavior_slower() -> None:
    behaviors = _report("origin-b")["behaviors"]
    far, near = behaviors["/b/*"]["latency_ms"], behaviors["*"]["latency_ms"]
    assert far["p99"] > near["p99"]


def test_a_group_sends_its_behavior_to_its_primary() -> None:
    report = _report("pair", GROUP)
    assert report["origins"]["origin-b"]["requests"] > 0
    assert report["origins"] == _report("origin-b")["origins"]
