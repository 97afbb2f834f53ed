"""Belady's hit ratio is an upper bound for every policy replaying the same requests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cdn.cache.policies import POLICIES
from cdn.workload import Zipf
from sim.fastpath import replay


@pytest.fixture(scope="module")
def unit_size_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ranks = Zipf(3000, 0.8).sample(np.random.default_rng(5), 40_000).tolist()
    path = tmp_path_factory.mktemp("trace") / "zipf.csv"
    lines = ["timestamp,object_id,size_bytes"] + [f"{i},{key},100" for i, key in enumerate(ranks)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("capacity", [100 * 50, 100 * 400])
def test_belady_beats_every_policy(unit_size_trace: Path, capacity: int) -> None:
    results = {name: replay(unit_size_trace, capacity, name) for name in POLICIES}
    best = results["belady"].hit_ratio
    for name, result in results.items():
        assert result.hit_ratio <= best, (name, result.hit_ratio, best)
    assert best > max(r.hit_ratio for n, r in results.items() if n != "belady")
