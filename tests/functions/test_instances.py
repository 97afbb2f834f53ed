"""The instance model: warm reuse, cold starts, throttling beyond concurrency, keep-warm expiry."""

from __future__ import annotations

import pytest

from cdn.functions import Grant, InstancePool, InstanceTiming, Throttle


def test_first_request_is_a_cold_start() -> None:
    pool = InstancePool(concurrency=2, keep_warm=60)
    assert pool.acquire(0.0) == Grant(0, cold=True)


def test_released_instance_serves_the_next_request_warm() -> None:
    pool = InstancePool(concurrency=2, keep_warm=60)
    pool.release(pool.acquire(0.0).instance, 1.0)
    assert pool.acquire(2.0) == Grant(0, cold=False)


def test_busy_instances_up_to_concurrency_then_throttle() -> None:
    pool = InstancePool(concurrency=5, keep_warm=60)
    grants = [pool.acquire(0.0) for _ in range(20)]
    assert sum(isinstance(g, Grant) for g in grants) == 5
    assert grants[5] == Throttle(busy=5, concurrency=5)
    assert pool.throttles == 15 and pool.cold_starts == 5


def test_idle_instance_expires_after_keep_warm() -> None:
    pool = InstancePool(concurrency=1, keep_warm=10)
    pool.release(pool.acquire(0.0).instance, 1.0)
    assert pool.expire(10.9) == [] and pool.warm == 1
    assert pool.expire(11.0) == [0] and pool.warm == 0


def test_request_after_expiry_is_cold_again() -> None:
    pool = InstancePool(concurrency=1, keep_warm=10)
    pool.release(pool.acquire(0.0).instance, 0.0)
    grant = pool.acquire(10.0)
    assert isinstance(grant, Grant) and grant.cold and pool.cold_starts == 2


def test_most_recently_used_instance_is_taken_first() -> None:
    pool = InstancePool(concurrency=2, keep_warm=60)
    first, second = pool.acquire(0.0), pool.acquire(0.0)
    pool.release(first.instance, 1.0)
    pool.release(second.instance, 2.0)
    assert pool.acquire(3.0) == Grant(second.instance, cold=False)


def test_retired_instance_is_never_reused() -> None:
    pool = InstancePool(concurrency=1, keep_warm=60)
    pool.release(pool.acquire(0.0).instance, 1.0, keep=False)
    assert pool.acquire(2.0) == Grant(1, cold=True)


def test_next_expiry_is_the_oldest_idle_plus_keep_warm() -> None:
    pool = InstancePool(concurrency=2, keep_warm=5)
    a, b = pool.acquire(0.0), pool.acquire(0.0)
    pool.release(a.instance, 1.0)
    pool.release(b.instance, 3.0)
    assert pool.next_expiry() == 6.0


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="concurrency 0"):
        InstancePool(concurrency=0, keep_warm=1)


def test_timing_adds_init_duration_only_when_cold() -> None:
    timing = InstanceTiming(duration=0.002, init_duration=0.150)
    assert timing.time(Grant(0, cold=True)) == pytest.approx(0.152)
    assert timing.time(Grant(0, cold=False)) == pytest.approx(0.002)
