"""Run an edge cache (or a shield: the same code with the origin as upstream).

A reverse proxy with RFC 9111 caching in front of one site: GET/HEAD are answered from the
cache or fetched once (request collapsing) from the upstream, with Age, Via, Cache-Status
(RFC 9211) and X-Cache on every response. Other methods pass through and invalidate (§4.4).
Stale content is revalidated with conditional requests, served while revalidating and when
the upstream fails (stale-while-revalidate / stale-if-error). Purge with `PURGE <url>` or
`POST /_cdn/purge` and a bearer token (--admin-token or $CDNLAB_ADMIN_TOKEN).
`/_cdn/health` and Prometheus `/_cdn/metrics` are always on.

With --topology FILE --node NAME the node's port, upstream, peers (its group), location,
cache size, policy and the file's [edge_defaults] apply; flags override them. In containers
give --host 0.0.0.0 and the other nodes' URLs with --upstream-url NAME=URL (repeatable) or
$CDNLAB_NODE_URLS="name=url,name=url".

examples:
  cdn edge --port 8120 --origin http://127.0.0.1:8100
  cdn edge --port 8120 --origin http://127.0.0.1:8100 --cache-size 1GiB --policy s3fifo
  cdn edge --topology configs/local.toml --node edge-par --access-log
  cdn edge --origin http://127.0.0.1:8100 --workers 2 --admin-token secret
  cdn edge --origin http://127.0.0.1:8100 --tls-port 8443      # self-signed, fingerprint printed
  cdn edge --origin https://origin.test:8443 --origin-ca-file origin-ca.pem
  cdn edge --origin http://127.0.0.1:8100 --function viewer-request=fn.py:handler
  cdn edge --origin http://127.0.0.1:8100 --cloudfront-function viewer-request=cf.py:handler

Edge functions (docs/functions.md): a topology's [[function]] tables attach to its edges; for
a single edge, --function TRIGGER=FILE:HANDLER (Lambda@Edge, in worker processes) and
--cloudfront-function TRIGGER=FILE:HANDLER (viewer triggers, in-process) attach one per
trigger, over the topology's for that trigger.

Reference: docs/edge.md.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cdn.cache import POLICIES
from cdn.errors import ConfigError
from cdn.functions.spec import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUT,
    FunctionSpec,
    check_associations,
)
from cdn.functions.triggers import LIMITS, FunctionKind, Trigger, parse_trigger
from cdn.topology import load_topology
from cdn.units import parse_duration, parse_size
from cli.argtypes import topology_file
from cli.errors import UserError
from edge.settings import EdgeSettings, node_urls_from_env, parse_node_urls
from fn.host import check_code
from serving.flags import (
    add_limit_flags,
    add_listen_flags,
    admin_token,
    cannot_listen,
    connection_limits,
)
from serving.sigv4_sign import signer_from_env

NAME = "edge"
HELP = "run an edge cache proxy (or a shield) in front of an origin"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the `cdn edge` flags."""
    where = parser.add_argument_group("where")
    add_listen_flags(
        where,
        default_port=8120,
        admin_routes="purges",
        access_log_help="JSON line per request on stderr",
    )
    where.add_argument(
        "--origin", metavar="URL", default=None, help="upstream URL (origin or shield)"
    )
    where.add_argument(
        "--topology",
        metavar="FILE",
        type=topology_file,
        default=None,
        help="topology TOML file or built-in name (local, world)",
    )
    where.add_argument("--node", default=None, help="this node's name in the topology")
    where.add_argument("--name", default=None, help="node name in Via, Cache-Status and metrics")
    where.add_argument(
        "--upstream-url",
        metavar="NAME=URL",
        action="append",
        default=[],
        help="URL of a topology node (upstream or peer) where it is not http://host:port",
    )
    where.add_argument("--workers", type=int, default=None, help="worker processes (SO_REUSEPORT)")
    cache = parser.add_argument_group("cache")
    cache.add_argument("--cache-size", default=None, help="capacity, e.g. 256MiB")
    cache.add_argument("--policy", choices=sorted(POLICIES), default=None, help="eviction policy")
    cache.add_argument("--max-cacheable-size", default=None, help="larger bodies stream through")
    cache.add_argument("--negative-ttl", default=None, help="freshness of 404/410 without any")
    cache.add_argument("--stale-if-error", default=None, help="serve stale this long on errors")
    cache.add_argument(
        "--stale-while-revalidate", default=None, help="serve stale this long while refreshing"
    )
    cache.add_argument(
        "--ignore-query-param",
        action="append",
        default=None,
        metavar="NAME",
        help="leave this query parameter out of the cache key (repeatable)",
    )
    cache.add_argument("--sort-query", action="store_true", default=None, help="sort query params")
    cache.add_argument("--upstream-timeout", default=None, help="then 504 or stale (30s)")
    cache.add_argument("--collapse-timeout", default=None, help="follower wait limit (10s)")
    cache.add_argument(
        "--origin-auth",
        choices=("none", "sigv4"),
        default=None,
        help="sign origin requests with SigV4 (keys from $CDNLAB_ORIGIN_ACCESS_KEY and "
        "$CDNLAB_ORIGIN_SECRET_KEY), as CloudFront's origin access control does for a bucket",
    )
    tls = parser.add_argument_group("tls")
    tls.add_argument(
        "--tls-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also listen for HTTPS on PORT (0: a free one); without --tls-cert/--tls-key a "
        "self-signed certificate is made at start and its SHA-256 fingerprint printed",
    )
    tls.add_argument("--tls-cert", metavar="FILE", default=None, help="certificate chain (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", default=None, help="its private key (PEM)")
    tls.add_argument(
        "--origin-ca-file",
        metavar="FILE",
        default=None,
        help="CA certificates (PEM) to verify https origins with (default: the system's)",
    )
    functions = parser.add_argument_group("edge functions")
    functions.add_argument(
        "--function",
        metavar="TRIGGER=FILE:HANDLER",
        action="append",
        default=[],
        help="a Lambda@Edge function on TRIGGER (viewer-request, origin-request, "
        "origin-response, viewer-response); repeatable",
    )
    functions.add_argument(
        "--cloudfront-function",
        metavar="TRIGGER=FILE:HANDLER",
        action="append",
        default=[],
        help="a CloudFront Function on a viewer TRIGGER; repeatable",
    )
    functions.add_argument(
        "--function-concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"instances per Lambda@Edge function; more at once get 503 ({DEFAULT_CONCURRENCY})",
    )
    functions.add_argument(
        "--function-timeout",
        default=None,
        metavar="D",
        help="Lambda@Edge timeout (3s; at most 5s on viewer, 30s on origin triggers)",
    )
    functions.add_argument(
        "--function-log",
        action="store_true",
        help="a JSON REPORT line (Lambda's platform.report) per function invoke on stderr "
        "(also with --access-log)",
    )
    add_limit_flags(parser)


def function_flag(
    text: str, kind: FunctionKind, flag: str, timeout: float | None, concurrency: int
) -> tuple[Trigger, FunctionSpec]:
    """``TRIGGER=FILE:HANDLER`` as a trigger and a spec (UserError naming the flag)."""
    trigger_text, sep, target = text.partition("=")
    file, colon, handler = target.rpartition(":")
    if not sep or not colon or not file or not handler:
        raise UserError(
            f"{flag} {text!r} is not TRIGGER=FILE:HANDLER (expected e.g. viewer-request=fn.py:handler)"
        )
    try:
        trigger = parse_trigger(trigger_text.strip())
    except ValueError as exc:
        raise UserError(f"{flag} {text!r}: {exc}") from None
    path = Path(file)
    if not path.is_file():
        raise UserError(
            f"{flag} {text!r}: {file} is not a file (expected a Python file with "
            f"def {handler}(event, context))"
        )
    limit = LIMITS[trigger].timeout
    return trigger, FunctionSpec(
        name=path.stem,
        code=str(path.resolve()),
        handler=handler,
        kind=kind,
        timeout=min(DEFAULT_TIMEOUT, limit) if timeout is None else timeout,
        concurrency=concurrency,
        where=f"{flag} {text}",
    )


def _functions(args: argparse.Namespace, base: EdgeSettings) -> dict[str, Any]:
    """The settings changes of the function flags (none without them)."""
    if not args.function and not args.cloudfront_function:
        return {}
    if args.function_concurrency < 1:
        raise UserError(f"--function-concurrency {args.function_concurrency} (expected >= 1)")
    timeout = None
    if args.function_timeout is not None:
        timeout = _duration("--function-timeout", args.function_timeout)
    chosen = dict(base.functions)
    flags = [(t, FunctionKind.LAMBDA_EDGE, "--function") for t in args.function]
    flags += [
        (t, FunctionKind.CLOUDFRONT_FUNCTION, "--cloudfront-function")
        for t in args.cloudfront_function
    ]
    given: set[Trigger] = set()
    for text, kind, flag in flags:
        trigger, spec = function_flag(text, kind, flag, timeout, args.function_concurrency)
        if trigger in given:
            raise UserError(f"{flag} {text!r}: {trigger} has a function already (one per trigger)")
        given.add(trigger)
        chosen[trigger] = spec
    by_name: dict[str, FunctionSpec] = {}
    for trigger, spec in chosen.items():
        if by_name.get(spec.name, spec) != spec:  # two files of one stem: name them apart
            spec = replace(spec, name=f"{spec.name}-{trigger.value}")
            chosen[trigger] = spec
        by_name[spec.name] = spec
    try:
        check_associations(
            [(t, s.name) for t, s in chosen.items()], by_name, "--function/--cloudfront-function"
        )
        for spec in by_name.values():
            check_code(spec)
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return {"functions": tuple(chosen.items())}


def _duration(flag: str, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UserError(f"{flag}: {exc}") from None


def _size(flag: str, value: str) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise UserError(f"{flag}: {exc}") from None


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.host is not None:
        changes["host"] = args.host
    if args.port is not None:
        changes["port"] = args.port
    if args.name:
        changes["name"] = args.name
    if args.workers is not None:
        if args.workers < 1:
            raise UserError(f"--workers {args.workers} (expected 1 or more)")
        changes["workers"] = args.workers
    if args.cache_size is not None:
        changes["cache_size"] = _size("--cache-size", args.cache_size)
    if args.policy is not None:
        if args.policy == "belady":
            raise UserError("--policy belady needs the future: it runs only in the simulator")
        changes["policy"] = args.policy
    if args.max_cacheable_size is not None:
        changes["max_cacheable_size"] = _size("--max-cacheable-size", args.max_cacheable_size)
    for flag, field in (
        ("--negative-ttl", "negative_ttl"),
        ("--stale-if-error", "stale_if_error"),
        ("--stale-while-revalidate", "stale_while_revalidate"),
        ("--upstream-timeout", "upstream_timeout"),
        ("--collapse-timeout", "collapse_timeout"),
    ):
        value = getattr(args, field)
        if value is not None:
            changes[field] = _duration(flag, value)
    if args.ignore_query_param is not None:
        changes["ignore_query_params"] = tuple(args.ignore_query_param)
    if args.sort_query:
        changes["sort_query_params"] = True
    if args.access_log:
        changes["access_log"] = True
    if args.origin_auth is not None:
        changes["origin_auth"] = args.origin_auth
    changes.update(_tls(args))
    changes["admin_token"] = admin_token(args)
    return changes


def _tls(args: argparse.Namespace) -> dict[str, Any]:
    """The TLS flags as settings; UserError naming the flag when a file cannot be used."""
    from serving.tls import client_context, server_context

    changes: dict[str, Any] = {}
    if args.tls_port is not None:
        if not 0 <= args.tls_port <= 65535:
            raise UserError(f"--tls-port {args.tls_port} (expected a port from 0 to 65535)")
        changes["tls_port"] = args.tls_port
    if (args.tls_cert is None) != (args.tls_key is None):
        raise UserError("--tls-cert and --tls-key go together (the certificate and its key)")
    if args.tls_cert is not None:
        if args.tls_port is None:
            raise UserError("--tls-cert needs --tls-port PORT (where to listen for HTTPS)")
        try:
            server_context(args.tls_cert, args.tls_key)
        except ValueError as exc:
            raise UserError(f"--tls-cert/--tls-key: {exc}") from None
        changes["tls_cert"], changes["tls_key"] = args.tls_cert, args.tls_key
    if args.origin_ca_file is not None:
        try:
            client_context(args.origin_ca_file)
        except ValueError as exc:
            raise UserError(f"--origin-ca-file: {exc}") from None
        changes["origin_ca_file"] = args.origin_ca_file
    return changes


def build_settings(args: argparse.Namespace) -> EdgeSettings:
    """EdgeSettings from the flags (UserError naming the flag when one is wrong)."""
    changes = _overrides(args)
    try:
        node_urls = {**node_urls_from_env(), **parse_node_urls(args.upstream_url)}
    except ValueError as exc:
        raise UserError(f"--upstream-url / $CDNLAB_NODE_URLS: {exc}") from None
    if args.topology:
        if not args.node:
            raise UserError("--topology needs --node NAME (which shield or edge this is)")
        topology = load_topology(args.topology)
        try:
            base = EdgeSettings.from_topology(topology, args.node, node_urls)
        except ValueError as exc:
            if isinstance(exc, ConfigError):
                raise
            raise UserError(str(exc)) from None
        if args.origin:
            changes["upstream_url"] = args.origin.rstrip("/")
    else:
        if args.node:
            raise UserError("--node needs --topology FILE")
        if not args.origin:
            raise UserError("give --origin URL (e.g. http://127.0.0.1:8100) or --topology/--node")
        origin = args.origin.rstrip("/")
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise UserError(
                f"--origin {args.origin!r} is not a base URL (expected e.g. http://127.0.0.1:8100)"
            )
        base = EdgeSettings(upstream_url=origin, site_host=parts.netloc.lower(), port=8120)
    changes.update(_functions(args, base))
    changes["limits"] = connection_limits(args, base.limits)
    if args.drain_timeout is not None:
        changes["shutdown_timeout"] = args.drain_timeout
    try:
        settings = base.with_changes(**changes)
        if settings.origin_auth == "sigv4":
            signer_from_env()  # the keys must be there before we listen
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return settings


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 after a graceful shutdown."""
    import logging

    from edge.server import run as run_edge

    settings = build_settings(args)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    if args.function_log or args.access_log:
        logging.getLogger("cdnlab.fn").setLevel(logging.INFO)  # fn.pool.log_report
    try:
        run_edge(settings)
    except OSError as exc:
        raise UserError(cannot_listen(settings.host, settings.port, exc)) from None
    return 0
