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


def _workload(**keys: object) -> dict:
    topology = _topology([{"path": "/s/{id}"}])
    topology["workload"].update(keys)
    return topology


def test_accept_encoding_defaults_to_identity_only() -> None:
    topology = parse_topology(_topology([{"path": "/s/{id}"}]), "t.toml")
    assert topology.workload.accept_encoding == (("identity", 1.0),)


def test_accept_encoding_keeps_the_codings_with_a_share() -> None:
    shares = {"br": 0.7, "gzip": 0.3, "identity": 0}
    topology = parse_topology(_workload(accept_encoding=shares), "t.toml")
    assert topology.workload.accept_encoding == (("br", 0.7), ("gzip", 0.3))


def test_an_unknown_coding_is_an_error_naming_file_and_key() -> None:
    with pytest.raises(ConfigError, match=r"t\.toml.*workload\.accept_encoding\.zstd"):
        parse_topology(_workload(accept_encoding={"zstd": 1.0}), "t.toml")


def test_accept_encoding_shares_must_add_up_to_one() -> None:
    with pytest.raises(ConfigError, match=r"workload\.accept_encoding.*add up to 0\.9"):
        parse_topology(_workload(accept_encoding={"br": 0.6, "gzip": 0.3}), "t.toml")


def test_an_accept_encoding_share_out_of_range_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"workload\.accept_encoding\.br"):
        parse_topology(_workload(accept_encoding={"br": 1.5}), "t.toml")


def test_a_family_content_type_must_be_a_media_type() -> None:
    with pytest.raises(ConfigError, match=r"workload\.paths\[0\]\.content_type"):
        parse_topology(_topology([{"path": "/s/{id}", "content_type": "html"}]), "t.toml")


def test_a_family_compression_ratio_names_a_coding() -> None:
    bad = [{"path": "/s/{id}", "compression_ratio": {"deflate": 0.3}}]
    with pytest.raises(ConfigError, match=r"workload\.paths\[0\]\.compression_ratio\.deflate"):
        parse_topology(_topology(bad), "t.toml")


def test_a_family_compression_ratio_is_above_zero_and_at_most_one() -> None:
    bad = [{"path": "/s/{id}", "compression_ratio": {"br": 0}}]
    with pytest.raises(ConfigError, match=r"workload\.paths\[0\]\.compression_ratio\.br"):
        parse_topology(_topology(bad), "t.toml")


def test_the_origin_serves_a_familys_content_type_at_its_paths() -> None:
    catalog = Catalog(
        Workload(
            paths=(
                WorkloadPath("/static/{id}.css", content_type="text/css"),
                WorkloadPath("/api/{id}", content_type="application/json"),
            )
        )
    )
    assert catalog.content_type_at("/static/7.css") == "text/css"
    assert catalog.content_type_at("/api/7") == "application/json"
    # /obj/{id} is always served, as octets when no family names it
    assert catalog.content_type_at("/obj/7") == "application/octet-stream"
    assert Catalog(Workload()).content_type_at("/obj/7") == "application/octet-stream"


def test_a_family_preflight_share_is_a_share() -> None:
    with pytest.raises(ConfigError, match=r"workload\.paths\[0\]\.preflight_share"):
        parse_topology(_topology([{"path": "/s/{id}", "preflight_share": 1.5}]), "t.toml")
    topology = parse_topology(_topology([{"path": "/s/{id}", "preflight_share": 0.1}]), "t.toml")
    assert topology.workload.paths[0].preflight_share == 0.1
