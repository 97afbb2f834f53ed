"""`cdn load` through configs/gateway.toml's edge: the workload's path mix, the topology's API
keys drawn per request, signed URLs, and the edge's refusals booked per behavior as throttled
and forbidden."""

from __future__ import annotations

from pathlib import Path

from cdn.topology import load_topology
from edge.settings import EdgeSettings
from loadgen import LoadPlan, run_load

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


async def test_load_on_the_gateway_example_books_refusals_per_behavior(
    start_origin, start_edge_server
) -> None:
    topology = load_topology(CONFIGS / "gateway.toml")
    origin = await start_origin(topology)
    node = EdgeSettings.from_topology(topology, "edge-par")
    edge = await start_edge_server(
        origin, gateway=node.gateway, api_key_values=node.api_key_values, node_urls=node.node_urls
    )
    plan = LoadPlan(topology=topology, targets=(edge.url,), rate=200, requests=300, seed=3)
    report = await run_load(plan)
    stats = report.stats
    assert stats.total.errors == 0
    behaviors = stats.behaviors
    assert set(behaviors) == {"/echo*", "/static/*", "/obj/*"}
    # The API's requests carry the demo keys (a few none, keyless_share = 0.02): served up to
    # each key's burst, then throttled.
    api = behaviors["/echo*"]
    assert api.throttled > 0
    assert api.responses > api.throttled + api.forbidden
    assert api.forbidden < api.requests / 10
    # The load generator signs the private objects' URLs with the demo key (configs/keys/).
    assert behaviors["/obj/*"].forbidden == 0
    assert behaviors["/obj/*"].responses == behaviors["/obj/*"].requests > 0
    assert behaviors["/static/*"].throttled == behaviors["/static/*"].forbidden == 0
    assert stats.by_cache_status["throttled"].requests == stats.total.throttled
