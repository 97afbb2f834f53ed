"""The core is pure (ARCHITECTURE.md principle 2): no I/O libraries, no clock, no global randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "cdn"
FORBIDDEN_MODULES = {
    "aiohttp",
    "asyncio",
    "uvloop",
    "simpy",
    "prometheus_client",
    "socket",
    "http.client",
    "urllib.request",
    "requests",
    "edge",
    "origin",
    "sim",
    "loadgen",
    "cluster",
    "planner",
    "cli",
}
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("random", "random"),
    ("random", "randint"),
    ("random", "choice"),
    ("random", "shuffle"),
    ("random", "seed"),
    ("random", "uniform"),
    ("random", "expovariate"),
}
MODULES = sorted(CORE.rglob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE.parent)))
def test_core_module_imports_no_io_library(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = {
        name
        for name in _imports(tree)
        if name in FORBIDDEN_MODULES or name.split(".")[0] in FORBIDDEN_MODULES
    }
    assert not bad, f"{path} imports {sorted(bad)}; the core must stay free of I/O and shells"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE.parent)))
def test_core_module_reads_no_clock_or_global_random(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = {
        (node.func.value.id, node.func.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
    }
    bad = calls & FORBIDDEN_CALLS
    assert not bad, f"{path} calls {sorted(bad)}; pass `now` and `rng` in instead"


def test_core_uses_no_builtin_hash_for_placement() -> None:
    offenders = []
    for path in MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # hash() inside __hash__ is fine (in-process identity); anywhere else it may place keys.
        hashers = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "__hash__"
        ]
        allowed = {id(call) for fn in hashers for call in ast.walk(fn)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "hash"
                and id(node) not in allowed
            ):
                offenders.append(str(path))
    assert not offenders, f"built-in hash() varies per process: {offenders}"
