"""The simulator with two ``[[origin]]``s in an origin group: an outage of the primary moves
load to the secondary, the topology's second origin (with its own place and capacity)."""

from __future__ import annotations

import tomllib
from dataclasses import replace

from cdn.faults import Fault
from cdn.topology import parse_topology
from sim.model import SimOptions, Simulation

TWO_ORIGINS = """
[[origin]]
name = "origin-a"
city = "Ashburn"

[[origin]]
name = "origin-b"
city = "Dublin"

[[edge]]
name = "edge-par"
city = "Paris"

[[edge]]
name = "edge-nyc"
city = "New York"

[workload]
objects = 2000
rate = 200
duration = "20s"

[[origin_group]]
name = "both"
members = ["origin-a", "origin-b"]

[[behavior]]
path_pattern = "*"
target_origin = "both"
"""


def test_an_outage_of_the_first_origin_moves_misses_to_the_second() -> None:
    topology = parse_topology(tomllib.loads(TWO_ORIGINS), "two.toml")
    fault = Fault(at=5, kind="origin_down", node="origin-a", duration=10)
    report = Simulation(topology, SimOptions(faults=(fault,))).run().report
    origins = report["faults"]["origins"]
    assert report["faults"]["errors"] == 0
    assert origins["origin-b (secondary)"] > 0
    assert origins["origin-a"] > 0
    assert report["faults"]["origin_group"] == "both"


def test_a_plain_run_accepts_several_origins() -> None:
    topology = parse_topology(tomllib.loads(TWO_ORIGINS), "two.toml")
    topology = replace(topology, workload=replace(topology.workload, duration=5.0))
    report = Simulation(topology).run().report
    assert report["requests"] > 0
    assert report["origin"]["requests"] > 0


def test_a_fault_on_the_second_origin_applies_to_it() -> None:
    toml = TWO_ORIGINS.replace(
        'members = ["origin-a", "origin-b"]', 'members = ["origin-b", "origin-a"]'
    )
    topology = parse_topology(tomllib.loads(toml), "two.toml")
    fault = Fault(at=5, kind="origin_down", node="origin-b", duration=10)
    report = Simulation(topology, SimOptions(faults=(fault,))).run().report
    origins = report["faults"]["origins"]
    assert report["faults"]["errors"] == 0
    assert origins["origin-a (secondary)"] > 0
    assert origins["origin-b"] > 0


def test_a_fault_on_an_origin_no_behavior_uses_changes_nothing() -> None:
    topology = parse_topology(tomllib.loads(TWO_ORIGINS), "two.toml")
    fault = Fault(at=5, kind="origin_down", node="origin-b", duration=10)
    report = Simulation(topology, SimOptions(faults=(fault,))).run().report
    assert report["faults"]["origins"]["origin-b (secondary)"] == 0


def test_a_topology_fault_may_name_the_second_origin() -> None:
    toml = (
        TWO_ORIGINS
        + '\n[[fault]]\nkind = "origin_slow"\nnode = "origin-b"\nat = "1s"\nfor = "2s"\n'
    )
    topology = parse_topology(tomllib.loads(toml), "two.toml")
    assert topology.faults[0].node == "origin-b"
