"""The topology model: origin, shields, edges, workload, network, cost, as frozen values.

Rules: pure values; no parsing here (parse.py builds them from TOML). The reference for every
field is docs/topology.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cdn.cache.policies import POLICY_NAMES
from cdn.errors import ConfigError
from cdn.faults import Fault
from cdn.functions.cost import FunctionPrices
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import Trigger
from cdn.gateway.behaviors import Gateway
from cdn.geo import Point
from cdn.http.config import CacheConfig, node_cache_config

KNOWN_POLICIES = POLICY_NAMES  # the registry's names (cdn.cache.policies)
SIZE_DISTRIBUTIONS = ("lognormal", "pareto", "fixed")
ORIGIN_AUTHS = ("none", "sigv4")
ROLES = ("origin", "shield", "edge")
# What serves as the origin: the synthetic catalog (`cdn origin`), buckets on disk
# (`cdn storage`) or tables in SQLite (`cdn kv`).
ORIGIN_KINDS = ("synthetic", "storage", "kv")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a node or a user region is: a label (city name or "lat,lon"), a point, a continent."""

    label: str
    point: Point
    continent: str
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """One server of the CDN: the origin, a shield or an edge."""

    name: str
    role: str
    host: str
    port: int
    location: Location
    cache_size: int = 0
    policy: str = "lru"
    upstream: str | None = None
    # Upstreams tried after ``upstream`` when it fails, in order (``upstream = [a, b, c]``).
    fallbacks: tuple[str, ...] = ()
    group: str | None = None
    capacity_rps: float = 10_000.0
    workers: int = 1
    region: str = ""
    functions: tuple[tuple[Trigger, str], ...] = ()
    # An edge's HTTPS listener beside its HTTP one (None: none); its certificate comes from the
    # command line or is self-signed at start (docs/gateway.md).
    tls_port: int | None = None
    # The origin's kind (ORIGIN_KINDS); "storage": its data folder and public-read buckets;
    # "kv": its SQLite file (paths as written in the topology).
    kind: str = "synthetic"
    data: str | None = None
    public_read: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """Base URL of the node, e.g. ``http://127.0.0.1:8121``."""
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class CacheRule:
    """Response caching headers the origin sends for paths under ``prefix`` (longest prefix wins)."""

    prefix: str
    cache_control: str | None = "public, max-age=3600"
    expires_in: float | None = None
    vary: str | None = None
    surrogate_keys: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SizeDistribution:
    """Object sizes in bytes: lognormal(median, sigma), bounded pareto(alpha, min, max) or fixed."""

    dist: str = "lognormal"
    median: int = 24 * 1024
    sigma: float = 1.0
    alpha: float = 1.2
    min: int = 1
    max: int = 64 * 1024 * 1024
    value: int = 24 * 1024


@dataclass(frozen=True, slots=True)
class UserRegion:
    """A population of users around one location, with a relative weight."""

    name: str
    location: Location
    weight: float = 1.0


USER_WEIGHTS = ("population", "internet")
SIGNINGS = ("url", "cookies")  # how cdn load sends a path family's signatures


@dataclass(frozen=True, slots=True)
class Users:
    """Where requests come from: real cities (weighted by population or by Internet users), or
    explicit weighted regions; per-user traffic factors and continent shares adjust the weights."""

    source: str = "cities"
    cities: int = 200
    min_population: int = 0
    regions: tuple[UserRegion, ...] = ()
    weight: str = "population"
    traffic: tuple[tuple[str, float], ...] = ()
    shares: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class FlashCrowd:
    """From ``at`` for ``duration`` seconds, ``share`` of requests go to ``objects`` new hot objects."""

    at: float
    duration: float
    objects: int = 10
    share: float = 0.5


@dataclass(frozen=True, slots=True)
class QueryVariant:
    """Requests of a path family carry ``?<name>=<k>``, ``k`` uniform in ``0 .. values - 1``
    (tracking parameters, cache busters): a behavior's cache key keeps or drops it."""

    name: str
    values: int


@dataclass(frozen=True, slots=True)
class WorkloadPath:
    """One path family of a workload mix (``[[workload.paths]]``): objects whose path is
        ``path`` (with ``{id}``), ``share`` of the catalog (weights, normalised), and what the
        simulator sends with their requests: a query variant, ``api_keys`` simulated keys (each
        request uses one, uniformly), ``keyless_share`` without a key, ``post_share`` as POSTs,
        ``preflight_share`` as CORS preflights (what a browser sends before a cross-origin call),
        from ``clients`` client addresses (for per-client limits), and how the load generator signs
    them (``signing``). docs/simulator.md."""

    path: str
    share: float = 1.0
    query: QueryVariant | None = None
    api_keys: int = 1
    keyless_share: float = 0.0
    post_share: float = 0.0
    preflight_share: float = 0.0
    clients: int = 1000
    # How the load generator sends a signed behavior's signature: "url" (query parameters) or
    # "cookies" (CloudFront-Policy, -Signature, -Key-Pair-Id cookies); the simulator takes both
    # as validly signed.
    signing: str = "url"
    # What the origin serves these objects as (the simulator asks the core's should_compress
    # with it; the synthetic origin serves it, with a text body when it is compressible).
    content_type: str = "application/octet-stream"
    # Compressed size / identity size per coding on a compressing behavior (gzip, br); empty:
    # the core's COMPRESSION_RATIOS (cdn.gateway.compression).
    compression_ratio: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Workload:
    """The request stream: catalog, popularity, sizes, rate, users and how they change over time."""

    objects: int = 10_000
    zipf_alpha: float = 0.9
    size: SizeDistribution = field(default_factory=SizeDistribution)
    rate: float = 100.0
    duration: float = 60.0
    seed: int = 1
    path: str = "/obj/{id}"
    users: Users = field(default_factory=Users)
    daily_cycle: float = 0.0
    flash_crowds: tuple[FlashCrowd, ...] = ()
    new_objects_per_hour: float = 0.0
    # Storage writes: objects overwritten per second at the origin, each purged on every cache.
    writes_per_second: float = 0.0
    # An API's writes (a table origin): this share of all API calls are writes, each purging the
    # object it changes on every cache; ``rate`` stays the rate of reads the CDN sees.
    write_share: float = 0.0
    regional_share: float = 0.0
    regional_head: int = 0
    # A path mix (behaviors by path): the catalog's objects split over these families; empty:
    # every object has ``path``.
    paths: tuple[WorkloadPath, ...] = ()
    # Which normalised coding clients accept (br, gzip, identity) and their shares, summing to 1:
    # drawn per request (cdn.workload.draws.draw_coding) by the simulator and the load generator.
    accept_encoding: tuple[tuple[str, float], ...] = (("identity", 1.0),)

    @property
    def write_rate(self) -> float:
        """Writes per second at the origin: ``writes_per_second`` plus the API's writes, which
        are ``write_share`` of all calls when ``rate`` reads go through the CDN."""
        return self.writes_per_second + self.rate * self.write_share / (1.0 - self.write_share)


@dataclass(frozen=True, slots=True)
class Network:
    """Network model: route inflation, connection set-up, bandwidths, latency emulation on loopback."""

    route_inflation: float = 1.5
    emulate_latency: bool = False
    new_connection_share: float = 0.0
    tls: bool = True
    client_bandwidth_mbps: float = 100.0
    backbone_bandwidth_mbps: float = 1000.0
    origin_service_ms: float = 20.0
    # The live path's overheads (cdn.latency): a node taking up an event after idling, a fetch
    # beyond its round trip (from the origin; from a cache that passes it on, and one a cache
    # answers from its copy, None: as from the origin), the origin beyond its service time. 0
    # unless set here or measured by `cdn demo`'s calibration (demo.calibrate).
    wakeup_ms: float = 0.0
    fetch_overhead_ms: float = 0.0
    origin_overhead_ms: float = 0.0
    cached_fetch_overhead_ms: float | None = None
    relay_fetch_overhead_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Cost:
    """Prices: CDN egress per GB by region (continent code or custom region), origin egress,
    requests, and the storage origin's S3 prices (S3 Standard list prices, us-east-1: GET
    $0.0004 and PUT/COPY/POST/LIST $0.005 per 1,000 requests, $0.023 per GB-month)."""

    egress_per_gb: tuple[tuple[str, float], ...] = (("default", 0.085),)
    origin_egress_per_gb: float = 0.09
    per_10k_requests: float = 0.0075
    functions: FunctionPrices = field(default_factory=FunctionPrices)
    storage_get_per_1k: float = 0.0004
    storage_put_per_1k: float = 0.005
    storage_gb_month: float = 0.023

    def storage_cost(
        self, gets: int, puts: int, stored_bytes: int, seconds: float
    ) -> dict[str, float]:
        """What a storage origin costs over ``seconds``: its requests and its stored GB-months."""
        requests = gets / 1000 * self.storage_get_per_1k + puts / 1000 * self.storage_put_per_1k
        capacity = stored_bytes / 1e9 * self.storage_gb_month * seconds / (30 * 86400)
        return {"storage_requests": requests, "storage_capacity": capacity}

    def egress_price(self, region: str) -> float:
        """$/GB of CDN egress in ``region`` (the "default" price when the region has none)."""
        prices = dict(self.egress_per_gb)
        return prices.get(region, prices.get("default", 0.0))


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """Behaviour shared by all shields and edges (overridable per run on the `cdn edge` command line)."""

    max_cacheable_size: int = 64 * 1024 * 1024
    negative_ttl: float = 10.0
    stale_if_error: float = 0.0
    stale_while_revalidate: float = 0.0
    ignore_query_params: tuple[str, ...] = ()
    sort_query_params: bool = False
    collapse_timeout: float = 10.0
    collapse_max_waiters: int = 1000
    upstream_timeout: float = 30.0
    functions: tuple[tuple[Trigger, str], ...] = ()
    # "sigv4": requests to the origin are signed (CloudFront's origin access control for a
    # private storage bucket); keys from the environment (serving.sigv4_sign).
    origin_auth: str = "none"

    def cache_config(self) -> CacheConfig:
        """The core CacheConfig these settings give every shield and edge."""
        return node_cache_config(
            negative_ttl=self.negative_ttl,
            stale_if_error=self.stale_if_error,
            stale_while_revalidate=self.stale_while_revalidate,
        )


@dataclass(frozen=True, slots=True)
class Topology:
    """A whole CDN: its origins (``origin`` is the first, the one caches fetch from), shields,
    edges, and the workload and prices used to study it."""

    name: str
    source: str
    origin: Node
    shields: tuple[Node, ...]
    edges: tuple[Node, ...]
    workload: Workload
    network: Network
    cost: Cost
    cache_rules: tuple[CacheRule, ...]
    edge_settings: EdgeSettings
    gateway: Gateway | None = None  # behaviors etc.; parse_topology always sets one
    functions: tuple[FunctionSpec, ...] = ()
    # Fault scenario of the topology's [[fault]] tables (cdn.faults), in start order.
    faults: tuple[Fault, ...] = ()
    # The origins after the first of an ``[[origin]]`` list: run like the first (`cdn up`,
    # compose), fetched from only by behaviors that name them or their origin group.
    more_origins: tuple[Node, ...] = ()

    @property
    def origins(self) -> tuple[Node, ...]:
        """Every origin the topology runs: ``origin`` (the first) then ``more_origins``."""
        return (self.origin, *self.more_origins)

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every node: the origins first, then shields, then edges."""
        return (self.origin, *self.more_origins, *self.shields, *self.edges)

    @property
    def caches(self) -> tuple[Node, ...]:
        """Nodes that run a cache: shields then edges."""
        return (*self.shields, *self.edges)

    def node(self, name: str) -> Node:
        """The node called ``name``; ConfigError listing the names when there is none."""
        for node in self.nodes:
            if node.name == name:
                return node
        names = ", ".join(n.name for n in self.nodes)
        raise ConfigError(self.source, f"no node named {name!r}", f"one of {names}")

    def upstream_of(self, node: Node) -> Node | None:
        """The node ``node`` fetches its misses from (None for the origin)."""
        return None if node.upstream is None else self.node(node.upstream)

    def fallbacks_of(self, node: Node) -> tuple[Node, ...]:
        """The upstreams ``node`` tries after its first one fails, in order."""
        return tuple(self.node(name) for name in node.fallbacks)

    def peer_groups(self) -> dict[str, tuple[Node, ...]]:
        """Caches that shard keys between them, by group name (groups of one are left out)."""
        groups: dict[str, list[Node]] = {}
        for node in self.caches:
            if node.group:
                groups.setdefault(node.group, []).append(node)
        return {name: tuple(members) for name, members in groups.items() if len(members) > 1}

    def peers_of(self, node: Node) -> tuple[Node, ...]:
        """The members of ``node``'s peer group including itself (just itself when ungrouped)."""
        if not node.group:
            return (node,)
        return self.peer_groups().get(node.group, (node,))

    def function(self, name: str) -> FunctionSpec:
        """The ``[[function]]`` called ``name``; ConfigError listing the names when there is none."""
        for spec in self.functions:
            if spec.name == name:
                return spec
        names = ", ".join(f.name for f in self.functions) or "none"
        raise ConfigError(self.source, f"no function named {name!r}", f"one of {names}")

    def functions_of(self, node: Node) -> dict[Trigger, FunctionSpec]:
        """The function on each trigger of ``node``: its own associations over [edge_defaults]'."""
        names = dict(self.edge_settings.functions) if node.role == "edge" else {}
        names.update(dict(node.functions))
        return {trigger: self.function(name) for trigger, name in names.items()}

    def rule_for(self, path: str) -> CacheRule:
        """The cache rule with the longest prefix of ``path`` (the default rule when none matches)."""
        return rule_for(self.cache_rules, path)


DEFAULT_RULE = CacheRule(prefix="")


def rule_for(rules: Iterable[CacheRule], path: str) -> CacheRule:
    """The rule with the longest prefix of ``path`` (DEFAULT_RULE when none matches)."""
    best = DEFAULT_RULE
    for rule in rules:
        if path.startswith(rule.prefix) and len(rule.prefix) >= len(best.prefix):
            best = rule
    return best
