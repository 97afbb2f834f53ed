"""A shield bounds lifetimes by the topology's behaviors (min/default/max TTL) as edges do,
live; it checks nothing else and keys by the target."""

from __future__ import annotations

from gateway_support import Clock, Reply, ScriptedOrigin, gateway_of

from cdn.gateway.behaviors import Behavior, CacheKeyPolicy
from cdn.gateway.patterns import PathPattern


async def test_a_shield_applies_max_ttl_and_default_ttl(start_edge_server, http) -> None:
    clock = Clock()
    origin = ScriptedOrigin(clock)
    await origin.start()
    try:
        day = Reply(headers=(("Cache-Control", "max-age=86400"),))
        origin.script("/max/1", day)
        origin.script("/default/1", Reply())
        origin.script("/other/1", day)
        origin.script("/other/1?a=1", day)
        behaviors = gateway_of(
            Behavior(PathPattern("/max/*"), "origin", max_ttl=30.0),
            Behavior(
                PathPattern("/default/*"),
                "origin",
                default_ttl=45.0,
                cache_key=CacheKeyPolicy(query_strings="none"),
            ),
        )
        shield = await start_edge_server(
            origin.url, clock=clock, ttl_behaviors=behaviors, name="shield"
        )
        ttls = {}
        for target in ("/max/1", "/default/1", "/other/1"):
            async with http.get(shield.url + target) as response:
                await response.read()
                ttls[target] = response.headers["Cache-Status"].split("ttl=")[1].split(";")[0]
        assert ttls == {"/max/1": "30", "/default/1": "45", "/other/1": "86400"}
        async with http.get(shield.url + "/other/1?a=1") as response:  # keyed by the target
            await response.read()
            assert not response.headers["X-Cache"].startswith("HIT")
    finally:
        await origin.stop()
