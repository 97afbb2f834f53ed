"""The origin's /_cdn/ routes and /echo: admin token, stats, request log, metrics, health."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


async def test_health_is_200_json(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session, session.get(base + "/_cdn/health") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


async def test_admin_routes_need_the_bearer_token(start_origin, origin_admin_headers) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        async with session.post(base + "/_cdn/faults", json={"error_rate": 1.0}) as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = {"Authorization": "Bearer nope"}
        async with session.post(
            base + "/_cdn/faults", json={"error_rate": 1.0}, headers=wrong
        ) as response:
            # RFC 6750 §3.1: an invalid token is 401 with error="invalid_token" (edge and
            # origin share serving.auth; 403 is for a valid token lacking scope).
            assert response.status == 401
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        async with session.get(base + "/_cdn/faults", headers=origin_admin_headers) as response:
            assert response.status == 200
            assert (await response.json())["error_rate"] == 0.0


async def test_admin_routes_are_off_without_a_configured_token(start_origin) -> None:
    base = await start_origin(admin_token=None)
    async with aiohttp.ClientSession() as session:
        for method, path in (
            ("POST", "/_cdn/faults"),
            ("GET", "/_cdn/faults"),
            ("GET", "/_cdn/requests"),
        ):
            headers = {"Authorization": "Bearer anything"}
            async with session.request(method, base + path, json={}, headers=headers) as response:
                assert response.status == 404, path


async def test_bad_fault_bodies_are_400_with_a_reason(start_origin, origin_admin_headers) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        for body, word in (
            (b"not json", "JSON"),
            (b"[1]", "object"),
            (b'{"error_rate": 3}', "error_rate"),
            (b'{"latency": "soon"}', "latency"),
            (b'{"explode": true}', "explode"),
            (b'{"down_for": "x"}', "down_for"),
        ):
            async with session.post(
                base + "/_cdn/faults", data=body, headers=origin_admin_headers
            ) as response:
                assert response.status == 400, body
                assert word in await response.text()


async def test_faults_merge_and_show_and_clear(start_origin, origin_admin_headers) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        async with session.post(
            base + "/_cdn/faults", json={"latency": "5ms"}, headers=origin_admin_headers
        ) as response:
            assert (await response.json())["latency"] == 0.005
        async with session.post(
            base + "/_cdn/faults", json={"error_rate": 0.25}, headers=origin_admin_headers
        ) as response:
            shown = await response.json()
        assert shown["latency"] == 0.005 and shown["error_rate"] == 0.25
        async with session.delete(base + "/_cdn/faults", headers=origin_admin_headers) as response:
            cleared = await response.json()
        assert cleared["latency"] == 0.0 and cleared["error_rate"] == 0.0


async def test_stats_count_requests_per_path_and_304s_but_not_admin(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/obj/1") as response:
            etag = response.headers["ETag"]
        async with session.get(base + "/obj/1", headers={"If-None-Match": etag}) as response:
            assert response.status == 304
        async with session.get(base + "/obj/2?size=10") as response:
            await response.read()
        async with session.get(base + "/_cdn/stats") as response:
            stats = await response.json()
    assert stats["total"] == 3
    assert stats["paths"] == {"/obj/1": 2, "/obj/2": 1}
    assert stats["targets"]["/obj/2?size=10"] == 1
    assert stats["not_modified"] == 1
    assert stats["statuses"]["200"] == 2
    assert stats["body_bytes"] >= 10


async def test_stats_reset_needs_the_token(start_origin, origin_admin_headers) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/obj/1") as response:
            await response.read()
        async with session.delete(base + "/_cdn/stats") as response:
            assert response.status == 401
        async with session.delete(base + "/_cdn/stats", headers=origin_admin_headers) as response:
            assert (await response.json())["total"] == 0


async def test_request_log_shows_what_arrived(start_origin, origin_admin_headers) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/obj/3", headers={"Via": "1.1 edge-par"}) as response:
            await response.read()
        async with session.get(
            base + "/_cdn/requests", params={"path": "/obj/3"}, headers=origin_admin_headers
        ) as response:
            records = await response.json()
    assert len(records) == 1
    assert records[0]["method"] == "GET"
    assert ["Via", "1.1 edge-par"] in records[0]["headers"]


async def test_echo_reports_the_request_it_received(start_origin) -> None:
    base = await start_origin()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            base + "/echo?x=1", data=b"hello", headers={"X-Forwarded-For": "10.0.0.1"}
        ) as response,
    ):
        report = await response.json()
    assert report["method"] == "POST"
    assert report["body_bytes"] == 5
    assert ["X-Forwarded-For", "10.0.0.1"] in report["headers"]
    assert report["query"] == [["x", "1"]]


async def test_echo_answers_the_status_headers_and_size_asked_for(start_origin) -> None:
    base = await start_origin()
    params = [
        ("status", "404"),
        ("h", "Cache-Control:max-age=60"),
        ("h", "Set-Cookie:a=b"),
        ("h", "Set-Cookie:c=d"),
        ("size", "100"),
        ("delay", "0.01"),
    ]
    async with (
        aiohttp.ClientSession() as session,
        session.get(base + "/echo", params=params) as response,
    ):
        body = await response.read()
        assert response.status == 404
        assert response.headers["Cache-Control"] == "max-age=60"
        assert response.headers.getall("Set-Cookie") == ["a=b", "c=d"]
    assert len(body) == 100


async def test_echo_large_size_is_streamed_and_304_has_no_body(start_origin) -> None:
    base = await start_origin(chunk_size=4096)
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/echo?size=50000") as response:
            assert len(await response.read()) == 50000
        async with session.get(base + "/echo?status=304&h=ETag:%22v1%22") as response:
            assert response.status == 304
            assert response.headers["ETag"] == '"v1"'
            assert await response.read() == b""


async def test_echo_bad_values_are_400(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        for query in (
            "status=99",
            "status=abc",
            "delay=forever",
            "delay=100000",
            "size=-1",
            "h=:x",
        ):
            async with session.get(f"{base}/echo?{query}") as response:
                assert response.status == 400, query
                assert "Traceback" not in await response.text()


async def test_metrics_parse_and_count_requests(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(base + "/obj/1") as response:
                await response.read()
        async with session.get(base + "/obj/nope") as response:
            await response.read()
        async with session.get(base + "/_cdn/metrics") as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            text = await response.text()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    requests = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in families["cdnlab_origin_requests"].samples
        if s.name == "cdnlab_origin_requests_total"
    }
    assert requests[("/obj/{id}", "200")] == 3
    assert requests[("/obj/{id}", "404")] == 1
    bytes_sent = [
        s for s in families["cdnlab_origin_response_bytes"].samples if s.name.endswith("_total")
    ]
    assert sum(s.value for s in bytes_sent) > 0
    counts = [
        s
        for s in families["cdnlab_origin_request_duration_seconds"].samples
        if s.name.endswith("_count")
    ]
    assert sum(s.value for s in counts if s.labels["route"] == "/obj/{id}") == 4
    kinds = {s.labels["kind"] for s in families["cdnlab_origin_faults_injected"].samples}
    assert kinds == {"latency", "error", "stall", "down"}


async def test_two_apps_in_one_process_have_separate_metrics(start_origin) -> None:
    first, second = await start_origin(), await start_origin()
    async with aiohttp.ClientSession() as session:
        async with session.get(first + "/obj/1") as response:
            await response.read()
        async with session.get(second + "/_cdn/metrics") as response:
            text = await response.text()
    assert 'route="/obj/{id}"' not in text
