"""kv/ is a server-layer shell: it imports cdn/ and serving/, never edge/, cluster/, cli/ or origin/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KV = Path(__file__).resolve().parents[2] / "kv"
FORBIDDEN = {"edge", "cluster", "cli", "origin", "sim", "loadgen", "planner", "demo"}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(KV.rglob("*.py")), ids=lambda p: str(p.relative_to(KV)))
def test_kv_module_imports_point_down(path: Path) -> None:
    assert not imported(path) & FORBIDDEN
