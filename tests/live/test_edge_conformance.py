"""Wire checks of rules fixed after the http-tests/cache-tests run (docs/conformance.md).

Each test is one rule, over real HTTP on loopback: a scripted origin, a real edge on the same
hand-moved clock, and the rule seen from the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from scripted_origin import Reply, ScriptedOrigin

from cdn.http import format_http_date


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


async def _x_caches(http, url: str, count: int) -> list[str]:
    seen = []
    for _ in range(count):
        async with http.get(url) as response:
            await response.read()
            seen.append(response.headers["X-Cache"])
    return seen


async def test_rfc9111_5_1_list_based_age_counts_its_first_member(
    origin_and_clock, start_edge_server, http
) -> None:
    # "Age: 0, 7200" with max-age=3600: the first member (0) counts, so the response is fresh.
    origin, clock = origin_and_clock
    origin.script("/age", Reply(headers=(("Cache-Control", "max-age=3600"), ("Age", "0, 7200"))))
    edge = await start_edge_server(origin.url, clock=clock)
    assert await _x_caches(http, edge.url + "/age", 2) == ["MISS", "HIT"]
    assert origin.fetches["/age"] == 1


async def test_rfc9111_4_2_expires_zone_matches_case_insensitively(
    origin_and_clock, start_edge_server, http
) -> None:
    origin, clock = origin_and_clock
    expires = format_http_date(clock.now + 3600).replace("GMT", "gMT")
    origin.script("/expires", Reply(headers=(("Expires", expires),)))
    edge = await start_edge_server(origin.url, clock=clock)
    assert await _x_caches(http, edge.url + "/expires", 2) == ["MISS", "HIT"]


async def test_rfc9213_2_1_string_max_age_in_cdn_cache_control_is_not_consumed(
    origin_and_clock, start_edge_server, http
) -> None:
    # The targeted field governs (Cache-Control: no-store is ignored) but max-age="10000" is an
    # sf-string, not the sf-integer max-age is: not consumed, so nothing fresh is reused.
    origin, clock = origin_and_clock
    origin.script(
        "/cdn",
        Reply(headers=(("CDN-Cache-Control", 'max-age="10000"'), ("Cache-Control", "no-store"))),
    )
    edge = await start_edge_server(origin.url, clock=clock)
    await _x_caches(http, edge.url + "/cdn", 2)
    assert origin.fetches["/cdn"] == 2


@pytest.mark.parametrize("size", [10, 2 << 20], ids=["buffered", "streamed"])
async def test_rfc9111_5_2_2_4_no_cache_named_field_reaches_the_fetching_client_only(
    origin_and_clock, start_edge_server, http, size
) -> None:
    # no-cache="a": the stored copy drops "a"; the response that carried it does not.
    origin, clock = origin_and_clock
    fields = (("Cache-Control", 'no-cache="a", max-age=3600'), ("a", "1"), ("b", "2"))
    origin.script("/nc", Reply(headers=fields, body=b"x" * size))
    edge = await start_edge_server(origin.url, clock=clock)
    seen = []
    for _ in range(2):
        async with http.get(edge.url + "/nc") as response:
            assert len(await response.read()) == size
            seen.append(
                (response.headers["X-Cache"], response.headers.get("a"), response.headers["b"])
            )
    assert seen == [("MISS", "1", "2"), ("HIT", None, "2")]
