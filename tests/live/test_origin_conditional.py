"""Conditional requests, HEAD and Range at the origin (RFC 9110 §13, §14, §9.3.2)."""

from __future__ import annotations

import aiohttp
from multidict import CIMultiDict

from cdn.http.dates import format_http_date, parse_http_date


async def fetch(
    session: aiohttp.ClientSession, url: str, method: str = "GET", **headers: str
) -> tuple[int, CIMultiDict[str], bytes]:
    async with session.request(method, url, headers=headers) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


async def test_if_none_match_with_the_etag_gives_304_without_body(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await fetch(session, base + "/obj/4")
        status, again, body = await fetch(
            session, base + "/obj/4", **{"If-None-Match": headers["ETag"]}
        )
    assert status == 304 and body == b""
    assert again["ETag"] == headers["ETag"]
    assert again["Cache-Control"] == headers["Cache-Control"]
    assert "Date" in again


async def test_if_none_match_uses_weak_comparison_lists_and_star(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await fetch(session, base + "/obj/4")
        etag = headers["ETag"]
        weak, _, _ = await fetch(session, base + "/obj/4", **{"If-None-Match": f'"zzz", W/{etag}'})
        star, _, _ = await fetch(session, base + "/obj/4", **{"If-None-Match": "*"})
        other, _, body = await fetch(session, base + "/obj/4", **{"If-None-Match": '"zzz"'})
    assert weak == 304 and star == 304
    assert other == 200 and body


async def test_if_modified_since_gives_304_when_not_modified(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await fetch(session, base + "/obj/6")
        modified = parse_http_date(headers["Last-Modified"])
        assert modified is not None
        same, _, _ = await fetch(
            session, base + "/obj/6", **{"If-Modified-Since": headers["Last-Modified"]}
        )
        before, _, body = await fetch(
            session, base + "/obj/6", **{"If-Modified-Since": format_http_date(modified - 1)}
        )
        garbage, _, _ = await fetch(session, base + "/obj/6", **{"If-Modified-Since": "yesterday"})
    assert same == 304
    assert before == 200 and body
    assert garbage == 200


async def test_if_none_match_takes_precedence_over_if_modified_since(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await fetch(session, base + "/obj/6")
        status, _, _ = await fetch(
            session,
            base + "/obj/6",
            **{"If-None-Match": '"other"', "If-Modified-Since": headers["Last-Modified"]},
        )
    assert status == 200


async def test_if_match_failure_is_412(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        status, _, _ = await fetch(session, base + "/obj/6", **{"If-Match": '"nope"'})
    assert status == 412


async def test_head_has_the_get_headers_and_no_body(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, got, body = await fetch(session, base + "/obj/11")
        status, head, empty = await fetch(session, base + "/obj/11", "HEAD")
    assert status == 200 and empty == b""
    assert head["Content-Length"] == str(len(body))
    for name in ("ETag", "Last-Modified", "Cache-Control", "Surrogate-Key", "Content-Type"):
        assert head[name] == got[name]


async def test_single_range_is_206_with_content_range(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, _, full = await fetch(session, base + "/obj/2?size=1000")
        status, headers, part = await fetch(session, base + "/obj/2?size=1000", Range="bytes=10-19")
        suffix_status, suffix_headers, suffix = await fetch(
            session, base + "/obj/2?size=1000", Range="bytes=-5"
        )
        open_status, open_headers, tail = await fetch(
            session, base + "/obj/2?size=1000", Range="bytes=990-5000"
        )
    assert status == 206 and part == full[10:20]
    assert headers["Content-Range"] == "bytes 10-19/1000"
    assert suffix_status == 206 and suffix == full[-5:]
    assert suffix_headers["Content-Range"] == "bytes 995-999/1000"
    assert open_status == 206 and tail == full[990:]
    assert open_headers["Content-Range"] == "bytes 990-999/1000"


async def test_large_range_is_streamed(start_origin) -> None:
    base = await start_origin(chunk_size=4096)
    async with aiohttp.ClientSession() as session:
        _, _, full = await fetch(session, base + "/obj/2?size=100000")
        status, _, part = await fetch(
            session, base + "/obj/2?size=100000", Range="bytes=5000-70000"
        )
    assert status == 206 and part == full[5000:70001]


async def test_unsatisfiable_range_is_416_with_the_size(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        status, headers, _ = await fetch(session, base + "/obj/2?size=1000", Range="bytes=1000-")
    assert status == 416
    assert headers["Content-Range"] == "bytes */1000"


async def test_malformed_or_foreign_unit_range_is_ignored(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        for value in ("bytes=abc", "bytes=5-2", "items=0-1", "bytes=", "bytes=-"):
            status, _, body = await fetch(session, base + "/obj/2?size=100", Range=value)
            assert status == 200 and len(body) == 100, value


async def test_multiple_ranges_are_multipart_byteranges(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, _, full = await fetch(session, base + "/obj/2?size=100")
        status, headers, body = await fetch(
            session, base + "/obj/2?size=100", Range="bytes=0-1,50-52"
        )
    assert status == 206
    kind, _, boundary = headers["Content-Type"].partition("; boundary=")
    assert kind == "multipart/byteranges"
    parts = body.split(f"--{boundary}".encode())
    assert parts[-1] == b"--\r\n"
    assert b"Content-Range: bytes 0-1/100\r\n\r\n" + full[0:2] + b"\r\n" in parts[1]
    assert b"Content-Range: bytes 50-52/100\r\n\r\n" + full[50:53] + b"\r\n" in parts[2]


async def test_overlapping_ranges_are_refused_by_sending_everything(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        status, _, body = await fetch(session, base + "/obj/2?size=100", Range="bytes=0-10,5-20")
    assert status == 200 and len(body) == 100


async def test_if_range_mismatch_sends_the_full_body(start_origin) -> None:
    base = await start_origin()
    async with aiohttp.ClientSession() as session:
        _, headers, _ = await fetch(session, base + "/obj/2?size=100")
        match, _, part = await fetch(
            session, base + "/obj/2?size=100", Range="bytes=0-9", **{"If-Range": headers["ETag"]}
        )
        stale, _, body = await fetch(
            session, base + "/obj/2?size=100", Range="bytes=0-9", **{"If-Range": '"old"'}
        )
        dated, _, _ = await fetch(
            session,
            base + "/obj/2?size=100",
            Range="bytes=0-9",
            **{"If-Range": headers["Last-Modified"]},
        )
    assert match == 206 and len(part) == 10
    assert stale == 200 and len(body) == 100
    assert dated == 206
