"""The gateway's rules, live, one behaviour each: signed cookies, usage-plan quota reset and
token-bucket rate (on an injected clock: no real waiting), CORS preflight refusals, every
cache-key option, allowed methods and TTL bounds. A scripted origin and an edge run in-process."""

from __future__ import annotations

import datetime
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from gateway_support import Clock, Reply, ScriptedOrigin

from cdn.gateway.behaviors import (
    ALLOWED_METHOD_SETS,
    ApiKey,
    Behavior,
    CacheKeyPolicy,
    Cors,
    Gateway,
    KeyGroup,
    UsagePlan,
)
from cdn.gateway.patterns import PathPattern
from cdn.gateway.throttling import Quota, Throttle

KEYS = Path(__file__).resolve().parents[2] / "configs" / "keys"
KEY_ID = "KCDNLABDEMO01"
API_KEY = "cdnlab-rules-key-0123456789"
START = 1_800_000_000.0  # 2027-01-15 08:00 UTC
CACHED = ("Cache-Control", "max-age=600")


def behavior(pattern: str, **rules: Any) -> Behavior:
    return Behavior(PathPattern(pattern), "origin", **rules)


GATEWAY = Gateway(
    (
        behavior("/signed/*", trusted_key_groups=("demo",)),
        behavior("/quota/*", api_key_required=True, usage_plan="daily"),
        behavior("/rate/*", api_key_required=True, usage_plan="rated"),
        behavior("/client/*", client_rate_limit=Throttle(rate=2, burst=3)),
        behavior("/q-none/*", cache_key=CacheKeyPolicy(query_strings="none")),
        behavior("/q-all/*", cache_key=CacheKeyPolicy(query_strings="all")),
        behavior("/q-sorted/*", cache_key=CacheKeyPolicy(normalize_query=True)),
        behavior("/h/*", cache_key=CacheKeyPolicy(headers=("x-lang",))),
        behavior("/k/*", cache_key=CacheKeyPolicy(cookies=("session",))),
        behavior("/ro/*", allowed_methods=ALLOWED_METHOD_SETS[0]),
        behavior(
            "/cors/*",
            allowed_methods=ALLOWED_METHOD_SETS[1],
            cors=Cors(("https://app.example",), ("GET", "PUT"), ("x-token",), max_age=120),
        ),
        behavior("/min/*", min_ttl=3600.0),
        behavior("/max/*", max_ttl=30.0),
        behavior("/default/*", default_ttl=45.0),
        behavior("*"),
    ),
    key_groups=(KeyGroup("demo", ((KEY_ID, (KEYS / f"{KEY_ID}.public.pem").read_text()),)),),
    usage_plans=(
        UsagePlan("daily", quota=Quota(2, "DAY")),
        UsagePlan("rated", throttle=Throttle(rate=4, burst=10)),
    ),
    api_keys=(ApiKey("alice", "daily", API_KEY), ApiKey("bob", "rated", API_KEY + "-bob")),
)


@pytest.fixture
async def site(start_edge_server) -> AsyncIterator[tuple[Any, str, Clock]]:
    """(scripted origin, edge URL, the clock both run on); every path answers max-age=600."""
    clock = Clock(START)
    origin = ScriptedOrigin(clock)
    await origin.start()
    server = await start_edge_server(
        origin.url,
        clock=clock,
        gateway=GATEWAY,
        api_key_values=(("alice", API_KEY), ("bob", API_KEY + "-bob")),
    )
    yield origin, server.url, clock
    await origin.stop()


def scripted(origin: Any, *targets: str, headers: tuple[tuple[str, str], ...] = (CACHED,)) -> None:
    for target in targets:
        origin.script(target, Reply(headers=headers, body=target.encode()))


async def status_of(http: Any, method: str, url: str, **headers: str) -> int:
    async with http.request(method, url, headers=headers, allow_redirects=False) as response:
        await response.read()
        return response.status


def signer() -> CloudFrontSigner:
    key = serialization.load_pem_private_key(
        (KEYS / f"{KEY_ID}.private.pem").read_bytes(), password=None
    )
    return CloudFrontSigner(
        KEY_ID,
        lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()),  # type: ignore[union-attr,call-arg,arg-type]
    )


def signed_cookies(resource: str, expires: float) -> str:
    """CloudFront's signed cookies for ``resource``: botocore's custom policy and signature
    (the same values as a signed URL's Policy, Signature and Key-Pair-Id)."""
    cf = signer()
    moment = datetime.datetime.fromtimestamp(expires, tz=datetime.UTC)
    policy = cf.build_policy(resource, moment)
    signed = cf.generate_presigned_url(resource, policy=policy)
    params = dict(parse_qsl(urlsplit(signed).query))
    return "; ".join(
        f"CloudFront-{name}={params[name]}" for name in ("Policy", "Signature", "Key-Pair-Id")
    )


async def test_signed_cookies_from_cloudfront_signer_are_accepted(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/signed/1")
    cookie = signed_cookies(url + "/signed/*", clock() + 600)
    assert await status_of(http, "GET", url + "/signed/1", Cookie=cookie) == 200


async def test_expired_signed_cookies_are_refused(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/signed/2")
    cookie = signed_cookies(url + "/signed/*", clock() - 1)
    assert await status_of(http, "GET", url + "/signed/2", Cookie=cookie) == 403


async def test_signed_cookies_for_another_resource_are_refused(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/signed/3")
    cookie = signed_cookies(url + "/other/*", clock() + 600)
    assert await status_of(http, "GET", url + "/signed/3", Cookie=cookie) == 403


async def test_a_quota_refuses_past_its_limit_and_resets_with_the_next_period(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/quota/1")
    key = {"x-api-key": API_KEY}
    assert [await status_of(http, "GET", url + "/quota/1", **key) for _ in range(3)] == [
        200,
        200,
        429,
    ]
    async with http.get(url + "/quota/1", headers=key) as response:
        assert json.loads(await response.read()) == {"message": "Limit Exceeded"}
        assert "detail=quota" in response.headers["Cache-Status"]
        wait = int(response.headers["Retry-After"])
    midnight = (int(clock()) // 86400 + 1) * 86400
    assert wait == midnight - int(clock())  # until the next UTC day
    clock.now = midnight - 1
    assert await status_of(http, "GET", url + "/quota/1", **key) == 429
    clock.now = midnight  # a new DAY: the count starts again
    assert await status_of(http, "GET", url + "/quota/1", **key) == 200


async def test_a_token_bucket_admits_the_burst_then_the_rate_over_5_seconds(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/rate/1")
    key = {"x-api-key": API_KEY + "-bob"}
    burst = [await status_of(http, "GET", url + "/rate/1", **key) for _ in range(11)]
    assert burst == [200] * 10 + [429]  # burst_limit 10 at once, then nothing
    admitted = 0
    start = clock.now
    while clock.now < start + 5.0:  # 5 s in steps of 50 ms, several attempts each
        clock.now = round(clock.now + 0.05, 6)
        for _ in range(2):
            admitted += await status_of(http, "GET", url + "/rate/1", **key) == 200
    assert abs(admitted - 4 * 5) <= 0.05 * 4 * 5  # rate_limit 4/s, within 5%


async def test_a_client_rate_limit_is_per_address(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/client/1")
    statuses = [await status_of(http, "GET", url + "/client/1") for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    clock.now += 0.5  # rate 2/s: one token back
    assert await status_of(http, "GET", url + "/client/1") == 200


async def test_a_cors_preflight_from_an_unknown_origin_is_403(site, http) -> None:
    origin, url, _ = site
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    assert await status_of(http, "OPTIONS", url + "/cors/1", **headers) == 403
    assert origin.fetches["/cors/1"] == 0


async def test_a_cors_preflight_lists_methods_headers_and_max_age(site, http) -> None:
    _, url, _ = site
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}
    async with http.options(url + "/cors/2", headers=headers) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Methods"] == "GET, PUT"
        assert response.headers["Access-Control-Allow-Headers"] == "x-token"
        assert response.headers["Access-Control-Max-Age"] == "120"


async def shared(http: Any, origin: Any, url: str, first: tuple, second: tuple) -> bool:
    """Whether two requests (target, headers) share one cache entry: the second is a hit."""
    for target, headers in (first, second):
        async with http.get(url + target, headers=headers) as response:
            await response.read()
            assert response.status == 200
    return response.headers["X-Cache"].startswith("HIT")


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (("/q-none/1?a=1", {}), ("/q-none/1?a=2", {}), True),
        (("/q-all/1?a=1", {}), ("/q-all/1?a=1", {"x-lang": "fr"}), True),
        (("/q-all/2?a=1", {}), ("/q-all/2?a=2", {}), False),
        (("/q-sorted/1?a=1&b=2", {}), ("/q-sorted/1?b=2&a=1", {}), True),
        (("/q-sorted/2?a=1&b=2", {}), ("/q-sorted/2?a=1&b=3", {}), False),
        (("/h/1", {"x-lang": "fr", "x-other": "1"}), ("/h/1", {"x-lang": "fr"}), True),
        (("/h/2", {"x-lang": "fr"}), ("/h/2", {"x-lang": "de"}), False),
        (("/k/1", {"Cookie": "session=a; t=1"}), ("/k/1", {"Cookie": "session=a; t=2"}), True),
        (("/k/2", {"Cookie": "session=a"}), ("/k/2", {"Cookie": "session=b"}), False),
    ],
)
async def test_each_cache_key_option(site, http, first, second, same) -> None:
    origin, url, _ = site
    scripted(origin, first[0], second[0])
    assert await shared(http, origin, url, first, second) is same


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
async def test_methods_outside_get_head_are_403_on_a_read_only_behavior(site, http, method) -> None:
    origin, url, _ = site
    assert await status_of(http, method, url + "/ro/1") == 403
    assert origin.fetches["/ro/1"] == 0


async def test_all_methods_pass_on_the_default_behavior(site, http) -> None:
    origin, url, _ = site
    scripted(origin, "/any/1", headers=())
    assert await status_of(http, "DELETE", url + "/any/1") == 200


def ttl_of(response: Any) -> int:
    return int(response.headers["Cache-Status"].split("ttl=")[1].split(";")[0])


@pytest.mark.parametrize(
    ("path", "origin_fields", "ttl"),
    [
        ("/min/1", (("Cache-Control", "max-age=5"),), 3600),  # raised to min_ttl
        ("/max/1", (CACHED,), 30),  # cut to max_ttl
        ("/default/1", (), 45),  # the origin says nothing: default_ttl
        ("/default/2", (("Cache-Control", "max-age=20"),), 20),  # the origin's, in bounds
    ],
)
async def test_ttl_bounds(site, http, path, origin_fields, ttl) -> None:
    origin, url, _ = site
    scripted(origin, path, headers=origin_fields)
    async with http.get(url + path) as response:
        await response.read()
        assert ttl_of(response) == ttl


def custom_url(url: str, expires: float, **conditions: Any) -> str:
    cf = signer()
    moment = datetime.datetime.fromtimestamp(expires, tz=datetime.UTC)
    return cf.generate_presigned_url(url, policy=cf.build_policy(url, moment, **conditions))


async def test_a_signed_url_used_before_its_start_is_refused(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/signed/4")
    start = datetime.datetime.fromtimestamp(clock() + 60, tz=datetime.UTC)
    signed = custom_url(url + "/signed/4", clock() + 600, date_greater_than=start)
    scripted(origin, signed.removeprefix(url))  # the origin gets the whole target
    assert await status_of(http, "GET", signed) == 403
    clock.now += 61
    assert await status_of(http, "GET", signed) == 200


async def test_a_signed_url_from_another_address_is_refused(site, http) -> None:
    origin, url, clock = site
    scripted(origin, "/signed/5")
    signed = custom_url(url + "/signed/5", clock() + 600, ip_address="10.0.0.0/8")
    assert await status_of(http, "GET", signed) == 403
    signed = custom_url(url + "/signed/5", clock() + 600, ip_address="127.0.0.1/32")
    scripted(origin, signed.removeprefix(url))
    assert await status_of(http, "GET", signed) == 200


async def test_a_signed_url_made_with_another_key_is_refused(site, http) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    origin, url, clock = site
    scripted(origin, "/signed/6")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = CloudFrontSigner(
        KEY_ID, lambda message: other.sign(message, padding.PKCS1v15(), hashes.SHA1())
    )
    moment = datetime.datetime.fromtimestamp(clock() + 600, tz=datetime.UTC)
    signed = forged.generate_presigned_url(url + "/signed/6", date_less_than=moment)
    assert await status_of(http, "GET", signed) == 403
    unknown = signer().generate_presigned_url(url + "/signed/6", date_less_than=moment)
    assert await status_of(http, "GET", unknown.replace(KEY_ID, "KUNKNOWN")) == 403
