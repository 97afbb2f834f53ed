"""What `cdn load` sends for the topology's behaviors (loadgen.credentials): API keys drawn from
the workload's key population with its seed, and URLs signed by botocore's CloudFrontSigner
that the core's signature check accepts."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cdn.gateway.signed import Accepted, SignatureChecker, load_public_key
from cdn.topology import load_topology
from cdn.workload.catalog import Catalog
from loadgen.credentials import Credentials

GATEWAY = Path(__file__).resolve().parents[2] / "configs" / "gateway.toml"


def draws(seed: int, count: int = 4000) -> list[tuple[str, str | None]]:
    topology = load_topology(GATEWAY)
    catalog = Catalog(topology.workload)
    credentials = Credentials.of(topology, catalog, seed)
    assert credentials is not None
    sent = []
    for obj in range(count):
        method, path, variant = credentials.for_request(obj % 1000, catalog.path_of(obj % 1000))
        if method != "OPTIONS":  # CORS preflights (preflight_share) carry no key
            sent.append((path, credentials.variants[variant].get("x-api-key")))
    return sent


def test_api_calls_spread_over_the_key_population_with_a_keyless_share() -> None:
    sent = draws(seed=3)
    api = Counter(key for path, key in sent if path.startswith("/echo/"))
    assert len([k for k in api if k is not None]) == 4  # api_keys = 4, four [[api_key]]s
    keyless = api[None] / sum(api.values())
    assert 0.005 < keyless < 0.05  # keyless_share = 0.02
    assert {key for path, key in sent if not path.startswith("/echo/")} == {None}


def test_the_same_seed_sends_the_same_keys() -> None:
    def keys(seed: int) -> list[str | None]:
        return [key for _, key in draws(seed, count=500)]

    assert keys(3) == keys(3)
    assert keys(3) != keys(4)


def test_private_urls_carry_a_signature_the_edge_accepts() -> None:
    topology = load_topology(GATEWAY)
    path = next(p for p, _ in draws(seed=3, count=1000) if p.startswith("/obj/"))
    assert "Policy=" in path and "Key-Pair-Id=KCDNLABDEMO01" in path
    (key_id, pem), *_ = topology.gateway.key_groups[0].keys
    checker = SignatureChecker({key_id: load_public_key(key_id, pem)})
    query = dict(parse_qsl(urlsplit(path).query))
    for edge in ("http://127.0.0.1:8121", "https://127.0.0.1:8443"):  # any edge of the run
        verdict = checker.check(edge + path, query, {}, "127.0.0.1", time.time())
        assert isinstance(verdict, Accepted), verdict
