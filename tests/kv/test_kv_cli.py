"""`cdn kv` on the command line: help, flag errors, topology settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.commands.kv import build_settings
from cli.main import build_parser, main


def test_help_documents_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["kv", "--help"])
    assert excinfo.value.code == 0
    assert "DynamoDB-compatible" in capsys.readouterr().out


def test_data_is_required_without_a_topology(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kv", "--port", "0"]) == 2
    assert "--data is required" in capsys.readouterr().err


def test_access_key_needs_its_secret(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["kv", "--data", str(tmp_path / "x.sqlite"), "--access-key", "AK"]) == 2
    assert "--access-key and --secret-key go together" in capsys.readouterr().err


def test_a_bad_purge_wait_names_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["kv", "--data", str(tmp_path / "x.sqlite"), "--purge-wait", "soon"]) == 2
    assert "--purge-wait" in capsys.readouterr().err


def test_topology_gives_port_data_rules_and_caches(tmp_path: Path) -> None:
    topology = tmp_path / "api.toml"
    topology.write_text(
        '[origin]\nname = "api"\nport = 8300\ncity = "Ashburn"\nkind = "kv"\ndata = "api.sqlite"\n'
        '[[edge]]\nname = "edge-par"\nport = 8301\ncity = "Paris"\n'
        '[[cache_rule]]\nprefix = "/tables/"\ncache_control = "public, max-age=9"\n'
    )
    args = build_parser().parse_args(["kv", "--topology", str(topology)])
    settings = build_settings(args)
    assert (settings.name, settings.port, settings.data) == (
        "api",
        8300,
        str(tmp_path / "api.sqlite"),
    )
    assert [t.name for t in settings.purge_targets] == ["edge-par"]
    assert settings.cache_rules[0].cache_control == "public, max-age=9"


def test_a_kv_origin_needs_its_data_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology = tmp_path / "api.toml"
    topology.write_text(
        '[origin]\nname = "api"\ncity = "Ashburn"\nkind = "kv"\n[[edge]]\nname = "e"\ncity = "Paris"\n'
    )
    assert main(["kv", "--topology", str(topology)]) == 2
    assert "data" in capsys.readouterr().err


def test_node_urls_from_the_environment_name_the_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = tmp_path / "api.toml"
    topology.write_text(
        '[origin]\nname = "api"\ncity = "Ashburn"\nkind = "kv"\ndata = "api.sqlite"\n'
        '[[edge]]\nname = "edge-par"\ncity = "Paris"\n'
    )
    monkeypatch.setenv("CDNLAB_NODE_URLS", "edge-par=http://edge-par:8121")
    settings = build_settings(build_parser().parse_args(["kv", "--topology", str(topology)]))
    assert [t.url for t in settings.purge_targets] == ["http://edge-par:8121"]
