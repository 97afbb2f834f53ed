"""The path mix's per-request draws (cdn.workload.draws), shared by the simulator and the load
generator."""

from __future__ import annotations

import random

import pytest

from cdn.topology import WorkloadPath
from cdn.topology.model import QueryVariant
from cdn.workload.draws import coding_seed, draw_coding, draw_request, draw_seed


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


def test_one_coding_draws_nothing() -> None:
    rng = random.Random(1)
    assert draw_coding(rng.random, (("br", 1.0),)) == "br"
    assert rng.random() == random.Random(1).random()


def test_codings_follow_their_shares() -> None:
    rng = random.Random(coding_seed(3))
    shares = (("br", 0.7), ("gzip", 0.25), ("identity", 0.05))
    draws = [draw_coding(rng.random, shares) for _ in range(8000)]
    assert draws.count("br") / len(draws) == pytest.approx(0.7, abs=0.02)
    assert draws.count("gzip") / len(draws) == pytest.approx(0.25, abs=0.02)
    assert draws.count("identity") / len(draws) == pytest.approx(0.05, abs=0.01)


def test_the_coding_draws_have_a_seed_of_their_own() -> None:
    assert coding_seed(3) != draw_seed(3)
