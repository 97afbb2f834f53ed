"""The error hold on a live edge (cdn.http.error_hold): after an upstream failure, stale-if-error
copies answer without a fetch for the hold; the first answer after it ends the hold.

RFC 5861 §4 (serve stale "when an error is encountered"), held as Varnish holds a sick backend.
"""

from __future__ import annotations

import time

from cdn.http.error_hold import HOLD_BASE

# Stale on arrival (the origin says it is already older than max-age), stale-if-error 600 s.
STALE_SIE = "/obj/40?cc=max-age%3D10,stale-if-error%3D600&h=Age:20"


class Clock:
    """The edge's wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def get(http, url: str) -> tuple[int, dict, bytes]:
    async with http.get(url) as response:
        return response.status, response.headers.copy(), await response.read()


async def set_faults(http, origin: str, headers: dict, **changes) -> None:
    async with http.post(origin + "/_cdn/faults", json=changes, headers=headers) as response:
        assert response.status == 200, await response.text()


async def upstream_fetches(http, edge: str) -> float:
    """Fetches the edge sent upstream, whatever their outcome (its Prometheus counter)."""
    async with http.get(edge + "/_cdn/metrics") as response:
        text = await response.text()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("cdnlab_edge_upstream_requests_total{")
    )


async def test_after_a_5xx_stale_copies_answer_without_asking_until_the_hold_ends(
    start_origin, start_edge_server, http, origin_admin_headers, origin_fetches
) -> None:
    origin = await start_origin()
    clock = Clock()
    edge = (await start_edge_server(origin, clock=clock)).url
    status, _, body = await get(http, edge + STALE_SIE)
    assert status == 200 and await origin_fetches(origin, STALE_SIE) == 1
    await set_faults(http, origin, origin_admin_headers, error_rate=1.0, error_status=503)

    # The failure: forwarded, 503, the stale copy stands in; the hold begins.
    status, headers, _ = await get(http, edge + STALE_SIE)
    assert status == 200 and "fwd-status=503" in headers["Cache-Status"]
    assert await origin_fetches(origin, STALE_SIE) == 2

    # During the hold: the stale copy answers, nothing is sent.
    status, headers, stale = await get(http, edge + STALE_SIE)
    assert status == 200 and stale == body
    assert headers["X-Cache"] == "STALE"
    assert "; hit" in headers["Cache-Status"] and "detail=stale-if-error" in headers["Cache-Status"]
    assert "fwd" not in headers["Cache-Status"]
    assert await origin_fetches(origin, STALE_SIE) == 2

    # After it: asked again; the origin answers, the hold is over.
    await set_faults(http, origin, origin_admin_headers, error_rate=0.0)
    clock.now += HOLD_BASE + 0.1
    status, headers, _ = await get(http, edge + STALE_SIE)
    assert status == 200 and "detail=stale-if-error" not in headers["Cache-Status"]
    assert await origin_fetches(origin, STALE_SIE) == 3


async def test_a_miss_is_still_sent_during_a_hold(
    start_origin, start_edge_server, http, origin_admin_headers, origin_fetches
) -> None:
    origin = await start_origin()
    edge = (await start_edge_server(origin, clock=Clock())).url
    await get(http, edge + STALE_SIE)
    await set_faults(http, origin, origin_admin_headers, error_rate=1.0, error_status=503)
    await get(http, edge + STALE_SIE)  # the hold begins
    other = "/obj/41?cc=max-age%3D10"
    status, _, _ = await get(http, edge + other)
    assert status == 503  # nothing could stand in: sent, and the origin's answer relayed
    assert await origin_fetches(origin, other) == 1


async def test_a_shield_standing_in_on_error_holds_the_edge_below_it(
    start_origin_server, start_edge_server, http
) -> None:
    server = await start_origin_server()
    shield = (await start_edge_server(server.url, clock=Clock(), name="shield")).url
    edge = (await start_edge_server(shield, clock=Clock(), name="edge")).url
    await get(http, edge + STALE_SIE)  # both store it (stale on arrival)
    await server.stop()  # the origin refuses

    # The edge revalidates through the shield; the shield's fetch fails, its copy stands in,
    # and its Cache-Status member says so: the edge holds too.
    status, headers, _ = await get(http, edge + STALE_SIE)
    assert status == 200 and "detail=stale-if-error" in headers["Cache-Status"]
    sent = await upstream_fetches(http, edge)

    status, headers, _ = await get(http, edge + STALE_SIE)
    assert status == 200 and headers["X-Cache"] == "STALE"
    assert await upstream_fetches(http, edge) == sent  # answered by the edge's own copy
