"""Sweep points: the cartesian product of a plan's dimensions, each a Topology variant with an id.

Rules: variants are built with ``dataclasses.replace`` from the base topology (never re-parsed);
a point's id is a blake2b digest of its canonical description (its parameters, the variant
topology without its file path, the run settings and CACHE_VERSION), so the same point has the
same id in every process and on every machine, and any change to what is simulated changes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from cdn.errors import ConfigError
from cdn.functions.simulated import scaled_timing, timing_of
from cdn.functions.triggers import LIMITS, FunctionKind
from cdn.geo import distance_km
from cdn.topology import CacheRule, Node, Topology
from cdn.units import format_size
from cdn.workload import UserModel
from planner.planfile import Plan, PopSet, RunSettings

# Bump when the metrics a point stores change meaning: every cached point is then recomputed.
CACHE_VERSION = 5  # 4: throttled_share, forbidden_share; 5: function_error_ratio, function_cost
_MAX_AGE = re.compile(r"\b(s-maxage|max-age)\s*=\s*\d+")


@dataclass(frozen=True, slots=True)
class PlanPoint:
    """One combination of sweep values (``None``: as in the base topology)."""

    cache_size: int | None
    policy: str | None
    pops: PopSet
    shield: bool | None
    ttl: float | None
    rate_scale: float
    function_memory: int | None = None
    function_keep_warm: float | None = None
    function_concurrency: int | None = None

    def params(self) -> dict[str, Any]:
        """The point's parameters as plain JSON values (the canonical description).

        The function dimensions appear only when swept, so plans without them keep their ids.
        """
        params = {
            "cache_size": self.cache_size,
            "policy": self.policy,
            "pops": self.pops.name,
            "shield": self.shield,
            "ttl": self.ttl,
            "rate_scale": self.rate_scale,
        }
        for key in FUNCTION_PARAMS:
            if getattr(self, key) is not None:
                params[key] = getattr(self, key)
        return params

    def configuration(self) -> tuple[Any, ...]:
        """Everything but the growth factor: points differing only in ``rate_scale`` share it."""
        return (
            self.cache_size,
            self.policy,
            self.pops.name,
            self.shield,
            self.ttl,
            *(getattr(self, key) for key in FUNCTION_PARAMS),
        )

    def label(self) -> str:
        """A short human name, e.g. ``512MiB s3fifo top-12 shield ttl=1h x2``."""
        parts = [
            format_size(self.cache_size) if self.cache_size else "base-size",
            self.policy or "base-policy",
            self.pops.name,
        ]
        if self.shield is not None:
            parts.append("shield" if self.shield else "no-shield")
        if self.ttl is not None:
            parts.append(f"ttl={_format_ttl(self.ttl)}")
        if self.function_memory is not None:
            parts.append(f"fn-mem={self.function_memory}MB")
        if self.function_keep_warm is not None:
            parts.append(f"fn-warm={_format_ttl(self.function_keep_warm)}")
        if self.function_concurrency is not None:
            parts.append(f"fn-conc={self.function_concurrency}")
        parts.append(f"x{self.rate_scale:g}")
        return " ".join(parts)


def _format_ttl(seconds: float) -> str:
    for unit, factor in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= factor and seconds % factor == 0:
            return f"{int(seconds // factor)}{unit}"
    return f"{seconds:g}s"


def expand(plan: Plan) -> list[PlanPoint]:
    """Every point of the plan's sweep, in a stable order (the cartesian product of dimensions)."""
    sweep = plan.sweep
    return [
        PlanPoint(c, p, s, h, t, r, m, w, n)
        for c, p, s, h, t, r, m, w, n in itertools.product(
            sweep.cache_size,
            sweep.policy,
            sweep.pops,
            sweep.shield,
            sweep.ttl,
            sweep.rate_scale,
            sweep.function_memory,
            sweep.function_keep_warm,
            sweep.function_concurrency,
        )
    ]


def users_served(topology: Topology) -> list[tuple[str, float]]:
    """Each edge's share of users when every user goes to the nearest edge, largest first."""
    shares = {edge.name: 0.0 for edge in topology.edges}
    for user in UserModel(topology.workload.users).locations:
        point = user.location.point
        nearest = min(topology.edges, key=lambda e: (distance_km(point, e.location.point), e.name))
        shares[nearest.name] += user.share
    return sorted(shares.items(), key=lambda item: (-item[1], item[0]))


def check_sweep(plan: Plan, topology: Topology) -> None:
    """ConfigError (naming the plan file and key) for sweep values the base topology cannot take."""
    edges = {edge.name for edge in topology.edges}
    for pop_set in plan.sweep.pops:
        if pop_set.top is not None and pop_set.top > len(edges):
            raise ConfigError(
                f"{plan.source}:sweep.pops.top",
                f"{pop_set.top} PoPs asked, the base has {len(edges)} edges",
                f"at most {len(edges)}",
            )
        for name in pop_set.edges or ():
            if name not in edges:
                raise ConfigError(
                    f"{plan.source}:sweep.pops.{pop_set.name}",
                    f"{name!r} is not an edge of {topology.source}",
                    f"edge names: {', '.join(sorted(edges))}",
                )
    if True in plan.sweep.shield and not topology.shields:
        raise ConfigError(
            f"{plan.source}:sweep.shield", f"{topology.source} has no shields", "false only"
        )
    check_function_sweep(plan, topology)


FUNCTION_PARAMS = ("function_memory", "function_keep_warm", "function_concurrency")


def check_function_sweep(plan: Plan, topology: Topology) -> None:
    """ConfigError for function dimensions the base topology cannot take: none of its
    [[function]]s is Lambda@Edge, or a memory above 128 MB for one on a viewer trigger."""
    sweep = plan.sweep
    swept = [key for key in FUNCTION_PARAMS if getattr(sweep, key) != (None,)]
    if not swept:
        return
    lambdas = {s.name for s in topology.functions if s.kind is FunctionKind.LAMBDA_EDGE}
    if not lambdas:
        raise ConfigError(
            f"{plan.source}:sweep.{swept[0]}",
            f"{topology.source} has no Lambda@Edge [[function]]",
            "a base topology with kind = 'lambda-edge' functions, or no function dimension",
        )
    top = (
        max(m for m in sweep.function_memory if m is not None)
        if sweep.function_memory != (None,)
        else 0
    )
    for edge in topology.edges:
        for trigger, spec in topology.functions_of(edge).items():
            limit = LIMITS[trigger].memory_max_mb
            if spec.name in lambdas and top > limit:
                raise ConfigError(
                    f"{plan.source}:sweep.function_memory",
                    f"{top} MB for {spec.name!r}, which runs on {trigger} at {edge.name}"
                    f" (at most {limit} MB there)",
                    f"function_memory <= {limit}",
                )


def with_functions(topology: Topology, point: PlanPoint) -> Topology:
    """``topology`` with every Lambda@Edge function's memory, keep_warm and concurrency as
    ``point`` says; a function's duration model moves with its memory (CPU share)."""
    if all(getattr(point, key) is None for key in FUNCTION_PARAMS):
        return topology
    specs = []
    for spec in topology.functions:
        if spec.kind is not FunctionKind.LAMBDA_EDGE:
            specs.append(spec)
            continue
        changes: dict[str, Any] = {}
        if point.function_memory is not None:
            timing = scaled_timing(timing_of(spec), spec.memory, point.function_memory)
            changes.update(
                memory=point.function_memory,
                duration=timing.duration,
                init_duration=timing.init_duration,
            )
        if point.function_keep_warm is not None:
            changes["keep_warm"] = point.function_keep_warm
        if point.function_concurrency is not None:
            changes["concurrency"] = point.function_concurrency
        specs.append(dataclasses.replace(spec, **changes))
    return dataclasses.replace(topology, functions=tuple(specs))


def _kept_edges(topology: Topology, pop_set: PopSet, ranking: list[tuple[str, float]]) -> set[str]:
    if pop_set.top is not None:
        return {name for name, _ in ranking[: pop_set.top]}
    if pop_set.edges is not None:
        return set(pop_set.edges)
    return {edge.name for edge in topology.edges}


def _with_ttl(rules: tuple[CacheRule, ...], ttl: float) -> tuple[CacheRule, ...]:
    """The cache rules with every max-age (and s-maxage) replaced by ``ttl`` seconds."""
    seconds = int(ttl)
    if not rules:
        return (CacheRule(prefix="/", cache_control=f"public, max-age={seconds}"),)
    replaced = []
    for rule in rules:
        text = rule.cache_control or "public"
        if _MAX_AGE.search(text):
            text = _MAX_AGE.sub(lambda m: f"{m.group(1)}={seconds}", text)
        else:
            text = f"{text}, max-age={seconds}"
        replaced.append(dataclasses.replace(rule, cache_control=text, expires_in=None))
    return tuple(replaced)


def variant(topology: Topology, point: PlanPoint, ranking: list[tuple[str, float]]) -> Topology:
    """The base ``topology`` changed as ``point`` says (``ranking`` from ``users_served``)."""
    kept = _kept_edges(topology, point.pops, ranking)
    edges: list[Node] = []
    for edge in topology.edges:
        if edge.name not in kept:
            continue
        changes: dict[str, Any] = {}
        if point.cache_size is not None:
            changes["cache_size"] = point.cache_size
        if point.policy is not None:
            changes["policy"] = point.policy
        if point.shield is False:
            changes["upstream"] = topology.origin.name
        edges.append(dataclasses.replace(edge, **changes) if changes else edge)
    shields: tuple[Node, ...] = ()
    if point.shield is not False:
        # Keep only shields some kept edge reaches (directly or up a chain of shields).
        used: set[str] = set()
        for edge in edges:
            current: Node | None = edge
            while current is not None and current.upstream is not None:
                used.add(current.upstream)
                current = topology.node(current.upstream)
        shields = tuple(s for s in topology.shields if s.name in used)
    workload = topology.workload
    if point.rate_scale != 1.0:
        workload = dataclasses.replace(workload, rate=workload.rate * point.rate_scale)
    rules = (
        topology.cache_rules if point.ttl is None else _with_ttl(topology.cache_rules, point.ttl)
    )
    changed = dataclasses.replace(
        topology, edges=tuple(edges), shields=shields, workload=workload, cache_rules=rules
    )
    return with_functions(changed, point)


def run_description(run: RunSettings) -> dict[str, Any]:
    """The run settings that change results (workers do not)."""
    return {
        "requests": run.requests,
        "duration": run.duration,
        "seed": run.seed,
        "routing": run.routing,
        "warmup": run.warmup,
    }


def point_id(point: PlanPoint, topology: Topology, run: RunSettings) -> str:
    """A stable id of the point: blake2b of its canonical description (16 hex digits)."""
    model = dataclasses.asdict(topology)
    model.pop("source", None)
    description = {
        "version": CACHE_VERSION,
        "params": point.params(),
        "topology": model,
        "run": run_description(run),
    }
    text = json.dumps(description, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
