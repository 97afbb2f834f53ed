"""Settings of one edge (or shield) process: where it listens, what it fetches from, how it caches.

Rules: a frozen value built from a topology node and/or command-line flags; no I/O here except
reading ``$CDNLAB_NODE_URLS`` when asked (``node_urls_from_env``). The caching knobs shared by
every shield and edge (``cdn.topology.EdgeSettings``, the topology's ``[edge_defaults]``) take
their defaults from there and are copied from there by ``from_topology``; the core's
CacheConfig comes from ``cdn.http.node_cache_config``, as in the simulator.

Node URLs: in a topology every node is reached at ``http://host:port``. Where that is not true
(docker-compose: service names), ``CDNLAB_NODE_URLS="name=url,name=url"`` or the repeatable
``--upstream-url NAME=URL`` flag overrides the URL of the named nodes (upstream and peers).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import Trigger
from cdn.functions.values import OriginTarget
from cdn.gateway.behaviors import Gateway
from cdn.geo import Point, propagation_delay
from cdn.http import CacheConfig, node_cache_config
from cdn.topology import EdgeSettings as NodeDefaults
from cdn.topology import Topology
from serving.limits import ConnectionLimits

__all__ = [
    "FAST_PATH_ENV",
    "NODE_URLS_ENV",
    "EdgeSettings",
    "Fallback",
    "Peer",
    "api_key_values",
    "fast_path_enabled",
    "node_urls_from_env",
    "parse_node_urls",
]

NODE_URLS_ENV = "CDNLAB_NODE_URLS"
FAST_PATH_ENV = "CDNLAB_EDGE_FAST_PATH"
# The topology's defaults of the knobs every shield and edge shares.
_DEFAULTS = NodeDefaults()
# Those knobs' names: EdgeSettings has a field of the same name for each.
_NODE_KNOBS = tuple(f.name for f in fields(NodeDefaults))


@dataclass(frozen=True, slots=True)
class Peer:
    """Another cache of this node's peer group: its name, base URL and location (or None)."""

    name: str
    url: str
    location: Point | None = None


@dataclass(frozen=True, slots=True)
class Fallback:
    """An upstream tried after the first one failed: its name, base URL, kind and location."""

    name: str
    url: str
    kind: str = "shield"  # or "origin"
    location: Point | None = None


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """Everything ``edge.app.create_app`` needs; ``port=0`` picks a free port."""

    name: str = "edge"
    host: str = "127.0.0.1"
    port: int = 8120
    # Where misses go: a shield or the origin (base URL, no path).
    upstream_url: str = "http://127.0.0.1:8100"
    # "origin" or "shield": the ``upstream`` label of the upstream metrics.
    upstream_kind: str = "origin"
    upstream_name: str = "origin"
    # Upstreams tried in order when the first fails (topology: ``upstream = [a, b, ...]``).
    fallbacks: tuple[Fallback, ...] = ()
    # Host part of every cache key ("host:port" of the origin): one site per edge.
    site_host: str = "127.0.0.1:8100"
    # Peer group members other than this node (consistent-hash sharding); empty: no sharding.
    peers: tuple[Peer, ...] = ()
    location: Point | None = None
    upstream_location: Point | None = None
    emulate_latency: bool = False
    route_inflation: float = 1.5
    cache_size: int = 256 * 1024 * 1024
    policy: str = "lru"
    admin_token: str | None = None
    workers: int = 1
    access_log: bool = False
    # The knobs of cdn.topology.EdgeSettings ([edge_defaults]), overridable by flags.
    max_cacheable_size: int = _DEFAULTS.max_cacheable_size
    negative_ttl: float = _DEFAULTS.negative_ttl
    stale_if_error: float = _DEFAULTS.stale_if_error
    stale_while_revalidate: float = _DEFAULTS.stale_while_revalidate
    ignore_query_params: tuple[str, ...] = _DEFAULTS.ignore_query_params
    sort_query_params: bool = _DEFAULTS.sort_query_params
    collapse_timeout: float = _DEFAULTS.collapse_timeout
    collapse_max_waiters: int = _DEFAULTS.collapse_max_waiters
    upstream_timeout: float = _DEFAULTS.upstream_timeout
    # "sigv4": sign requests to the origin (not to shields or peers) with the keys in
    # $CDNLAB_ORIGIN_ACCESS_KEY / $CDNLAB_ORIGIN_SECRET_KEY (serving.sigv4_sign).
    origin_auth: str = _DEFAULTS.origin_auth
    connect_timeout: float = 5.0
    # An HTTPS listener beside the HTTP one (0: a free port; None: none), with this certificate
    # and key (PEM files; both None: a self-signed one is made at start, edge.server).
    tls_port: int | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    # A PEM file of CA certificates https origins are verified with (None: the system's).
    origin_ca_file: str | None = None
    hit_for_pass_seconds: float = 30.0
    # Longest wait for a peer's response head before asking the next owner (a hung peer).
    peer_timeout: float = 5.0
    # Peer health checks: seconds between probes of each peer's /_cdn/health.
    peer_check_interval: float = 2.0
    # Graceful shutdown: how long in-flight requests may take to finish.
    shutdown_timeout: float = 10.0
    # Plain hits answered from pre-rendered bytes, on arrival (edge.wire, edge.hits); off, every
    # request goes through aiohttp's handler and the cache step (same answers, for checks).
    # $CDNLAB_EDGE_FAST_PATH=0 turns it off for every edge of a process (edge.server).
    fast_path: bool = True
    # Header, body and idle timeouts and the connection cap (serving.limits).
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    cache_config: CacheConfig = field(default_factory=CacheConfig)
    # The topology's behaviors, keys and plans (cdn.gateway); None: no gateway checks at all.
    gateway: Gateway | None = None
    # A shield's: the topology's behaviors, for their TTL bounds only (a shield checks nothing
    # and keys by the target; its cache step bounds lifetimes as the edges' do).
    ttl_behaviors: Gateway | None = None
    # The topology's origin (behaviors name it) and node URLs by name (--upstream-url
    # overrides, and the topology's other [[origin]]s): a behavior with an origin group, another
    # [[origin]] or an [[external_origin]] fetches from those (edge.routes).
    origin_name: str = "origin"
    node_urls: tuple[tuple[str, str], ...] = ()
    # (api key name, value) pairs, ``value_env`` already read by ``api_key_values``.
    api_key_values: tuple[tuple[str, str], ...] = ()
    # Edge functions (edge.functions, docs/functions.md): this edge's function per trigger
    # ([edge_defaults] and its own table, or `cdn edge --function`), every [[function]] a
    # behavior may name, and the origins a function may choose (as shown in events, with the
    # base URL each is fetched from). Empty: the edge runs no functions at all.
    functions: tuple[tuple[Trigger, FunctionSpec], ...] = ()
    function_specs: tuple[FunctionSpec, ...] = ()
    function_origins: tuple[tuple[OriginTarget, str], ...] = ()

    def __post_init__(self) -> None:
        if self.cache_size < 0:
            raise ValueError(f"cache_size {self.cache_size} is negative (expected bytes >= 0)")
        if self.workers < 1:
            raise ValueError(f"workers {self.workers} < 1 (expected 1 or more)")
        if self.max_cacheable_size < 0:
            raise ValueError(f"max_cacheable_size {self.max_cacheable_size} is negative")
        for name in ("upstream_timeout", "connect_timeout", "collapse_timeout", "peer_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} {getattr(self, name)!r} must be > 0 seconds")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("a TLS certificate needs its key and a key its certificate")
        parts = urlsplit(self.upstream_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"upstream URL {self.upstream_url!r} is not an http URL "
                "(expected e.g. http://127.0.0.1:8100)"
            )
        # The core's config follows the edge knobs, so decide/absorb see the same policy
        # (the simulator builds its nodes' config with the same function).
        object.__setattr__(
            self,
            "cache_config",
            node_cache_config(
                negative_ttl=self.negative_ttl,
                stale_if_error=self.stale_if_error,
                stale_while_revalidate=self.stale_while_revalidate,
                hit_for_pass=self.hit_for_pass_seconds,
                base=self.cache_config,
            ),
        )

    def with_changes(self, **changes: Any) -> EdgeSettings:
        """A copy with ``changes`` (e.g. ``port=0`` in tests)."""
        return replace(self, **changes)

    @property
    def cache_status_name(self) -> str:
        """This cache's RFC 9211 name, e.g. ``cdnlab-edge-par``."""
        return f"{self.cache_config.cache_name}-{self.name}"

    def emulated_delay(self, other: Point | None) -> float:
        """Seconds to wait before a fetch from a node at ``other``: the round trip (2 x one-way).

        Zero unless the topology asks for emulated latency and both locations are known.
        """
        if not self.emulate_latency or self.location is None or other is None:
            return 0.0
        return 2.0 * propagation_delay(self.location, other, self.route_inflation)

    @classmethod
    def from_topology(
        cls,
        topology: Topology,
        node_name: str,
        node_urls: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> EdgeSettings:
        """Settings of the topology's cache node ``node_name`` (a shield or an edge).

        ``node_urls`` maps node names to base URLs where they differ from ``http://host:port``.
        ConfigError (from ``topology.node``) when there is no such node; ValueError for the origin.
        """
        node = topology.node(node_name)
        if node.role == "origin":
            raise ValueError(
                f"{topology.source}: {node_name!r} is the origin (expected a shield or edge name)"
            )
        urls = dict(node_urls or {})
        upstream = topology.upstream_of(node)
        assert upstream is not None  # a cache always has an upstream (validated by the topology)
        defaults = topology.edge_settings
        peers = tuple(
            Peer(peer.name, urls.get(peer.name, peer.url), peer.location.point)
            for peer in topology.peers_of(node)
            if peer.name != node.name
        )
        fallbacks = tuple(
            Fallback(
                other.name,
                urls.get(other.name, other.url),
                "origin" if other.role == "origin" else "shield",
                other.location.point,
            )
            for other in topology.fallbacks_of(node)
        )
        origin = topology.origin
        base = cls(
            name=node.name,
            host=node.host,
            port=node.port,
            upstream_url=urls.get(upstream.name, upstream.url),
            upstream_kind="origin" if upstream.role == "origin" else "shield",
            upstream_name=upstream.name,
            fallbacks=fallbacks,
            site_host=f"{origin.host}:{origin.port}",
            origin_name=origin.name,
            tls_port=node.tls_port,
            node_urls=tuple({**{o.name: o.url for o in topology.more_origins}, **urls}.items()),
            peers=peers,
            location=node.location.point,
            upstream_location=upstream.location.point,
            emulate_latency=topology.network.emulate_latency,
            route_inflation=topology.network.route_inflation,
            cache_size=node.cache_size,
            policy=node.policy,
            workers=node.workers,
            # Behaviors, keys and limits apply where viewers arrive: edges, not shields.
            gateway=topology.gateway if node.role == "edge" else None,
            ttl_behaviors=topology.gateway
            if node.role == "shield" and _bounds_ttl(topology.gateway)
            else None,
            api_key_values=api_key_values(topology.gateway, os.environ)
            if topology.gateway is not None and node.role == "edge"
            else (),
            **_function_fields(topology, node, urls),
            # Knobs the edge has ([edge_defaults] functions are resolved per node above).
            **{knob: getattr(defaults, knob) for knob in _NODE_KNOBS if knob in _EDGE_FIELDS},
        )
        return replace(base, **overrides)


_EDGE_FIELDS = frozenset(f.name for f in fields(EdgeSettings)) - {"functions"}


def _function_fields(topology: Topology, node: Any, urls: Mapping[str, str]) -> dict[str, Any]:
    """The function settings of ``node``: functions run where viewers arrive (edges only)."""
    if node.role != "edge" or not topology.functions:
        return {}
    origins = tuple(
        (OriginTarget(other.name, other.name, other.port), urls.get(other.name, other.url))
        for other in (*topology.origins, *topology.shields)
    )
    return {
        "functions": tuple(topology.functions_of(node).items()),
        "function_specs": topology.functions,
        "function_origins": origins,
    }


def _bounds_ttl(gateway: Gateway | None) -> bool:
    """Whether any behavior of ``gateway`` bounds the origin's lifetimes."""
    return gateway is not None and any(b.ttl_bounds is not None for b in gateway.behaviors)


def parse_node_urls(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["name=url", ...]`` as a dict; ValueError naming the item when one is malformed."""
    urls: dict[str, str] = {}
    for item in items:
        name, sep, url = item.partition("=")
        name, url = name.strip(), url.strip()
        parts = urlsplit(url)
        if not sep or not name or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"{item!r} is not NAME=URL (expected e.g. shield-fra=http://shield:8110)"
            )
        urls[name] = url.rstrip("/")
    return urls


def api_key_values(gateway: Gateway, environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(name, value) of each [[api_key]]: its ``value``, or ``environ[value_env]``.

    ValueError naming the key and the variable when a ``value_env`` is not set (or empty)."""
    values = []
    for key in gateway.api_keys:
        if key.value is not None:
            values.append((key.name, key.value))
            continue
        value = environ.get(key.value_env or "", "")
        if not value:
            raise ValueError(
                f"api_key {key.name!r}: environment variable {key.value_env} is not set "
                "(expected the key's value there, as value_env says)"
            )
        values.append((key.name, value))
    return tuple(values)


def fast_path_enabled(settings: EdgeSettings) -> bool:
    """Whether plain hits take the pre-rendered fast path: ``settings.fast_path``, unless
    ``$CDNLAB_EDGE_FAST_PATH=0`` (e.g. to run the live suite with it off)."""
    return settings.fast_path and os.environ.get(FAST_PATH_ENV, "1").strip() != "0"


def node_urls_from_env() -> dict[str, str]:
    """Node URL overrides from $CDNLAB_NODE_URLS (``name=url,name=url``)."""
    value = os.environ.get(NODE_URLS_ENV, "")
    return parse_node_urls([item for item in value.split(",") if item.strip()])
