"""A small configs/world.toml run pinned to its key figures: speed work on the simulator's hot
paths must leave a seeded run's report exactly as it was (bench/sim.py measures the speed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cdn.functions import FunctionSpec, Trigger
from cdn.topology import Topology, load_topology
from sim.model import SimOptions, Simulation

WORLD = Path(__file__).resolve().parents[2] / "configs" / "world.toml"


@pytest.fixture(scope="module")
def world() -> Topology:
    return load_topology(WORLD)


def with_edge_functions(topology: Topology) -> Topology:
    """``topology`` with Lambda@Edge functions on viewer-request and origin-response at every
    edge (bench/sim.py's "viewer-request+origin-response" set)."""
    triggers = (Trigger.VIEWER_REQUEST, Trigger.ORIGIN_RESPONSE)
    specs = tuple(FunctionSpec(f"fn-{t.value}", f"{t.value}.py") for t in triggers)
    settings = dataclasses.replace(
        topology.edge_settings,
        functions=tuple((t, s.name) for t, s in zip(triggers, specs, strict=True)),
    )
    return dataclasses.replace(topology, functions=specs, edge_settings=settings)


def key_figures(topology: Topology) -> dict:
    report = Simulation(topology, SimOptions(requests=20_000, seed=3)).run().report
    return {
        "hit_ratio": report["hit_ratio"],
        "origin_requests": report["origin"]["requests"],
        "latency_ms": report["latency_ms"],
    }


def test_a_seeded_world_run_keeps_its_key_figures(world: Topology) -> None:
    assert key_figures(world) == {
        "hit_ratio": 0.1587,
        "origin_requests": 14173,
        "latency_ms": {
            "p50": 114.367, "p90": 368.639, "p95": 397.311, "p99": 472.831, "mean": 153.0310612,
        },
    }  # fmt: skip


def test_a_seeded_world_run_with_edge_functions_keeps_its_key_figures(world: Topology) -> None:
    assert key_figures(with_edge_functions(world)) == {
        "hit_ratio": 0.15845,
        "origin_requests": 14171,
        "latency_ms": {
            "p50": 119.231, "p90": 370.431, "p95": 399.871, "p99": 481.791, "mean": 156.1234198,
        },
    }  # fmt: skip
