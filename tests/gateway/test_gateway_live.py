"""The gateway in the live edge: a topology's behaviors, keys, plans and signed URLs over HTTP.

An origin and an edge run in-process (tests/live/conftest.py's fixtures); the edge gets the
gateway parsed from a topology file (configs/local.toml plus the tables below) and a fixed,
injected clock, so token buckets refill only when a test moves it.
"""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from cdn.topology import default_topology_path, load_topology
from edge.settings import api_key_values

KEYS = Path(__file__).resolve().parents[2] / "configs" / "keys"
KEY_ID = "KCDNLABDEMO01"
API_KEY = "cdnlab-test-key-0123456789"
NOW = float(int(time.time()))  # fixed for the test run, near the origin's Date

GATEWAY = f"""
[[key_group]]
name = "demo"
keys = [{{ id = "{KEY_ID}", public_key_file = "{KEYS / (KEY_ID + ".public.pem")}" }}]

[[usage_plan]]
name = "gold"
ratelimit_fields = "always"
throttle = {{ rate_limit = 1, burst_limit = 2 }}

[[api_key]]
name = "alice"
value_env = "CDNLAB_TEST_API_KEY"
usage_plan = "gold"

[[behavior]]
path_pattern = "/obj/1*"
api_key_required = true
usage_plan = "gold"

[[behavior]]
path_pattern = "/obj/2*"
trusted_key_groups = ["demo"]

[[behavior]]
path_pattern = "/obj/3*"
cache_key = {{ query_strings = ["v"] }}

[[behavior]]
path_pattern = "/obj/4*"
allowed_methods = ["GET", "HEAD"]

[[behavior]]
path_pattern = "/obj/5*"
allowed_methods = ["GET", "HEAD", "OPTIONS"]
cors = {{ allow_origins = ["https://app.example"], allow_methods = ["GET"], max_age = 300 }}

[[behavior]]
path_pattern = "/obj/7*"
max_ttl = "30s"

[[cache_rule]]  # the origin states no lifetime for /obj/9... (longest prefix wins)
prefix = "/obj/9"

[[behavior]]
path_pattern = "/obj/9*"
default_ttl = "45s"

[[behavior]]
path_pattern = "*"
"""


@pytest.fixture
def gateway_topology(tmp_path: Path) -> Any:
    """configs/local.toml with the gateway tables above."""
    path = tmp_path / "gateway.toml"
    path.write_text(default_topology_path().read_text() + GATEWAY)
    return load_topology(path)


@pytest.fixture
async def edge(start_origin, start_edge_server, gateway_topology) -> Any:
    """(origin URL, edge URL) with the gateway, on a fixed clock at NOW."""
    gateway = gateway_topology.gateway
    origin = await start_origin(gateway_topology)
    server = await start_edge_server(
        origin,
        clock=lambda: NOW,
        gateway=gateway,
        api_key_values=api_key_values(gateway, {"CDNLAB_TEST_API_KEY": API_KEY}),
    )
    return origin, server.url


def signer() -> CloudFrontSigner:
    """botocore's CloudFront signer with the demo private key."""
    pem = (KEYS / f"{KEY_ID}.private.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    return CloudFrontSigner(
        KEY_ID,
        lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()),  # type: ignore[union-attr,call-arg,arg-type]
    )


def at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


async def test_a_missing_api_key_is_403_forbidden(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/11") as response:
        body = await response.read()
        assert response.status == 403
        assert json.loads(body) == {"message": "Forbidden"}
        assert "detail=forbidden" in response.headers["Cache-Status"]
        assert response.headers["X-Cache"] == "ERROR"


async def test_an_unknown_api_key_is_403_forbidden(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/11", headers={"x-api-key": "x" * 24}) as response:
        assert response.status == 403
        assert json.loads(await response.read()) == {"message": "Forbidden"}


async def test_a_valid_api_key_is_served_with_ratelimit_fields(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/12", headers={"x-api-key": API_KEY}) as response:
        await response.read()
        assert response.status == 200
        assert "RateLimit-Policy" in response.headers
        assert "RateLimit" in response.headers


async def test_a_burst_over_the_plan_is_429_with_retry_after(edge, http) -> None:
    _, url = edge
    statuses = []
    for _ in range(3):  # burst 2, clock fixed: the third has no token
        async with http.get(url + "/obj/13", headers={"x-api-key": API_KEY}) as response:
            body = await response.read()
            statuses.append(response.status)
    assert statuses == [200, 200, 429]
    assert json.loads(body) == {"message": "Too Many Requests"}
    assert int(response.headers["Retry-After"]) >= 1
    assert "detail=throttled" in response.headers["Cache-Status"]


async def test_refusals_are_counted_by_category(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/11") as response:
        await response.read()
    async with http.get(url + "/_cdn/metrics") as response:
        text = await response.text()
    assert 'cdnlab_edge_gateway_refusals_total{category="forbidden",node="edge"} 1.0' in text


async def test_a_url_signed_with_cloudfront_signer_is_accepted(edge, http) -> None:
    _, url = edge
    signed = signer().generate_presigned_url(url + "/obj/21", date_less_than=at(NOW + 600))
    async with http.get(signed) as response:
        await response.read()
        assert response.status == 200


async def test_a_tampered_signed_url_is_refused(edge, http) -> None:
    _, url = edge
    signed = signer().generate_presigned_url(url + "/obj/21", date_less_than=at(NOW + 600))
    async with http.get(signed.replace("/obj/21", "/obj/22")) as response:
        body = await response.read()
        assert response.status == 403
        assert b"AccessDenied" in body and b"signature" not in body.lower()


async def test_an_expired_signed_url_is_refused(edge, http) -> None:
    _, url = edge
    signed = signer().generate_presigned_url(url + "/obj/21", date_less_than=at(NOW - 1))
    async with http.get(signed) as response:
        await response.read()
        assert response.status == 403
        assert "detail=unsigned" in response.headers["Cache-Status"]


async def test_an_unsigned_request_is_refused(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/21") as response:
        await response.read()
        assert response.status == 403


async def test_requests_differing_outside_the_key_allowlist_share_an_entry(
    edge, http, origin_fetches
) -> None:
    origin, url = edge
    for query in ("v=1&utm=a", "v=1&utm=b"):
        async with http.get(f"{url}/obj/31?{query}") as response:
            await response.read()
            assert response.status == 200
    assert await origin_fetches(origin, "/obj/31?v=1&utm=a") == 1
    assert await origin_fetches(origin, "/obj/31?v=1&utm=b") == 0


async def test_requests_differing_inside_the_key_allowlist_do_not_share(
    edge, http, origin_fetches
) -> None:
    origin, url = edge
    for query in ("v=1", "v=2"):
        async with http.get(f"{url}/obj/32?{query}") as response:
            await response.read()
    assert await origin_fetches(origin, "/obj/32?v=2") == 1


async def test_a_method_outside_allowed_methods_is_403(edge, http) -> None:
    _, url = edge
    async with http.post(url + "/obj/41", data=b"x") as response:
        await response.read()
        assert response.status == 403
        assert "detail=method" in response.headers["Cache-Status"]


async def test_a_cors_preflight_is_answered_at_the_edge(edge, http, origin_fetches) -> None:
    origin, url = edge
    headers = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    async with http.options(url + "/obj/51", headers=headers) as response:
        await response.read()
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert response.headers["Access-Control-Max-Age"] == "300"
    assert await origin_fetches(origin, "/obj/51") == 0


async def test_a_cors_request_gets_allow_origin_on_the_hit_too(edge, http) -> None:
    _, url = edge
    for _ in range(2):  # miss, then hit
        async with http.get(url + "/obj/52", headers={"Origin": "https://app.example"}) as r:
            await r.read()
            assert r.status == 200
            assert r.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert r.headers["X-Cache"].startswith("HIT")


async def test_hits_on_a_plain_behavior_keep_the_fast_path(edge, http) -> None:
    _, url = edge
    for _ in range(2):
        async with http.get(url + "/obj/61") as response:
            await response.read()
            assert response.status == 200
    assert response.headers["X-Cache"].startswith("HIT")


async def test_the_wire_fast_path_answers_plain_and_keyed_hits_taking_the_plans_tokens(
    start_origin, start_edge_server, gateway_topology, http
) -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    from edge.app import PROXY

    gateway = gateway_topology.gateway
    values = api_key_values(gateway, {"CDNLAB_TEST_API_KEY": API_KEY})
    server = await start_edge_server(
        await start_origin(), clock=lambda: NOW, gateway=gateway, api_key_values=values
    )
    for target, headers in (("/obj/61", {}), ("/obj/14", {"x-api-key": API_KEY})):
        async with http.get(server.url + target, headers=headers) as response:
            await response.read()
            assert response.status == 200  # the keyed one took 1 of the plan's 2 tokens
    wire_hit = server.app[PROXY].wire_hit
    fields = CIMultiDictProxy(CIMultiDict({"Host": "edge", "x-api-key": API_KEY}))
    assert wire_hit("GET", "/obj/61", fields) is not None  # stored, no check to make
    keyed = wire_hit("GET", "/obj/14", fields)  # stored, key known: the 2nd token
    assert keyed is not None
    head = b"".join(keyed[1]).split(b"\r\n\r\n")[0]
    assert b'\r\nRateLimit: "gold";r=0;' in head, head
    assert wire_hit("GET", "/obj/14", fields) is None  # no token left: handle answers 429
    async with http.get(server.url + "/obj/14", headers={"x-api-key": API_KEY}) as response:
        assert response.status == 429  # refused once, by handle: nothing taken twice


async def test_a_keyed_head_hit_carries_the_ratelimit_fields(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/17", headers={"x-api-key": API_KEY}) as response:
        body = await response.read()
    async with http.head(url + "/obj/17", headers={"x-api-key": API_KEY}) as response:
        assert response.status == 200 and response.headers["X-Cache"].startswith("HIT")
        assert response.headers["RateLimit"] == '"gold";r=0;t=0'
        assert response.headers["Content-Length"] == str(len(body))


async def test_a_stored_keyed_object_is_not_served_with_an_unknown_key(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/16", headers={"x-api-key": API_KEY}) as response:
        await response.read()
        assert response.status == 200
    # Same keep-alive connection: the wire path first, which must not know this key.
    async with http.get(url + "/obj/16", headers={"x-api-key": API_KEY + "-forged"}) as response:
        assert response.status == 403


async def test_max_ttl_bounds_the_origins_freshness(
    start_origin, start_edge_server, gateway_topology, http, origin_fetches
) -> None:
    now = [NOW]
    gateway = gateway_topology.gateway
    values = api_key_values(gateway, {"CDNLAB_TEST_API_KEY": API_KEY})
    origin = await start_origin()  # sends max-age=86400 for /obj/
    server = await start_edge_server(
        origin, clock=lambda: now[0], gateway=gateway, api_key_values=values
    )
    async with http.get(server.url + "/obj/71") as response:
        await response.read()
        assert "ttl=30" in response.headers["Cache-Status"]
    now[0] += 20
    async with http.get(server.url + "/obj/71") as response:
        await response.read()
        assert response.headers["X-Cache"].startswith("HIT")
    now[0] += 20  # 40 s: past max_ttl, though the origin said a day
    async with http.get(server.url + "/obj/71") as response:
        await response.read()
        assert not response.headers["X-Cache"].startswith("HIT")
    async with http.get(server.url + "/obj/81") as response:  # the default behavior: a day
        await response.read()
        ttl = int(response.headers["Cache-Status"].split("ttl=")[1].split(";")[0])
        assert ttl > 3600


async def test_default_ttl_applies_when_the_origin_states_no_lifetime(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/91") as response:
        await response.read()
        assert "Cache-Control" not in response.headers
        assert "ttl=45" in response.headers["Cache-Status"]


async def test_a_stored_keyed_object_is_not_served_without_the_key(edge, http) -> None:
    _, url = edge
    async with http.get(url + "/obj/15", headers={"x-api-key": API_KEY}) as response:
        await response.read()
        assert response.status == 200
    async with http.get(url + "/obj/15") as response:  # same keep-alive connection: wire path
        await response.read()
        assert response.status == 403


async def test_a_stored_signed_object_is_not_served_unsigned(edge, http) -> None:
    _, url = edge
    signed = signer().generate_presigned_url(url + "/obj/23", date_less_than=at(NOW + 600))
    for _ in range(2):  # stored, then a hit
        async with http.get(signed) as response:
            await response.read()
            assert response.status == 200
    async with http.get(url + "/obj/23") as response:
        await response.read()
        assert response.status == 403


async def test_the_wire_fast_path_answers_signed_hits_and_leaves_ip_policies_to_handle(
    start_origin, start_edge_server, gateway_topology, http
) -> None:
    from multidict import CIMultiDict, CIMultiDictProxy

    from edge.app import PROXY

    gateway = gateway_topology.gateway
    values = api_key_values(gateway, {"CDNLAB_TEST_API_KEY": API_KEY})
    server = await start_edge_server(
        await start_origin(), clock=lambda: NOW, gateway=gateway, api_key_values=values
    )
    plain = signer().generate_presigned_url(server.url + "/obj/24", date_less_than=at(NOW + 600))
    policy = signer().build_policy(server.url + "/obj/25", at(NOW + 600), ip_address="127.0.0.0/8")
    with_ip = signer().generate_presigned_url(server.url + "/obj/25", policy=policy)
    for url in (plain, with_ip):
        async with http.get(url) as response:
            await response.read()
            assert response.status == 200
    wire_hit = server.app[PROXY].wire_hit
    host = server.url.removeprefix("http://")
    fields = CIMultiDictProxy(CIMultiDict({"Host": host}))
    assert wire_hit("GET", plain.removeprefix(server.url), fields) is not None
    assert wire_hit("GET", "/obj/24", fields) is None  # unsigned: handle answers 403
    assert wire_hit("GET", with_ip.removeprefix(server.url), fields) is None  # needs the address
    async with http.get(with_ip) as response:  # handle checks it with the address: a hit
        await response.read()
        assert response.status == 200 and response.headers["X-Cache"].startswith("HIT")
