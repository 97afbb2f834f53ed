"""`cdn load` on the command line: help, clear errors for bad input, SLO exit status, outputs."""

from __future__ import annotations

import csv
import json

import pytest
from load_apps import cache_app

from cli.main import main


def test_help_describes_the_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["load", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Open-loop" in out
    assert "--slo" in out and "--shard" in out and "merge" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--slo", "p99<<50ms"], "is not an objective"),
        (["--slo", "latency<50ms"], "unknown metric 'latency'"),
        (["--slo", "p99<50kg"], "not a time unit"),
        (["--slo", "hit_ratio>80"], "is a fraction"),
        (["--target", "127.0.0.1:8121"], "is not a URL"),
        (["--target", "http://"], "is not a URL"),
        (["--target", "http://127.0.0.1:99999"], "is not a URL"),
        (["--shard", "2/2"], "is not a shard"),
        (["--profile", "wobble"], "is not known"),
        (["--profile", "ramp:10"], "has no '-'"),
        (["--topology", "/nonexistent/topo.toml"], "no such file"),
        (["--processes", "0"], "is not a process count"),
        (["--processes", "many"], "is not a process count"),
        (["--shards", "2"], "--shards is for --scheduler runs"),
    ],
)
def test_bad_values_give_a_clear_error_and_status_2(capsys, argv, message) -> None:
    status = main(["load", "--duration", "1s", "--target", "http://127.0.0.1:9", *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert err.startswith("cdn load: error:")
    assert "Traceback" not in err


def test_an_unbounded_run_is_refused(capsys) -> None:
    status = main(["load", "--target", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert status == 2
    assert "unbounded" in err and "--duration" in err


def test_bad_merge_input_is_a_clear_error(capsys, tmp_path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    status = main(["load", "merge", str(bogus), str(tmp_path / "missing.json")])
    err = capsys.readouterr().err
    assert status == 2
    assert "not a cdn load report" in err
    assert main(["load", "frobnicate"]) == 2
    assert "unknown action" in capsys.readouterr().err


def test_broken_slo_makes_the_exit_status_non_zero(serve, capsys) -> None:
    served = serve(cache_app())
    common = ["load", "--target", served.url, "--rate", "200", "--requests", "100", "--quiet"]
    assert main([*common, "--slo", "p99<60s", "--slo", "errors<50%"]) == 0
    out = capsys.readouterr().out
    assert "SLOs" in out and "pass" in out
    # cache_app answers 10% of ids with 503 and about half of the rest with a hit.
    assert main([*common, "--slo", "errors<0.1%", "--slo", "p99<60s"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "pass" in out
    assert main([*common, "--slo", "hit_ratio>0.99"]) == 1


def test_out_dir_holds_json_csv_and_plots(serve, tmp_path) -> None:
    served = serve(cache_app())
    out = tmp_path / "run"
    status = main(
        [
            "load",
            "--target",
            served.url,
            "--rate",
            "150",
            "--duration",
            "2s",
            "--out",
            str(out),
            "--quiet",
            "--slo",
            "p99<60s",
        ]
    )
    assert status == 0
    doc = json.loads((out / "load.json").read_text())
    for key in (
        "requests",
        "hit_ratio",
        "byte_hit_ratio",
        "origin",
        "latency_ms",
        "pops",
        "regions",
        "errors",
        "rate",
        "lag_ms",
        "by_cache_status",
        "histograms",
        "timeseries",
    ):
        assert key in doc, key
    assert set(doc["latency_ms"]) >= {"p50", "p90", "p95", "p99"}
    assert set(doc["origin"]) >= {"requests", "bytes"}
    assert doc["slo"][0]["ok"] is True
    with (out / "timeseries.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sum(int(r["sent"]) for r in rows) == doc["requests"]
    assert {"second", "sent", "completed", "errors", "p50_ms", "p99_ms", "hit_ratio"} <= set(
        rows[0]
    )
    assert (out / "latency_over_time.png").stat().st_size > 0
    assert (out / "latency_cdf.png").stat().st_size > 0
