"""`cdn up` stops a cluster edges first, then shields, then the origin (each tier drains)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from cluster_support import LOCAL

import cluster.launcher as launcher
from cluster.launcher import Cluster


def test_stop_signals_edges_then_shields_then_the_origin(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = Cluster(LOCAL, state_dir=tmp_path, write_state=False)
    cluster.children = {node.name: SimpleNamespace(name=node.name) for node in cluster.nodes}
    stopped: list[set[str]] = []
    monkeypatch.setattr(
        launcher,
        "stop_processes",
        lambda children, grace: stopped.append({child.name for child in children}),
    )
    cluster.stop()
    roles = {node.name: node.role for node in cluster.nodes}
    assert [{roles[name] for name in tier} for tier in stopped] == [
        {"edge"},
        {"shield"},
        {"origin"},
    ]
