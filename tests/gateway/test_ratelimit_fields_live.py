"""A usage plan's ``ratelimit_fields`` on the live edge, over HTTP: "throttled" (the default, API
Gateway's way) sends ``RateLimit-Policy`` and ``RateLimit`` on the plan's 429s only (with
``Retry-After``), "always" also on admitted responses. Admitted keyed hits still take from the
plan's bucket and quota, on the wire fast path too.

An origin and an edge run in-process (tests/live/conftest.py's fixtures) on a fixed, injected
clock, so buckets refill only when a test moves it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from cdn.topology import default_topology_path, load_topology
from edge.app import PROXY
from edge.settings import api_key_values

QUIET = "cdnlab-quiet-key-0123456789"
DAILY = "cdnlab-daily-key-0123456789"
LOUD = "cdnlab-loud-key-01234567890"
NOW = float(int(time.time())) + 0.25  # fixed for the test run, near the origin's Date

GATEWAY = f"""
[[usage_plan]]
name = "quiet"
throttle = {{ rate_limit = 1, burst_limit = 3 }}

[[usage_plan]]
name = "daily"
quota = {{ limit = 2, period = "DAY" }}

[[usage_plan]]
name = "loud"
ratelimit_fields = "always"
throttle = {{ rate_limit = 1, burst_limit = 3 }}

[[api_key]]
name = "alice"
value = "{QUIET}"
usage_plan = "quiet"

[[api_key]]
name = "bob"
value = "{DAILY}"
usage_plan = "daily"

[[api_key]]
name = "carol"
value = "{LOUD}"
usage_plan = "loud"

[[behavior]]
path_pattern = "/obj/1*"
api_key_required = true

[[behavior]]
path_pattern = "/obj/2*"
api_key_required = true
client_rate_limit = {{ rate_limit = 100, burst_limit = 100 }}

[[behavior]]
path_pattern = "*"
"""


@pytest.fixture
async def edge(tmp_path: Path, start_origin, start_edge_server) -> Any:
    """The edge server (configs/local.toml plus the tables above) on a fixed clock at NOW."""
    path = tmp_path / "gateway.toml"
    path.write_text(default_topology_path().read_text() + GATEWAY)
    topology = load_topology(path)
    gateway = topology.gateway
    return await start_edge_server(
        await start_origin(topology),
        clock=lambda: NOW,
        gateway=gateway,
        api_key_values=api_key_values(gateway, {}),
    )


def has_ratelimit_fields(headers: Any) -> bool:
    return "RateLimit" in headers or "RateLimit-Policy" in headers


async def test_an_admitted_keyed_miss_carries_no_ratelimit_fields_by_default(edge, http) -> None:
    async with http.get(edge.url + "/obj/11", headers={"x-api-key": QUIET}) as response:
        await response.read()
        assert response.status == 200 and response.headers["X-Cache"] != "HIT"
        assert not has_ratelimit_fields(response.headers)


async def test_an_admitted_keyed_hit_carries_no_ratelimit_fields_by_default(edge, http) -> None:
    for _ in range(2):
        async with http.get(edge.url + "/obj/12", headers={"x-api-key": QUIET}) as response:
            await response.read()
    assert response.status == 200 and response.headers["X-Cache"].startswith("HIT")
    assert not has_ratelimit_fields(response.headers)


async def test_a_keyed_head_hit_carries_no_ratelimit_fields_by_default(edge, http) -> None:
    async with http.get(edge.url + "/obj/13", headers={"x-api-key": QUIET}) as response:
        body = await response.read()
    async with http.head(edge.url + "/obj/13", headers={"x-api-key": QUIET}) as response:
        assert response.status == 200 and response.headers["X-Cache"].startswith("HIT")
        assert not has_ratelimit_fields(response.headers)
        assert response.headers["Content-Length"] == str(len(body))


async def test_the_wire_fast_path_answers_a_quiet_keyed_hit_taking_a_token(edge, http) -> None:
    async with http.get(edge.url + "/obj/14", headers={"x-api-key": QUIET}) as response:
        await response.read()  # stored; the 1st of the burst's 3 tokens
    wire_hit = edge.app[PROXY].wire_hit
    fields = CIMultiDictProxy(CIMultiDict({"Host": "edge", "x-api-key": QUIET}))
    for _ in range(2):  # the 2nd and 3rd tokens
        ready = wire_hit("GET", "/obj/14", fields, "127.0.0.1", "http")
        assert ready is not None and ready[0] == 200
        assert b"\r\nRateLimit" not in b"".join(ready[1]).split(b"\r\n\r\n")[0]
    assert wire_hit("GET", "/obj/14", fields, "127.0.0.1", "http") is None  # no token: handle


async def test_keyed_hits_take_tokens_and_the_throttled_429_carries_the_fields(edge, http) -> None:
    for _ in range(3):  # a miss and two hits: the burst's 3 tokens
        async with http.get(edge.url + "/obj/15", headers={"x-api-key": QUIET}) as response:
            await response.read()
            assert response.status == 200
    async with http.get(edge.url + "/obj/15", headers={"x-api-key": QUIET}) as response:
        body = await response.read()
        assert response.status == 429
        assert json.loads(body) == {"message": "Too Many Requests"}
        assert response.headers["Retry-After"] == "1"
        assert response.headers["RateLimit-Policy"] == '"quiet";q=3;w=3'
        assert response.headers["RateLimit"] == '"quiet";r=0;t=1'


async def test_over_the_quota_the_429_carries_the_quotas_fields(edge, http) -> None:
    for _ in range(2):
        async with http.get(edge.url + "/obj/16", headers={"x-api-key": DAILY}) as response:
            await response.read()
            assert response.status == 200 and not has_ratelimit_fields(response.headers)
    async with http.get(edge.url + "/obj/16", headers={"x-api-key": DAILY}) as response:
        body = await response.read()
        assert response.status == 429
        assert json.loads(body) == {"message": "Limit Exceeded"}
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["RateLimit-Policy"] == '"daily";q=2;w=86400'
        assert response.headers["RateLimit"].startswith('"daily";r=0;t=')


async def test_a_plan_with_always_sends_the_fields_on_admitted_hits(edge, http) -> None:
    for left in (2, 1):  # a miss, then a hit
        async with http.get(edge.url + "/obj/17", headers={"x-api-key": LOUD}) as response:
            await response.read()
            assert response.status == 200
            assert response.headers["RateLimit-Policy"] == '"loud";q=3;w=3'
            assert response.headers["RateLimit"] == f'"loud";r={left};t=0'
    assert response.headers["X-Cache"].startswith("HIT")


async def test_a_client_limited_behavior_admits_a_quiet_plans_hits_without_fields(
    edge, http
) -> None:
    for _ in range(2):
        async with http.get(edge.url + "/obj/21", headers={"x-api-key": QUIET}) as response:
            await response.read()
            assert response.status == 200 and not has_ratelimit_fields(response.headers)
    assert response.headers["X-Cache"].startswith("HIT")
