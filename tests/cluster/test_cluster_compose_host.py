"""`cdn compose --network host`: every container on the host's network, reached on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_support import LOCAL, ROOT

from cdn.topology import load_topology
from cluster.compose import render

yaml = pytest.importorskip("yaml", reason="PyYAML parses the compose file in tests (test extra)")


@pytest.fixture(scope="module")
def rendered():
    return render(load_topology(LOCAL), LOCAL, ROOT, network="host")


@pytest.fixture(scope="module")
def compose(rendered) -> dict:
    return yaml.safe_load(rendered.compose_text)


def test_every_service_uses_the_host_network_and_publishes_no_port(compose) -> None:
    for name, service in compose["services"].items():
        assert service["network_mode"] == "host", name
        assert "ports" not in service, name


def test_every_service_name_maps_to_loopback(compose) -> None:
    names = set(compose["services"])
    for name, service in compose["services"].items():
        hosts = dict(entry.split(":", 1) for entry in service["extra_hosts"])
        assert set(hosts) == names, name
        assert set(hosts.values()) == {"127.0.0.1"}, name


def test_nodes_listen_on_loopback_only(compose) -> None:
    for node in load_topology(LOCAL).nodes:
        command = compose["services"][node.name]["command"]
        assert command[command.index("--host") + 1] == "127.0.0.1"


def test_the_image_is_built_on_the_host_network(compose) -> None:
    for node in load_topology(LOCAL).nodes:
        assert compose["services"][node.name]["build"]["network"] == "host"


def test_prometheus_scrapes_loopback_from_a_config_of_its_own(rendered) -> None:
    assert rendered.prometheus_path == "configs/prometheus/local-host.yml"
    config = yaml.safe_load(rendered.prometheus_text)
    targets = {
        s["labels"]["node"]: s["targets"] for s in config["scrape_configs"][0]["static_configs"]
    }
    assert targets == {n.name: [f"127.0.0.1:{n.port}"] for n in load_topology(LOCAL).nodes}


def test_monitoring_listens_on_loopback_in_its_profile(compose) -> None:
    prometheus = compose["services"]["prometheus"]
    grafana = compose["services"]["grafana"]
    assert prometheus["profiles"] == grafana["profiles"] == ["monitoring"]
    assert "--web.listen-address=127.0.0.1:9090" in prometheus["command"]
    assert grafana["environment"]["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"


def test_the_bridge_file_is_not_overwritten_by_default(tmp_path: Path, monkeypatch) -> None:
    from cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["compose", "local", "--network", "host"]) == 0
    assert (tmp_path / "docker-compose.host.yml").is_file()
    assert not (tmp_path / "docker-compose.yml").exists()
    assert (tmp_path / "configs" / "prometheus" / "local-host.yml").is_file()
