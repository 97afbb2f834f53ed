"""Request collapsing: concurrent misses share one upstream fetch; uncacheable ones are released."""

from __future__ import annotations

import asyncio

ORIGIN_DELAY = "300ms"  # keeps the leader in flight while the others arrive


async def fetch(http, url: str) -> tuple[int, str, bytes]:
    async with http.get(url) as response:
        return response.status, response.headers["Cache-Status"], await response.read()


async def test_100_concurrent_misses_make_one_origin_fetch(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = f"/echo?size=5000&delay={ORIGIN_DELAY}&h=Cache-Control:max-age%3D60"
    results = await asyncio.gather(*(fetch(http, edge + target) for _ in range(100)))
    assert {status for status, _, _ in results} == {200}
    assert len({body for _, _, body in results}) == 1
    assert await origin_fetches(origin, target) == 1
    collapsed = [cs for _, cs, _ in results if "collapsed" in cs]
    assert len(collapsed) == 99


async def test_uncacheable_response_releases_followers_and_sets_hit_for_pass(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = f"/echo?size=100&delay={ORIGIN_DELAY}&h=Cache-Control:no-store"
    results = await asyncio.gather(*(fetch(http, edge + target) for _ in range(10)))
    assert [status for status, _, _ in results] == [200] * 10
    assert await origin_fetches(origin, target) == 10  # the leader plus 9 released followers
    # Hit-for-pass: later concurrent requests go straight to the origin, nobody waits.
    results = await asyncio.gather(*(fetch(http, edge + target) for _ in range(5)))
    assert [status for status, _, _ in results] == [200] * 5
    assert await origin_fetches(origin, target) == 15
    assert not any("collapsed" in cs for _, cs, _ in results)


async def test_followers_of_a_failed_leader_fetch_on_their_own(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = f"/echo?status=503&delay={ORIGIN_DELAY}"
    results = await asyncio.gather(*(fetch(http, edge + target) for _ in range(5)))
    assert [status for status, _, _ in results] == [503] * 5
    assert await origin_fetches(origin, target) == 5


async def test_waiters_beyond_the_cap_fetch_alone(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, collapse_max_waiters=2)
    target = f"/echo?size=10&delay={ORIGIN_DELAY}&h=Cache-Control:max-age%3D60"
    results = await asyncio.gather(*(fetch(http, edge + target) for _ in range(6)))
    assert [status for status, _, _ in results] == [200] * 6
    assert await origin_fetches(origin, target) == 4  # leader + 3 beyond the 2 waiters


async def test_followers_give_up_after_the_collapse_timeout(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, collapse_timeout=0.05)
    target = "/echo?size=10&delay=400ms&h=Cache-Control:max-age%3D60"
    results = await asyncio.gather(*(fetch(http, edge + target) for _ in range(3)))
    assert [status for status, _, _ in results] == [200] * 3
    assert await origin_fetches(origin, target) == 3
