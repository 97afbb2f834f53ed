"""The edge-function tables of a topology: [[function]] and the ``functions`` associations.

Rules: as the rest of the topology: errors name the file and key; code paths are relative to
the topology file; at most one function per trigger, a cloudfront-function only on viewer
triggers, and every association names a defined function (``check_functions``).
"""

from __future__ import annotations

from pathlib import Path

from cdn.functions.spec import FunctionSpec, check_associations
from cdn.functions.triggers import MEMORY_MAX_MB, MEMORY_MIN_MB, FunctionKind, Trigger
from cdn.tables import TableReader
from cdn.topology.model import Topology

__all__ = ["check_functions", "parse_associations", "parse_functions"]


def parse_associations(reader: TableReader) -> tuple[tuple[Trigger, str], ...]:
    """``functions = { viewer-request = "name", ... }``: one function name per trigger."""
    if not reader.has("functions"):
        reader.used.add("functions")
        return ()
    table = reader.child("functions")
    pairs = []
    for trigger in Trigger:
        name = table.text(trigger.value, None)
        if name is not None:
            pairs.append((trigger, name))
    table.done()
    return tuple(pairs)


_FUNCTION_KINDS = tuple(kind.value for kind in FunctionKind)


def _function(reader: TableReader, base: Path) -> FunctionSpec:
    name = reader.text("name", None)
    if not name:
        raise reader.fail("name", "missing", "a function name like 'rewrite'")
    code = reader.text("code", None)
    if not code:
        raise reader.fail("code", "missing", "a path to a .py file, relative to the topology file")
    memory = reader.integer("memory", 128, minimum=MEMORY_MIN_MB)
    if memory > MEMORY_MAX_MB:
        raise reader.fail(
            "memory", f"{memory} is out of range", f"{MEMORY_MIN_MB} to {MEMORY_MAX_MB} (MB)"
        )
    spec = FunctionSpec(
        name=name,
        code=str(base / code),
        handler=reader.text("handler", "handler"),
        kind=FunctionKind(reader.choice("kind", FunctionKind.LAMBDA_EDGE.value, _FUNCTION_KINDS)),
        timeout=reader.duration("timeout", 3.0),
        memory=memory,
        concurrency=reader.integer("concurrency", 10, minimum=1),
        keep_warm=reader.duration("keep_warm", 600.0),
        budget=reader.duration("budget", 0.001),
        where=reader.where("code"),
        duration=_optional_duration(reader, "duration"),
        init_duration=_optional_duration(reader, "init_duration"),
    )
    if not spec.timeout > 0:
        raise reader.fail("timeout", f"{spec.timeout!r} is not positive", "a duration like 3s")
    reader.done()
    return spec


def _optional_duration(reader: TableReader, key: str) -> float | None:
    """The simulator's timing keys: a duration, or None when absent (the kind's default)."""
    if not reader.has(key):
        reader.used.add(key)
        return None
    return reader.duration(key, 0.0)


def parse_functions(top: TableReader, source: str) -> tuple[FunctionSpec, ...]:
    base = Path(source).parent
    specs: list[FunctionSpec] = []
    for reader in top.children("function"):
        spec = _function(reader, base)
        if any(other.name == spec.name for other in specs):
            raise reader.fail("name", f"{spec.name!r} is used twice", "unique function names")
        specs.append(spec)
    return tuple(specs)


def check_functions(topology: Topology) -> None:
    by_name = {spec.name: spec for spec in topology.functions}
    source = topology.source
    check_associations(
        topology.edge_settings.functions, by_name, f"{source}:edge_defaults.functions"
    )
    for index, node in enumerate(topology.edges):
        merged = dict(topology.edge_settings.functions)
        merged.update(dict(node.functions))
        check_associations(merged.items(), by_name, f"{source}:edge[{index}].functions")
    behaviors = topology.gateway.behaviors if topology.gateway is not None else ()
    for index, behavior in enumerate(behaviors):
        # A behavior's associations override an edge's per trigger; checked on their own
        # (and over [edge_defaults], which every edge has).
        merged = dict(topology.edge_settings.functions)
        merged.update(dict(behavior.functions))
        check_associations(merged.items(), by_name, f"{source}:behavior[{index}].functions")
