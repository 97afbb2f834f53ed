"""A TTL (max-age) cache driven through the cache step matches lambda*T/(1+lambda*T) per object."""

from __future__ import annotations

import math

import numpy as np

from cdn.http.config import CacheConfig
from cdn.topology import CacheRule
from sim.nodecache import NodeCache, Refresh
from sim.origin_headers import OriginHeaders
from sim.outcomes import HIT, MISS, REVALIDATED

TTL = 1000.0
RATES = (0.0005, 0.001, 0.002, 0.005)  # lambda * T = 0.5, 1, 2, 5
REQUESTS_PER_OBJECT = 20_000


def test_hit_ratio_per_object_matches_the_ttl_closed_form() -> None:
    rule = CacheRule(prefix="/obj/", cache_control=f"public, max-age={int(TTL)}")
    cache = NodeCache(10**12, "lru", CacheConfig(), OriginHeaders(rule))
    rng = np.random.default_rng(11)
    arrivals = []
    for obj, rate in enumerate(RATES):
        times = np.cumsum(rng.exponential(1.0 / rate, REQUESTS_PER_OBJECT))
        arrivals.extend((t, obj) for t in times.tolist())
    arrivals.sort()
    hits = [0] * len(RATES)
    counts = [0] * len(RATES)
    for t, obj in arrivals:
        key = f"/obj/{obj}"
        code, found, _ = cache.decide(key, t)
        counts[obj] += 1
        if code == HIT:
            hits[obj] += 1
        elif code == REVALIDATED:
            # The upstream answers at once: a 304 that re-arms the TTL (no body).
            assert cache.refresh(key, obj, 100, found, t, t) == Refresh.RENEWED
        else:
            assert code == MISS
            cache.fill(key, obj, 100, found, t, t)
    for obj, rate in enumerate(RATES):
        expected = rate * TTL / (1.0 + rate * TTL)
        measured = hits[obj] / counts[obj]
        assert math.isclose(measured, expected, abs_tol=0.01), (rate, measured, expected)
