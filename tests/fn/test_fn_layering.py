"""fn/ is a shell over the core: it never imports the edge, the simulator or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FN = Path(__file__).resolve().parents[2] / "fn"
FORBIDDEN = {"edge", "sim", "cli", "origin", "loadgen", "cluster", "planner", "demo"}


@pytest.mark.parametrize("path", sorted(FN.glob("*.py")), ids=lambda p: p.name)
def test_fn_module_imports_only_core_and_serving(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {name.split(".")[0] for name in names} & FORBIDDEN
