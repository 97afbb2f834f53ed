"""Purge: PURGE <url> and POST /_cdn/purge by URL (all variants), prefix or tag; hard or soft; auth."""

from __future__ import annotations

import aiohttp


async def get(http, url: str, **kwargs) -> tuple[int, dict]:
    async with http.get(url, **kwargs) as response:
        await response.read()
        return response.status, response.headers.copy()


async def purge(http, edge: str, body: dict, headers: dict) -> tuple[int, dict | str]:
    async with http.post(edge + "/_cdn/purge", json=body, headers=headers) as response:
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_purge_by_url_removes_every_variant(
    start_origin, start_edge, http, edge_admin_headers
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    url = "/obj/40?h=Vary:Accept-Language"
    for language in ("en", "fr", "de"):
        await get(http, edge + url, headers={"Accept-Language": language})
    status, answer = await purge(http, edge, {"url": url}, edge_admin_headers)
    assert status == 200
    assert answer["purged"] == 3
    assert answer["node"] == "edge"
    _, headers = await get(http, edge + url, headers={"Accept-Language": "en"})
    assert headers["X-Cache"] == "MISS"


async def test_purge_by_prefix_counts_what_it_removed(
    start_origin, start_edge, http, edge_admin_headers
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    for i in range(5):
        await get(http, edge + f"/obj/{50 + i}")
    await get(http, edge + "/echo?h=Cache-Control:max-age%3D60")
    status, answer = await purge(http, edge, {"prefix": "/obj/"}, edge_admin_headers)
    assert (status, answer["purged"]) == (200, 5)
    assert (await get(http, edge + "/obj/50"))[1]["X-Cache"] == "MISS"
    assert (await get(http, edge + "/echo?h=Cache-Control:max-age%3D60"))[1]["X-Cache"] == "HIT"


async def test_purge_by_tag_uses_surrogate_keys(
    start_origin, start_edge, http, edge_admin_headers
) -> None:
    origin = await start_origin()  # local.toml tags /obj/<id> with "catalog" and "obj-<id>"
    edge = await start_edge(origin)
    for i in range(3):
        await get(http, edge + f"/obj/{60 + i}")
    status, answer = await purge(http, edge, {"tag": "obj-61"}, edge_admin_headers)
    assert (status, answer["purged"]) == (200, 1)
    assert (await get(http, edge + "/obj/60"))[1]["X-Cache"] == "HIT"
    assert (await get(http, edge + "/obj/61"))[1]["X-Cache"] == "MISS"
    status, answer = await purge(http, edge, {"tag": "catalog"}, edge_admin_headers)
    assert answer["purged"] == 3


async def test_purge_method_on_a_url(start_origin, start_edge, http, edge_admin_headers) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/70")
    async with http.request("PURGE", edge + "/obj/70", headers=edge_admin_headers) as response:
        assert response.status == 200
        assert (await response.json())["purged"] == 1
    assert (await get(http, edge + "/obj/70"))[1]["X-Cache"] == "MISS"


async def test_purge_without_or_with_a_wrong_token_is_401(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/71")
    status, _ = await purge(http, edge, {"url": "/obj/71"}, {})
    assert status == 401
    status, _ = await purge(http, edge, {"url": "/obj/71"}, {"Authorization": "Bearer nope"})
    assert status == 401
    async with http.request("PURGE", edge + "/obj/71") as response:
        assert response.status == 401
    assert (await get(http, edge + "/obj/71"))[1]["X-Cache"] == "HIT"


async def test_purge_is_off_without_a_configured_token(start_origin, start_edge, http) -> None:
    origin = await start_origin()
    edge = await start_edge(origin, admin_token=None)
    status, _ = await purge(http, edge, {"url": "/obj/1"}, {"Authorization": "Bearer x"})
    assert status == 404


async def test_bad_purge_body_is_400(start_origin, start_edge, http, edge_admin_headers) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    status, text = await purge(http, edge, {"url": "/a", "tag": "b"}, edge_admin_headers)
    assert status == 400
    assert "exactly one" in text
    async with http.post(
        edge + "/_cdn/purge", data=b"{not json", headers=edge_admin_headers
    ) as response:
        assert response.status == 400


async def test_soft_purge_by_tag_keeps_entries_for_revalidation(
    start_origin, start_edge, http, edge_admin_headers
) -> None:
    origin = await start_origin()
    edge = await start_edge(origin)
    await get(http, edge + "/obj/72")
    status, answer = await purge(http, edge, {"tag": "obj-72", "soft": True}, edge_admin_headers)
    assert (status, answer["purged"], answer["mode"]) == (200, 1, "soft")
    async with aiohttp.ClientSession() as other:
        _, headers = await get(other, edge + "/obj/72")
    assert headers["X-Cache"] == "REVALIDATED"
