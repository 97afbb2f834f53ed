"""A workload's path mix ([[workload.paths]]): each object has one family's path, by its id."""

from __future__ import annotations

import pytest

from cdn.errors import ConfigError
from cdn.topology import Workload, WorkloadPath, parse_topology
from cdn.workload import Catalog

MIX = (WorkloadPath("/static/{id}", share=3.0), WorkloadPath("/api/{id}.json", share=1.0))


def test_families_hold_their_share_of_the_objects() -> None:
    catalog = Catalog(Workload(objects=20_000, paths=MIX))
    api = sum(catalog.path_of(i).startswith("/api/") for i in range(20_000))
    assert api / 20_000 == pytest.approx(0.25, abs=0.02)


def test_an_objects_path_names_it_again() -> None:
    catalog = Catalog(Workload(paths=MIX))
    for obj in range(50):
        assert catalog.id_of(catalog.path_of(obj)) == obj
    assert catalog.path_of(7) in ("/static/7", "/api/7.json")


def test_without_a_mix_every_object_has_the_workload_path() -> None:
    catalog = Catalog(Workload(path="/o/{id}"))
    assert [catalog.path_of(i) for i in range(3)] == ["/o/0", "/o/1", "/o/2"]
    assert catalog.family_of(5) == 0


def _topology(paths: str) -> dict:
    return {
        "origin": {"name": "origin", "city": "Ashburn"},
        "edge": [{"name": "edge", "city": "Paris", "upstream": "origin"}],
        "workload": {"paths": paths},
    }


def test_a_family_path_without_id_is_an_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"workload\.paths\[0\]\.path"):
        parse_topology(_topology([{"path": "/static/"}]), "t.toml")


def test_a_family_query_needs_a_name() -> None:
    with pytest.raises(ConfigError, match=r"workload\.paths\[0\]\.query\.name"):
        parse_topology(_topology([{"path": "/s/{id}", "query": {"values": 3}}]), "t.toml")
