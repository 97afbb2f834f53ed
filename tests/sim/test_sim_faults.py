"""The simulator under a fault schedule (sim/faults.py): the live CDN's fail-over, predicted."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cdn.faults import Fault
from cdn.topology import default_topology_path, load_topology
from sim.model import SimOptions, Simulation

LOCAL = default_topology_path().read_text(encoding="utf-8")


def _topology(
    tmp_path: Path, cache_control: str | None = None, fallbacks: bool = False, extra: str = ""
):
    """configs/local.toml at 200 req/s for 30 s (optionally edges fall back to the origin)."""
    text = LOCAL
    if fallbacks:
        text = re.sub(r'(?m)^upstream = "(shield-fra)"$', r'upstream = ["\1", "origin"]', text)
    if cache_control is not None:
        text = text.replace(
            'cache_control = "public, max-age=86400"', f'cache_control = "{cache_control}"'
        )
    path = tmp_path / "local.toml"
    path.write_text(text + extra, encoding="utf-8")
    topology = load_topology(path)
    return replace(topology, workload=replace(topology.workload, rate=200, duration=30))


def _faults(topology, *faults: Fault) -> dict:
    return Simulation(topology, SimOptions(faults=faults)).run().report


def _phases(report: dict) -> dict:
    return report["faults"]["phases"]


def test_a_fault_after_the_run_changes_nothing(tmp_path: Path) -> None:
    topology = _topology(tmp_path)
    plain = Simulation(topology).run().report
    late = _faults(topology, Fault(at=1000, kind="kill", node="edge-ams"))
    assert late["requests"] == plain["requests"]
    assert late["origin"]["requests"] == plain["origin"]["requests"]
    assert late["hits"] == plain["hits"]
    assert late["faults"]["errors"] == 0


def test_a_killed_edge_costs_no_errors_and_serves_nothing_after(tmp_path: Path) -> None:
    report = _faults(_topology(tmp_path), Fault(at=10, kind="kill", node="edge-ams"))
    assert report["faults"]["errors"] == 0
    before = _faults(_topology(tmp_path), Fault(at=1000, kind="kill", node="edge-ams"))
    # its users went to their next-nearest edge: edge-ams saw only its first 10 s
    assert report["pops"]["edge-ams"]["requests"] < before["pops"]["edge-ams"]["requests"] / 2


def test_a_killed_shield_without_a_fallback_is_an_outage_for_misses(tmp_path: Path) -> None:
    report = _faults(_topology(tmp_path), Fault(at=10, kind="kill", node="shield-fra"))
    assert _phases(report)["during"]["errors"] > 0


def test_a_killed_shield_with_the_origin_listed_after_it_costs_no_errors(tmp_path: Path) -> None:
    topology = _topology(tmp_path, fallbacks=True)
    report = _faults(topology, Fault(at=10, kind="kill", node="shield-fra"))
    assert report["faults"]["errors"] == 0
    assert _phases(report)["during"]["origin_requests"] > 0


def test_a_stopped_edge_makes_its_users_wait_not_fail_under_the_client_timeout(
    tmp_path: Path,
) -> None:
    report = _faults(_topology(tmp_path), Fault(at=10, kind="stop", node="edge-ams", duration=5))
    assert report["faults"]["errors"] == 0
    assert _phases(report)["during"]["p99_ms"] > 3000  # they waited for SIGCONT


def test_a_stop_longer_than_the_client_timeout_fails_its_own_users(tmp_path: Path) -> None:
    report = _faults(_topology(tmp_path), Fault(at=5, kind="stop", node="edge-ams", duration=20))
    assert _phases(report)["during"]["errors"] > 0


def test_a_client_timeout_longer_than_the_stop_turns_the_wait_into_latency(
    tmp_path: Path,
) -> None:
    fault = Fault(at=5, kind="stop", node="edge-ams", duration=20)
    options = SimOptions(faults=(fault,), client_timeout=30.0)
    report = Simulation(_topology(tmp_path), options).run().report
    assert report["faults"]["errors"] == 0
    assert _phases(report)["during"]["p99_ms"] > 10_000


def test_a_client_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="client timeout 0"):
        SimOptions(client_timeout=0)


def test_with_a_head_timeout_a_stopped_edges_users_go_to_the_next_nearest_edge(
    tmp_path: Path,
) -> None:
    topology = _topology(tmp_path)
    fault = Fault(at=5, kind="stop", node="edge-ams", duration=20)
    options = SimOptions(faults=(fault,), head_timeout=2.0)
    report = Simulation(topology, options).run().report
    assert report["faults"]["errors"] == 0
    # nobody waits for the 20 s stop: its users 2 s, its peers' users the 5 s peer timeout
    assert _phases(report)["during"]["p99_ms"] < 6000


def test_origin_down_fails_cold_misses(tmp_path: Path) -> None:
    report = _faults(
        _topology(tmp_path), Fault(at=10, kind="origin_down", node="origin", duration=10)
    )
    during = _phases(report)["during"]
    assert during["origin_requests"] == 0
    assert during["errors"] > 0
    assert _phases(report)["after"]["errors"] == 0


def test_stale_if_error_stands_in_during_an_origin_outage(tmp_path: Path) -> None:
    fault = Fault(at=10, kind="origin_down", node="origin", duration=15)
    # local.toml's edges allow 60 s of stale-if-error: must-revalidate forbids it (RFC 9111)
    plain = _faults(_topology(tmp_path, "public, max-age=2, must-revalidate"), fault)
    stale = _faults(_topology(tmp_path, "public, max-age=2, stale-if-error=300"), fault)
    assert _phases(stale)["during"]["stale_served_any_tier"] > 0
    assert _phases(plain)["during"]["stale_served_any_tier"] == 0
    assert _phases(stale)["during"]["errors"] < _phases(plain)["during"]["errors"] / 2


def test_origin_errors_are_seeded_and_pass_through(tmp_path: Path) -> None:
    fault = Fault(at=5, kind="origin_errors", node="origin", duration=20, rate=0.5)
    first = _faults(_topology(tmp_path), fault)
    second = _faults(_topology(tmp_path), fault)
    assert first["faults"] == second["faults"]
    assert _phases(first)["during"]["errors"] > 0


def test_origin_errors_fail_the_requests_the_live_origin_fails(tmp_path: Path) -> None:
    from cdn.fault_draws import injected_error
    from origin.control import FaultControl
    from origin.counters import ServedCounters
    from origin.faults import Faults
    from origin.metrics import OriginMetrics

    topology = _topology(tmp_path)
    fault = Fault(at=0, kind="origin_errors", node="origin", duration=100, rate=0.3)
    report = _faults(topology, fault)
    # every origin fetch of this run is a first fetch of its path (objects stay fresh a day),
    # so the simulator's errors are the paths whose first draw fails, as at the live origin
    live = FaultControl(
        Faults(error_rate=0.3), topology.workload.seed, ServedCounters(), OriginMetrics()
    )
    fetched = report["origin"]["requests"]
    assert fetched > 100
    first_draws = [live.draws_error(f"/obj/{i}") for i in range(5)]
    assert first_draws == [
        injected_error(topology.workload.seed, f"/obj/{i}", 0, 0.3) for i in range(5)
    ]
    assert 0.2 * fetched < report["faults"]["errors"] < 0.4 * fetched


def test_a_slow_origin_adds_its_latency(tmp_path: Path) -> None:
    report = _faults(
        _topology(tmp_path),
        Fault(at=5, kind="origin_slow", node="origin", duration=20, latency=0.5),
    )
    assert _phases(report)["during"]["p99_ms"] > 500
    assert report["faults"]["errors"] == 0


def test_a_restarted_edge_comes_back_with_an_empty_cache(tmp_path: Path) -> None:
    topology = _topology(tmp_path)
    plain = _faults(topology, Fault(at=1000, kind="kill", node="edge-par"))
    restarted = _faults(topology, Fault(at=15, kind="restart", node="edge-par", duration=1))
    assert restarted["faults"]["errors"] == 0
    # its keys are fetched again (from the shield, which kept them)
    misses = restarted["pops"]["edge-par"]["outcomes"]["miss"]
    assert misses > plain["pops"]["edge-par"]["outcomes"]["miss"]
    assert restarted["origin"]["requests"] == plain["origin"]["requests"]


ORIGIN_GROUP = """
[[external_origin]]
name = "backup"
url = "http://127.0.0.1:9"

[[origin_group]]
name = "both"
members = ["origin", "backup"]

[[behavior]]
path_pattern = "*"
target_origin = "both"
"""


def test_an_origin_group_moves_load_to_the_secondary_when_the_primary_is_down(
    tmp_path: Path,
) -> None:
    topology = _topology(tmp_path, extra=ORIGIN_GROUP)
    report = _faults(topology, Fault(at=10, kind="origin_down", node="origin", duration=10))
    origins = report["faults"]["origins"]
    assert report["faults"]["errors"] == 0
    assert origins["backup (secondary)"] > 0
    assert origins["origin"] + origins["backup (secondary)"] >= report["origin"]["requests"]


def test_cdn_sim_faults_prints_the_phases(tmp_path: Path) -> None:
    scenario = tmp_path / "kill.toml"
    scenario.write_text(
        '[[fault]]\nat = "5s"\nkind = "kill"\nnode = "edge-ams"\n', encoding="utf-8"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "sim",
            "--faults",
            str(scenario),
            "--requests",
            "3000",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "kill edge-ams at 5s" in done.stdout
    for phase in ("before", "during", "after"):
        assert phase in done.stdout


def test_cdn_sim_faults_names_a_bad_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[fault]]\nat = "5s"\nkind = "boom"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "sim", "--faults", str(scenario), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "fault[0].kind" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def test_cdn_sim_applies_the_topologys_own_fault_tables(tmp_path: Path) -> None:
    topology = tmp_path / "with-faults.toml"
    topology.write_text(
        LOCAL + '\n[[fault]]\nat = "2s"\nkind = "origin_down"\nfor = "3s"\n', encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "sim", str(topology), "--requests", "2000", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "origin_down origin at 2s for 3s" in done.stdout


def test_during_an_outage_the_edges_hold_and_answer_stale_themselves(tmp_path: Path) -> None:
    """The error hold (cdn.http.error_hold), as the live edge keeps it: after the shield stood in
    with a stale copy once, an edge answers its own stale copies without asking the shield."""
    fault = Fault(at=10, kind="origin_down", node="origin", duration=15)
    report = _faults(_topology(tmp_path, "public, max-age=2, stale-if-error=300"), fault)
    during = _phases(report)["during"]
    assert during["stale_served_any_tier"] > 0
    # Served stale by the user-facing edge itself, not relayed from the shield's stand-in.
    assert during["stale_served"] >= 0.9 * during["stale_served_any_tier"]
