"""The plan file (`cdn plan PLAN.toml`): base topology, sweep dimensions, SLOs, prices, run settings.

Rules: values are frozen dataclasses; parsing reads only the file it is handed (and checks that
the base topology it names exists); every error is a ConfigError naming the file and the key
(``plan.toml:sweep.cache_size[1]``) and what was expected. Unknown keys are errors, so a typo in
an SLO name never silently drops a constraint. docs/plan.md is the reference for every key.

Over 400 lines on purpose: one reader function per plan-file table, as cdn/topology/parse.py.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdn.cache.policies import ONLINE_POLICIES
from cdn.functions.triggers import MEMORY_MAX_MB, MEMORY_MIN_MB
from cdn.tables import TableReader, read_toml
from cdn.units import DURATION_EXPECTED, SIZE_EXPECTED, parse_duration, parse_size
from sim.options import ROUTINGS  # the simulator's routings: one list

# Policies a geographic run can use (belady is an offline bound for the trace fast path).
PLAN_POLICIES = ONLINE_POLICIES
OBJECTIVES = ("cost", "latency")

# SLO key -> (metric it constrains, "max" or "min", what it means).
SLO_KEYS: dict[str, tuple[str, str, str]] = {
    "p95_ms": ("p95_ms", "max", "95th percentile latency in ms at most"),
    "p99_ms": ("p99_ms", "max", "99th percentile latency in ms at most"),
    "hit_ratio": ("hit_ratio", "min", "edge request hit ratio at least (0..1)"),
    "origin_offload": (
        "origin_offload",
        "min",
        "share of bytes not fetched from the origin (0..1)",
    ),
    "origin_peak_rps": (
        "origin_peak_rps",
        "max",
        "origin requests/s in the busiest second at most",
    ),
    "pop_utilization": (
        "pop_utilization",
        "max",
        "peak utilization of the busiest cache node (0..1)",
    ),
    "throttled_share": (
        "throttled_share",
        "max",
        "share of requests throttled by usage plans or client limits (429) at most (0..1)",
    ),
    "forbidden_share": (
        "forbidden_share",
        "max",
        "share of requests refused by behaviors (403) at most (0..1)",
    ),
    "function_error_ratio": (
        "function_error_ratio",
        "max",
        "share of requests answered 503 because an edge function was throttled (0..1)",
    ),
}
_RATIO_SLOS = (
    "hit_ratio",
    "origin_offload",
    "pop_utilization",
    "throttled_share",
    "forbidden_share",
    "function_error_ratio",
)


@dataclass(frozen=True, slots=True)
class PopSet:
    """A set of edge PoPs to keep: the ``top`` k by users served, or named edges (``edges``)."""

    name: str
    top: int | None = None
    edges: tuple[str, ...] | None = None  # None with top None = every edge


@dataclass(frozen=True, slots=True)
class Sweep:
    """The values of each dimension; ``None`` in a tuple means "as in the base topology"."""

    cache_size: tuple[int | None, ...] = (None,)
    policy: tuple[str | None, ...] = (None,)
    pops: tuple[PopSet, ...] = (PopSet("all"),)
    shield: tuple[bool | None, ...] = (None,)
    ttl: tuple[float | None, ...] = (None,)
    rate_scale: tuple[float, ...] = (1.0,)
    # Edge functions (every Lambda@Edge [[function]] of the base): MB, seconds, instances per PoP
    function_memory: tuple[int | None, ...] = (None,)
    function_keep_warm: tuple[float | None, ...] = (None,)
    function_concurrency: tuple[int | None, ...] = (None,)

    @property
    def size(self) -> int:
        """Number of points of the cartesian product."""
        return (
            len(self.cache_size)
            * len(self.policy)
            * len(self.pops)
            * len(self.shield)
            * len(self.ttl)
            * len(self.rate_scale)
            * len(self.function_memory)
            * len(self.function_keep_warm)
            * len(self.function_concurrency)
        )


@dataclass(frozen=True, slots=True)
class Slo:
    """One constraint: ``metric`` must be ``<= limit`` (kind "max") or ``>= limit`` (kind "min")."""

    key: str
    metric: str
    kind: str
    limit: float

    def satisfied_by(self, value: float | None) -> bool:
        """Whether a measured ``value`` meets the constraint (a missing value does not)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return value <= self.limit if self.kind == "max" else value >= self.limit

    def violation(self, value: float | None) -> float:
        """How far ``value`` misses the limit, relative to the limit (0 when met, inf if unknown)."""
        if value is None:
            return math.inf
        scale = abs(self.limit) or 1.0
        miss = value - self.limit if self.kind == "max" else self.limit - value
        return max(0.0, miss / scale)

    def slack(self, value: float | None) -> float:
        """Margin left before the limit, relative to the limit (negative when violated)."""
        return -self.violation(value) if not self.satisfied_by(value) else self._margin(value)

    def _margin(self, value: float | None) -> float:
        assert value is not None
        scale = abs(self.limit) or 1.0
        margin = self.limit - value if self.kind == "max" else value - self.limit
        return margin / scale

    def describe(self) -> str:
        """``p95_ms <= 150`` style text."""
        return f"{self.key} {'<=' if self.kind == 'max' else '>='} {self.limit:g}"


_DEFAULT_COST = {"period": 30 * 86400.0, "pop": 500.0, "shield": 1000.0, "cache_per_gib": 2.0}
DEFAULT_REQUESTS = 20_000


@dataclass(frozen=True, slots=True)
class PlanCost:
    """Infrastructure prices per ``period`` seconds; traffic cost is scaled to the same period."""

    period: float = 30 * 86400.0
    pop: float = 500.0
    shield: float = 1000.0
    cache_per_gib: float = 2.0


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How each point is simulated: request count or duration, seed, routing; local workers."""

    requests: int | None = DEFAULT_REQUESTS
    duration: float | None = None
    seed: int | None = None
    routing: str = "nearest"
    workers: int | None = None
    warmup: float = 0.0  # share of each run left out of hit ratios, offload and origin rates


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole plan file, validated; ``base`` is the resolved path of its topology file."""

    source: str
    name: str
    base: Path
    sweep: Sweep
    slos: tuple[Slo, ...]
    objective: str
    cost: PlanCost
    run: RunSettings


# --------------------------------------------------------------------------- parsing


def _size(table: TableReader, key: str, value: Any) -> int:
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise table.fail(key, str(exc).split(";")[0], SIZE_EXPECTED) from None
    if size <= 0:
        raise table.fail(key, f"{value!r} is 0", "a cache size > 0")
    return size


def _size_range(table: TableReader) -> tuple[int, ...]:
    """``{ from, to, steps, scale }`` -> sizes from..to inclusive, log or linear spaced."""
    for key in ("from", "to"):
        if not table.has(key):
            raise table.fail(
                key, "missing", "a range like { from = '64MiB', to = '4GiB', steps = 6 }"
            )
    lo = _size(table, "from", table.value("from"))
    hi = _size(table, "to", table.value("to"))
    if hi < lo:
        raise table.fail("to", f"{hi} B is below from ({lo} B)", "to >= from")
    steps = table.integer("steps", 5, minimum=1)
    scale = table.choice("scale", "log", ("log", "linear"))
    table.done()
    assert steps is not None
    if steps == 1:
        return (lo,)
    if scale == "log":
        ratio = (hi / lo) ** (1 / (steps - 1))
        sizes = [round(lo * ratio**i) for i in range(steps)]
    else:
        sizes = [round(lo + (hi - lo) * i / (steps - 1)) for i in range(steps)]
    sizes[-1] = hi
    return tuple(dict.fromkeys(sizes))


def _cache_sizes(sweep: TableReader) -> tuple[int | None, ...]:
    if not sweep.has("cache_size"):
        return (None,)
    raw = sweep.table["cache_size"]
    if isinstance(raw, Mapping):
        sweep.used.add("cache_size")
        return _size_range(TableReader(sweep.source, f"{sweep.path}.cache_size", raw))
    values = sweep.listed("cache_size") or []
    return tuple(_size(sweep, f"cache_size[{i}]", v) for i, v in enumerate(values))


def _policies(sweep: TableReader) -> tuple[str | None, ...]:
    values = sweep.listed("policy")
    if values is None:
        return (None,)
    for i, value in enumerate(values):
        if value not in PLAN_POLICIES:
            raise sweep.fail(
                f"policy[{i}]", f"{value!r} is not known", f"one of {', '.join(PLAN_POLICIES)}"
            )
    return tuple(values)


def _pop_sets(sweep: TableReader) -> tuple[PopSet, ...]:
    if not sweep.has("pops"):
        return (PopSet("all"),)
    raw = sweep.table["pops"]
    if isinstance(raw, list | str):
        # pops = ["all"] is allowed as a shorthand for every edge.
        values = sweep.listed("pops") or []
        if any(v != "all" for v in values):
            raise sweep.fail(
                "pops", f"{raw!r}", "a table: top = [6, 12] and/or name = [edge names]"
            )
        return (PopSet("all"),)
    table = sweep.child("pops")
    sets: list[PopSet] = []
    tops = table.listed("top")
    for i, k in enumerate(tops or []):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise table.fail(f"top[{i}]", f"{k!r} is not valid", "a number of PoPs >= 1")
        sets.append(PopSet(f"top-{k}", top=k))
    for name in table.table:
        if name == "top":
            continue
        value = table.value(name)
        if value == "all":
            sets.append(PopSet(name))
            continue
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise table.fail(name, f"{value!r}", 'a list of edge names, or "all"')
        sets.append(PopSet(name, edges=tuple(value)))
    if not sets:
        raise sweep.fail("pops", "is empty", "top = [...] or named lists of edges")
    return tuple(sets)


def _shields(sweep: TableReader) -> tuple[bool | None, ...]:
    values = sweep.listed("shield")
    if values is None:
        return (None,)
    for i, value in enumerate(values):
        if not isinstance(value, bool):
            raise sweep.fail(f"shield[{i}]", f"{value!r} is not a boolean", "true or false")
    return tuple(dict.fromkeys(values))


def _ttls(sweep: TableReader) -> tuple[float | None, ...]:
    values = sweep.listed("ttl")
    if values is None:
        return (None,)
    ttls = []
    for i, value in enumerate(values):
        try:
            ttls.append(parse_duration(value))
        except ValueError as exc:
            raise sweep.fail(f"ttl[{i}]", str(exc).split(";")[0], DURATION_EXPECTED) from None
    return tuple(ttls)


def _rate_scales(sweep: TableReader) -> tuple[float, ...]:
    values = sweep.listed("rate_scale")
    if values is None:
        return (1.0,)
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise sweep.fail(f"rate_scale[{i}]", f"{value!r} is not valid", "a growth factor > 0")
    return tuple(sorted(dict.fromkeys(float(v) for v in values)))


def _function_memory(sweep: TableReader) -> tuple[int | None, ...]:
    values = sweep.listed("function_memory")
    if values is None:
        return (None,)
    for i, value in enumerate(values):
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not MEMORY_MIN_MB <= value <= MEMORY_MAX_MB
        ):
            raise sweep.fail(
                f"function_memory[{i}]",
                f"{value!r} is not valid",
                f"MB from {MEMORY_MIN_MB} to {MEMORY_MAX_MB}",
            )
    return tuple(sorted(dict.fromkeys(values)))


def _function_keep_warm(sweep: TableReader) -> tuple[float | None, ...]:
    values = sweep.listed("function_keep_warm")
    if values is None:
        return (None,)
    seconds = []
    for i, value in enumerate(values):
        try:
            seconds.append(parse_duration(value))
        except ValueError as exc:
            raise sweep.fail(
                f"function_keep_warm[{i}]", str(exc).split(";")[0], DURATION_EXPECTED
            ) from None
    return tuple(sorted(dict.fromkeys(seconds)))


def _function_concurrency(sweep: TableReader) -> tuple[int | None, ...]:
    values = sweep.listed("function_concurrency")
    if values is None:
        return (None,)
    for i, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise sweep.fail(
                f"function_concurrency[{i}]", f"{value!r} is not valid", "instances per PoP >= 1"
            )
    return tuple(sorted(dict.fromkeys(values)))


def _sweep(table: TableReader) -> Sweep:
    sweep = Sweep(
        cache_size=_cache_sizes(table),
        policy=_policies(table),
        pops=_pop_sets(table),
        shield=_shields(table),
        ttl=_ttls(table),
        rate_scale=_rate_scales(table),
        function_memory=_function_memory(table),
        function_keep_warm=_function_keep_warm(table),
        function_concurrency=_function_concurrency(table),
    )
    table.done()
    return sweep


def _slos(table: TableReader) -> tuple[Slo, ...]:
    slos = []
    for key in table.table:
        if key not in SLO_KEYS:
            raise table.fail(key, "unknown SLO", f"one of {', '.join(SLO_KEYS)}")
        limit = table.number(key, None, minimum=0)
        assert limit is not None
        if key in _RATIO_SLOS and limit > 1:
            raise table.fail(key, f"{limit:g} is out of range", "a ratio from 0 to 1")
        metric, kind, _ = SLO_KEYS[key]
        slos.append(Slo(key=key, metric=metric, kind=kind, limit=limit))
    table.done()
    return tuple(slos)


def _cost(table: TableReader) -> PlanCost:
    period = _DEFAULT_COST["period"]
    table.used.add("period")
    if table.has("period"):
        try:
            period = parse_duration(table.value("period"))
        except ValueError as exc:
            raise table.fail("period", str(exc).split(";")[0], DURATION_EXPECTED) from None
        if period <= 0:
            raise table.fail("period", "is 0", "a duration > 0")
    cost = PlanCost(
        period=period,
        pop=table.number("pop", _DEFAULT_COST["pop"], minimum=0) or 0.0,
        shield=table.number("shield", _DEFAULT_COST["shield"], minimum=0) or 0.0,
        cache_per_gib=table.number("cache_per_gib", _DEFAULT_COST["cache_per_gib"], minimum=0)
        or 0.0,
    )
    table.done()
    return cost


def _run(table: TableReader) -> RunSettings:
    duration = None
    table.used.add("duration")
    if table.has("duration"):
        try:
            duration = parse_duration(table.value("duration"))
        except ValueError as exc:
            raise table.fail("duration", str(exc).split(";")[0], DURATION_EXPECTED) from None
        if duration <= 0:
            raise table.fail("duration", "is 0", "a duration > 0")
    default_requests = None if duration is not None else DEFAULT_REQUESTS
    settings = RunSettings(
        requests=table.integer("requests", default_requests, minimum=1),
        duration=duration,
        seed=table.integer("seed", None, minimum=0),
        routing=table.choice("routing", "nearest", ROUTINGS),
        workers=table.integer("workers", None, minimum=1),
        warmup=table.number("warmup", 0.0, minimum=0) or 0.0,
    )
    if settings.warmup >= 1:
        raise table.fail(
            "warmup", f"{settings.warmup:g} is out of range", "a share of the run from 0 to < 1"
        )
    table.done()
    return settings


def parse_plan(data: Mapping[str, Any], source: str, directory: Path) -> Plan:
    """A validated Plan from parsed TOML ``data``; ``base`` is resolved against ``directory``."""
    top = TableReader(source, "", data)
    base_text = top.value("base")
    if not isinstance(base_text, str) or not base_text:
        raise top.fail(
            "base",
            "missing" if base_text is None else f"{base_text!r}",
            'a topology file like "world.toml"',
        )
    base = (directory / base_text).resolve()
    if not base.is_file():
        raise top.fail(
            "base",
            f"{base_text!r}: no such file {base}",
            "a topology TOML file relative to the plan file",
        )
    name = top.value("name")
    if name is not None and not isinstance(name, str):
        raise top.fail("name", f"{name!r}", "a string")
    plan = Plan(
        source=source,
        name=name or Path(source).stem,
        base=base,
        sweep=_sweep(top.child("sweep")),
        slos=_slos(top.child("slo")),
        objective=top.choice("objective", "cost", OBJECTIVES),
        cost=_cost(top.child("cost")),
        run=_run(top.child("run")),
    )
    top.done()
    return plan


def load_plan(path: str | Path) -> Plan:
    """Read and validate the plan file at ``path``."""
    path = Path(path)
    data = read_toml(path, "a plan TOML file, e.g. configs/plan-world.toml")
    return parse_plan(data, str(path), path.parent)
