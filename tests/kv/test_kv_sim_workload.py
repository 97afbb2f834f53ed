"""The simulator's API workload for a table origin: a write share whose writes purge items."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest

from cdn.errors import ConfigError
from cdn.topology import load_topology, parse_topology
from cdn.workload.writes import storage_writes
from sim.model import Simulation
from sim.options import SimOptions

ROOT = Path(__file__).resolve().parents[2]


def _api(write_share: float):
    topology = load_topology(ROOT / "configs/local.toml")
    workload = dataclasses.replace(
        topology.workload, write_share=write_share, path="/tables/users/items/{id}"
    )
    return dataclasses.replace(topology, workload=workload)


def test_a_write_share_gives_writes_in_proportion_to_the_reads() -> None:
    workload = _api(0.2).workload  # 1 write for 4 reads
    assert workload.write_rate == pytest.approx(workload.rate / 4)
    writes = storage_writes(workload, 60.0, np.random.default_rng(3))
    expected = workload.rate / 4 * 60.0
    assert abs(len(writes) - expected) < 5 * expected**0.5


def test_api_writes_purge_items_so_reads_miss_more() -> None:
    reads_only = Simulation(_api(0.0), SimOptions(requests=20_000)).run().report
    read_write = Simulation(_api(0.3), SimOptions(requests=20_000)).run().report
    assert read_write["origin"]["writes"] > 0
    assert read_write["hit_ratio"] < reads_only["hit_ratio"]


def test_a_write_share_of_one_is_refused_with_its_key() -> None:
    text = (
        (ROOT / "configs/local.toml")
        .read_text()
        .replace("[workload]", "[workload]\nwrite_share = 1.0", 1)
    )
    with pytest.raises(ConfigError, match=r"workload\.write_share"):
        parse_topology(tomllib.loads(text), "api.toml")
