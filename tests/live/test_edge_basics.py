"""The edge as a caching reverse proxy: miss then hit, headers, HEAD, Vary, keys, what is not stored."""

from __future__ import annotations

import asyncio
import json


async def get(http, url: str, **kwargs) -> tuple[int, dict, bytes]:
    async with http.get(url, **kwargs) as response:
        return response.status, response.headers.copy(), await response.read()


async def test_miss_then_hit_with_age_cache_status_x_cache_and_via(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    status, first, body1 = await get(http, edge + "/obj/1")
    assert status == 200
    assert first["X-Cache"] == "MISS"
    assert first["Cache-Status"].startswith("cdnlab-edge; fwd=uri-miss; fwd-status=200")
    assert "stored" in first["Cache-Status"]
    assert first["Via"] == "1.1 edge"
    assert first["Age"] == "0"
    status, second, body2 = await get(http, edge + "/obj/1")
    assert status == 200
    assert second["X-Cache"] == "HIT"
    assert second["Cache-Status"].startswith("cdnlab-edge; hit; ttl=")
    assert int(second["Age"]) >= 0
    assert body1 == body2
    assert second["ETag"] == first["ETag"]
    assert await origin_fetches(origin, "/obj/1") == 1


async def test_age_counts_time_in_cache(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    # The origin says the response is already 100 s old: the edge must serve Age >= 100.
    await get(http, edge + "/obj/2?h=Age:100")
    _status, headers, _ = await get(http, edge + "/obj/2?h=Age:100")
    assert headers["X-Cache"] == "HIT"
    assert int(headers["Age"]) >= 100


async def test_head_is_answered_from_a_get_entry(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, _got, body = await get(http, edge + "/obj/3")
    async with http.head(edge + "/obj/3") as response:
        assert response.status == 200
        assert response.headers["X-Cache"] == "HIT"
        assert response.headers["Content-Length"] == str(len(body))
        assert await response.read() == b""
    assert await origin_fetches(origin, "/obj/3") == 1


async def test_head_miss_fetches_get_and_stores_it(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    async with http.head(edge + "/obj/4") as response:
        assert response.status == 200
        assert await response.read() == b""
    _, headers, body = await get(http, edge + "/obj/4")
    assert headers["X-Cache"] == "HIT"
    assert len(body) > 0
    assert await origin_fetches(origin, "/obj/4") == 1


async def test_vary_keeps_one_variant_per_request_header_value(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    url = edge + "/obj/5?h=Vary:Accept-Language"
    en = {"Accept-Language": "en"}
    fr = {"Accept-Language": "fr"}
    assert (await get(http, url, headers=en))[1]["X-Cache"] == "MISS"
    assert (await get(http, url, headers=fr))[1]["X-Cache"] == "MISS"
    assert (await get(http, url, headers=en))[1]["X-Cache"] == "HIT"
    assert (await get(http, url, headers=fr))[1]["X-Cache"] == "HIT"
    assert await origin_fetches(origin, "/obj/5?h=Vary:Accept-Language") == 2


async def test_query_params_are_ignored_and_sorted_in_the_key(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, ignore_query_params=("utm_source",), sort_query_params=True)
    await get(http, edge + "/obj/6?b=2&a=1&utm_source=mail")
    _, headers, _ = await get(http, edge + "/obj/6?a=1&b=2")
    assert headers["X-Cache"] == "HIT"
    _, headers, _ = await get(http, edge + "/obj/6?a=1&b=2&utm_source=web")
    assert headers["X-Cache"] == "HIT"
    _, headers, _ = await get(http, edge + "/obj/6?a=1&b=3")
    assert headers["X-Cache"] == "MISS"


async def test_query_is_part_of_the_key_by_default(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/6?a=1&b=2")
    _, headers, _ = await get(http, edge + "/obj/6?b=2&a=1")
    assert headers["X-Cache"] == "MISS"


async def test_404_is_cached_for_the_negative_ttl(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, negative_ttl=30.0)
    status, first, _ = await get(http, edge + "/nothing-here")
    assert status == 404
    assert first["X-Cache"] == "MISS"
    status, second, _ = await get(http, edge + "/nothing-here")
    assert status == 404
    assert second["X-Cache"] == "HIT"
    assert await origin_fetches(origin, "/nothing-here") == 1


async def test_404_is_not_cached_without_negative_ttl(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, negative_ttl=0.0)
    await get(http, edge + "/nothing-here")
    await get(http, edge + "/nothing-here")
    assert await origin_fetches(origin, "/nothing-here") == 2


async def test_set_cookie_response_is_not_stored(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = "/obj/7?h=Set-Cookie:session%3Dabc"
    _, first, _ = await get(http, edge + target)
    assert first["Set-Cookie"] == "session=abc"  # this client's cookie still reaches it
    _, second, _ = await get(http, edge + target)
    assert second["X-Cache"] != "HIT"
    assert await origin_fetches(origin, target) == 2


async def test_private_response_is_not_stored(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = "/obj/8?cc=private,max-age=60"
    await get(http, edge + target)
    _, headers, _ = await get(http, edge + target)
    assert headers["X-Cache"] != "HIT"
    assert await origin_fetches(origin, target) == 2


async def test_request_with_authorization_is_not_stored(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    target = "/obj/9?cc=max-age=60"
    await get(http, edge + target, headers={"Authorization": "Bearer user"})
    _, headers, _ = await get(http, edge + target)
    assert headers["X-Cache"] == "MISS"
    assert await origin_fetches(origin, target) == 2


async def test_hop_by_hop_fields_are_not_forwarded(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    headers = {"Connection": "X-Secret", "X-Secret": "1", "X-Kept": "yes", "TE": "trailers"}
    status, response_headers, body = await get(http, edge + "/echo", headers=headers)
    assert status == 200
    received = {name.lower(): value for name, value in json.loads(body)["headers"]}
    assert received["x-kept"] == "yes"
    assert "x-secret" not in received
    assert "te" not in received
    assert received["via"] == "1.1 edge"
    assert received["cdn-loop"] == "cdnlab-edge"
    assert "Cache-Status" in response_headers


async def test_hop_by_hop_fields_of_responses_are_removed(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, headers, _ = await get(
        http, edge + "/obj/10?h=Connection:X-Internal&h=X-Internal:1&h=Keep-Alive:timeout%3D5"
    )
    assert "X-Internal" not in headers
    assert "Keep-Alive" not in headers


async def test_surrogate_key_goes_to_our_tier_only(start_origin, start_edge, http) -> None:
    origin = await start_origin()  # local.toml's /obj/ rule sends Surrogate-Key
    edge = await start_edge(origin)
    _, headers, _ = await get(http, edge + "/obj/11")
    assert "Surrogate-Key" not in headers
    _, headers, _ = await get(http, edge + "/obj/11", headers={"CDN-Loop": "cdnlab-edge-par"})
    assert headers["X-Cache"] == "HIT"
    assert "obj-11" in headers["Surrogate-Key"].split()


async def test_post_passes_through_and_invalidates_the_url(
    start_origin, start_edge, http, origin_fetches
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/echo?h=Cache-Control:max-age%3D60")
    assert (await get(http, edge + "/echo?h=Cache-Control:max-age%3D60"))[1]["X-Cache"] == "HIT"
    async with http.post(edge + "/echo?h=Cache-Control:max-age%3D60", data=b"hello") as response:
        assert response.status == 200
        assert response.headers["X-Cache"] == "BYPASS"
        assert json.loads(await response.read())["method"] == "POST"
    assert (await get(http, edge + "/echo?h=Cache-Control:max-age%3D60"))[1]["X-Cache"] == "MISS"


async def test_every_response_has_cache_status_and_x_cache(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    for url in ("/obj/12", "/echo?status=500", "/nothing", "/echo?status=302&h=Location:/x"):
        async with http.get(edge + url, allow_redirects=False) as response:
            await response.read()
            assert "Cache-Status" in response.headers, url
            assert "X-Cache" in response.headers, url


async def test_client_conditional_gets_304_from_cache(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, headers, _ = await get(http, edge + "/obj/13")
    status, headers, body = await get(
        http, edge + "/obj/13", headers={"If-None-Match": headers["ETag"]}
    )
    assert status == 304
    assert body == b""
    assert headers["X-Cache"] == "HIT"


async def test_gzip_bodies_pass_unchanged(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    _, _direct, body_direct = await get(http, origin + "/obj/14?h=Content-Encoding:gzip")
    _, headers, body = await get(http, edge + "/obj/14?h=Content-Encoding:gzip")
    assert headers["Content-Encoding"] == "gzip"
    assert body == body_direct


async def test_redirects_are_not_followed(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    async with http.get(edge + "/echo?status=302&h=Location:/obj/1", allow_redirects=False) as r:
        assert r.status == 302
        assert r.headers["Location"] == "/obj/1"


async def test_many_sequential_hits_stay_hits(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/15")
    results = await asyncio.gather(*(get(http, edge + "/obj/15") for _ in range(20)))
    assert {headers["X-Cache"] for _, headers, _ in results} == {"HIT"}
