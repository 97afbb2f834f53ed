"""sim.bulk_random: bulk draws are the generator's own ``random()`` values, and it continues as if
they had been drawn one by one."""

from __future__ import annotations

import random

import pytest

from sim.bulk_random import uniforms


@pytest.mark.parametrize("n", [1, 7, 311, 312, 623, 624, 625, 1248, 40_000])
@pytest.mark.parametrize("seed", [0, 42, 2**40 + 3])
def test_bulk_draws_are_the_values_random_gives_one_by_one(seed: int, n: int) -> None:
    bulk, single = random.Random(seed), random.Random(seed)
    single.getrandbits(64)  # any earlier use of the generator is picked up
    bulk.getrandbits(64)
    assert uniforms(bulk, n).tolist() == [single.random() for _ in range(n)]


def test_the_generator_continues_where_one_by_one_draws_would_have_left_it() -> None:
    bulk, single = random.Random(7), random.Random(7)
    uniforms(bulk, 1000)
    for _ in range(1000):
        single.random()
    assert bulk.getstate() == single.getstate()
    assert [bulk.random(), bulk.getrandbits(64)] == [single.random(), single.getrandbits(64)]


def test_no_draws_leave_the_generator_as_it_was() -> None:
    rng = random.Random(3)
    state = rng.getstate()
    assert len(uniforms(rng, 0)) == 0
    assert rng.getstate() == state
