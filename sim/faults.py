"""Fault schedules in the simulator: the same ``[[fault]]`` scenario ``cluster.faults`` acts out live.

Rules: a shell over the same parts as ``sim.model`` (the nodes' ``NodeCache`` runs the core
``CacheStep``; the ring is ``cdn.ring``'s, the origin group rule ``cdn.gateway.failover``'s);
no clock, no global random (an origin error is the deterministic draw ``cdn.fault_draws`` the
live origin makes too: of the run's seed, the object's path and the earlier draws for it). A run with faults is request by request (slower than the fault-free hot path, a few
seconds per 100,000 requests), and what each fault does follows the live CDN:

- ``kill`` (for good) and ``restart`` (for ``for``; the node comes back with an EMPTY cache):
  the node refuses connections. Its users go to their next-nearest edge (the load generator,
  like anycast, does the same); its peers send its keys to the next owner on the ring; the caches
  below a dead shield go to their next upstream (``upstream = ["shield", "origin"]``), and with
  none left the fetch fails (502).
- ``stop`` and ``partition``: the node hangs (its kernel still accepts connections). Its own
  users wait until it wakes; a wait past the client timeout (``SimOptions.client_timeout``, the
  load generator's request timeout, 10 s by default) is an error. With ``SimOptions.head_timeout`` (the load generator's anycast
  withdrawal, ``LoadPlan.head_timeout``) a user who would wait longer than it goes to the
  next-nearest edge after it instead. Its peers wait ``PEER_TIMEOUT`` for a response head, then ask
  the next owner, until their probe marks it down (``DETECT`` seconds after the stop); caches
  below a hung shield wait up to their ``upstream_timeout`` and then try their next upstream.
- ``origin_down``: the origin named by the fault's ``node`` (the first by default) refuses
  connections: a miss or revalidation fails, and the core cache step decides
  (``CacheStep.failed``) whether a stale entry stands in (stale-if-error) or the answer is an
  error. A behavior on another origin or an origin group is fetched by the edges from it
  directly (no peer, no shield: ``sim.origins``, as ``edge.routes``); a group's request goes to
  its secondary when the primary fails (``cdn.gateway.failover``).
- ``origin_slow``: every answer of that origin is ``latency`` later.
- ``origin_errors``: a share ``rate`` of that origin's answers are ``status`` (the live
  origin's own deterministic draws, so the same requests fail on both sides);
  the cache step decides stale-if-error; in an origin group a failover status goes to the
  secondary.

Behaviors, a path mix and edge functions: each user request goes through the model's own chain
(``sim.behaviors.SimGateway.serve``'s admission and path mix draws, ``sim.functions``' viewer
triggers) around ``FaultRun.serve`` at the edge it reaches; the origin triggers run around an
edge's fetches (``FunctionUpstream.around``), the gateway's passed POSTs meet the origin's faults
(``pass_leg``), and each request's misses go by its behavior's route. With nothing faulted the
run reports what the fault-free run does (tests/sim/test_sim_faults_with_behaviors.py).

Collapsing: a request for a key whose fetch is in flight at the node waits for it and shares its
outcome (the live edge's collapse), a request arriving late (before the answer) too; a
non-owner collapses on its forward to the owner; no hit-for-pass modelling. Results are split into before / during / after the fault window (from the first
fault's start to the last one's end; a kill's lasts to the end of the run): requests, errors,
stale served (stale-if-error), origin requests, hit ratio and p99 (errors left out, as the load
generator leaves them out of its latency histograms). "stale served" counts what the user-facing
cache served stale, for stale-if-error or stale-while-revalidate (the load generator's view: the
last Cache-Status member); "stale served any
tier" counts user requests some cache on the path answered with a stale-if-error copy (a shield
serving stale to an edge whose own copy expired), plus per-second counts and the requests
each origin served (``report["faults"]``, docs/reliability.md).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from cdn.fault_draws import injected_error
from cdn.faults import Fault
from cdn.gateway.failover import fails_over
from cdn.geo import distance_km
from cdn.http.error_hold import ErrorHold, after_fetch, failed_fetch, is_held
from cdn.http.step import Serve
from cdn.ring import HashRing, peer_key
from cdn.topology import Topology
from cdn.workload import Catalog
from sim.behaviors import REFUSED
from sim.compression import Uncompressed
from sim.fault_schedule import PHASES, PhaseFigures, Schedule, phase_of
from sim.functions import FunctionUpstream, OriginPaths
from sim.nodecache import NodeCache, Refresh
from sim.origin import OriginSim
from sim.outcomes import BYPASS, COLLAPSED, HIT, HIT_CODES, MISS, REVALIDATED, STALE, Outcome
from sim.purges import apply_purge

__all__ = [
    "CLIENT_TIMEOUT",
    "DETECT",
    "PEER_TIMEOUT",
    "PHASES",
    "FaultRun",
    "Schedule",
    "phase_of",
]

CLIENT_TIMEOUT = 10.0  # the load generator's default request timeout (SimOptions.client_timeout)
PEER_TIMEOUT = 5.0  # an edge waits this long for a peer's response head (docs/reliability.md)
DETECT = 2.0  # a hung peer is marked down by the next probe (every 2 s)
REFUSING = frozenset({"kill", "restart"})


def _reached(answer: tuple[int, int, bool]) -> bool:
    """A fetch's (status, Age, stood in) came from an upstream (status -1: none was reached)."""
    return answer[0] != -1


HANGING = frozenset({"stop", "partition"})
ERROR_STATUS = 502  # what a cache answers when its upstream could not be reached


class Reply(NamedTuple):
    """One node's answer: when, how (outcome), the error status (0: none), stale-if-error."""

    done: float
    code: Outcome
    error: int
    stale_error: bool
    age: int


class OriginRoute(NamedTuple):
    """Where a behavior's misses go: the origin (a group's primary), the group and its
    secondary, and whether the edges fetch from it directly (no peer, no shield)."""

    primary: OriginSim
    group: Any
    secondary: OriginSim | None
    direct: bool


class FaultRun:
    """A ``sim.model.Simulation`` served request by request under ``faults``.

    ``user_request`` serves one user request (``run_batches`` drives it over the stream,
    ``run_with_faults`` the whole run); the nodes' and origin's counters are updated as the
    fast path does, so ``sim.result.build_result`` reads them; ``report()`` is the phases.
    """

    def __init__(self, sim: Any, faults: tuple[Fault, ...]) -> None:
        self.sim = sim
        self.topology: Topology = sim.topology
        self.schedule = Schedule(faults)
        self.seed = sim.seed  # the live origin's fault seed (the workload's) by default
        self.error_draws: Counter[str] = Counter()  # per path, as origin.control counts them
        self.settings = self.topology.edge_settings
        self.head_timeout: float | None = sim.options.head_timeout
        self.client_timeout: float = sim.options.client_timeout
        run_end = sim.expected_duration if math.isfinite(sim.expected_duration) else math.inf
        self.window = self.schedule.window(run_end)
        self.phases = [PhaseFigures() for _ in PHASES]
        self.per_second: dict[str, list[int]] = {
            name: [] for name in ("requests", "errors", "stale", "hits", "origin_requests")
        }
        self.inflight: dict[str, dict[str, tuple[float, Reply]]] = {n: {} for n in sim.nodes}
        self.pending_restarts = self.schedule.restarts()
        self.stale_hop = False  # a node served stale-if-error for the current user request
        # Each node's error hold (cdn.http.error_hold), as the live edge keeps one per process.
        self.holds: dict[str, ErrorHold] = {}
        self.site = sim.site
        self.path = self.topology.workload.path
        workload = self.topology.workload
        # An object's path (what the ring hashes and the origin's error draw reads): the
        # path mix's (Catalog.path_of) or the workload path's.
        self.path_of: Callable[[int], str] = (
            Catalog(workload).path_of if workload.paths else self._plain_path
        )
        self._owners: dict[tuple[str, int], list[str]] = {}
        self.rings = {
            name: HashRing([peer.name for peer in self.topology.peers_of(node.node)])
            for name, node in sim.nodes.items()
            if len(self.topology.peers_of(node.node)) > 1
        }
        self._build_origins()
        self._build_routes()
        self._build_entry()

    # -- construction ------------------------------------------------------------------------

    def _build_origins(self) -> None:
        """Every origin (``sim.origins``' servers, shared with the fault-free run) and, per
        behavior, its route (``OriginRoute``): a behavior that targets another origin or an
        origin group is fetched by the edges from that origin (a group: its primary, then its
        secondary) directly. The workload path's behavior's route is the report's."""
        sim, topology = self.sim, self.topology
        gate = sim.gate
        self.by_name: dict[str, OriginSim] = (
            gate.origins.by_name if gate is not None else {topology.origin.name: sim.origin}
        )
        main = OriginRoute(sim.origin, None, None, False)
        gateway = topology.gateway
        self.by_behavior: list[OriginRoute] = []
        if gateway is not None:
            self.by_behavior = [self._route_to(b.target_origin) for b in gateway.behaviors]
            behavior = gateway.behavior_for(topology.workload.path.split("{id}")[0])
            main = self.by_behavior[gateway.behaviors.index(behavior)]
        self.main = main
        self._use_route(main)

    def _route_to(self, target: str) -> OriginRoute:
        """The route of a behavior whose ``target_origin`` is ``target``."""
        group = self.topology.gateway.origin_group(target)  # type: ignore[union-attr]
        if group is not None:
            primary, secondary = (self.by_name[m] for m in group.members[:2])
            return OriginRoute(primary, group, secondary, True)
        if target != self.topology.origin.name:
            return OriginRoute(self.by_name[target], None, None, True)
        return OriginRoute(self.sim.origin, None, None, False)

    def _use_route(self, route: OriginRoute) -> None:
        """Send the current request's misses by ``route``."""
        self.primary, self.group, self.secondary, self.direct = route

    def _build_entry(self) -> None:
        """What serves a user request at the edge it reached: the model's own chain (the
        gateway's admission outermost, then the edge functions' viewer triggers, as
        ``sim.model`` wires them) around this run's ``serve``; the origin triggers run around
        the edges' fetches (``fetch``), the gateway's passed requests meet the origin's faults
        (``pass_leg``)."""
        sim = self.sim
        gate, functions = sim.gate, sim.functions
        self.gate, self.functions = gate, functions
        self.answered: Reply | None = None  # the reply of this run's serve for the request
        # Per node: its origin-trigger wrapper (sim.functions) and the origin as the node sees it
        # when viewer-request functions rewrite URIs (OriginPaths: the Age of a 404'd fill).
        self.function_upstreams: dict[str, FunctionUpstream] = {}
        self.origin_paths: dict[str, OriginPaths] = {}
        for name, node in sim.nodes.items():
            holder: Any = node
            if isinstance(node.upstream, FunctionUpstream):
                self.function_upstreams[name] = node.upstream
                holder = node.upstream
            if isinstance(holder.upstream, OriginPaths):
                self.origin_paths[name] = holder.upstream
        entry: Callable[..., tuple[float, int, bool, int]] = self._edge_serve
        if functions is not None:
            functions.node_serve = entry
            entry = functions.serve
        if gate is not None:
            gate.inner = entry
            gate.functions = functions
            gate.origin_leg = self.pass_leg
            entry = gate.serve
        self.entry = entry

    def _build_routes(self) -> None:
        """Per user location every edge, nearest first, with the one-way delay to it."""
        sim = self.sim
        edges = [sim.nodes[edge.name] for edge in self.topology.edges]
        self.routes = []
        for user in sim.users.locations:
            point = user.location.point
            ranked = sorted(
                edges, key=lambda e: (distance_km(point, e.node.location.point), e.node.name)
            )
            self.routes.append(
                [(edge, sim.latency.one_way(point, edge.node.location.point)) for edge in ranked]
            )

    # -- the run -------------------------------------------------------------------------------

    def record_second(self, name: str, t: float, amount: int = 1) -> None:
        """Add ``amount`` to the per-second count ``name`` at ``t``."""
        values = self.per_second[name]
        index = int(t)
        if index >= len(values):
            values.extend([0] * (index + 1 - len(values)))
        values[index] += amount

    def user_request(
        self, user: int, key: str, obj: int, size: int, t: float, fresh: bool
    ) -> tuple[float, bool, bool]:
        """One user request sent at ``t``: (latency s but the body's transfer time, which the
        caller adds for the size served, edge-tier hit, error)."""
        self._restart_due(t)
        self.stale_hop = False
        self.answered = None
        latency_model = self.sim.latency
        setup = latency_model.setup_rtts * 2.0
        spent = 0.0  # connection attempts refused before the edge that answers
        done: float | None = None
        code = MISS
        error = 0
        one_way = 0.0
        route = self.routes[user]
        last = len(route) - 1
        for index, (edge, one_way) in enumerate(route):
            arrive = t + spent + (setup * one_way if fresh else 0.0) + one_way
            fault = self.schedule.node_fault(edge.node.name, arrive)
            if fault is not None and fault.kind in REFUSING:
                spent += 2.0 * one_way  # a refused connect costs a round trip; next edge
                continue
            if fault is not None:  # hung: the user waits for it to wake
                assert fault.end is not None
                head_timeout = self.head_timeout
                if head_timeout is not None and index < last and fault.end - arrive > head_timeout:
                    spent += head_timeout  # withdrawn: the next-nearest edge
                    continue
                if fault.end - t > self.client_timeout:
                    done, error = t + self.client_timeout, 504
                    break
                arrive = fault.end
            done, code, _, _ = self.entry(edge, key, obj, size, arrive, False, False)
            answered = self.answered
            if answered is not None and answered.code == code:  # this run's serve answered
                error = answered.error
            break
        if done is None:  # every edge refused
            done, error = t + spent, ERROR_STATUS
        if error and self.answered is None and self.gate is not None:  # no edge took it
            self.gate.unanswered(key, obj)
        phase = self.phases[phase_of(t, self.window)]
        phase.requests += 1
        self.record_second("requests", t)
        latency = done - t + one_way
        if error:
            phase.errors += 1
            self.record_second("errors", t)
            return latency, False, True
        hit = code in HIT_CODES
        body = 0 if code == REFUSED else size  # the gateway's own answers have none
        phase.latency.record(latency + body * 8.0 / latency_model.client_bandwidth_bps)
        if code == STALE:  # served stale (stale-if-error or stale-while-revalidate)
            phase.stale += 1
            self.record_second("stale", t)
        if self.stale_hop:
            phase.stale_upstream += 1
        if hit:
            phase.hits += 1
            self.record_second("hits", t)
        return latency, hit, False

    def _edge_serve(
        self, edge: Any, key: str, obj: int, size: int, t: float, from_peer: bool, cond: bool
    ) -> tuple[float, int, bool, int]:
        """``serve`` at ``edge`` for the model's chain (``CacheNodeSim.serve``'s signature);
        the reply is kept in ``answered`` and its error told to the functions."""
        gate = self.gate
        if gate is not None and self.by_behavior:
            self._use_route(self.by_behavior[gate.batch_behavior[-1]])
        up = edge.upstream
        fetch_size = up.size if type(up) is Uncompressed else None  # compressed at the edge
        reply = self.answered = self.serve(edge, key, obj, size, t, from_peer, fetch_size)
        if self.functions is not None:
            self.functions.answer_status = reply.error or None
        return reply.done, reply.code, False, reply.age

    def pass_leg(self, edge: Any, origin: OriginSim, delay: float, t: float, size: int) -> float:
        """``SimGateway.origin_leg`` under the faults: an admitted non-GET's round trip to
        ``origin`` (its faults apply; a refused or failed one is the user's error)."""
        edge.upstream_requests += 1
        done, status = self._answer(origin, t + delay, size, False, None)
        if status == 0:
            edge.origin_bytes += size
        done += delay
        error = status if status > 0 else ERROR_STATUS if status else 0
        self.answered = Reply(done, BYPASS, error, False, 0)
        return done

    def _restart_due(self, t: float) -> None:
        """Empty the cache of each node whose restart began by ``t`` (it comes back empty)."""
        while self.pending_restarts and self.pending_restarts[0].at <= t:
            fault = self.pending_restarts.pop(0)
            node = self.sim.nodes.get(fault.node)
            if node is None:
                continue
            self.holds.pop(fault.node, None)  # a new process
            old = node.cache
            if self.gate is not None:  # its caches (one per behavior) share the store: empty it
                old.store.purge_prefix("")
            else:
                node.cache = NodeCache(
                    old.store.capacity, old.store.policy_name, old.config, old.origin
                )
            self.inflight[fault.node] = {}

    def serve(
        self,
        node: Any,
        key: str,
        obj: int,
        size: int,
        t: float,
        from_peer: bool,
        fetch_size: int | None = None,
    ) -> Reply:
        """Node ``node`` answers a request for ``key`` arriving at ``t`` (``fetch_size``: the
        size its upstreams serve, when not ``size``: an edge serving it compressed)."""
        name = node.node.name
        up_size = size if fetch_size is None else fetch_size
        node.requests += 1
        node.bytes += size
        t = node.queue.finish(t)  # the Lindley step (sim.queueing), late arrivals too
        inflight = self.inflight[name]
        lead = inflight.get(key)
        # Collapse on the fetch in flight (or the forward to the owner); a lead stays until
        # ``sweep`` (a request arriving late, before the answer, still waits for it).
        if lead is not None and lead[0] > t:
            node.collapsed += 1
            reply = lead[1]
            code = COLLAPSED if not reply.error else reply.code
            return self._count(node, Reply(lead[0], code, *reply[2:]), size)
        ring = self.rings.get(name)
        if ring is not None and not from_peer and not self.direct:  # direct: no peers
            forwarded, t = self._to_owner(node, ring, key, obj, up_size, t)
            if forwarded is not None:  # the non-owner collapses first, as the live edge does
                inflight[key] = (forwarded.done, forwarded)
                return forwarded
        cache = node.cache
        code, step, age = cache.decide(key, t)
        if code in (HIT, STALE):
            if code == STALE:  # stale-while-revalidate: refresh in the background
                done, status, up_age, _ = self.fetch(node, key, obj, up_size, t, True)
                if not status:
                    cache.refresh(key, obj, size, step, t, done, up_age)
            return self._count(node, Reply(t, code, 0, False, age), size)
        if is_held(self.holds.get(name), t):
            stand_in = step.held_stand_in(t)
            if stand_in is not None:  # the upstream is held as failing: the stale copy answers
                self.stale_hop = True
                return self._count(node, Reply(t, STALE, 0, True, stand_in.age), size)
        conditional = code == REVALIDATED
        done, status, up_age, stood_in = self.fetch(node, key, obj, up_size, t, conditional)
        self._held(name, status, stood_in, done)
        if status:
            action = step.failed(status if status > 0 else None, done)
            if type(action) is Serve:
                self.stale_hop = True
                reply = Reply(done, STALE, 0, True, action.age)
            else:
                reply = Reply(done, MISS, status if status > 0 else ERROR_STATUS, False, 0)
        elif conditional:
            refreshed = cache.refresh(key, obj, size, step, t, done, up_age)
            if refreshed == Refresh.REFETCH:
                asked = done
                done, status, up_age, stood_in = self.fetch(node, key, obj, up_size, asked, False)
                self._held(name, status, stood_in, done)
                if not status:
                    cache.fill(key, obj, size, step, asked, done, up_age)
            if status:
                reply = Reply(done, MISS, status if status > 0 else ERROR_STATUS, False, 0)
            elif refreshed == Refresh.RENEWED:
                reply = Reply(done, REVALIDATED, 0, False, cache.age_of(key, done))
            else:
                reply = Reply(done, MISS, 0, False, up_age)
        else:
            cache.fill(key, obj, size, step, t, done, up_age)
            reply = Reply(done, MISS, 0, False, up_age)
        inflight[key] = (reply.done, reply)
        return self._count(node, reply, size)

    def sweep(self, now: float) -> None:
        """Forget the leads whose answers came by ``now`` (no request arrives before it)."""
        for name, inflight in self.inflight.items():
            if inflight:
                self.inflight[name] = {k: lead for k, lead in inflight.items() if lead[0] > now}

    def _held(self, name: str, status: int, stood_in: bool, done: float) -> None:
        """Carry a fetch's outcome (``fetch``'s status and stand-in flag) into ``name``'s hold."""
        failed = failed_fetch(None if status < 0 else (status or 200), stood_in)
        hold = after_fetch(self.holds.get(name), failed, done)
        if hold is None:
            self.holds.pop(name, None)
        else:
            self.holds[name] = hold

    def _count(self, node: Any, reply: Reply, size: int) -> Reply:
        if reply.error:
            return reply
        node.outcomes[reply.code] += 1
        if reply.code in HIT_CODES:
            node.hits += 1
            node.bytes_hit += size
        return reply

    def _to_owner(
        self, node: Any, ring: HashRing, key: str, obj: int, size: int, t: float
    ) -> tuple[Reply | None, float]:
        """Forward to the key's owner on the ring (the next one when it is down): (its reply,
        or None when ``node`` serves the key itself, and the time it does: after the waits)."""
        name = node.node.name
        owners = self._owners.get((name, obj))
        if owners is None:
            # a URI a viewer-request function rewrote to is its own object (negative id)
            path = self.path_of(obj) if obj >= 0 else key.partition("?")[0]
            owners = ring.owners(peer_key(self.site, path))
            self._owners[(name, obj)] = owners
        for owner_name in owners:
            if owner_name == name:
                return None, t
            owner = self.sim.nodes[owner_name]
            delay = node.peer_delay.get(owner_name, 0.0)
            fault = self.schedule.node_fault(owner_name, t + delay)
            if fault is not None and fault.kind in REFUSING:
                t += 2.0 * delay  # connection refused: the next owner at once
                continue
            arrive = t + delay
            if fault is not None:  # hung peer
                assert fault.end is not None
                if fault.end - arrive <= PEER_TIMEOUT:
                    arrive = fault.end  # it wakes before the peer timeout: it answers
                else:
                    if arrive - fault.at < DETECT:  # not yet marked down: wait, then move on
                        t = arrive + PEER_TIMEOUT
                    continue
            node.forwarded += 1
            node.forwarded_bytes += size
            reply = self.serve(owner, key, obj, size, arrive, True)
            done = reply.done + delay
            self._held(name, reply.error, reply.stale_error, done)  # the live edge's peer fetch
            return reply._replace(done=done), t
        return None, t

    def fetch(
        self, node: Any, key: str, obj: int, size: int, t: float, conditional: bool
    ) -> tuple[float, int, int, bool]:
        """Fetch ``key`` from ``node``'s upstreams in order: (done, status, Age, stood in).

        status 0: answered; > 0: the error status the upstream answered; -1: no upstream
        could be reached (refused or timed out). Stood in: the upstream cache answered with a
        stale copy because its own upstream failed (stale-if-error).
        """
        node.upstream_requests += 1
        node.upstream_bytes += 0 if conditional else size
        wrapper = self.function_upstreams.get(node.node.name)
        if wrapper is not None and not self.direct:  # the origin triggers around the fetch
            done, answer, age = wrapper.around(
                key, t, 0.0, self._triggered, (node, key, obj, size, conditional), _reached
            )
            if answer is None:  # throttled or generated: nothing went upstream
                return done, 0, age, False
            status, age, stood_in = answer
            return done, status, age, stood_in
        return self._fetch(node, key, obj, size, conditional, t)

    def _triggered(
        self, t: float, request: tuple[Any, str, int, int, bool]
    ) -> tuple[float, tuple[int, int, bool]]:
        """``_fetch`` as ``FunctionUpstream.around`` calls it: (done, (status, Age, stood in))."""
        done, status, age, stood_in = self._fetch(*request, t)
        return done, (status, age, stood_in)

    def _fetch(
        self, node: Any, key: str, obj: int, size: int, conditional: bool, t: float
    ) -> tuple[float, int, int, bool]:
        """``fetch`` without the origin triggers (and the node's upstream counts)."""
        if self.direct:
            done, status = self.origin_fetch(node, t, size, conditional, obj)
            if not conditional and status == 0:
                node.origin_bytes += size
            return done, status, 0, False
        topology = self.topology
        chain = [topology.upstream_of(node.node), *topology.fallbacks_of(node.node)]
        latency = self.sim.latency
        status = -1
        for upstream in chain:
            assert upstream is not None
            delay = latency.one_way(node.node.location.point, upstream.location.point)
            if upstream.role == "origin":
                done, status = self._answer(
                    self.by_name[upstream.name], t + delay, size, conditional, obj
                )
                if status == -1:
                    t = done + delay
                    continue
                if not conditional and status == 0:
                    node.origin_bytes += size
                paths = self.origin_paths.get(node.node.name)
                age = paths.age if paths is not None and obj in paths.missing else 0
                return done + delay, status, age, False
            arrive = t + delay
            fault = self.schedule.node_fault(upstream.name, arrive)
            if fault is not None and fault.kind in REFUSING:
                t = arrive + delay
                continue
            if fault is not None:
                assert fault.end is not None
                if fault.end - arrive > self.settings.upstream_timeout:
                    t = arrive + self.settings.upstream_timeout
                    continue
                arrive = fault.end
            reply = self.serve(self.sim.nodes[upstream.name], key, obj, size, arrive, False)
            return reply.done + delay, reply.error, reply.age, reply.stale_error
        return t, status, 0, False

    def origin_fetch(
        self, node: Any, t: float, size: int, conditional: bool, obj: int = 0
    ) -> tuple[float, int]:
        """``node`` (an edge) fetches from its direct route's origin at ``t``, or in an origin
        group from the secondary when the primary fails (``cdn.gateway.failover``): (the time
        the answer is back at ``node``, status as ``fetch``'s)."""
        point = node.node.location.point
        one_way = self.sim.latency.one_way
        delay = one_way(point, self.primary.node.location.point)
        done, status = self._answer(self.primary, t + delay, size, conditional, obj)
        done += delay
        group = self.group
        if (
            group is not None
            and status
            and fails_over(group, "GET", status if status > 0 else None)
        ):
            assert self.secondary is not None
            delay = one_way(point, self.secondary.node.location.point)
            done, status = self._answer(self.secondary, done + delay, size, conditional, obj)
            done += delay
        return done, status

    def _answer(
        self, origin: OriginSim, t: float, size: int, conditional: bool, obj: int | None = 0
    ) -> tuple[float, int]:
        """``origin`` answers a request arriving at ``t`` under its own faults: (done, status).

        ``obj`` None: a request passed through uncached (the gateway's admitted POSTs), which
        draws no injected error here (the draws stay the cached objects')."""
        schedule, name = self.schedule, origin.node.name
        if schedule.origin_fault("origin_down", t, name) is not None:
            return t, -1  # refused
        done = origin.fetch(t, size, conditional)
        self._origin_counted(t)
        slow = schedule.origin_fault("origin_slow", t, name)
        if slow is not None:
            done += slow.latency
        errors = schedule.origin_fault("origin_errors", t, name)
        if errors is not None and obj is not None and self._draws_error(obj, errors.rate):
            return done, errors.status
        return done, 0

    def _draws_error(self, obj: int, rate: float) -> bool:
        """The live origin's draw (``origin.control.FaultControl.draws_error``) for ``obj``'s path."""
        path = self.path_of(obj) if obj >= 0 else self._rewritten_path(obj)
        attempt = self.error_draws[path]
        self.error_draws[path] = attempt + 1
        return injected_error(self.seed, path, attempt, rate)

    def _rewritten_path(self, obj: int) -> str:
        """The URI a viewer-request function rewrote to, that ``obj`` (negative) stands for."""
        uri = self.functions.rewritten_uri(obj) if self.functions is not None else None
        return f"/rewritten/{-obj}" if uri is None else uri.partition("?")[0]

    def _plain_path(self, obj: int) -> str:
        return self.path.replace("{id}", str(obj))

    def _origin_counted(self, t: float) -> None:
        self.phases[phase_of(t, self.window)].origin += 1
        self.record_second("origin_requests", t)

    # -- the report ----------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """``report["faults"]``: the schedule, the window, the phases, per-second counts."""
        start, end = self.window
        main = self.main
        origins = {main.primary.node.name: main.primary.requests}
        if main.group is not None and main.secondary is not None:
            origins[f"{main.secondary.node.name} (secondary)"] = main.secondary.requests
        return {
            "schedule": [fault.describe() for fault in self.schedule.faults],
            "window": {"start_s": start, "end_s": end if math.isfinite(end) else None},
            "phases": {
                name: phase.report() for name, phase in zip(PHASES, self.phases, strict=True)
            },
            "errors": sum(phase.errors for phase in self.phases),
            "stale_served": sum(phase.stale for phase in self.phases),
            "origins": origins,
            "origin_group": main.group.name if main.group is not None else None,
            "per_second": {name: list(values) for name, values in self.per_second.items()},
        }


def run_batches(run: FaultRun, batches: Any, keys_of: Callable[[list[int]], list[str]]):
    """Serve each batch of the stream; yields (batch, latencies, edge hits) per batch."""
    sim = run.sim
    latency = sim.latency
    new_share = latency.new_connection_share
    rng_random = sim.rng.random
    purges = sorted(sim.purges, key=lambda p: p.at)
    for batch in batches:
        times = batch.times.tolist()
        ids = batch.obj_ids.tolist()
        keys = keys_of(ids)
        sizes = batch.sizes.tolist()
        users = batch.users.tolist()
        latencies = []
        hits = []
        for t, key, obj, size, user in zip(times, keys, ids, sizes, users, strict=True):
            while purges and purges[0].at <= t:
                apply_purge(sim.nodes.values(), purges.pop(0))
            fresh = bool(new_share) and rng_random() < new_share
            spent, hit, _ = run.user_request(user, key, obj, size, t, fresh)
            latencies.append(spent)
            hits.append(hit)
        yield batch, np.array(latencies), np.array(hits, dtype=bool)


def settled(run: FaultRun, batch: Any, latencies: np.ndarray, hits: np.ndarray, warmup_t: float):
    """``batch`` as the gateway settles it (no body for what it answered, the compressed size
    for what went compressed) and the latencies with each body's transfer time added; the
    gateway's per-behavior counts folded in (as ``sim.model``'s run does)."""
    gate = run.gate
    if gate is not None:
        batch = gate.settle(batch)
    latencies = latencies + batch.sizes * (8.0 / run.sim.latency.client_bandwidth_bps)
    if gate is not None:
        gate.record(batch, latencies, hits, warmup_t)
    return batch, latencies


def run_with_faults(
    sim: Any,
    tally: Any,
    on_progress: Callable[[float, int], None] | None,
    keys_of: Callable[[list[int]], list[str]],
) -> Any:
    """Run ``sim`` (a ``sim.model.Simulation``) under ``sim.options.faults``; its SimResult,
    with ``report["faults"]`` (the phases before / during / after the fault window).
    ``keys_of`` maps object ids to cache keys (``sim.model.CacheKeys.of``)."""
    from sim.result import build_result

    run = FaultRun(sim, sim.options.faults)
    warmup_t, _ = sim.warmup_cut()
    if math.isfinite(warmup_t):
        for origin in run.by_name.values():
            origin.steady_from = warmup_t
    for batch, spent, hits in run_batches(run, sim.stream.batches(), keys_of):
        batch, latencies = settled(run, batch, spent, hits, warmup_t)
        tally.record(batch, latencies, hits, warmup_t, sim.series)
        run.sweep(float(batch.times[-1]))  # later requests are sent (and arrive) after it
        for node in sim.nodes.values():
            node.queue.flush()
        for origin in run.by_name.values():
            origin.queue.flush()
        if on_progress is not None:
            on_progress(float(batch.times[-1]), tally.requests)
    result = build_result(sim, tally)
    if sim.functions is not None:
        sim.functions.add_to(result.report)
    result.report["faults"] = run.report()
    return result
