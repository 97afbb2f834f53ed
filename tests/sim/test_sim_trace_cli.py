"""`cdn sim --trace`: golden LRU numbers (libCacheSim), bad input messages, --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sim_scenarios import TRACES

from cli.main import main

BIN = TRACES / "cloudPhysicsIO.oracleGeneral.bin"

# libCacheSim's reference results (../shared/traces/README.md): capacity -> misses, missed bytes.
GOLDEN_LRU = {
    2_029_769: (96_932, 4_296_723_968),
    20_297_697: (94_956, 4_280_799_744),
    202_976_972: (92_200, 4_157_572_608),
}


@pytest.mark.golden
@pytest.mark.skipif(not BIN.exists(), reason=f"sample traces not found at {TRACES}")
@pytest.mark.parametrize("capacity", sorted(GOLDEN_LRU))
def test_lru_matches_libcachesim(capacity: int, tmp_path: Path) -> None:
    argv = ["sim", "--trace", str(BIN), "--cache-size", str(capacity), "--policy", "lru"]
    assert main([*argv, "--quiet", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    misses, missed_bytes = GOLDEN_LRU[capacity]
    assert report["requests"] == 113_872
    assert report["bytes"] == 4_368_040_448
    assert (report["origin"]["requests"], report["origin"]["bytes"]) == (misses, missed_bytes)


@pytest.mark.golden
@pytest.mark.skipif(not BIN.exists(), reason=f"sample traces not found at {TRACES}")
def test_belady_and_a_policy_list_on_the_sample_trace(tmp_path: Path) -> None:
    argv = ["sim", "--trace", str(BIN), "--cache-size", "202976972", "--policy", "belady,lru"]
    assert main([*argv, "--quiet", "--out", str(tmp_path)]) == 0
    policies = json.loads((tmp_path / "report.json").read_text())["policies"]
    assert policies["belady"]["misses"] == 74_162
    assert policies["lru"]["misses"] == 92_200
    assert (tmp_path / "hit_ratio.png").exists()


def test_units_are_accepted_for_the_cache_size(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,object_id,size_bytes\n1,a,10\n2,a,10\n3,b,2000000\n")
    assert (
        main(
            [
                "sim",
                "--trace",
                str(trace),
                "--cache-size",
                "1MiB",
                "--quiet",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["hits"], report["origin"]["requests"]) == (1, 2)  # b is larger than the cache


def test_a_bad_csv_line_is_reported_with_its_number(tmp_path: Path) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text("timestamp,object_id,size_bytes\n1,a,10\n2,b,ten\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "sim",
            "--trace",
            str(trace),
            "--cache-size",
            "1MiB",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "line 3" in done.stderr and "size" in done.stderr
    assert "Traceback" not in done.stderr


def test_trace_mode_needs_a_cache_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,object_id,size_bytes\n1,a,10\n")
    assert main(["sim", "--trace", str(trace), "--quiet"]) == 2
    assert "--cache-size" in capsys.readouterr().err


def test_help_describes_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "sim", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "--trace" in done.stdout and "--routing" in done.stdout
