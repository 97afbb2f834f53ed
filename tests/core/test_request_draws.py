"""The path mix's per-request draws (cdn.workload.draws), shared by the simulator and the load
generator."""

from __future__ import annotations

import random

from cdn.topology import WorkloadPath
from cdn.topology.model import QueryVariant
from cdn.workload.draws import draw_request


def test_a_request_with_nothing_to_draw_uses_no_randomness() -> None:
    rng = random.Random(1)
    draw_request(rng.random, WorkloadPath("/obj/{id}"), keyed=False, per_client=False)
    assert rng.random() == random.Random(1).random()


def test_draws_follow_the_family_shares() -> None:
    family = WorkloadPath("/obj/{id}", post_share=0.3, query=QueryVariant("v", 3), api_keys=5)
    rng = random.Random(2)
    draws = [draw_request(rng.random, family, keyed=True, per_client=False) for _ in range(4000)]
    posts = sum(d.method == "POST" for d in draws) / len(draws)
    assert 0.27 < posts < 0.33
    assert {d.query for d in draws} == {"v=0", "v=1", "v=2"}
    assert {d.key for d in draws} == set(range(5))
