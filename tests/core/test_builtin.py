"""Built-in topologies and plans (cdn.builtin): configs/ shipped as package data, found by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdn import builtin
from cdn.errors import ConfigError
from cdn.topology import default_topology_path, load_topology

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_the_builtin_files_are_the_configs_folder_of_the_clone() -> None:
    # An editable install reads configs/ itself: one copy of each file.
    assert builtin.data_dir().resolve() == CONFIGS.resolve()


def test_topology_and_plan_names_come_from_the_file_names() -> None:
    assert builtin.topology_names() == (
        "functions",
        "gateway",
        "local",
        "storage",
        "three-continents",
        "world",
    )
    assert builtin.plan_names() == ("gateway", "world")


def test_a_builtin_topology_name_is_its_file() -> None:
    assert builtin.topology_file("world") == builtin.data_dir() / "world.toml"
    assert load_topology(builtin.topology_file("world")).name == "world"


def test_a_builtin_plan_is_found_by_its_short_or_full_name() -> None:
    expected = builtin.data_dir() / "plan-world.toml"
    assert builtin.plan_file("world") == expected
    assert builtin.plan_file("plan-world") == expected


def test_an_existing_file_wins_over_a_builtin_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "world").write_text("")
    assert builtin.topology_file("world") == Path("world")


def test_a_path_is_returned_as_given_even_when_missing() -> None:
    # Its loader then says "no such file" with the path, as before.
    assert builtin.topology_file("configs/nowhere.toml") == Path("configs/nowhere.toml")


def test_an_unknown_name_lists_the_builtin_ones() -> None:
    with pytest.raises(
        ConfigError, match="one of: functions, gateway, local, storage, three-continents, world"
    ):
        builtin.topology_file("mars")
    with pytest.raises(ConfigError, match="one of: gateway, world"):
        builtin.plan_file("mars")


def test_the_default_topology_is_the_builtin_local_one() -> None:
    assert default_topology_path() == builtin.data_dir() / "local.toml"
