"""Measure the live path's overheads before the load: the model's ``wakeup``, ``fetch_overhead``
and ``origin_overhead`` (cdn.latency, "Overheads of the live path").

Rules:
- Only when the topology emulates latency, after the cluster is healthy and before the demo's
  first counter reading, so no probe is in the compared counts.
- A probe is one GET of an object outside the workload's catalog (id ``objects + 1`` on) with
  ``?cc=no-store``: no cache stores it, so the caches the load meets are untouched, and every
  probe of a cache node travels its whole upstream chain to the origin, sleeping each emulated
  round trip and the origin's service time as a miss of the run does.
- One keep-alive connection per node (the load generator's requests reuse theirs too); a pause of
  ``gap`` before each probe, so the node idles as it does between the run's requests, whose last
  ``spin`` is a busy wait as the load generator's before each send; ``rounds``
  over every node (the origin, each shield, each edge), the first round dropped (connection
  set-up, code paths not yet warm).
- Edges of a peer group get take-up probes only (a key's owner may be a peer).
- Before each object probe, a take-up probe of the same node: ``GET /_cdn/health``, answered
  at once (two wake-ups: the node's and the prober's, as a hit's).
- Per probe, what it measured minus what the model charges its path (the round trips and the
  service time) is a sample; cdn.latency.estimate_overheads splits the samples' medians into the
  components. A probe that is not a 200 ends the calibration with a note instead (a gateway
  asking for keys, a path template the origin does not serve).
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from cdn.latency import LatencyModel, Overheads, Probe, estimate_overheads
from cdn.topology import Node, Topology

__all__ = [
    "Calibration",
    "ProbeTarget",
    "calibrate",
    "probe_targets",
    "with_overheads",
]

ROUNDS = 8
GAP_SECONDS = 0.03  # about the time a node of the demo idles between requests at 100-200 req/s
SPIN_SECONDS = (
    0.0015  # the load generator's busy wait before each send (loadgen.plan.LoadPlan.spin)
)
TIMEOUT_SECONDS = 10.0
HEALTH_PATH = "/_cdn/health"
NO_STORE = "?cc=no-store"


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """A node to probe: what the model charges an object probe of it (seconds, without
    overheads), the upstream fetches on the probe's path, and whether it gets object probes
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


def probe_targets(topology: Topology) -> list[ProbeTarget]:
    """Every node of ``topology`` with the model's charge for a no-store GET sent to it: the
    round trip of each hop up to the origin plus the origin's service time."""
    model = LatencyModel.from_network(topology.network)
    targets = []
    for node in (topology.origin, *topology.caches):
        charged, hops, at = model.origin_service, 0, node
        while (upstream := topology.upstream_of(at)) is not None:
            charged += model.rtt(at.location.point, upstream.location.point)
            hops += 1
            at = upstream
        targets.append(ProbeTarget(node, charged, hops, len(topology.peers_of(node)) <= 1))
    return targets


def with_overheads(topology: Topology, overheads: Overheads) -> Topology:
    """``topology`` with its ``[network]`` overheads set from ``overheads`` (seconds)."""
    network = dataclasses.replace(
        topology.network,
        wakeup_ms=overheads.wakeup * 1000.0,
        fetch_overhead_ms=overheads.fetch * 1000.0,
        origin_overhead_ms=overheads.origin * 1000.0,
    )
    return dataclasses.replace(topology, network=network)


def calibrate(
    topology: Topology,
    urls: dict[str, str],
    rounds: int = ROUNDS,
    gap: float = GAP_SECONDS,
    clock: Callable[[], float] = time.perf_counter,
    pause: Callable[[float], None] = time.sleep,
    spin: float = SPIN_SECONDS,
) -> Calibration:
    """Probe every node of the running cluster (``urls``: node name -> base URL) ``rounds``
    times (at least 2: the first is dropped), each probe after ``gap`` seconds of quiet whose
    last ``spin`` is a busy wait (the load generator's own pacing before a send)."""
    if rounds < 2:
        raise ValueError(f"rounds {rounds} < 2 (the first round is dropped)")
    workload = topology.workload
    if "{id}" not in workload.path:
        return Calibration(None, 0, f"no probe path: workload.path {workload.path!r} has no {{id}}")
    targets = probe_targets(topology)
    connections: dict[str, http.client.HTTPConnection] = {}
    takeups: list[float] = []
    probes: list[Probe] = []
    next_id = workload.objects + 1

    def timed_get(name: str, path: str) -> tuple[float, int]:
        conn = connections.get(name)
        if conn is None:
            host, _, port = urls[name].split("://", 1)[1].rstrip("/").rpartition(":")
            conn = connections[name] = http.client.HTTPConnection(
                host, int(port), timeout=TIMEOUT_SECONDS
            )
        pause(max(0.0, gap - spin))
        # The last ``spin`` before the send is a busy wait, as the load generator's dispatcher
        # waits before each of the run's requests (LoadPlan.spin): a prober asleep until the
        # send leaves the machine's CPUs idle, and waking an idle virtual CPU costs more than
        # anything the run's requests pay (1.0-1.7 ms measured on a quiet 2-core VM).
        due = clock() + spin
        while clock() < due:
            pass
        started = clock()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return clock() - started, response.status

    try:
        for round_number in range(rounds):
            for target in targets:
                name = target.node.name
                paths = [HEALTH_PATH]
                if target.objects:
                    paths.append(workload.path.replace("{id}", str(next_id)) + NO_STORE)
                for path in paths:
                    measured, status = timed_get(name, path)
                    if status != 200:
                        return Calibration(
                            None,
                            len(takeups) + len(probes),
                            f"probe GET {urls[name]}{path} answered {status}, expected 200",
                        )
                    if round_number == 0:  # the first round sets up connections, warms code
                        continue
                    if path == HEALTH_PATH:
                        takeups.append(measured)
                    else:
                        probes.append(Probe(measured, target.charged, target.fetches))
                next_id += 1
    except (OSError, http.client.HTTPException) as exc:
        return Calibration(
            None, len(takeups) + len(probes), f"probe failed: {type(exc).__name__}: {exc}"
        )
    finally:
        for conn in connections.values():
            conn.close()
    try:
        overheads = estimate_overheads(
            takeups, [p for p in probes if p.fetches == 0], [p for p in probes if p.fetches > 0]
        )
    except ValueError as exc:  # e.g. every cache is an edge of a peer group: no fetch probe
        return Calibration(None, len(takeups) + len(probes), str(exc))
    load = os.getloadavg()[0]
    return Calibration(
        overheads,
        len(takeups) + len(probes),
        f"overheads of the live path: wake-up {overheads.wakeup * 1000:.2f} ms, fetch "
        f"{overheads.fetch * 1000:.2f} ms, origin {overheads.origin * 1000:.2f} ms (medians of "
        f"{len(takeups) + len(probes)} probes over {len(targets)} nodes, load average {load:.2f})",
    )
