"""Several ``[[origin]]``s in a topology: parsed with named errors, each run by `cdn up` and
`cdn compose`, fetched from by the edges' origin groups (docs/topology.md, docs/gateway.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from cdn.errors import ConfigError
from cdn.topology import load_topology, parse_topology
from cluster.compose import render
from cluster.plan import plan_launches
from cluster.relocate import with_ports
from edge.settings import EdgeSettings

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

TWO_ORIGINS = """
name = "two"

[[origin]]
name = "origin-a"
port = 8100
city = "Ashburn"

[[origin]]
name = "origin-b"
port = 8101
city = "Dublin"
capacity_rps = 500

[[edge]]
name = "edge-par"
port = 8121
city = "Paris"

[[origin_group]]
name = "both"
members = ["origin-a", "origin-b"]

[[behavior]]
path_pattern = "/obj/*"
target_origin = "both"

[[behavior]]
path_pattern = "*"
"""


def parse(text: str):
    return parse_topology(tomllib.loads(text), "two.toml")


def test_an_origin_list_gives_the_first_as_the_origin_and_runs_them_all() -> None:
    topology = parse(TWO_ORIGINS)
    assert topology.origin.name == "origin-a"
    assert [o.name for o in topology.origins] == ["origin-a", "origin-b"]
    assert [n.name for n in topology.nodes] == ["origin-a", "origin-b", "edge-par"]
    assert topology.node("origin-b").capacity_rps == 500
    assert topology.edges[0].upstream == "origin-a"


def test_the_single_origin_table_still_parses() -> None:
    topology = load_topology(CONFIGS / "local.toml")
    assert topology.origins == (topology.origin,)
    assert topology.more_origins == ()


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (('name = "origin-b"', 'name = "origin-a"'), "two.toml:origin[1].name", "used twice"),
        (("port = 8101", "port = 8100"), "two.toml:origin[1].port", "also used by origin-a"),
        (
            ('members = ["origin-a", "origin-b"]', 'members = ["origin-a", "origin-c"]'),
            "two.toml:origin_group[0].members",
            "'origin-c' is not defined",
        ),
        (("port = 8121", "port = 8101"), "two.toml:edge-par.port", "also used by origin-b"),
        (
            ('city = "Paris"', 'city = "Paris"\nupstream = "origin-b"'),
            "two.toml:edge-par.upstream",
            "not the first [[origin]]",
        ),
    ],
)
def test_origin_mistakes_name_the_file_and_key(change, where, problem) -> None:
    with pytest.raises(ConfigError) as error:
        parse(TWO_ORIGINS.replace(*change))
    assert str(error.value).startswith(where)
    assert problem in str(error.value)


def test_an_origin_named_like_an_external_origin_is_an_error() -> None:
    text = TWO_ORIGINS + '\n[[external_origin]]\nname = "origin-b"\nurl = "http://127.0.0.1:9"\n'
    with pytest.raises(ConfigError, match=r"external_origin.*two origins are called alike"):
        parse(text)


def test_cdn_up_starts_every_origin_in_the_first_tier(tmp_path) -> None:
    path = tmp_path / "two.toml"
    path.write_text(TWO_ORIGINS)
    tiers = plan_launches(load_topology(path), path)
    assert [launch.name for launch in tiers[0]] == ["origin-a", "origin-b"]
    assert tiers[0][0].argv[-2:] == ("--topology", str(path.resolve()))
    assert tiers[0][1].argv[-4:] == ("--topology", str(path.resolve()), "--node", "origin-b")


def test_cdn_origin_node_runs_the_named_origin_on_its_port(tmp_path) -> None:
    from cli.commands.origin import build_settings
    from cli.errors import UserError
    from cli.main import build_parser

    path = tmp_path / "two.toml"
    path.write_text(TWO_ORIGINS)
    args = build_parser().parse_args(["origin", "--topology", str(path), "--node", "origin-b"])
    settings = build_settings(args)
    assert (settings.name, settings.port) == ("origin-b", 8101)
    args = build_parser().parse_args(["origin", "--topology", str(path), "--node", "edge-par"])
    with pytest.raises(UserError, match=r"--node: .* no origin 'edge-par'.*origin-a, origin-b"):
        build_settings(args)


def test_compose_has_one_service_per_origin(tmp_path) -> None:
    path = tmp_path / "two.toml"
    path.write_text(TWO_ORIGINS)
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(render(load_topology(path), path, tmp_path).compose_text)["services"]
    assert services["origin-b"]["command"][:2] == ["cdn", "origin"]
    assert "--node" in services["origin-b"]["command"]
    assert services["origin-b"]["ports"] == ["127.0.0.1:8101:8101"]
    # The edge reaches origin-b by its service name.
    environment = services["edge-par"]["environment"]
    assert "origin-b=http://origin-b:8101" in str(environment)


def test_the_edge_knows_where_the_other_origins_answer() -> None:
    topology = parse(TWO_ORIGINS)
    settings = EdgeSettings.from_topology(topology, "edge-par")
    assert dict(settings.node_urls) == {"origin-b": "http://127.0.0.1:8101"}
    moved = EdgeSettings.from_topology(topology, "edge-par", {"origin-b": "http://b:1"})
    assert dict(moved.node_urls) == {"origin-b": "http://b:1"}


def test_relocating_moves_every_origin() -> None:
    moved = parse(with_ports(TWO_ORIGINS, [9100, 9101, 9121]))
    assert [n.port for n in moved.nodes] == [9100, 9101, 9121]


def test_the_gateway_example_runs_both_members_of_its_group() -> None:
    topology = load_topology(CONFIGS / "gateway.toml")
    group = topology.gateway.origin_groups[0]
    assert set(group.members) <= {o.name for o in topology.origins}
    assert topology.gateway.external_origins == ()


async def test_a_behavior_may_target_another_origin_directly(
    start_origin_server, start_edge_server, http
) -> None:
    text = TWO_ORIGINS.replace('target_origin = "both"', 'target_origin = "origin-b"')
    topology = parse(text)
    first = await start_origin_server(topology)
    second = await start_origin_server(topology)
    settings = EdgeSettings.from_topology(topology, "edge-par", {"origin-b": second.url})
    edge = await start_edge_server(
        first.url,
        gateway=settings.gateway,
        node_urls=settings.node_urls,
        origin_name=settings.origin_name,
    )
    await first.stop()  # /obj/ never asks the first origin
    async with http.get(edge.url + "/obj/7") as response:
        await response.read()
        assert response.status == 200
    async with http.get(edge.url + "/other") as response:
        await response.read()
        assert response.status == 502  # the rest goes to the (stopped) first origin
