"""The path mix's per-request draws (cdn.workload.draws), shared by the simulator and the load
generator."""

from __future__ import annotations

import random

import pytest

from cdn.gateway.behaviors import Behavior, Cors
from cdn.gateway.patterns import PathPattern
from cdn.topology import WorkloadPath
from cdn.topology.model import QueryVariant
from cdn.workload.draws import (
    PREFLIGHT,
    coding_seed,
    draw_coding,
    draw_request,
    draw_seed,
    preflight_fields,
)


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


def test_preflights_follow_their_share_and_draw_nothing_else() -> None:
    family = WorkloadPath("/api/{id}", preflight_share=0.2, post_share=0.5, api_keys=3)
    rng = random.Random(4)
    draws = [draw_request(rng.random, family, keyed=True, per_client=False) for _ in range(4000)]
    preflights = [d for d in draws if d.method == "OPTIONS"]
    assert 0.18 < len(preflights) / len(draws) < 0.22
    assert all(d == PREFLIGHT and d.key is None and d.query == "" for d in preflights)
    # post_share applies to the requests that are not preflights
    posts = sum(d.method == "POST" for d in draws) / (len(draws) - len(preflights))
    assert 0.47 < posts < 0.53


def test_a_family_without_preflights_draws_as_before() -> None:
    family = WorkloadPath("/obj/{id}", post_share=0.3, api_keys=5)
    a, b = random.Random(9), random.Random(9)
    with_zero = [draw_request(a.random, family, True, False) for _ in range(200)]
    assert all(d.method != "OPTIONS" for d in with_zero)
    assert with_zero == [draw_request(b.random, family, True, False) for _ in range(200)]


def test_a_preflight_comes_from_the_first_allowed_origin() -> None:
    cors = Cors(allow_origins=("https://app.example", "https://b.example"))
    behavior = Behavior(PathPattern("/api/*"), "origin", cors=cors)
    assert preflight_fields(behavior) == {
        "origin": "https://app.example",
        "access-control-request-method": "GET",
    }
    anyone = Behavior(PathPattern("*"), "origin", cors=Cors(allow_origins=("*",)))
    assert preflight_fields(anyone)["origin"].startswith("https://")
    assert preflight_fields(Behavior(PathPattern("*"), "origin"))["origin"].startswith("https://")
