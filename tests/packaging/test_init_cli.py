"""`cdn init [DIR]`: editable copies of the built-in topologies and plans."""

from __future__ import annotations

from pathlib import Path

from cdn import builtin
from cli.main import main


def test_init_copies_every_builtin_file_into_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "mycdn"
    assert main(["init", str(target)]) == 0
    for source in builtin.files():
        assert (target / source.name).read_bytes() == source.read_bytes()


def test_the_copied_plan_finds_its_copied_base_topology(tmp_path: Path) -> None:
    from planner.planfile import load_plan

    assert main(["init", str(tmp_path)]) == 0
    plan = load_plan(tmp_path / "plan-world.toml")
    assert Path(plan.base).resolve() == (tmp_path / "world.toml").resolve()


def test_init_keeps_existing_files_unless_forced(tmp_path: Path, capsys) -> None:
    (tmp_path / "local.toml").write_text("# mine\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "already there" in capsys.readouterr().err
    assert (tmp_path / "local.toml").read_text() == "# mine\n"
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "local.toml").read_bytes() == builtin.default_topology().read_bytes()


def test_init_into_a_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").write_text("")
    assert main(["init", str(tmp_path / "taken")]) == 2
    assert "not a folder" in capsys.readouterr().err
