"""A single-server queue offered arrivals out of time order (near users heard after far ones)."""

from __future__ import annotations

import random

from sim.queueing import ServerQueue


def _lindley(queue: ServerQueue, arrivals: list[float]) -> list[float]:
    """The plain Lindley recursion over ``queue``'s own service draws."""
    free, ends = 0.0, []
    for arrival in arrivals:
        if not queue.draws:
            queue.refill()
        free = max(free, arrival) + queue.draws.pop()
        ends.append(free)
    return ends


def test_arrivals_in_time_order_get_exactly_the_lindley_recursion() -> None:
    gaps = random.Random(5)
    arrivals, t = [], 0.0
    for _ in range(5000):
        t += gaps.expovariate(80.0)
        arrivals.append(t)
    queue = ServerQueue(100.0, 1, random.Random(1))
    reference = ServerQueue(100.0, 1, random.Random(1))
    assert [queue.finish(a) for a in arrivals] == _lindley(reference, arrivals)


def test_a_request_arriving_first_does_not_wait_for_one_still_on_its_way() -> None:
    queue = ServerQueue(10_000.0, 1, random.Random(2))
    far = queue.finish(0.100)  # offered first (sent first), arrives after 100 ms
    near = queue.finish(0.001)  # offered second, arrives after 1 ms
    assert near < 0.100 < far
    assert queue.backlog(0.0) > 0.1  # the far request is still ahead in the busy periods


def test_an_out_of_order_arrival_waits_for_the_busy_period_it_lands_in() -> None:
    queue = ServerQueue(1.0, 1, random.Random(3))  # mean service 1 s: long busy periods
    busy_until = queue.finish(5.0)
    inside = queue.finish(4.9)  # arrives just before: cannot fit before 5.0, waits its turn
    assert inside > busy_until
    assert queue.busy_starts == [5.0]
