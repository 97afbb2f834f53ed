"""Topology files: TOML to a validated Topology, with errors that name the file and the key.

Rules: reads only the file it is handed; every error is a ConfigError naming the file, the key
(e.g. ``edge[2].cache_size``) and what was expected. Unknown keys are errors too, so a typo never
silently falls back to a default. docs/topology.md is the reference for every key.

Over 400 lines on purpose: one reader function per topology table, each short, kept beside
the others so the file reads as the schema (docs/topology.md) in code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from cdn import builtin
from cdn.cities import CONTINENTS, find_city
from cdn.errors import ConfigError
from cdn.faults import parse_faults
from cdn.functions.cost import FunctionPrices
from cdn.gateway.compression import CODINGS
from cdn.geo import Point
from cdn.tables import TableReader, read_toml
from cdn.topology.functions import check_functions, parse_associations, parse_functions
from cdn.topology.gateway import parse_gateway
from cdn.topology.model import (
    KNOWN_POLICIES,
    ORIGIN_AUTHS,
    ORIGIN_KINDS,
    SIGNINGS,
    SIZE_DISTRIBUTIONS,
    USER_WEIGHTS,
    CacheRule,
    Cost,
    EdgeSettings,
    FlashCrowd,
    Location,
    Network,
    Node,
    QueryVariant,
    SizeDistribution,
    Topology,
    UserRegion,
    Users,
    Workload,
    WorkloadPath,
)


def _location(reader: TableReader) -> Location:
    has_city = reader.has("city")
    has_point = reader.has("lat") or reader.has("lon")
    if has_city and has_point:
        raise reader.fail("city", "both city and lat/lon are given", "one of them")
    if has_city:
        name = reader.text("city", None)
        try:
            city = find_city(name)
        except KeyError as exc:
            raise reader.fail("city", exc.args[0]) from None
        return Location(
            label=city.name, point=city.point, continent=city.continent, timezone=city.timezone
        )
    if has_point:
        lat = reader.number("lat", 0.0, minimum=-90, maximum=90)
        lon = reader.number("lon", 0.0, minimum=-180, maximum=180)
        continent = reader.text("continent", "NA", tuple(CONTINENTS))
        return Location(label=f"{lat:.2f},{lon:.2f}", point=Point(lat, lon), continent=continent)
    raise reader.fail("city", "missing", "a city name like 'Paris', or lat and lon")


def _upstreams(reader: TableReader, default: str | None) -> tuple[str | None, tuple[str, ...]]:
    """``upstream = "shield-fra"`` or, tried in order on failure, ``["shield-fra", "shield-lon"]``."""
    names = reader.listed("upstream")
    if names is None:
        return default, ()
    expected = 'a node name, or a list of them tried in order (["shield-fra", "origin"])'
    if not all(isinstance(name, str) and name for name in names):
        raise reader.fail("upstream", f"{names!r} has the wrong type", expected)
    if len(set(names)) != len(names):
        raise reader.fail("upstream", f"{names!r} names a node twice", expected)
    return names[0], tuple(names[1:])


def _tls_port(reader: TableReader) -> int | None:
    port = reader.integer("tls_port", None, minimum=1)
    if port is not None and port > 65535:
        raise reader.fail("tls_port", f"{port} is out of range", "a port from 1 to 65535")
    return port


def _node(reader: TableReader, role: str, default_upstream: str | None, port_base: int) -> Node:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "a node name like 'edge-par'")
    location = _location(reader)
    port = reader.integer("port", port_base, minimum=1)
    if port > 65535:
        raise reader.fail("port", f"{port} is out of range", "a port from 1 to 65535")
    upstream, fallbacks = _upstreams(reader, default_upstream) if role != "origin" else (None, ())
    node = Node(
        name=name,
        role=role,
        host=reader.text("host", "127.0.0.1"),
        port=port,
        location=location,
        cache_size=reader.size("cache_size", 0 if role == "origin" else 256 * 1024 * 1024),
        policy=reader.text("policy", "lru", KNOWN_POLICIES) if role != "origin" else "lru",
        upstream=upstream,
        fallbacks=fallbacks,
        group=reader.text("group", None) if role != "origin" else None,
        capacity_rps=reader.number("capacity_rps", 10_000.0, minimum=1e-9),
        workers=reader.integer("workers", 1, minimum=1),
        region=reader.text("region", location.continent),
        functions=parse_associations(reader) if role == "edge" else (),
        tls_port=_tls_port(reader) if role == "edge" else None,
        **(_origin_kind(reader) if role == "origin" else {}),
    )
    reader.done()
    return node


def _origin_kind(reader: TableReader) -> dict[str, Any]:
    """``kind`` of the origin and that kind's own keys (``storage``: ``data``, ``public_read``;
    ``kv``: ``data``, its SQLite file)."""
    kind = reader.choice("kind", "synthetic", ORIGIN_KINDS)
    data = reader.text("data", None)
    if kind == "synthetic":
        if data is not None:
            raise reader.fail("data", 'is only for kind = "storage" or "kv"', "no data key")
        return {"kind": kind}
    if not data:
        raise reader.fail(
            "data",
            "missing",
            'the data folder of a storage origin (e.g. "out/buckets") '
            'or the SQLite file of a kv origin (e.g. "tables.sqlite")',
        )
    if kind == "kv":
        return {"kind": kind, "data": data}
    public_read = tuple(str(name) for name in reader.listed("public_read") or ())
    return {"kind": kind, "data": data, "public_read": public_read}


def _size_distribution(reader: TableReader) -> SizeDistribution:
    dist = reader.text("dist", "lognormal", SIZE_DISTRIBUTIONS)
    result = SizeDistribution(
        dist=dist,
        median=reader.size("median", 24 * 1024),
        sigma=reader.number("sigma", 1.0, minimum=0),
        alpha=reader.number("alpha", 1.2, minimum=1e-9),
        min=reader.size("min", 1),
        max=reader.size("max", 64 * 1024 * 1024),
        value=reader.size("value", 24 * 1024),
    )
    if result.min > result.max:
        raise reader.fail("min", f"min {result.min} > max {result.max}", "min <= max")
    if result.min < 1:
        raise reader.fail("min", f"{result.min} is out of range", "at least 1 byte")
    reader.done()
    return result


def _code_table(
    reader: TableReader, key: str, expected: str, maximum: float | None
) -> tuple[tuple[str, float], ...]:
    """A table of region code (continent, ISO country code or "default") -> number."""
    table = reader.get(key, dict, {}, "a table like { EU = 1.2, US = 1.5, default = 1 }")
    result = []
    for code, value in table.items():
        bad = isinstance(value, bool) or not isinstance(value, int | float) or value < 0
        if bad or (maximum is not None and value > maximum):
            raise reader.fail(f"{key}.{code}", f"{value!r} is out of range", expected)
        result.append((str(code), float(value)))
    return tuple(result)


def _users(reader: TableReader) -> Users:
    source = reader.text("source", "cities", ("cities", "regions"))
    regions = []
    for region in reader.children("region"):
        regions.append(
            UserRegion(
                name=region.text("name", None) or region.where("name"),
                location=_location(region),
                weight=region.number("weight", 1.0, minimum=0),
            )
        )
        region.done()
    users = Users(
        source=source,
        cities=reader.integer("cities", 200, minimum=1),
        min_population=reader.integer("min_population", 0, minimum=0),
        regions=tuple(regions),
        weight=reader.text("weight", "population", USER_WEIGHTS),
        traffic=_code_table(reader, "traffic", "a per-user traffic factor >= 0", maximum=None),
        shares=_code_table(reader, "shares", "a share of requests from 0 to 1", maximum=1.0),
    )
    if source == "regions" and users.weight != "population":
        raise reader.fail(
            "weight",
            f"{users.weight!r} with source = 'regions'",
            "weight only with source = 'cities'",
        )
    for code, _ in users.shares:
        if code not in CONTINENTS:
            raise reader.fail(
                f"shares.{code}", f"{code!r} is not a continent code", ", ".join(CONTINENTS)
            )
    if sum(share for _, share in users.shares) > 1.0 + 1e-9:
        raise reader.fail("shares", "the shares add up to more than 1", "shares summing to <= 1")
    if source == "regions" and not regions:
        raise reader.fail("region", "missing", "at least one [[workload.users.region]]")
    reader.done()
    return users


def _path_template(reader: TableReader, key: str, default: str | None) -> str:
    path = reader.text(key, default)
    if path is None or "{id}" not in path or not path.startswith("/") or "?" in path:
        raise reader.fail(
            key, f"{path!r} has no {{id}}, a '?' or does not start with /", "like '/obj/{id}'"
        )
    return path


def _workload_path(reader: TableReader) -> WorkloadPath:
    path = _path_template(reader, "path", None)
    query_reader = reader.child("query")
    query = None
    if query_reader.table:
        name = query_reader.text("name", None)
        if not name:
            raise query_reader.fail("name", "missing", "a query parameter name, e.g. 'utm'")
        query = QueryVariant(name, query_reader.integer("values", 10, minimum=1))
        query_reader.done()
    family = WorkloadPath(
        path=path,
        share=reader.number("share", 1.0, minimum=1e-12),
        query=query,
        api_keys=reader.integer("api_keys", 1, minimum=1),
        keyless_share=reader.number("keyless_share", 0.0, minimum=0, maximum=1),
        post_share=reader.number("post_share", 0.0, minimum=0, maximum=1),
        preflight_share=reader.number("preflight_share", 0.0, minimum=0, maximum=1),
        clients=reader.integer("clients", 1000, minimum=1),
        signing=reader.text("signing", "url", SIGNINGS),
        content_type=_content_type(reader),
        compression_ratio=_compression_ratio(reader),
    )
    reader.done()
    return family


def _content_type(reader: TableReader) -> str:
    value = reader.text("content_type", "application/octet-stream")
    if "/" not in value.split(";", 1)[0]:
        raise reader.fail("content_type", f"{value!r} is not a media type", "like 'text/html'")
    return value


def _compression_ratio(reader: TableReader) -> tuple[tuple[str, float], ...]:
    """``compression_ratio = { gzip = 0.3, br = 0.25 }``: compressed / identity size."""
    table = reader.get("compression_ratio", dict, {}, "a table like { gzip = 0.3, br = 0.25 }")
    result = []
    for coding, value in table.items():
        if coding not in ("gzip", "br"):
            raise reader.fail(
                f"compression_ratio.{coding}", f"{coding!r} is not a coding", "gzip or br"
            )
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or not 0 < value <= 1:
            raise reader.fail(
                f"compression_ratio.{coding}",
                f"{value!r} is out of range",
                "compressed / identity size, above 0 and at most 1",
            )
        result.append((str(coding), float(value)))
    return tuple(result)


def _accept_encoding(reader: TableReader) -> tuple[tuple[str, float], ...]:
    """``accept_encoding = { br = 0.7, gzip = 0.25, identity = 0.05 }``: shares of clients by
    the coding they accept (normalised as the edge does), summing to 1."""
    expected = "a table like { br = 0.7, gzip = 0.25, identity = 0.05 }, shares summing to 1"
    table = reader.get("accept_encoding", dict, {"identity": 1.0}, expected)
    result = []
    for coding, value in table.items():
        if coding not in CODINGS:
            raise reader.fail(
                f"accept_encoding.{coding}", f"{coding!r} is not a coding", ", ".join(CODINGS)
            )
        bad = isinstance(value, bool) or not isinstance(value, int | float)
        if bad or not 0 <= value <= 1:
            raise reader.fail(
                f"accept_encoding.{coding}", f"{value!r} is out of range", "a share from 0 to 1"
            )
        if value > 0:
            result.append((str(coding), float(value)))
    total = sum(share for _, share in result)
    if abs(total - 1.0) > 1e-6:
        raise reader.fail("accept_encoding", f"the shares add up to {total:g}", expected)
    return tuple(result)


def _workload(reader: TableReader) -> Workload:
    crowds = []
    for crowd in reader.children("flash_crowd"):
        crowds.append(
            FlashCrowd(
                at=crowd.duration("at", 0.0),
                duration=crowd.duration("duration", 60.0),
                objects=crowd.integer("objects", 10, minimum=1),
                share=crowd.number("share", 0.5, minimum=0, maximum=1),
            )
        )
        crowd.done()
    path = reader.text("path", "/obj/{id}")
    if "{id}" not in path or not path.startswith("/"):
        raise reader.fail(
            "path", f"{path!r} has no {{id}} or does not start with /", "like '/obj/{id}'"
        )
    paths = tuple(_workload_path(r) for r in reader.children("paths"))
    templates = [p.path for p in paths]
    if len(set(templates)) != len(templates):
        raise reader.fail("paths", f"{templates} repeats a path", "one entry per path")
    workload = Workload(
        objects=reader.integer("objects", 10_000, minimum=1),
        zipf_alpha=reader.number("zipf_alpha", 0.9, minimum=0),
        size=_size_distribution(reader.child("size")),
        rate=reader.number("rate", 100.0, minimum=1e-9),
        duration=reader.duration("duration", 60.0),
        seed=reader.integer("seed", 1),
        path=path,
        users=_users(reader.child("users")),
        daily_cycle=reader.number("daily_cycle", 0.0, minimum=0, maximum=1),
        flash_crowds=tuple(crowds),
        new_objects_per_hour=reader.number("new_objects_per_hour", 0.0, minimum=0),
        writes_per_second=reader.number("writes_per_second", 0.0, minimum=0),
        write_share=reader.number("write_share", 0.0, minimum=0, maximum=0.99),
        regional_share=reader.number("regional_share", 0.0, minimum=0, maximum=1),
        regional_head=reader.integer("regional_head", 0, minimum=0),
        paths=paths,
        accept_encoding=_accept_encoding(reader),
    )
    reader.done()
    return workload


def _network(reader: TableReader) -> Network:
    network = Network(
        route_inflation=reader.number("route_inflation", 1.5, minimum=1.0),
        emulate_latency=reader.boolean("emulate_latency", False),
        new_connection_share=reader.number("new_connection_share", 0.0, minimum=0, maximum=1),
        tls=reader.boolean("tls", True),
        client_bandwidth_mbps=reader.number("client_bandwidth_mbps", 100.0, minimum=1e-9),
        backbone_bandwidth_mbps=reader.number("backbone_bandwidth_mbps", 1000.0, minimum=1e-9),
        origin_service_ms=reader.number("origin_service_ms", 20.0, minimum=0),
        wakeup_ms=reader.number("wakeup_ms", 0.0, minimum=0),
        fetch_overhead_ms=reader.number("fetch_overhead_ms", 0.0, minimum=0),
        origin_overhead_ms=reader.number("origin_overhead_ms", 0.0, minimum=0),
        cached_fetch_overhead_ms=reader.number("cached_fetch_overhead_ms", None, minimum=0),
        relay_fetch_overhead_ms=reader.number("relay_fetch_overhead_ms", None, minimum=0),
    )
    reader.done()
    return network


def _cost(reader: TableReader) -> Cost:
    egress = reader.get(
        "egress_per_gb", (dict, int, float), {"default": 0.085}, "a price or a table"
    )
    if not isinstance(egress, dict):
        egress = {"default": egress}
    prices = []
    for region, price in egress.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise reader.fail(
                f"egress_per_gb.{region}", f"{price!r} is not a price", "dollars per GB >= 0"
            )
        prices.append((region, float(price)))
    cost = Cost(
        egress_per_gb=tuple(prices),
        origin_egress_per_gb=reader.number("origin_egress_per_gb", 0.09, minimum=0),
        per_10k_requests=reader.number("per_10k_requests", 0.0075, minimum=0),
        functions=FunctionPrices(
            lambda_edge_per_million_requests=reader.number(
                "lambda_edge_per_million_requests", 0.60, minimum=0
            ),
            lambda_edge_per_gb_second=reader.number(
                "lambda_edge_per_gb_second", 0.00005001, minimum=0
            ),
            cloudfront_functions_per_million=reader.number(
                "cloudfront_functions_per_million", 0.10, minimum=0
            ),
        ),
        storage_get_per_1k=reader.number("storage_get_per_1k", 0.0004, minimum=0),
        storage_put_per_1k=reader.number("storage_put_per_1k", 0.005, minimum=0),
        storage_gb_month=reader.number("storage_gb_month", 0.023, minimum=0),
    )
    reader.done()
    return cost


def _cache_rule(reader: TableReader) -> CacheRule:
    prefix = reader.text("prefix", None)
    if prefix is None or not prefix.startswith("/"):
        raise reader.fail("prefix", f"{prefix!r}", "a path prefix starting with /")
    keys = reader.raw("surrogate_keys", [])
    if isinstance(keys, str):
        keys = keys.split()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise reader.fail("surrogate_keys", f"{keys!r}", "a list of tag strings")
    headers = reader.get("headers", dict, {}, "a table of header name = value")
    rule = CacheRule(
        prefix=prefix,
        cache_control=reader.text("cache_control", None),
        expires_in=reader.duration("expires_in", None) if reader.has("expires_in") else None,
        vary=reader.text("vary", None),
        surrogate_keys=tuple(keys),
        headers=tuple((str(k), str(v)) for k, v in headers.items()),
    )
    reader.done()
    return rule


def _edge_settings(reader: TableReader) -> EdgeSettings:
    ignore = reader.raw("ignore_query_params", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        raise reader.fail("ignore_query_params", f"{ignore!r}", "a list of parameter names")
    settings = EdgeSettings(
        max_cacheable_size=reader.size("max_cacheable_size", 64 * 1024 * 1024),
        negative_ttl=reader.duration("negative_ttl", 10.0),
        stale_if_error=reader.duration("stale_if_error", 0.0),
        stale_while_revalidate=reader.duration("stale_while_revalidate", 0.0),
        ignore_query_params=tuple(ignore),
        sort_query_params=reader.boolean("sort_query_params", False),
        collapse_timeout=reader.duration("collapse_timeout", 10.0),
        collapse_max_waiters=reader.integer("collapse_max_waiters", 1000, minimum=1),
        upstream_timeout=reader.duration("upstream_timeout", 30.0),
        functions=parse_associations(reader),
        origin_auth=reader.choice("origin_auth", "none", ORIGIN_AUTHS),
    )
    reader.done()
    return settings


def _origins(top: TableReader) -> list[Node]:
    """The single ``[origin]`` table, or an ``[[origin]]`` list of named origins (the first is
    the one shields and edges fetch from; the others serve behaviors and origin groups)."""
    if not top.has("origin"):
        raise top.fail("origin", "missing", "an [origin] table or [[origin]] tables")
    if isinstance(top.table["origin"], dict):
        return [_node(top.child("origin"), "origin", None, 8100)]
    readers = top.children("origin")
    if not readers:
        raise top.fail("origin", "is an empty list", "at least one [[origin]] table")
    origins: list[Node] = []
    for index, reader in enumerate(readers):
        origin = _node(reader, "origin", None, 8100 + index)
        for other in origins:
            if other.name == origin.name:
                raise reader.fail("name", f"{origin.name!r} is used twice", "unique origin names")
            if (other.host, other.port) == (origin.host, origin.port):
                raise reader.fail(
                    "port", f"port {origin.port} is also used by {other.name}", "unique ports"
                )
        if index and origin.kind == "kv":
            raise reader.fail(
                "kind", '"kv" only for the first [[origin]]', '"synthetic" or "storage"'
            )
        origins.append(origin)
    return origins


def _check_graph(topology: Topology) -> None:
    source = topology.source
    seen_names: dict[str, str] = {}
    seen_ports: dict[tuple[str, int], str] = {}
    for index, node in enumerate(topology.nodes):
        label = node.role if node.role == "origin" else f"{node.role}[{index}]"
        if node.name in seen_names:
            raise ConfigError(
                f"{source}:{label}.name", f"{node.name!r} is used twice", "unique node names"
            )
        seen_names[node.name] = label
        if (node.host, node.port) in seen_ports:
            other = seen_ports[(node.host, node.port)]
            raise ConfigError(
                f"{source}:{node.name}.port",
                f"port {node.port} is also used by {other}",
                "unique ports",
            )
        seen_ports[(node.host, node.port)] = node.name
    roles = {node.name: node.role for node in topology.nodes}
    for node in topology.caches:
        for upstream in (node.upstream, *node.fallbacks):
            if upstream in (o.name for o in topology.more_origins):
                raise ConfigError(
                    f"{source}:{node.name}.upstream",
                    f"{upstream!r} is not the first [[origin]]",
                    "a shield or the first origin (the others serve behaviors and origin groups)",
                )
            if upstream not in roles or roles[upstream] == "edge" or upstream == node.name:
                raise ConfigError(
                    f"{source}:{node.name}.upstream",
                    f"{upstream!r} is not a shield or the origin",
                    "the name of a shield or the origin (not the node itself)",
                )
        # A chain of shields must end at the origin.
        hops, current = 0, node
        while current.upstream is not None:
            current = topology.node(current.upstream)
            hops += 1
            if hops > len(topology.nodes):
                raise ConfigError(
                    f"{source}:{node.name}.upstream",
                    "upstreams form a loop",
                    "a chain ending at the origin",
                )
        if node.cache_size <= 0:
            raise ConfigError(f"{source}:{node.name}.cache_size", "is 0", "a cache size > 0")


def parse_topology(data: Mapping[str, Any], source: str = "<topology>") -> Topology:
    """A validated Topology from parsed TOML ``data``; ``source`` names the file in errors."""
    top = TableReader(source, "", data)
    origin, *more_origins = _origins(top)
    shields = tuple(
        _node(r, "shield", origin.name, 8110 + i) for i, r in enumerate(top.children("shield"))
    )
    edges = tuple(
        _node(r, "edge", origin.name, 8120 + i) for i, r in enumerate(top.children("edge"))
    )
    if not edges:
        raise top.fail("edge", "missing", "at least one [[edge]]")
    topology = Topology(
        name=top.text("name", Path(source).stem),
        source=source,
        origin=origin,
        shields=shields,
        edges=edges,
        workload=_workload(top.child("workload")),
        network=_network(top.child("network")),
        cost=_cost(top.child("cost")),
        cache_rules=tuple(_cache_rule(r) for r in top.children("cache_rule")),
        edge_settings=_edge_settings(top.child("edge_defaults")),
        gateway=parse_gateway(top, tuple(o.name for o in (origin, *more_origins))),
        functions=parse_functions(top, source),
        more_origins=tuple(more_origins),
    )
    fault_tables = top.children("fault")
    top.done()
    _check_graph(topology)
    check_functions(topology)
    if fault_tables:
        names = [node.name for node in topology.nodes]
        faults = parse_faults(
            fault_tables,
            origin=origin.name,
            nodes=names,
            origins=[o.name for o in topology.more_origins],
        )
        topology = replace(topology, faults=faults)
    return topology


def load_topology(path: str | Path) -> Topology:
    """Read and validate the topology file at ``path``."""
    data = read_toml(path, "a topology TOML file, e.g. configs/local.toml")
    return parse_topology(data, source=str(path))


def default_topology_path() -> Path:
    """The built-in local topology (configs/local.toml, shipped in the package: cdn.builtin)."""
    return builtin.default_topology()
