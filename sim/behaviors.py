"""Behaviors in the simulator: the topology's gateway applied to every user request at its edge.

Rules: the decisions are the core's (``cdn.gateway``): ``Gateway.behavior_for`` (first match
wins), ``Admission.admit`` (allowed methods, API keys and usage plans with their token buckets
and quotas, per-client limits, the cache-key policy), ``Behavior.cache_config`` (the TTL bounds
of the cache step). This module only feeds them simulated requests and counts what they say.
- Admission state (buckets, quota counters) is per edge node, as on the live edge; simulated time
  is epoch seconds (t = 0 is 1970-01-01 00:00 UTC, so a DAY quota resets at t = 86400).
- Signed-URL behaviors are modelled as validly signed (no RSA in a simulation): their
  ``trusted_key_groups`` are dropped; everything else of the behavior applies. Requests use
  https when the topology's network has ``tls`` (the default), else http.
- What a request carries comes from its path family (``[[workload.paths]]``, drawn by the
  core's ``cdn.workload.draws`` from one seeded ``random.Random`` in request order, as the load
  generator draws them): a query variant, one of
  ``api_keys`` simulated keys of the behavior's usage plan (or none, ``keyless_share``), POST
  (``post_share``) instead of GET, a client address among ``clients``, or a CORS preflight
  (``preflight_share``: OPTIONS with ``Origin`` and ``Access-Control-Request-Method``).
- A refused request (403, 429, 301) and a preflight on a behavior with ``cors`` (204, counted as
  ``preflight``) are answered by the edge: they take their place in the edge's queue and nothing
  else; their body is empty (no transfer time, no bytes). A preflight on a behavior without
  ``cors`` is an OPTIONS like any other method: 403 when the behavior does not allow it, else
  passed to the origin. An admitted POST is
  passed to the behavior's origin uncached (edge queue, then the origin and back).
- Where misses go is ``sim.origins``'s: the usual way (peers, shield, the first origin) or, for
  a behavior on another origin or an origin group, that origin directly (as ``edge.routes``). An admitted GET goes to
  the cache step under the key the behavior's cache policy makes, with the behavior's TTL bounds
  at edges and its path's cache rule (origin fields) at every node.
- Cheap when it can be: a topology without behaviors or a path mix has no gateway in the
  simulator at all (``SimGateway.of`` is None); a path's behavior and profile are looked up once
  per path; on a behavior without keys or client limits ``admit``'s answer depends on the
  request alone, so it is kept per (path, method, query) (a cache of the core's output, not a
  copy of its rules), and a path whose requests are all the same GET, admitted with the path as
  its key, goes straight to the edge's cache step ("plain").
- Compression (``sim.compression``): on a behavior with ``compress``, a compressible object is
  kept per normalised coding at edges (cache groups per coding) and served at the compressed
  size; the report counts, per such behavior, the requests served compressed and the bytes
  saved. The coding is drawn for every request (one draw each, in order) when the workload
  has more than one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum
from functools import partial
from typing import Any

import numpy as np

from cdn.gateway.admission import Admission, Admitted, Answered, ViewerRequest
from cdn.gateway.behaviors import ApiKey, Gateway, default_gateway
from cdn.gateway.compression import CODINGS, normalised_fields
from cdn.topology import Topology, WorkloadPath
from cdn.workload import Catalog, RequestBatch
from cdn.workload.draws import draw_request, draw_seed, preflight_fields
from sim.compression import SimCompression, varied
from sim.node import CacheNodeSim
from sim.nodecache import NodeCache
from sim.origin import OriginSim
from sim.origin_headers import OriginHeaders
from sim.origins import SimOrigins
from sim.outcomes import BYPASS
from sim.report import ratio
from sim.stats import LatencyHistogram, latency_summary

__all__ = ["REFUSED", "SimGateway", "Verdict"]

REFUSED = -1  # the outcome code of a request the gateway answered itself (not a cache outcome)


class Verdict(IntEnum):
    """What the gateway did with a request (an IntEnum: counted by indexing arrays with it)."""

    SERVED = 0  # admitted: the cache step (or the origin, for a POST) answered
    FORBIDDEN = 1  # 403: a method not allowed, no or an unknown API key
    THROTTLED = 2  # 429: a usage plan's rate or quota, or a client limit
    REDIRECTED = 3  # 301: redirect-to-https on plain HTTP
    PREFLIGHT = 4  # 204: a CORS preflight answered at the edge


SERVED, FORBIDDEN, THROTTLED, REDIRECTED, PREFLIGHT = Verdict
_STATUS_VERDICT = {403: FORBIDDEN, 429: THROTTLED, 204: PREFLIGHT}
_DECISIONS = 1 << 18  # admit() answers kept for stateless behaviors (path, method, query)


@dataclass(frozen=True, slots=True)
class _Profile:
    """What requests for one path get: behavior, family, cache group and whether it is plain."""

    behavior: int
    family: int
    group: int
    plain: bool
    stateless: bool  # no key, no client limit: admit's answer depends on the request alone
    direct: OriginSim | None  # the origin the behavior fetches from directly (sim.origins)
    coded: dict[str, int] | None  # a compressing behavior: its cache group per coding


class _Counts:
    """Per-behavior counters and served-request latencies (overall and steady state)."""

    def __init__(self, behaviors: int) -> None:
        self.requests = np.zeros(behaviors, dtype=np.int64)
        self.kinds = np.zeros((len(Verdict), behaviors), dtype=np.int64)  # by Verdict
        self.hits = np.zeros(behaviors, dtype=np.int64)
        self.bytes = np.zeros(behaviors, dtype=np.int64)
        self.bytes_hit = np.zeros(behaviors, dtype=np.int64)
        self.compressed = np.zeros(behaviors, dtype=np.int64)  # requests served compressed
        self.bytes_saved = np.zeros(behaviors, dtype=np.int64)
        self.histograms = [LatencyHistogram() for _ in range(behaviors)]

    def add(
        self,
        behavior: np.ndarray,
        kind: np.ndarray,
        hits: np.ndarray,
        sizes: np.ndarray,
        latencies: np.ndarray,
        saved: np.ndarray | None = None,
    ) -> None:
        """Fold in a batch: each request's behavior, Verdict, edge hit, size served, latency
        and (when any was compressed) the bytes compression saved."""
        count = len(self.requests)
        self.requests += np.bincount(behavior, minlength=count)
        for k in range(len(Verdict)):
            self.kinds[k] += np.bincount(behavior[kind == k], minlength=count)
        self.hits += np.bincount(behavior[hits], minlength=count)
        self.bytes += np.bincount(behavior, weights=sizes, minlength=count).astype(np.int64)
        self.bytes_hit += np.bincount(behavior[hits], weights=sizes[hits], minlength=count).astype(
            np.int64
        )
        if saved is not None:
            shrunk = saved > 0
            self.compressed += np.bincount(behavior[shrunk], minlength=count)
            self.bytes_saved += np.bincount(behavior, weights=saved, minlength=count).astype(
                np.int64
            )
        served = kind == SERVED
        for b in np.unique(behavior[served]).tolist():
            self.histograms[b].record_many(latencies[served & (behavior == b)])

    def summary(self, index: int) -> dict[str, Any]:
        requests = int(self.requests[index])
        served = int(self.kinds[SERVED][index])
        return {
            "requests": requests,
            "served": served,
            "hits": int(self.hits[index]),
            "hit_ratio": ratio(int(self.hits[index]), served),
            "byte_hit_ratio": ratio(int(self.bytes_hit[index]), int(self.bytes[index])),
            "forbidden": int(self.kinds[FORBIDDEN][index]),
            "throttled": int(self.kinds[THROTTLED][index]),
            "redirected": int(self.kinds[REDIRECTED][index]),
            "forbidden_share": ratio(int(self.kinds[FORBIDDEN][index]), requests),
            "throttled_share": ratio(int(self.kinds[THROTTLED][index]), requests),
            "preflight": int(self.kinds[PREFLIGHT][index]),
            "preflight_share": ratio(int(self.kinds[PREFLIGHT][index]), requests),
            "latency_ms": latency_summary(self.histograms[index]),
        }

    def compression(self, index: int) -> dict[str, Any]:
        """A compressing behavior's ``compression`` section: requests served compressed, bytes
        saved, and their shares (of served requests; of the identity bytes)."""
        served = int(self.kinds[SERVED][index])
        saved = int(self.bytes_saved[index])
        return {
            "requests": int(self.compressed[index]),
            "share": ratio(int(self.compressed[index]), served),
            "bytes_saved": saved,
            "saved_share": ratio(saved, int(self.bytes[index]) + saved),
        }

    def totals(self) -> dict[str, Any]:
        requests = int(self.requests.sum())
        forbidden = int(self.kinds[FORBIDDEN].sum())
        throttled = int(self.kinds[THROTTLED].sum())
        preflight = int(self.kinds[PREFLIGHT].sum())
        return {
            "requests": requests,
            "forbidden": forbidden,
            "throttled": throttled,
            "redirected": int(self.kinds[REDIRECTED].sum()),
            "preflight": preflight,
            "forbidden_share": ratio(forbidden, requests),
            "throttled_share": ratio(throttled, requests),
            "preflight_share": ratio(preflight, requests),
        }


class SimGateway:
    """The gateway of one simulation: ``serve`` stands in for ``CacheNodeSim.serve`` at edges."""

    @classmethod
    def of(cls, sim: Any) -> SimGateway | None:
        """The gateway of ``sim`` (a ``sim.model.Simulation`` being built), or None when its
        topology has neither behaviors nor a path mix (then nothing here runs at all)."""
        topology: Topology = sim.topology
        gateway = topology.gateway
        plain = default_gateway(topology.origin.name)
        if (gateway is None or gateway.behaviors == plain.behaviors) and not (
            topology.workload.paths
        ):
            return None
        return cls(sim, gateway or plain)

    def __init__(self, sim: Any, gateway: Gateway) -> None:
        topology: Topology = sim.topology
        # What serves an admitted request at the edge: the cache node, or the edge functions
        # around it (sim.functions) when the model sets them.
        self.inner: Callable[..., tuple[float, int, bool, int]] = CacheNodeSim.serve
        # The edge functions (sim.functions.SimFunctions) when the model has any: told each
        # admitted request's behavior (a behavior may name its own functions), and run around
        # the admitted POSTs passed to the origin.
        self.functions: Any = None
        workload = topology.workload
        self.names = gateway.behavior_names()
        self.families: tuple[WorkloadPath, ...] = workload.paths or (WorkloadPath(workload.path),)
        # Simulated keys: per keyed behavior and family, ``api_keys`` keys of its plan.
        self.sim_keys: dict[tuple[int, int], list[str]] = {}
        keys: list[ApiKey] = []
        for b, behavior in enumerate(gateway.behaviors):
            if not behavior.api_key_required:
                continue
            plan = behavior.usage_plan or gateway.usage_plans[0].name
            for f, family in enumerate(self.families):
                values = [f"sim-{b}-{f}-{i}" for i in range(family.api_keys)]
                keys += [ApiKey(v, plan, value=v) for v in values]
                self.sim_keys[b, f] = values
        self.gateway = replace(
            gateway,
            behaviors=tuple(replace(b, trusted_key_groups=()) for b in gateway.behaviors),
            api_keys=tuple(keys),
        )
        self.key_values = {key.name: key.name for key in keys}
        self.scheme = "https" if topology.network.tls else "http"
        self.catalog = Catalog(workload)
        self.rng = random.Random(draw_seed(sim.seed))
        self.origin = sim.origin
        self.latency = sim.latency
        self.origins = SimOrigins(sim, gateway)
        self.admissions: dict[Any, Admission] = {}
        self.profiles: dict[str, _Profile] = {}
        self.decisions: dict[tuple[str, str, str], Admitted | Answered] = {}
        self.probe = Admission(self.gateway, self.key_values)  # for stateless behaviors only
        self.compressing = any(b.compress for b in gateway.behaviors)
        self.compression = (
            SimCompression(topology, self.families, sim.seed, sim.nodes.values())
            if self.compressing
            else None
        )
        self._build_groups(sim, topology)
        count = len(gateway.behaviors)
        self.all = _Counts(count)
        self.steady = _Counts(count)
        # The batch so far: each request's behavior index, and (position, verdict) of refusals.
        self.batch_behavior: list[int] = []
        self.batch_refused: list[tuple[int, Verdict]] = []
        # (position, compressed size) of the batch's requests served compressed.
        self.batch_compressed: list[tuple[int, int]] = []
        self.batch_saved: np.ndarray | None = None

    # -- construction ----------------------------------------------------------------------------

    def _build_groups(self, sim: Any, topology: Topology) -> None:
        """One NodeCache per node and (behavior, family), sharing the node's store: the cache
        step's config (TTL bounds at edges) and the origin fields of the family's cache rule."""
        self.group_of: dict[tuple[int, int], int] = {}
        pairs = [
            (b, f) for b in range(len(self.gateway.behaviors)) for f in range(len(self.families))
        ]
        for b, f in pairs:
            self.group_of[b, f] = len(self.group_of)
        # A compressing behavior: one group per (family, coding) too; at edges their requests
        # carry the coding and their origin answers Vary on it (sim.compression).
        self.coded: dict[tuple[int, int], dict[str, int]] = {}
        coded = []
        for b, f in pairs:
            if self.gateway.behaviors[b].compress:
                self.coded[b, f] = {}
                for coding in CODINGS:
                    self.coded[b, f][coding] = len(pairs) + len(coded)
                    coded.append((b, f, coding))
        self.switch: list[tuple[Any, list[tuple[NodeCache, Any]]]] = []
        options = sim.options
        for node in sim.nodes.values():
            base = node.cache
            store = base.store
            built: dict[tuple[Any, ...], tuple[NodeCache, Any]] = {}
            groups = []
            for b, f in pairs:
                behavior = self.gateway.behaviors[b]
                config = base.config
                if node.node.role == "edge":
                    config = behavior.cache_config(config)
                prefix = self.families[f].path.split("{id}")[0]
                rule = topology.rule_for(prefix)
                if (config, rule) not in built:
                    cache = NodeCache(
                        store.capacity, store.policy_name, config, OriginHeaders(rule),
                        exact=options.exact_http, store=store,
                    )  # fmt: skip
                    get = (
                        partial(store.get, variant=cache.variant)
                        if cache.variant
                        else store.slots.get
                    )
                    built[config, rule] = (cache, get)
                groups.append(built[config, rule])
            for b, f, coding in coded:
                base_group = groups[self.group_of[b, f]]
                if node.node.role != "edge":
                    groups.append(base_group)
                    continue
                config = base_group[0].config
                rule = varied(base_group[0].origin.rule)
                if (config, rule, coding) not in built:
                    cache = NodeCache(
                        store.capacity, store.policy_name, config, OriginHeaders(rule),
                        exact=True, store=store,
                        fields=tuple(normalised_fields((), coding)),
                    )  # fmt: skip
                    built[config, rule, coding] = (cache, partial(store.get, variant=cache.variant))
                groups.append(built[config, rule, coding])
            if base.template is None and any(c.template is not None for c, _ in groups):
                store.set_removal_listener(node.gone.__setitem__)
            self.switch.append((node, groups))
        self._use(0)  # one group (one behavior and family): installed once, never switched
        self.switching = any(len({id(c) for c, _ in groups}) > 1 for _, groups in self.switch)

    def _use(self, group: int) -> None:
        """Make every node's cache the one of ``group`` (a request's behavior and family)."""
        self.current = group
        for node, groups in self.switch:
            node.cache, node._get = groups[group]

    def _profile(self, path: str, obj: int) -> _Profile:
        b = self.gateway.behaviors.index(self.gateway.behavior_for(path))
        f = self.catalog.family_of(obj)
        behavior, family = self.gateway.behaviors[b], self.families[f]
        stateless = not behavior.api_key_required and behavior.client_rate_limit is None
        plain = False
        if stateless and family.query is None and not (family.post_share or family.preflight_share):
            # Every request for the path is this GET: the core's answer to it, once.
            request = ViewerRequest("GET", self.scheme, "cdnlab", path, "", {}, "10.0.0.0")
            decided = self.probe.admit(request, 0.0)
            plain = type(decided) is Admitted and decided.key_target + decided.key_suffix == path
        direct = self.origins.targets[b]
        profile = self.profiles[path] = _Profile(
            b, f, self.group_of[b, f], plain, stateless, direct, self.coded.get((b, f))
        )
        return profile

    # -- serving ---------------------------------------------------------------------------------

    def serve(
        self, edge: Any, key: str, obj: int, size: int, t: float, from_peer: bool, cond: bool
    ) -> tuple[float, int, bool, int]:
        """``CacheNodeSim.serve`` for a user request at ``edge``, behind the gateway."""
        profile = self.profiles.get(key) or self._profile(key, obj)
        self.batch_behavior.append(profile.behavior)
        functions = self.functions
        if functions is not None:
            functions.behavior = profile.behavior
        group, inner, full = profile.group, self.inner, size
        compression = self.compression
        if compression is not None:
            coding = compression.coding()  # one draw per request, whatever it then needs
            coded = profile.coded
            if coded is not None and compression.compressible(profile.family, size):
                group = coded[coding]
                size = compression.size(profile.family, coding, size)
                if size != full:
                    inner = partial(compression.call, self.inner, full)
        if profile.plain:
            if self.switching and group != self.current:
                self._use(group)
            if size != full:
                self.batch_compressed.append((len(self.batch_behavior) - 1, size))
            if profile.direct is not None:
                return self._direct(profile.direct, edge, key, obj, size, t, from_peer, cond, inner)
            return inner(edge, key, obj, size, t, from_peer, cond)
        behavior = self.gateway.behaviors[profile.behavior]
        family = self.families[profile.family]
        keys = self.sim_keys.get((profile.behavior, profile.family))
        per_client = behavior.client_rate_limit is not None
        method, k, index, query = draw_request(
            self.rng.random, family, keys is not None, per_client
        )
        headers: dict[str, str] = {}
        if method == "OPTIONS":
            headers = preflight_fields(behavior)
        elif keys is not None and k is not None:
            headers["x-api-key"] = keys[k]
        client = "10.0.0.0"
        if per_client:
            client = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
        decided = None
        if profile.stateless:  # a cache of admit's output, keyed by all it reads then
            decided = self.decisions.get((key, method, query))
        if decided is None:
            admission = self.admissions.get(edge)
            if admission is None:
                admission = self.admissions[edge] = Admission(self.gateway, self.key_values)
            request = ViewerRequest(method, self.scheme, "cdnlab", key, query, headers, client)
            decided = admission.admit(request, t)
            if profile.stateless and len(self.decisions) < _DECISIONS:
                self.decisions[key, method, query] = decided
        if type(decided) is Answered:
            verdict = _STATUS_VERDICT.get(decided.status, REDIRECTED)
            self.batch_refused.append((len(self.batch_behavior) - 1, verdict))
            edge.requests += 1
            return edge.queue.finish(t), REFUSED, False, 0
        if method != "GET":
            return self._pass(edge, profile.direct or self.origin, full, t, profile.behavior)
        if self.switching and group != self.current:
            self._use(group)
        if size != full:
            self.batch_compressed.append((len(self.batch_behavior) - 1, size))
        target = decided.key_target + decided.key_suffix
        if profile.direct is not None:
            return self._direct(profile.direct, edge, target, obj, size, t, from_peer, cond, inner)
        return inner(edge, target, obj, size, t, from_peer, cond)

    def unanswered(self, key: str, obj: int) -> None:
        """Count a user request for ``key`` that no edge took (every edge refused it or it timed
        out before one answered: ``sim.faults``) under its behavior; the path mix draws
        nothing for it."""
        profile = self.profiles.get(key) or self._profile(key, obj)
        self.batch_behavior.append(profile.behavior)

    def _direct(
        self,
        origin: OriginSim,
        edge: Any,
        key: str,
        obj: int,
        size: int,
        t: float,
        from_peer: bool,
        cond: bool,
        inner: Callable[..., tuple[float, int, bool, int]] | None = None,
    ) -> tuple[float, int, bool, int]:
        """``inner`` (default ``self.inner``) at ``edge`` with its misses sent to ``origin``
        directly: no peer owner, no shield (``edge.routes`` on the live edge); the edge's own
        route is put back after."""
        route = self.origins.route(edge, origin)
        upstream, up_delay, owner_of = edge.upstream, edge.up_delay, edge.owner_of
        edge.upstream, edge.up_delay, edge.owner_of = origin, route.delay, None
        try:
            return (inner or self.inner)(edge, key, obj, size, t, from_peer, cond)
        finally:
            edge.upstream, edge.up_delay, edge.owner_of = upstream, up_delay, owner_of

    def _pass(
        self, edge: Any, origin: OriginSim, size: int, t: float, behavior: int
    ) -> tuple[float, int, bool, int]:
        """An admitted non-GET: through the edge's queue to ``origin`` and back, uncached (and
        through the edge functions of ``behavior`` there, when it has any)."""
        delay = self.origins.route(edge, origin).delay

        def queue(at: float) -> float:
            edge.requests += 1
            edge.outcomes[BYPASS] += 1
            return edge.queue.finish(at)

        def fetch(at: float) -> float:
            return self.origin_leg(edge, origin, delay, at, size)

        functions = self.functions
        if functions is not None:
            chain = functions.chain(edge, behavior)
            if chain.on_viewer or chain.on_origin:
                done, code = functions.pass_through(edge, chain, t, queue, fetch)
                return done, code, code == BYPASS, 0
        return fetch(queue(t)), BYPASS, True, 0

    def origin_leg(self, edge: Any, origin: OriginSim, delay: float, t: float, size: int) -> float:
        """An admitted non-GET's round trip from ``edge`` at ``t`` to ``origin`` (``delay``
        one way): the time its answer is back. ``sim.faults`` puts its own in (the origin's
        faults apply to it)."""
        edge.upstream_requests += 1
        edge.origin_bytes += size
        return origin.fetch(t + delay, size, False) + delay

    # -- tallying --------------------------------------------------------------------------------

    def settle(self, batch: RequestBatch) -> RequestBatch:
        """``batch`` with no body bytes for the requests the gateway answered (call after the
        batch was served, before its latencies and totals are computed), and the compressed
        size for those served compressed (the bytes saved kept for ``record``)."""
        compressed = self.batch_compressed
        if not self.batch_refused and not compressed:
            self.batch_saved = None
            return batch
        sizes = batch.sizes.copy()
        sizes[[position for position, _ in self.batch_refused]] = 0
        self.batch_saved = None
        if compressed:
            positions = [position for position, _ in compressed]
            smaller = np.array([size for _, size in compressed], dtype=sizes.dtype)
            self.batch_saved = np.zeros(len(sizes), dtype=np.int64)
            self.batch_saved[positions] = sizes[positions] - smaller
            sizes[positions] = smaller
            self.batch_compressed = []
        return replace(batch, sizes=sizes)

    def record(
        self, batch: RequestBatch, latencies: np.ndarray, edge_hit: np.ndarray, warmup_t: float
    ) -> None:
        """Fold the batch's per-behavior counts in (the batch ``settle`` returned)."""
        behavior = np.array(self.batch_behavior, dtype=np.int64)
        kind = np.zeros(len(behavior), dtype=np.int64)  # SERVED
        for position, verdict in self.batch_refused:
            kind[position] = verdict
        self.batch_behavior, self.batch_refused = [], []
        hits = np.asarray(edge_hit, dtype=bool)
        latencies = np.asarray(latencies, dtype=np.float64)
        saved, self.batch_saved = self.batch_saved, None
        self.all.add(behavior, kind, hits, batch.sizes, latencies, saved)
        if batch.times[-1] >= warmup_t:
            steady = batch.times >= warmup_t
            self.steady.add(
                behavior[steady], kind[steady], hits[steady], batch.sizes[steady],
                latencies[steady], None if saved is None else saved[steady],
            )  # fmt: skip

    def report(self, steady: bool) -> dict[str, Any]:
        """report.json's ``behaviors`` (per behavior) and ``gateway`` (totals) sections;
        ``gateway.steady`` too when the run has a warm-up."""
        gateway = self.all.totals()
        if steady:
            gateway["steady"] = self.steady.totals()
        behaviors = {name: self.all.summary(i) for i, name in enumerate(self.names)}
        for i, name in enumerate(self.names):
            if self.gateway.behaviors[i].compress:
                behaviors[name]["compression"] = self.all.compression(i)
        return {
            "behaviors": behaviors,
            "gateway": gateway,
            "origins": self.origins.report(),
        }
