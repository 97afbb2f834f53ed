"""Edge functions in the simulator: each edge's functions run at their triggers, in time.

Rules (docs/functions.md, "The simulator"): per PoP and function one core ``SimulatedFunction``
(cold starts, keep-warm expiry and throttling come from the same ``InstancePool`` the live
runtime uses; a function on two triggers of an edge shares its instances). Triggers, as CloudFront's skipping rules say
(cdn.functions.skipping):
- viewer-request runs for every user request at the edge the user reached (not again at a peer
  owner), before the cache step; its time delays the cache step;
- origin-request runs before every fetch an edge makes upstream (a miss, a revalidation, a
  stale refresh, a bypass), origin-response when that answer arrives; their time is added to
  the fetch (``FunctionUpstream`` wraps the edge's upstream, so sim.node needs no change);
- viewer-response runs when the answer leaves, unless a function failed before it or the
  answer's origin status is >= 400 (the core's ``trigger_runs``): a 5xx an origin-request
  function generates for the key (sim.function_probe), the origin's 404 for a rewritten URI it
  serves nothing at (``OriginPaths``); the simulated origin's own answers are 200s.
A throttled function answers 503: the request ends there (viewer-request: no cache step) and
counts in ``outcomes.function_throttled``. Approximation: a fetch whose origin trigger was
throttled is still stored (the simulator's fill is decided before the fetch ends), so the next
request hits instead of fetching again.
Time: nothing waits on an event (``SimulatedFunction.run``). A run started at ``t`` for ``s``
seconds is released to the warm pool at ``t + s``: releases wait in a heap and are applied
before the next start at or after their end. Requests reach a PoP almost in time order (network
delays differ per user), and a run that ends before a run already placed later on an instance
begins takes that instance warm, as it would have in time order; throttling at ``concurrency``
is exact for requests that arrive in order.
A topology without functions builds nothing here (``SimFunctions.build`` returns None) and the
model calls ``CacheNodeSim.serve`` as before.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from cdn.functions import FunctionSpec, OriginTarget
from cdn.functions.simulated import SimulatedFunction, functions_section, timing_of
from cdn.functions.skipping import Passage, trigger_runs
from cdn.functions.triggers import Trigger
from cdn.http.decision import Response, absorb, decide
from cdn.http.decision import Store as StoreOutcome
from cdn.http.headers import Headers
from cdn.http.step import CacheStep, Fetch, Join, Keep, Serve
from cdn.topology import Topology
from cdn.workload.catalog import Catalog
from sim.function_probe import FunctionProbe
from sim.node import CacheNodeSim
from sim.origin import OriginSim
from sim.outcomes import BYPASS, MISS, STALE

__all__ = [
    "GENERATED",
    "NO_CHAIN",
    "THROTTLED",
    "Chain",
    "FunctionUpstream",
    "OriginPaths",
    "SimFunctions",
]

THROTTLED = 503  # the code a request ends with when a function was throttled (never a hit)


class FunctionUpstream:
    """An edge's upstream with its origin-request / origin-response functions around each fetch.

    Duck-types the upstream a ``CacheNodeSim`` calls (``serve`` with the node's signature); the
    edge adds ``up_delay`` to the answer as for any upstream, and this counts the edge's origin
    bytes when the real upstream is the origin (the edge's own check sees this wrapper).
    """

    __slots__ = (
        "by_behavior",
        "edge",
        "functions",
        "on_request",
        "on_response",
        "pop",
        "probe",
        "upstream",
    )

    def __init__(
        self,
        functions: SimFunctions,
        edge: CacheNodeSim,
        upstream: CacheNodeSim | OriginSim,
        chain: Chain,
        by_behavior: dict[int, Chain],
    ) -> None:
        self.functions = functions
        self.edge = edge
        self.pop = edge.node.name
        self.upstream = upstream
        self.on_request = chain.origin_request
        self.on_response = chain.origin_response
        self.probe = chain.origin_probe
        # behavior index -> its chain, for behaviors that name functions of their own
        self.by_behavior = by_behavior

    def serve(
        self, key: str, obj: int, size: int, t: float, from_peer: bool, conditional: bool
    ) -> tuple[float, int, bool, int]:
        """Fetch through the origin triggers; ``t`` is the arrival time at the upstream."""
        done, fetched, age = self.around(
            key, t, self.edge.up_delay, self._fetch, (key, obj, size, from_peer, conditional)
        )
        if fetched is None:  # throttled or generated before the fetch: nothing went upstream
            return done, MISS, False, age
        return done, MISS, not conditional, fetched

    def _fetch(self, t: float, request: tuple[str, int, int, bool, bool]) -> tuple[float, int]:
        """The real upstream's answer to ``request`` (key, object, size, from a peer,
        conditional) arriving there at ``t``: (done, Age)."""
        key, obj, size, from_peer, conditional = request
        upstream = self.upstream
        if type(upstream) is OriginSim:
            if not conditional:
                self.edge.origin_bytes += size
            return upstream.fetch(t, size, conditional), 0
        done, _, _, age = upstream.serve(key, obj, size, t, from_peer, conditional)
        return done, age

    def around(
        self,
        key: str,
        t: float,
        delay: float,
        fetch: Callable[[float, Any], tuple[float, Any]],
        request: Any,
        answered: Callable[[Any], bool] | None = None,
    ) -> tuple[float, Any, int]:
        """The origin triggers around ``fetch`` (``fetch(t, request)``: (done, answer), times
        at the upstream; ``t`` the arrival there, ``delay`` the one-way delay from the edge,
        which is 0 for a caller timing at the edge, as ``sim.faults`` does). origin-response
        runs only on an answer (``answered(answer)``, every answer when None): as live, not
        when no upstream could be reached (the edge's own 502/504 is no origin response).

        Returns (done, ``fetch``'s answer or None, Age): None when the origin-request function
        was throttled (the request ends in a 503, ``SimFunctions.failed``) or generated the
        response (handed to the cache step as the origin's, with its Age).
        """
        on_request, on_response, probe = self.on_request, self.on_response, self.probe
        if self.by_behavior:
            chain = self.by_behavior.get(self.functions.behavior)  # type: ignore[arg-type]
            if chain is not None:
                on_request, on_response = chain.origin_request, chain.origin_response
                probe = chain.origin_probe
        if on_request is not None:
            seconds = on_request.run(t - delay)
            if seconds < 0.0:  # throttled before the fetch: 503 at the edge, at once
                self.functions.failed(self.pop)
                return t - 2.0 * delay, None, 0
            t += seconds
            if probe is not None:
                answer = probe.answer(key)
                if answer.generated:  # handed to the cache step as the origin's; no upstream
                    self.functions.generated[self.pop] += 1
                    assert answer.response is not None
                    age = self._generated_age(key, answer.response, t - seconds - delay, t - delay)
                    return t - 2.0 * delay, None, age
        done, answer = fetch(t, request)
        if on_response is not None and (answered is None or answered(answer)):
            seconds = on_response.run(done + delay)
            if seconds < 0.0:
                self.functions.failed(self.pop)
            else:
                done += seconds
        return done, answer, 0

    def _generated_age(self, key: str, response: Response, asked: float, now: float) -> int:
        """The Age to fill ``key`` with for an origin-request function's ``response``.

        As live (edge/functions.py), the response goes to the core's cache step as if the
        origin had sent it (asked at ``asked``, answered at ``now``): ``Keep`` stores it fresh
        for the core's freshness lifetime (cdn.http.freshness); ``Serve`` is a stored stale
        entry standing in for a 5xx (stale-if-error), which stays as it is (the fill carries
        its Age); anything else is not stored, so the fill is stale at once and the next
        request runs the function again. A fetch beside a fresh stored copy (alone after a
        collapse: the edge does not store it) gets the Age of what the step keeps of the
        response with nothing stored.
        """
        cache = self.edge.cache
        step = CacheStep(cache.store, cache.config, cache.request, key, asked)
        action = step.next()
        if type(action) is Join:  # the edge collapses on its own (sim.node): fetch alone
            action = step.joined(None, asked, waited=False)
        if type(action) is Fetch:
            kept = step.received(response, asked, now)
            if type(kept) is Serve:
                return kept.age
            if type(kept) is Keep:
                return self._age_for(kept.entry.freshness_lifetime)
            return self._age_for(0.0)
        # A fetch the edge makes beside a stored fresh copy (alone, after a collapse): what
        # the step would keep of the response with nothing stored.
        decision = decide(cache.request, key, (), asked, cache.config)
        outcome = absorb(cache.request, key, decision, response, asked, now, cache.config)
        if isinstance(outcome, StoreOutcome):
            return self._age_for(outcome.entry.freshness_lifetime)
        return self._age_for(0.0)

    def _age_for(self, ttl: float) -> int:
        """The Age that leaves a fill at the edge fresh for ``ttl`` seconds: the edge stores
        every fill with its cache rule's freshness lifetime, and a generated response's
        freshness is the core's lifetime for its own fields, so the difference is carried as
        its age (RFC 9111 §4.2: fresh while current_age < lifetime)."""
        template = self.edge.cache.template
        lifetime = template.lifetime if template is not None else ttl
        if not math.isfinite(lifetime):
            return 0
        return max(0, math.ceil(lifetime - ttl))


# The live origin's answer to a path it does not serve (aiohttp's 404: no Cache-Control, no
# validators); the lifetime a cache gives it is the core's (a negative TTL, else none).
NOT_FOUND = Response(404, Headers([("Content-Type", "text/plain; charset=utf-8")]), 14)


def not_found_lifetime(node: CacheNodeSim) -> float:
    """The core's freshness lifetime at ``node`` for the origin's 404 (0: not kept fresh)."""
    request = node.cache.request
    decision = decide(request, "/404", (), 0.0, node.cache.config)
    outcome = absorb(request, "/404", decision, NOT_FOUND, 0.0, 0.0, node.cache.config)
    return outcome.entry.freshness_lifetime if isinstance(outcome, StoreOutcome) else 0.0


class OriginPaths:
    """The origin as a node fetching from it sees it once viewer-request functions rewrite URIs.

    A rewritten URI the origin serves no object at (``Catalog.served_id``: e.g. ab-cookie's
    /b/obj/N) is answered 404 live (origin/app.py), and the node keeps that 404 for the core's
    lifetime (``not_found_lifetime``: configs/functions.toml's 10 s negative TTL), then fetches
    it again (and the origin triggers run again), where the simulated origin's 200 would be
    kept for the cache rule's lifetime. The node's fill carries the difference as its Age
    (``FunctionUpstream._age_for``); caches below it inherit the Age, so they expire with it,
    as live. Approximations: the 404's body size is the object's, and the refetch after expiry
    is a revalidation (the 404 has no validators live: a miss), one fetch either way.
    """

    __slots__ = ("age", "missing", "node", "origin")

    def __init__(self, node: CacheNodeSim, origin: OriginSim, missing: set[int]) -> None:
        self.node = node
        self.origin = origin
        self.missing = missing  # object ids (negative) of rewritten URIs the origin lacks
        template = node.cache.template
        lifetime = template.lifetime if template is not None else math.inf
        gap = lifetime - not_found_lifetime(node)
        self.age = max(0, math.ceil(gap)) if math.isfinite(gap) else 0

    def serve(
        self, key: str, obj: int, size: int, t: float, from_peer: bool, conditional: bool
    ) -> tuple[float, int, bool, int]:
        """The origin's answer at ``t``, as ``OriginSim.fetch`` plus the Age the fill takes."""
        if not conditional:
            self.node.origin_bytes += size
        done = self.origin.fetch(t, size, conditional)
        return done, MISS, not conditional, self.age if obj in self.missing else 0


class Chain(NamedTuple):
    """The functions one request meets at an edge, by trigger (None: nothing on that trigger)."""

    viewer_request: SimulatedFunction | None
    viewer_response: SimulatedFunction | None
    origin_request: SimulatedFunction | None
    origin_response: SimulatedFunction | None
    # What the request triggers' functions answer per URI (sim.function_probe): None when the
    # trigger has no function or its code cannot be run here (then it is a pass)
    viewer_probe: FunctionProbe | None = None
    origin_probe: FunctionProbe | None = None

    @property
    def on_viewer(self) -> bool:
        """Whether a viewer trigger has a function."""
        return self.viewer_request is not None or self.viewer_response is not None

    @property
    def on_origin(self) -> bool:
        """Whether an origin trigger has a function."""
        return self.origin_request is not None or self.origin_response is not None


NO_CHAIN = Chain(None, None, None, None)
GENERATED = -2  # the code of a request a viewer-request function answered (never a hit)


class SimFunctions:
    """Every edge's functions in one run, and the hook the model calls for each user request."""

    def __init__(self, topology: Topology, nodes: dict[str, CacheNodeSim]) -> None:
        self.prices = topology.cost.functions
        self.by_pop: dict[str, dict[str, SimulatedFunction]] = {}
        # edge -> (viewer-request function, viewer-response function, viewer-request probe);
        # edges with a viewer function only
        self.viewer: dict[
            CacheNodeSim,
            tuple[SimulatedFunction | None, SimulatedFunction | None, FunctionProbe | None],
        ] = {}
        # edge -> behavior index -> that behavior's chain (its own associations over the
        # edge's, per trigger); only behaviors naming functions of their own
        self.by_behavior: dict[CacheNodeSim, dict[int, Chain]] = {}
        self.own: dict[CacheNodeSim, Chain] = {}  # edge -> its own chain
        # The behavior (index in the topology's gateway) of the request being served: set by
        # sim.behaviors before it calls ``serve``; None without a gateway.
        self.behavior: int | None = None
        self.throttled: dict[str, int] = {}  # requests answered 503 per PoP
        # responses generated by a request trigger's function per PoP (viewer-request: the
        # request ended there; origin-request: nothing went upstream)
        self.generated: dict[str, int] = {}
        self._failed: str | None = None  # the PoP whose origin trigger throttled this request
        # What serves a request at the edge inside the viewer triggers: the cache node, or
        # sim.faults' node under a fault schedule, which also sets ``answer_status`` to the
        # error status of each answer it serves (None: the origin's answer, as without faults).
        self.node_serve: Callable[..., tuple[float, int, bool, int]] = CacheNodeSim.serve
        self.answer_status: int | None = None
        self.only_viewer_request = True
        origin = topology.origin
        self._origin = OriginTarget(origin.name, origin.host, origin.port)
        self._probes: dict[tuple[str, Trigger], FunctionProbe | None] = {}
        self._rewrites: dict[str, int] = {}  # rewritten URI -> its object id (negative)
        self._catalog = Catalog(topology.workload)
        # object ids of rewritten URIs the origin serves nothing at (a 404 live; OriginPaths)
        self.missing: set[int] = set()
        behaviors = topology.gateway.behaviors if topology.gateway is not None else ()
        for node in topology.edges:
            on = topology.functions_of(node)
            named = [
                (b, behavior.functions)
                for b, behavior in enumerate(behaviors)
                if behavior.functions
            ]
            if not on and not named:
                continue
            edge = nodes[node.name]
            mine: dict[str, SimulatedFunction] = {}

            def chain_of(on: dict[Trigger, Any], mine: dict[str, SimulatedFunction]) -> Chain:
                for spec in on.values():
                    if spec.name not in mine:
                        mine[spec.name] = SimulatedFunction(spec, timing_of(spec))

                def at(trigger: Trigger) -> SimulatedFunction | None:
                    spec = on.get(trigger)
                    return None if spec is None else mine[spec.name]

                return Chain(
                    at(Trigger.VIEWER_REQUEST),
                    at(Trigger.VIEWER_RESPONSE),
                    at(Trigger.ORIGIN_REQUEST),
                    at(Trigger.ORIGIN_RESPONSE),
                    self._probe(on.get(Trigger.VIEWER_REQUEST), Trigger.VIEWER_REQUEST),
                    self._probe(on.get(Trigger.ORIGIN_REQUEST), Trigger.ORIGIN_REQUEST),
                )

            own = self.own[edge] = chain_of(on, mine)
            chains: dict[int, Chain] = {}
            for b, associations in named:
                merged = dict(on)  # a behavior's association wins per trigger (as live)
                merged.update({t: topology.function(name) for t, name in associations})
                chains[b] = chain_of(merged, mine)
            if chains:
                self.by_behavior[edge] = chains
            self.by_pop[node.name] = mine
            self.throttled[node.name] = 0
            self.generated[node.name] = 0
            if set(on) != {Trigger.VIEWER_REQUEST} or chains or own.viewer_probe is not None:
                self.only_viewer_request = False
            if own.on_viewer:
                self.viewer[edge] = (own.viewer_request, own.viewer_response, own.viewer_probe)
            if own.on_origin or any(chain.on_origin for chain in chains.values()):
                assert edge.upstream is not None
                edge.upstream = FunctionUpstream(self, edge, edge.upstream, own, chains)  # type: ignore[assignment]

        # Whether any request trigger's function is probed: without, every answer is the
        # simulated origin's 200 and viewer-response always runs (no status to look up).
        self.probed = any(probe is not None for probe in self._probes.values())
        if any(
            probe is not None and trigger is Trigger.VIEWER_REQUEST
            for (_, trigger), probe in self._probes.items()
        ):
            self._wrap_origin(nodes)

        # The hook the model calls: the short one when only viewer-request functions exist.
        self.on_viewer_request = {edge: pair[0] for edge, pair in self.viewer.items()}
        if self.only_viewer_request:
            self.serve = self.serve_viewer_request  # type: ignore[method-assign]

    def _probe(self, spec: FunctionSpec | None, trigger: Trigger) -> FunctionProbe | None:
        """The probe of ``spec`` on ``trigger`` (one per function and trigger, for every PoP);
        None without a function or when its code is not there to run."""
        if spec is None:
            return None
        key = (spec.name, trigger)
        if key not in self._probes:
            probe = FunctionProbe(spec, trigger, self._origin)
            self._probes[key] = probe if probe.runnable else None
        return self._probes[key]

    def _wrap_origin(self, nodes: dict[str, CacheNodeSim]) -> None:
        """Put ``OriginPaths`` between the origin and every node fetching from it (a viewer
        request function may rewrite to paths the origin lacks)."""
        for node in nodes.values():
            holder: Any = node
            if isinstance(node.upstream, FunctionUpstream):
                holder = node.upstream
            if type(holder.upstream) is OriginSim:
                holder.upstream = OriginPaths(node, holder.upstream, self.missing)

    @classmethod
    def build(cls, topology: Topology, nodes: dict[str, CacheNodeSim]) -> SimFunctions | None:
        """The functions of ``topology``'s edges and behaviors, or None when there are none
        (no hooks at all)."""
        gateway = topology.gateway
        if not any(topology.functions_of(node) for node in topology.edges) and not (
            gateway is not None and any(b.functions for b in gateway.behaviors)
        ):
            return None
        return cls(topology, nodes)

    def chain(self, edge: CacheNodeSim, behavior: int | None) -> Chain:
        """The chain of a request on ``behavior`` at ``edge`` (NO_CHAIN: no function there)."""
        chains = self.by_behavior.get(edge)
        if chains is not None and behavior is not None:
            chain = chains.get(behavior)
            if chain is not None:
                return chain
        return self.own.get(edge, NO_CHAIN)

    def _rewritten(self, edge: CacheNodeSim, uri: str) -> int:
        """The object id of the URI a viewer-request function rewrote a request to.

        Such a URI is an object of its own (the same body size): it gets a negative id, one per
        URI in the run, and at ``edge`` the owner the ring gives its key (the owner memo is by
        object id).
        """
        obj = self._rewrites.get(uri)
        if obj is None:
            obj = self._rewrites[uri] = -1 - len(self._rewrites)
            if self._catalog.served_id(uri.partition("?")[0]) is None:
                self.missing.add(obj)
        owners = edge.owner_of
        if owners is not None and obj not in owners.memo:
            owners.memo[obj] = owners.of_path(uri)
        return obj

    def rewritten_uri(self, obj: int) -> str | None:
        """The URI a viewer-request function rewrote to that ``obj`` (negative) stands for."""
        for uri, rewritten in self._rewrites.items():
            if rewritten == obj:
                return uri
        return None

    def failed(self, pop: str) -> None:
        """An origin trigger's function at ``pop`` was throttled during the request served."""
        self._failed = pop

    def serve(
        self,
        edge: CacheNodeSim,
        key: str,
        obj: int,
        size: int,
        t: float,
        from_peer: bool,
        conditional: bool,
    ) -> tuple[float, int, bool, int]:
        """``edge.serve`` for a user request, with the edge's viewer functions around it."""
        viewer = self.viewer.get(edge)
        if self.by_behavior:
            chains = self.by_behavior.get(edge)
            if chains is not None:
                chain = chains.get(self.behavior)  # type: ignore[arg-type]
                if chain is not None:
                    viewer = (
                        (chain.viewer_request, chain.viewer_response, chain.viewer_probe)
                        if chain.on_viewer
                        else None
                    )
        self._failed = None
        if viewer is None:
            answer = self.node_serve(edge, key, obj, size, t, from_peer, conditional)
            if self._failed is not None and answer[1] != STALE:  # an origin trigger throttled
                self.throttled[self._failed] += 1
                return answer[0], THROTTLED, False, 0
            return answer
        on_request, on_response, probe = viewer
        if on_request is not None:
            seconds = on_request.run(t)
            if seconds < 0.0:
                self.throttled[edge.node.name] += 1
                return t, THROTTLED, False, 0
            t += seconds
            if probe is not None:
                answer = probe.answer(key)
                if answer.generated:
                    # answered at the edge: no cache step, no other trigger
                    # (cdn.functions.skipping)
                    self.generated[edge.node.name] += 1
                    return t, GENERATED, False, 0
                if answer.uri is not None:  # rewritten: the cache step keys the new URI
                    key, obj = answer.uri, self._rewritten(edge, answer.uri)
        reply = self.node_serve(edge, key, obj, size, t, from_peer, conditional)
        failed = self._failed
        if failed is not None and reply[1] != STALE:  # a background refresh's is not the viewer's
            self.throttled[failed] += 1
            return reply[0], THROTTLED, False, 0
        if on_response is None:
            return reply
        done, code, from_upstream, age = reply
        status = self.answer_status
        if (status is None and not self.probed) or trigger_runs(
            Trigger.VIEWER_RESPONSE,
            Passage(origin_status=status or self._origin_status(edge, key, obj)),
        ):
            seconds = on_response.run(done)
            if seconds < 0.0:
                self.throttled[edge.node.name] += 1
                return done, THROTTLED, from_upstream, age
            done += seconds
        return done, code, from_upstream, age

    def _origin_status(self, edge: CacheNodeSim, key: str, obj: int) -> int | None:
        """The status the answer ``edge`` sends for ``key`` came with (the core's
        ``Passage.origin_status``): 404 for a rewritten URI the origin lacks, the status an
        origin-request function generates for it at the key's owner, else None (the simulated
        origin's 200)."""
        if obj in self.missing:
            return 404
        owner = edge
        owners = edge.owner_of
        if owners is not None:
            owner = owners.memo.get(obj) or owners(obj)
        probe = self.chain(owner, self.behavior).origin_probe
        if probe is not None:
            answer = probe.answer(key)
            if answer.generated:
                return answer.status
        return None

    def pass_through(
        self,
        edge: CacheNodeSim,
        chain: Chain,
        t: float,
        queue: Callable[[float], float],
        fetch: Callable[[float], float],
    ) -> tuple[float, int]:
        """An admitted non-GET (a POST passed to the origin uncached) through ``chain``'s four
        triggers at ``edge``, arriving at ``t``: (the time its answer is ready, its code).

        ``queue(t)``: the edge's queue, the time the request leaves it; ``fetch(t)``: the origin
        round trip from the edge at ``t``, the time the answer is back at the edge. As live:
        viewer-request, the edge, origin-request, the origin, origin-response, viewer-response;
        a throttled function answers 503 at once (the triggers after it do not run).
        """
        steps: tuple[tuple[SimulatedFunction | None, Callable[[float], float] | None], ...] = (
            (chain.viewer_request, queue),
            (chain.origin_request, fetch),
            (chain.origin_response, None),
            (chain.viewer_response, None),
        )
        for function, then in steps:
            if function is not None:
                seconds = function.run(t)
                if seconds < 0.0:
                    self.throttled[edge.node.name] += 1
                    return t, THROTTLED
                t += seconds
            if then is not None:
                t = then(t)
        return t, BYPASS

    def serve_viewer_request(
        self,
        edge: CacheNodeSim,
        key: str,
        obj: int,
        size: int,
        t: float,
        from_peer: bool,
        conditional: bool,
    ) -> tuple[float, int, bool, int]:
        """``serve`` when the edges' only functions are on viewer-request (the common case)."""
        function = self.on_viewer_request.get(edge)
        if function is not None:
            seconds = function.run(t)
            if seconds < 0.0:
                self.throttled[edge.node.name] += 1
                return t, THROTTLED, False, 0
            t += seconds
        return self.node_serve(edge, key, obj, size, t, from_peer, conditional)

    def add_to(self, report: dict[str, Any]) -> None:
        """Put the ``functions`` section in ``report``, with its cost and throttled requests."""
        section = functions_section(
            {pop: mine.values() for pop, mine in self.by_pop.items()},
            self.prices,
        )
        section["throttled_requests"] = sum(self.throttled.values())
        # responses a request trigger's function generated, per PoP (sim.function_probe)
        section["generated_responses"] = dict(sorted(self.generated.items()))
        report["functions"] = section
        report["outcomes"]["function_throttled"] = section["throttled_requests"]
        cost = report["cost"]
        cost["functions"] = section["cost"]
        cost["total"] += section["cost"]
        for pop, entries in section["pops"].items():
            pop_cost = sum(entry["cost"] for entry in entries)
            report["pops"][pop]["outcomes"]["function_throttled"] = self.throttled[pop]
            report["pops"][pop]["cost"]["functions"] = pop_cost
            report["pops"][pop]["cost"]["total"] += pop_cost
            cost["pops"][pop] += pop_cost
