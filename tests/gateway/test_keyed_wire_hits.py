"""Keyed hits on the edge's wire fast path (edge.gateway.EdgeGateway.wire_hit): the RateLimit
lines are rendered once per policy and period, the RateLimit value per request, and every hit
must carry exactly the fields the core's ``ratelimit_fields`` gives for the quota at that moment.
An origin and an edge run in-process on a fixed, injected clock."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from multidict import CIMultiDict, CIMultiDictProxy

from cdn.gateway.throttling import ratelimit_fields
from cdn.topology import default_topology_path, load_topology
from edge.app import PROXY
from edge.settings import api_key_values

API_KEY = "cdnlab-wire-key-0123456789"
# Near the real time (the origin's Date), a quarter second into a second and never within a
# few seconds of midnight UTC (the quota's day must not end during the test).
_REAL = float(int(time.time())) + 0.25
_END = datetime.fromtimestamp(_REAL, UTC).replace(hour=0, minute=0, second=0) + timedelta(1)
NOW = _REAL - 10.0 if _END.timestamp() - _REAL < 5.0 else _REAL
DAY_ENDS = _END.timestamp()

GATEWAY = f"""
[[usage_plan]]
name = "gold"
ratelimit_fields = "always"
throttle = {{ rate_limit = 1000, burst_limit = 1000 }}
quota = {{ limit = 4, period = "DAY" }}

[[api_key]]
name = "alice"
value = "{API_KEY}"
usage_plan = "gold"

[[behavior]]
path_pattern = "/obj/1*"
api_key_required = true

[[behavior]]
path_pattern = "*"
"""


def header_lines(ready: tuple[int, tuple[bytes, ...]]) -> list[str]:
    """The header lines of a wire answer's bytes."""
    return b"".join(ready[1]).split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]


async def test_each_keyed_wire_hit_carries_the_quotas_fields_of_its_moment(
    tmp_path: Path, start_origin, start_edge_server, http
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(default_topology_path().read_text() + GATEWAY)
    topology = load_topology(path)
    gateway = topology.gateway
    now = [NOW]
    server = await start_edge_server(
        await start_origin(topology),
        clock=lambda: now[0],
        gateway=gateway,
        api_key_values=api_key_values(gateway, {}),
    )
    async with http.get(server.url + "/obj/12", headers={"x-api-key": API_KEY}) as response:
        await response.read()
        assert response.status == 200  # stored; the quota's 1st of 4
    wire_hit = server.app[PROXY].wire_hit
    fields = CIMultiDictProxy(CIMultiDict({"Host": "edge", "x-api-key": API_KEY}))
    for left, moment in ((3, 0.0), (2, 0.5), (1, 1.0)):  # the ;t= part changes with the second
        now[0] = NOW + moment
        ready = wire_hit("GET", "/obj/12", fields, "127.0.0.1", "http")
        assert ready is not None and ready[0] == 200
        policy, limit = ratelimit_fields("gold", 4, 86_400, left - 1, DAY_ENDS - now[0])
        lines = header_lines(ready)
        assert f"{policy[0]}: {policy[1]}" in lines and f"{limit[0]}: {limit[1]}" in lines, lines
        assert f'RateLimit: "gold";r={left - 1};t={math.ceil(DAY_ENDS - now[0])}' in lines
        assert lines.count(f"{policy[0]}: {policy[1]}") == 1
    assert wire_hit("GET", "/obj/12", fields, "127.0.0.1", "http") is None  # quota spent: handle
    async with http.get(server.url + "/obj/12", headers={"x-api-key": API_KEY}) as response:
        assert response.status == 429
        assert response.headers["RateLimit"].startswith('"gold";r=0;')


THROTTLE_ONLY = f"""
[[usage_plan]]
name = "bronze"
ratelimit_fields = "always"
throttle = {{ rate_limit = 1, burst_limit = 3 }}

[[api_key]]
name = "bob"
value = "{API_KEY}"
usage_plan = "bronze"

[[behavior]]
path_pattern = "/obj/1*"
api_key_required = true

[[behavior]]
path_pattern = "*"
"""


async def test_keyed_wire_hits_of_a_throttle_only_plan_carry_the_buckets_fields(
    tmp_path: Path, start_origin, start_edge_server, http
) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(default_topology_path().read_text() + THROTTLE_ONLY)
    topology = load_topology(path)
    gateway = topology.gateway
    server = await start_edge_server(
        await start_origin(topology),
        clock=lambda: NOW,  # time stands still: no token comes back
        gateway=gateway,
        api_key_values=api_key_values(gateway, {}),
    )
    async with http.get(server.url + "/obj/12", headers={"x-api-key": API_KEY}) as response:
        await response.read()
        assert response.status == 200  # stored; the bucket's 1st of 3 tokens
    wire_hit = server.app[PROXY].wire_hit
    fields = CIMultiDictProxy(CIMultiDict({"Host": "edge", "x-api-key": API_KEY}))
    for left in (2, 1):
        ready = wire_hit("GET", "/obj/12", fields, "127.0.0.1", "http")
        assert ready is not None and ready[0] == 200
        policy, limit = ratelimit_fields("bronze", 3, 3.0, left - 1, 0.0)
        lines = header_lines(ready)
        assert f"{policy[0]}: {policy[1]}" in lines and f"{limit[0]}: {limit[1]}" in lines, lines
    assert wire_hit("GET", "/obj/12", fields, "127.0.0.1", "http") is None  # empty: handle
    async with http.get(server.url + "/obj/12", headers={"x-api-key": API_KEY}) as response:
        assert response.status == 429
        assert response.headers["RateLimit"] == '"bronze";r=0;t=1'
