"""Measure the live path's overheads before the load: the model's ``wakeup``, ``fetch_overhead``,
``cached_fetch_overhead`` and ``origin_overhead`` (cdn.latency, "Overheads of the live path"),
each on the path it applies to.

Rules:
- Only when the topology emulates latency, after the cluster is healthy and before the demo's
  first counter reading, so no probe is in the compared counts.
- Probe objects lie outside the workload's catalog (ids ``objects + 1`` on), ``PROBE_SIZE`` bytes
  (``?size=``), cacheable for ``PROBE_TTL`` (``?cc=``); the demo purges them from every cache
  after the calibration (``probe_prefix``), so the load starts on empty caches, as simulated.
- Per round and edge (``X``, upstream ``U``), each probe a path of the run's requests, checked
  against the response's Cache-Status (``loadgen.cache_status.classify``; a probe whose path is
  not the one intended is dropped and counted):
  - an id ``X`` owns (the ring of its peer group, cdn.ring, as the live edge hashes it): when
    ``U`` is a cache, a GET of it at ``U`` (a miss through ``U``'s chain to the origin: a
    *through* probe) then at ``X`` (a shield hit: a *cached* probe); when ``U`` is the origin, a
    GET at ``X`` (a through probe); then a GET at ``X`` again (an edge hit: a *take-up*, two
    wake-ups);
  - with peers, an id a peer ``B`` owns (peers in turn): a GET at ``B`` (a through probe of
    ``B``'s chain), then at ``X`` (a peer hit: a cached probe);
  - and a GET of the origin (an *origin* probe: its service time and two wake-ups).
- One keep-alive connection per node, as the load generator's requests reuse theirs; the nodes'
  own upstream and peer connections are pooled, so ``rounds`` over every node with the first
  dropped (connections set up, code paths warm) measure warm connections, as the run has them.
- A pause of ``gap`` before each probe, so the node idles as it does between the run's requests,
  whose last ``spin`` is a busy wait as the load generator's before each send.
- With ``warm_rate`` (the demo passes the workload's rate), a process of its own keeps the
  cluster as busy as the run does while the probes run (demo.warm: health requests at that
  rate, Poisson, each after the load generator's busy wait): probes into an idle machine
  measure a deeper idle, and so larger overheads, than the run's requests pay.
- Per probe, what it measured minus what the model charges its path (round trips, service time)
  is a sample; cdn.latency.estimate_overheads takes the interquartile means per component. A probe that is
  not a 200 ends the calibration with a note instead (a gateway asking for keys, a path template
  the origin does not serve).
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from cdn.latency import LatencyModel, Overheads, Probe, estimate_overheads
from cdn.ring import HashRing, peer_key
from cdn.topology import Node, Topology
from loadgen.cache_status import classify

__all__ = [
    "Calibration",
    "ProbeTarget",
    "calibrate",
    "charged_path",
    "probe_prefix",
    "probe_targets",
    "with_overheads",
]

ROUNDS = 12  # the first dropped: 11 samples per probe kind and edge (7 before: too noisy)
GAP_SECONDS = 0.03  # about the time a node of the demo idles between requests at 100-200 req/s
SPIN_SECONDS = (
    0.0015  # the load generator's busy wait before each send (loadgen.plan.LoadPlan.spin)
)
TIMEOUT_SECONDS = 10.0
PROBE_SIZE = 8192  # bytes: a typical object of the demo's workloads (median 8 KiB)
PROBE_TTL = 600  # seconds a probe object stays fresh: long enough for its round's hits
NO_STORE = "?cc=no-store"
WARM_SECONDS = 300.0  # the warming process's own limit; the calibration stops it when done


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """A node to probe: what the model charges a GET of it that travels to the origin (seconds,
    without overheads), the upstream fetches on that path, and whether it gets object probes
    (not an edge of a peer group: its key's owner may be a peer, a hop the charge leaves out)."""

    node: Node
    charged: float
    fetches: int
    objects: bool = True


@dataclass(frozen=True, slots=True)
class Calibration:
    """The measured overheads (None when they could not be measured) and their story."""

    overheads: Overheads | None
    probes: int
    note: str


def charged_path(topology: Topology, node: Node) -> tuple[float, int]:
    """What the model charges a GET at ``node`` that travels to the origin, without overheads
    (each hop's round trip and the origin's service time, seconds), and its fetches."""
    model = LatencyModel.from_network(topology.network)
    charged, hops, at = model.origin_service, 0, node
    while (upstream := topology.upstream_of(at)) is not None:
        charged += model.rtt(at.location.point, upstream.location.point)
        hops += 1
        at = upstream
    return charged, hops


def probe_targets(topology: Topology) -> list[ProbeTarget]:
    """Every node of ``topology`` with the model's charge for a no-store GET sent to it: the
    round trip of each hop up to the origin plus the origin's service time."""
    targets = []
    for node in (topology.origin, *topology.caches):
        charged, hops = charged_path(topology, node)
        targets.append(ProbeTarget(node, charged, hops, len(topology.peers_of(node)) <= 1))
    return targets


def probe_prefix(topology: Topology) -> str:
    """The path prefix of the probe objects (the workload's, before ``{id}``): what to purge."""
    return topology.workload.path.split("{id}", 1)[0]


def with_overheads(topology: Topology, overheads: Overheads) -> Topology:
    """``topology`` with its ``[network]`` overheads set from ``overheads`` (seconds)."""
    network = dataclasses.replace(
        topology.network,
        wakeup_ms=overheads.wakeup * 1000.0,
        fetch_overhead_ms=overheads.fetch * 1000.0,
        origin_overhead_ms=overheads.origin * 1000.0,
        cached_fetch_overhead_ms=overheads.cached_fetch * 1000.0,
        relay_fetch_overhead_ms=overheads.relay_fetch * 1000.0,
    )
    return dataclasses.replace(topology, network=network)


class _Prober:
    """Timed GETs, one keep-alive connection per node, each after ``gap`` of quiet."""

    def __init__(
        self,
        urls: dict[str, str],
        gap: float,
        spin: float,
        clock: Callable[[], float],
        pause: Callable[[float], None],
    ) -> None:
        self.urls, self.gap, self.spin, self.clock, self.pause = urls, gap, spin, clock, pause
        self.connections: dict[str, http.client.HTTPConnection] = {}
        self.sent = 0

    def get(self, name: str, path: str) -> tuple[float, str | None]:
        """Seconds a GET of ``path`` at node ``name`` took, and its path class (or None)."""
        conn = self.connections.get(name)
        if conn is None:
            host, _, port = self.urls[name].split("://", 1)[1].rstrip("/").rpartition(":")
            conn = self.connections[name] = http.client.HTTPConnection(
                host, int(port), timeout=TIMEOUT_SECONDS
            )
        self.pause(max(0.0, self.gap - self.spin))
        # The last ``spin`` before the send is a busy wait, as the load generator's dispatcher
        # waits before each of the run's requests (LoadPlan.spin): a prober asleep until the
        # send leaves the machine's CPUs idle, and waking an idle virtual CPU costs more than
        # anything the run's requests pay (1.0-1.7 ms measured on a quiet 2-core VM).
        clock = self.clock
        due = clock() + self.spin
        while clock() < due:
            pass
        started = clock()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        took = clock() - started
        self.sent += 1
        if response.status != 200:
            raise _Refused(f"probe GET {self.urls[name]}{path} answered {response.status}")
        headers = response.getheader("Cache-Status"), response.getheader("X-Cache")
        return took, classify(*headers).path if any(headers) else None

    def close(self) -> None:
        for conn in self.connections.values():
            conn.close()


class _Refused(Exception):
    """A probe answered other than 200."""


class _Warming:
    """The demo.warm process: started and ready on entry, stopped on exit."""

    def __init__(self, urls: list[str], rate: float) -> None:
        self.argv = [sys.executable, "-m", "demo.warm", "--rate", f"{rate:g}"]
        self.argv += ["--seconds", f"{WARM_SECONDS:g}", *urls]
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> _Warming:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        self.process.stdout.readline()  # "ready", or "" when it died: probes go on regardless
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def calibrate(
    topology: Topology,
    urls: dict[str, str],
    rounds: int = ROUNDS,
    gap: float = GAP_SECONDS,
    clock: Callable[[], float] = time.perf_counter,
    pause: Callable[[float], None] = time.sleep,
    spin: float = SPIN_SECONDS,
    warm_rate: float | None = None,
) -> Calibration:
    """Probe the running cluster (``urls``: node name -> base URL) ``rounds`` times (at least
    2: the first is dropped), each probe after ``gap`` seconds of quiet whose last ``spin`` is a
    busy wait (the load generator's own pacing before a send), with ``warm_rate`` health
    requests per second from another process meanwhile (None: none). See the module's rules."""
    if rounds < 2:
        raise ValueError(f"rounds {rounds} < 2 (the first round is dropped)")
    if warm_rate is None:
        return _calibrate(topology, urls, rounds, gap, clock, pause, spin, "")
    with _Warming(list(urls.values()), warm_rate):
        busy = f"; {warm_rate:g} health requests/s from another process meanwhile"
        return _calibrate(topology, urls, rounds, gap, clock, pause, spin, busy)


def _calibrate(
    topology: Topology,
    urls: dict[str, str],
    rounds: int,
    gap: float,
    clock: Callable[[], float],
    pause: Callable[[float], None],
    spin: float,
    busy: str,
) -> Calibration:
    workload = topology.workload
    if "{id}" not in workload.path:
        return Calibration(None, 0, f"no probe path: workload.path {workload.path!r} has no {{id}}")
    model = LatencyModel.from_network(topology.network)
    origin = topology.origin
    site = f"{origin.host}:{origin.port}"
    query = f"?cc=public,max-age={PROBE_TTL}&size={PROBE_SIZE}"
    chain = {node.name: charged_path(topology, node) for node in topology.caches}
    rings = {}
    for edge in topology.edges:
        peers = [peer.name for peer in topology.peers_of(edge)]
        rings[edge.name] = HashRing(peers) if len(peers) > 1 else None
    prober = _Prober(urls, gap, spin, clock, pause)
    takeups: list[float] = []
    at_origin: list[Probe] = []
    through: list[Probe] = []
    cached: list[Probe] = []
    dropped = 0
    next_id = workload.objects + 1

    def target(obj: int) -> str:
        return workload.path.replace("{id}", str(obj)) + query

    def owned_by(ring: HashRing | None, name: str) -> int:
        nonlocal next_id
        while True:
            obj, next_id = next_id, next_id + 1
            if ring is None or ring.owner(peer_key(site, target(obj))) == name:
                return obj

    def rtt(a: Node, b: Node) -> float:
        return model.rtt(a.location.point, b.location.point)

    try:
        for round_number in range(rounds):
            keep = round_number > 0  # the first round sets up connections, warms code
            path = workload.path.replace("{id}", str(next_id))
            seconds, _ = prober.get(origin.name, f"{path}{NO_STORE}&size={PROBE_SIZE}")
            next_id += 1
            if keep:
                at_origin.append(Probe(seconds, model.origin_service, 0))
            for number, edge in enumerate(topology.edges):
                ring, upstream = rings[edge.name], topology.upstream_of(edge)
                assert upstream is not None
                obj = owned_by(ring, edge.name)
                samples: list[tuple[list, object, str | None, str]] = []
                if upstream.role != "origin":
                    seconds, path = prober.get(upstream.name, target(obj))
                    samples.append((through, Probe(seconds, *chain[upstream.name]), path, "miss"))
                    seconds, path = prober.get(edge.name, target(obj))
                    probe = Probe(seconds, rtt(edge, upstream), 1)
                    samples.append((cached, probe, path, "shield hit"))
                else:
                    seconds, path = prober.get(edge.name, target(obj))
                    samples.append((through, Probe(seconds, *chain[edge.name]), path, "miss"))
                seconds, path = prober.get(edge.name, target(obj))
                samples.append((takeups, seconds, path, "edge hit"))
                if ring is None and upstream.role != "origin":  # a miss through the shield
                    obj = owned_by(ring, edge.name)
                    seconds, path = prober.get(edge.name, target(obj))
                    samples.append((through, Probe(seconds, *chain[edge.name]), path, "miss"))
                if ring is not None:
                    others = [name for name in ring.nodes if name != edge.name]
                    owner = topology.node(others[(round_number + number) % len(others)])
                    obj = owned_by(ring, owner.name)
                    seconds, path = prober.get(owner.name, target(obj))
                    samples.append((through, Probe(seconds, *chain[owner.name]), path, "miss"))
                    seconds, path = prober.get(edge.name, target(obj))
                    samples.append((cached, Probe(seconds, rtt(edge, owner), 1), path, "peer hit"))
                if keep:
                    for kind, sample, path, expected in samples:
                        if path == expected:
                            kind.append(sample)
                        else:
                            dropped += 1
    except _Refused as exc:
        return Calibration(None, prober.sent, f"{exc}, expected 200")
    except (OSError, http.client.HTTPException) as exc:
        return Calibration(None, prober.sent, f"probe failed: {type(exc).__name__}: {exc}")
    finally:
        prober.close()
    try:
        overheads = estimate_overheads(takeups, at_origin, through, cached)
    except ValueError as exc:
        return Calibration(None, prober.sent, str(exc))
    load = os.getloadavg()[0]
    counts = (
        f"interquartile means of {len(takeups)} edge hits, {len(cached)} peer or shield hits, "
        f"{len(through)} misses, {len(at_origin)} origin probes"
    )
    if dropped:
        counts += f"; {dropped} probes dropped, their path not the one intended"
    return Calibration(
        overheads,
        prober.sent,
        f"overheads of the live path: wake-up {overheads.wakeup * 1000:.2f} ms, fetch from the "
        f"origin {overheads.fetch * 1000:.2f} ms, from a cache passing it on "
        f"{overheads.relay_fetch * 1000:.2f} ms, answered from a cache "
        f"{overheads.cached_fetch * 1000:.2f} ms, origin {overheads.origin * 1000:.2f} ms "
        f"({counts}{busy}; load average {load:.2f})",
    )
