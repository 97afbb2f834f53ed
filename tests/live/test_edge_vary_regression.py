"""Regression (issue 11): a URL that starts to Vary is served from its Vary'd entry.

The origin first answers /a without Vary (max-age=1), then with ``Vary: Accept-Encoding`` and
max-age=100. Once the Vary'd response is stored, later requests are hits: the edge looks at
every stored variant of the key, not only the variant-less one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from scripted_origin import Reply, ScriptedOrigin


class Clock:
    """A hand-moved wall clock (seconds since the epoch)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def origin_and_clock() -> AsyncIterator[tuple[ScriptedOrigin, Clock]]:
    clock = Clock()
    origin = ScriptedOrigin(clock)
    await origin.start()
    yield origin, clock
    await origin.stop()


async def test_requests_after_the_vary_response_are_hits(
    origin_and_clock, start_edge_server, http
) -> None:
    origin, clock = origin_and_clock
    origin.script(
        "/a",
        Reply(headers=(("Cache-Control", "max-age=1"),)),
        Reply(headers=(("Cache-Control", "max-age=100"), ("Vary", "Accept-Encoding"))),
    )
    edge = await start_edge_server(origin.url, clock=clock)
    results = []
    for number in range(5):
        async with http.get(edge.url + "/a", headers={"Accept-Encoding": "gzip"}) as response:
            await response.read()
            results.append((response.status, response.headers["X-Cache"]))
        if number == 0:
            clock.now += 2  # the variant-less entry goes stale
    assert origin.fetches["/a"] == 2
    assert [x_cache for _, x_cache in results[2:]] == ["HIT", "HIT", "HIT"]
