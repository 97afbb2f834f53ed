"""`cdn plan --mrc`: the one-pass LRU curve agrees with individual fast-path replays (0.5% absolute)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cdn.topology import load_topology
from cli.main import main
from planner.mrc import curve, log_sizes, write_workload_trace
from sim.fastpath import replay

LOCAL = Path(__file__).resolve().parents[2] / "configs" / "local.toml"
TRACES = Path(
    os.environ.get(
        "CDNLAB_SHARED_TRACES", Path(__file__).resolve().parents[3] / "shared" / "traces"
    )
)
CLOUDPHYSICS = TRACES / "cloudPhysicsIO.oracleGeneral.bin"


@pytest.fixture(scope="module")
def generated_trace(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mrc") / "local.csv"
    return write_workload_trace(load_topology(LOCAL), 20_000, path)


def test_one_pass_lru_curve_matches_fast_path_replays_on_a_generated_trace(generated_trace):
    sizes = log_sizes(64 * 1024, 32 * 1024 * 1024, 6)
    result = curve(generated_trace, sizes, "lru")
    assert result.method == "one-pass"
    for size, ratio in zip(result.sizes, result.hit_ratio, strict=True):
        assert abs(ratio - replay(generated_trace, size, "lru").hit_ratio) <= 0.005


@pytest.mark.skipif(not CLOUDPHYSICS.exists(), reason="../shared/traces is not available")
def test_one_pass_lru_curve_matches_fast_path_replays_on_cloudphysics():
    sizes = [2_029_769, 20_297_697, 202_976_972]
    result = curve(CLOUDPHYSICS, sizes, "lru", check=True)
    assert result.max_check_error is not None and result.max_check_error <= 0.005
    # libCacheSim's reference: 92,200 misses of 113,872 requests at 202,976,972 B.
    assert abs(result.hit_ratio[-1] - (1 - 92_200 / 113_872)) <= 0.005


def test_other_policies_fall_back_to_one_replay_per_size(generated_trace):
    sizes = [256 * 1024, 4 * 1024 * 1024]
    result = curve(generated_trace, sizes, "s3fifo")
    assert result.method == "fast-path"
    assert list(result.hit_ratio) == [replay(generated_trace, s, "s3fifo").hit_ratio for s in sizes]


def test_mrc_command_writes_json_csv_and_png_and_says_when_it_falls_back(tmp_path, capsys):
    out = tmp_path / "mrc"
    status = main(
        [
            "plan",
            "--mrc",
            "--topology",
            str(LOCAL),
            "--requests",
            "5000",
            "--sizes",
            "128KiB:8MiB:4",
            "--policy",
            "lru,sieve",
            "--check",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    document = json.loads((out / "mrc.json").read_text())
    assert document["curves"]["lru"]["method"] == "one-pass"
    assert document["curves"]["sieve"]["method"] == "fast-path"
    assert document["curves"]["lru"]["max_check_error"] <= 0.005
    assert len(document["sizes"]) == 4
    assert (out / "mrc.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "mrc.csv").read_text().splitlines()) == 1 + 2 * 4
    captured = capsys.readouterr()
    assert "falling back" in captured.err


def test_mrc_needs_a_trace_or_a_topology(capsys):
    assert main(["plan", "--mrc"]) == 2
    assert "--trace FILE or --topology FILE" in capsys.readouterr().err
