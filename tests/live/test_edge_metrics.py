"""/_cdn/metrics: the names docs/metrics.md lists, parsable, with counts that match what happened."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def documented_edge_metrics() -> set[str]:
    text = DOC.read_text().split("## Origin")[0]
    return set(re.findall(r"`(cdnlab_edge_[a-z_]+)`", text))


async def scrape(http, edge: str) -> dict[tuple[str, tuple], float]:
    async with http.get(edge + "/_cdn/metrics") as response:
        assert response.status == 200
        text = await response.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted({"node": "edge", **labels}.items()))), 0.0)


async def test_every_documented_metric_is_exported(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await (await http.get(edge + "/obj/1")).read()
    samples = await scrape(http, edge)
    exported = {name for name, _ in samples}
    for name in documented_edge_metrics():
        assert any(
            sample == name or sample.startswith(name + "_") or sample + "_total" == name
            for sample in exported
        ), name


async def test_counts_match_the_traffic(start_origin, start_edge, http, edge_admin_headers) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    for _ in range(3):
        await (await http.get(edge + "/obj/1?size=1000")).read()
    await (await http.get(edge + "/echo?status=500")).read()
    async with http.post(
        edge + "/_cdn/purge", json={"tag": "catalog"}, headers=edge_admin_headers
    ) as r:
        await r.read()
    samples = await scrape(http, edge)
    assert value(samples, "cdnlab_edge_requests_total", cache_status="hit") == 2
    assert value(samples, "cdnlab_edge_requests_total", cache_status="miss") == 2
    assert value(samples, "cdnlab_edge_response_bytes_total", source="cache") == 2000
    assert (
        value(samples, "cdnlab_edge_upstream_requests_total", upstream="origin", status="200") == 1
    )
    assert (
        value(samples, "cdnlab_edge_upstream_requests_total", upstream="origin", status="500") == 1
    )
    assert value(samples, "cdnlab_edge_request_duration_seconds_count", cache_status="hit") == 2
    assert value(samples, "cdnlab_edge_purges_total", kind="tag", mode="hard") == 1
    assert value(samples, "cdnlab_edge_purged_objects_total") == 1
    assert value(samples, "cdnlab_edge_store_objects") == 0
    assert value(samples, "cdnlab_edge_store_capacity_bytes") == 256 * 1024 * 1024


async def test_health_reports_store_and_upstream(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, name="edge-q")
    await (await http.get(edge + "/obj/1?size=500")).read()
    async with http.get(edge + "/_cdn/health") as response:
        health = await response.json()
    assert health["node"] == "edge-q"
    assert health["store"]["objects"] == 1
    assert health["store"]["bytes"] == 500
    assert health["upstream"]["url"] == origin
    assert health["peers"] == {}
