"""What one load run does: the LoadPlan value and the checks that refuse a bad or unbounded plan.

A plan names the topology (catalog, popularity, sizes, user geography, edges), or explicit target
URLs, the rate and its profile, the bounds (``duration`` and/or ``requests``; at least one), the
shard of the stream this process sends, and the client limits. ``check_plan`` raises ValueError
with the field, the value and what is expected; the CLI shows that message without a traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cdn.topology import Topology, default_topology_path, load_topology

ARRIVALS = ("poisson", "constant")
CLIENTS = ("auto", "aiohttp")


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """One open-loop run. ``topology=None`` means configs/local.toml (the embedded default)."""

    topology: Topology | None = None
    targets: tuple[str, ...] = ()
    # Where each edge really listens, by node name (e.g. from `cdn up`'s run-state file when it
    # moved ports); edges not listed use the topology's host:port.
    edge_urls: tuple[tuple[str, str], ...] = ()
    rate: float | None = None  # requests/s of the whole stream; None: the workload's rate
    duration: float | None = None  # seconds
    requests: int | None = None  # requests of the whole stream (before sharding)
    seed: int | None = None  # arrival seed; None: the workload's seed
    profile: str = "constant"
    arrival: str = "poisson"
    objects: int | None = None
    trace: str | None = None  # CSV or oracleGeneral file whose timestamps set the schedule
    shard: tuple[int, int] = (0, 1)
    connections: int = 256
    max_in_flight: int = 4096
    timeout: float = 10.0
    # Anycast withdrawal of a hung edge: a request with no response byte after this many
    # seconds goes to the user's next-nearest edge (loadgen.wire.WireClient.head_timeout);
    # None: a hung edge's users wait for ``timeout``.
    head_timeout: float | None = None
    location_header: bool = True
    # Timers fire with ~1 ms granularity: the dispatcher sleeps until this close to a send time,
    # then yields to the loop until it is due, so sends are not late by a timer tick.
    spin: float = 0.0015
    start_delay: float = 0.05
    # Wall-clock (time.time()) start agreed by several processes or machines; None: start now.
    start_at: float | None = None
    # "auto": the lean keep-alive client (loadgen.wire) for http:// targets, aiohttp otherwise;
    # "aiohttp": always aiohttp.
    client: str = "auto"
    warm: bool = True  # open connections before the schedule starts
    new_connections: bool = False  # every request on a new connection (Connection: close)
    labels: dict[str, str] = field(default_factory=dict)

    def resolved_topology(self) -> Topology:
        """The plan's topology, or configs/local.toml when none is given."""
        return (
            self.topology if self.topology is not None else load_topology(default_topology_path())
        )


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n; ValueError otherwise."""
    index, slash, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not slash or n < 1 or not 0 <= i < n:
        raise ValueError(
            f"--shard {text!r} is not a shard (expected i/n with 0 <= i < n, e.g. 0/2)"
        )
    return i, n


def check_target(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) URL with a host; ValueError otherwise."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise ValueError(
            f"--target {url!r} is not a URL (expected http://host:port[/prefix], "
            "e.g. http://127.0.0.1:8121)"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"--target {url!r} has a query or fragment (expected a base URL)")
    return url.rstrip("/")


def check_plan(plan: LoadPlan) -> None:
    """Refuse plans that are unbounded or out of range, naming the field and what is expected."""
    if plan.duration is None and plan.requests is None and plan.trace is None:
        raise ValueError(
            "the run is unbounded: give --duration and/or --requests (e.g. --duration 10s)"
        )
    if plan.duration is not None and (not math.isfinite(plan.duration) or plan.duration <= 0):
        raise ValueError(f"--duration {plan.duration!r} is out of range (expected seconds > 0)")
    if plan.requests is not None and plan.requests < 1:
        raise ValueError(f"--requests {plan.requests!r} is out of range (expected >= 1)")
    if plan.rate is not None and (not math.isfinite(plan.rate) or plan.rate <= 0):
        raise ValueError(f"--rate {plan.rate!r} is out of range (expected requests/s > 0)")
    if plan.objects is not None and plan.objects < 1:
        raise ValueError(f"--objects {plan.objects!r} is out of range (expected >= 1)")
    if plan.arrival not in ARRIVALS:
        raise ValueError(f"--arrival {plan.arrival!r} is not known (expected poisson or constant)")
    if plan.connections < 1:
        raise ValueError(f"--connections {plan.connections} is out of range (expected >= 1)")
    if plan.max_in_flight < 1:
        raise ValueError(f"--max-in-flight {plan.max_in_flight} is out of range (expected >= 1)")
    if not plan.timeout > 0:
        raise ValueError(f"--timeout {plan.timeout!r} is out of range (expected seconds > 0)")
    if plan.head_timeout is not None and not 0 < plan.head_timeout < plan.timeout:
        raise ValueError(
            f"head timeout {plan.head_timeout!r} is out of range "
            f"(expected seconds > 0 and below --timeout {plan.timeout:g})"
        )
    if plan.client not in CLIENTS:
        raise ValueError(f"client {plan.client!r} is not known (expected auto or aiohttp)")
    index, count = plan.shard
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index}/{count} (expected 0 <= i < n)")
    for target in plan.targets:
        check_target(target)
