"""Bad `cdn demo` arguments end with a one-line error and status 2, before anything starts."""

from __future__ import annotations

import pytest

from cli.main import main


def test_a_missing_topology_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert main(["demo", "--topology", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cdn demo: error:" in err and "nope.toml" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["0", "-3s", "soon"])
def test_a_duration_that_is_not_positive_is_refused(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--duration", value])
    assert exit_info.value.code == 2
    assert "--duration" in capsys.readouterr().err


def test_help_names_the_outputs(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    assert "compare.json" in text and "--free-ports" in text


def test_a_process_count_out_of_range_is_refused(tmp_path, capsys):
    assert main(["demo", "--processes", "0", "--out", str(tmp_path / "o")]) == 2
    assert "is not a process count" in capsys.readouterr().err


def test_help_names_the_load_options(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    assert "--processes" in text and "--scheduler" in text
