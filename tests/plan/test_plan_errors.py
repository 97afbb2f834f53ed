"""Plan-file mistakes are reported with the file and the key, never a traceback; --help works."""

from __future__ import annotations

import pytest

from cdn.errors import ConfigError
from cli.main import main
from planner.plan import run_plan
from planner.planfile import load_plan


def error_of(path) -> str:
    with pytest.raises(ConfigError) as info:
        load_plan(path)
    return str(info.value)


def test_a_bad_cache_size_names_file_and_key(write_plan):
    path = write_plan(cache_size='["1MiB", "sixteen"]')
    message = error_of(path)
    assert f"{path}:sweep.cache_size[1]" in message and "'sixteen' is not a size" in message


def test_a_bad_size_range_names_the_range_key(write_plan):
    path = write_plan(cache_size='{ from = "1MiB", to = "lots", steps = 3 }')
    assert f"{path}:sweep.cache_size.to" in error_of(path)


def test_an_unknown_policy_names_file_and_key(write_plan):
    path = write_plan(policy='["lru", "arc"]')
    message = error_of(path)
    assert f"{path}:sweep.policy[1]" in message and "'arc' is not known" in message


def test_an_unknown_slo_key_names_file_and_key(write_plan):
    path = write_plan(slo="p95 = 100")
    message = error_of(path)
    assert f"{path}:slo.p95" in message and "p95_ms" in message


def test_an_unknown_top_level_key_is_an_error(write_plan):
    path = write_plan(text='objectiv = "cost"\n' + write_plan().read_text())
    assert f"{path}:objectiv: unknown key" in error_of(path)


def test_a_missing_base_names_the_base_key(write_plan):
    text = write_plan().read_text().replace("local.toml", "nowhere.toml")
    path = write_plan("nobase.toml", text=text)
    assert f"{path}:base" in error_of(path)


def test_an_unknown_edge_in_a_pop_set_names_the_set(write_plan, tmp_path):
    pops = '[sweep.pops]\neurope = ["edge-par", "edge-xyz"]\n\n[slo]'
    text = write_plan().read_text().replace("[slo]", pops, 1)
    path = write_plan("pops.toml", text=text)
    with pytest.raises(ConfigError) as info:
        run_plan(load_plan(path), tmp_path / "cache")
    assert f"{path}:sweep.pops.europe" in str(info.value) and "edge-xyz" in str(info.value)


def test_the_command_prints_the_error_and_exits_2(write_plan, capsys):
    path = write_plan(policy='["arc"]')
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cdn plan: error: ") and "sweep.policy[0]" in err
    assert "Traceback" not in err


def test_help_describes_the_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["plan", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--scheduler" in out and "--mrc" in out and "--cache-dir" in out
