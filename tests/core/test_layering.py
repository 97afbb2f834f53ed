"""Imports point down only (ARCHITECTURE.md "Layers"): checked on the source, file by file.

The core ``cdn`` imports no shell; no shell imports ``cli``; ``edge`` and ``sim`` meet only in
the core; no two files import each other, directly or round a longer circle. Imports under
``TYPE_CHECKING`` and inside functions count too: a circle is a circle wherever it is written.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOT_CODE = {"tests", "bench", "docs", "configs", "out", "demo_out"}


def _modules() -> dict[str, Path]:
    modules = {}
    for package in sorted(ROOT.iterdir()):
        if not (package / "__init__.py").exists() or package.name in NOT_CODE:
            continue
        for path in package.rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            target = _resolve(candidate)
            if target is not None and target != module:
                found.add(target)
                break
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _edges(source_top: str | None = None) -> list[tuple[str, str]]:
    return [
        (module, target)
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if source_top is None or module.split(".")[0] == source_top
    ]


def test_the_layering_check_sees_the_packages() -> None:
    assert {"cdn", "edge", "sim", "cli"} <= {name.split(".")[0] for name in MODULES}


def test_the_core_imports_no_shell() -> None:
    assert [(a, b) for a, b in _edges("cdn") if b.split(".")[0] != "cdn"] == []


def test_no_shell_imports_the_cli() -> None:
    offenders = [
        (a, b) for a, b in _edges() if a.split(".")[0] != "cli" and b.split(".")[0] == "cli"
    ]
    assert offenders == []


@pytest.mark.parametrize(("one", "other"), [("edge", "sim"), ("sim", "edge")])
def test_edge_and_sim_meet_only_in_the_core(one: str, other: str) -> None:
    assert [(a, b) for a, b in _edges(one) if b.split(".")[0] == other] == []


def test_no_import_circles_between_files() -> None:
    try:
        tuple(graphlib.TopologicalSorter(GRAPH).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")
