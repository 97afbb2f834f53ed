"""The origin's catalog: deterministic bodies and validators, cache rule headers, bad input."""

from __future__ import annotations

import aiohttp
from multidict import CIMultiDict

from cdn.http.dates import parse_http_date
from cdn.topology import CacheRule, Workload
from cdn.workload import Catalog
from origin.bodies import synthetic_object


async def get(
    session: aiohttp.ClientSession, url: str, **kwargs: object
) -> tuple[int, CIMultiDict[str], bytes]:
    async with session.get(url, **kwargs) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


async def test_same_id_gives_same_bytes_and_etag_across_servers(start_origin) -> None:
    first, second = await start_origin(), await start_origin()
    async with aiohttp.ClientSession() as session:
        a = await get(session, first + "/obj/42")
        b = await get(session, second + "/obj/42")
    assert a[0] == b[0] == 200
    assert a[2] == b[2]
    assert a[1]["ETag"] == b[1]["ETag"]
    assert a[1]["Last-Modified"] == b[1]["Last-Modified"]


async def test_body_size_comes_from_the_catalog(start_origin) -> None:
    workload = Workload(seed=3)
    base = await start_origin(workload=workload)
    catalog = Catalog(workload)
    async with aiohttp.ClientSession() as session:
        for obj_id in (0, 1, 77):
            status, headers, body = await get(session, f"{base}/obj/{obj_id}")
            assert status == 200
            assert len(body) == catalog.size_of(obj_id) == int(headers["Content-Length"])


async def test_different_ids_have_different_bodies_and_etags(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        a = await get(session, base + "/obj/1?size=1000")
        b = await get(session, base + "/obj/2?size=1000")
    assert a[2] != b[2]
    assert a[1]["ETag"] != b[1]["ETag"]


async def test_size_query_sets_the_length_and_the_etag(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        small = await get(session, base + "/obj/9?size=100")
        large = await get(session, base + "/obj/9?size=1KiB")
    assert len(small[2]) == 100 and len(large[2]) == 1024
    assert large[2][:100] == small[2]
    assert small[1]["ETag"] != large[1]["ETag"]
    assert small[1]["ETag"].startswith('"') and not small[1]["ETag"].startswith("W/")


async def test_large_body_is_streamed_whole_and_matches_the_pattern(start_origin) -> None:
    base = await start_origin(chunk_size=4096)
    async with aiohttp.ClientSession() as session:
        status, headers, body = await get(session, base + "/obj/5?size=1000003")
    assert status == 200 and len(body) == 1000003
    assert headers["Content-Length"] == "1000003"
    assert body == synthetic_object(7, 5, 1000003).read(0, 1000003)


async def test_response_carries_type_length_validators_and_date(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await get(session, base + "/obj/3")
    assert headers["Content-Type"] == "application/octet-stream"
    assert parse_http_date(headers["Last-Modified"]) is not None
    assert parse_http_date(headers["Date"]) is not None
    assert headers["Accept-Ranges"] == "bytes"


async def test_cache_rule_headers_with_surrogate_key_template(start_origin) -> None:
    base = await start_origin()  # configs/local.toml: /obj/ -> max-age=86400, catalog obj-{id}
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await get(session, base + "/obj/17")
    assert headers["Cache-Control"] == "public, max-age=86400"
    assert headers["Surrogate-Key"] == "catalog obj-17"


async def test_longest_prefix_rule_wins_and_sets_expires_vary_and_extra_headers(
    start_origin,
) -> None:
    rules = (
        CacheRule(prefix="/", cache_control="no-store"),
        CacheRule(
            prefix="/obj/",
            cache_control="public, max-age=60, stale-if-error=300",
            expires_in=60.0,
            vary="Accept-Encoding",
            surrogate_keys=("all", "obj-{id}", "shard-{id}-x"),
            headers=(("X-Team", "video"),),
        ),
    )
    base = await start_origin(cache_rules=rules)
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await get(session, base + "/obj/8")
    assert headers["Cache-Control"] == "public, max-age=60, stale-if-error=300"
    assert headers["Vary"] == "Accept-Encoding"
    assert headers["Surrogate-Key"] == "all obj-8 shard-8-x"
    assert headers["X-Team"] == "video"
    expires, date = parse_http_date(headers["Expires"]), parse_http_date(headers["Date"])
    assert expires is not None and date is not None
    assert 59 <= expires - date <= 61


async def test_query_overrides_cache_control_and_adds_headers(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await get(
            session, base + "/obj/8", params=[("cc", "private, max-age=5"), ("h", "Vary:Cookie")]
        )
        _, bare, _ = await get(session, base + "/obj/8?cc=")
    assert headers["Cache-Control"] == "private, max-age=5"
    assert headers["Vary"] == "Cookie"
    assert "Cache-Control" not in bare


async def test_workload_path_template_is_served(start_origin) -> None:
    workload = Workload(path="/assets/{id}.bin", seed=2)
    base = await start_origin(workload=workload)
    async with aiohttp.ClientSession() as session:
        status, _, body = await get(session, base + "/assets/12.bin")
        missing, _, _ = await get(session, base + "/assets/nope.txt")
    assert status == 200 and len(body) == Catalog(workload).size_of(12)
    assert missing == 404


async def test_bad_id_is_404_and_bad_query_is_400_with_a_reason(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        for path in ("/obj/abc", "/obj/-1", "/obj/99999999999999999999999"):
            status, _, body = await get(session, base + path)
            assert status == 404, path
        for query, word in (
            ("size=lots", b"size"),
            ("size=99GiB", b"too large"),
            ("h=NoColon", b"h="),
            ("h=Content-Length:5", b"Content-Length"),
        ):
            status, _, body = await get(session, f"{base}/obj/1?{query}")
            assert status == 400, query
            assert word in body and b"Traceback" not in body


async def test_a_path_naming_no_object_is_404_saying_so(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        for path in ("/obj/abc", f"/obj/{2**62}", "/obj/-1"):
            status, _, body = await get(session, base + path)
            assert status == 404
            assert b"names no object" in body
