"""Write editable copies of the built-in topologies and plans into a folder (default: here).

cdnlab ships its topologies (local.toml, world.toml) and capacity plans (plan-world.toml) inside
the package, and every command takes their names (`cdn sim world`, `cdn up local`). `cdn init`
copies them out so you can change them: edit DIR/local.toml, then `cdn up DIR/local.toml`. A
plan names its base topology relative to itself, so the copies work together. Existing files are
kept unless --force.

examples:
  cdn init                    # ./local.toml, ./world.toml, ./plan-world.toml
  cdn init mycdn              # the same in ./mycdn (created)
  cdn sim mycdn/world.toml --requests 100000
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from cdn import builtin
from cli.errors import UserError

NAME = "init"
HELP = "write editable copies of the built-in topologies and plans into a folder"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of `cdn init`."""
    parser.add_argument(
        "directory", nargs="?", default=".", help="folder to write into (default: the current one)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files that exist")


def run(args: argparse.Namespace) -> int:
    """Copy every built-in topology and plan into the folder; list what was written."""
    target = Path(args.directory)
    if target.exists() and not target.is_dir():
        raise UserError(f"{target}: exists and is not a folder (expected a folder to write into)")
    sources = builtin.files()
    existing = [target / s.name for s in sources if (target / s.name).exists()]
    if existing and not args.force:
        names = ", ".join(str(p) for p in existing)
        raise UserError(f"{names}: already there (pass --force to overwrite, or another folder)")
    target.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copyfile(source, target / source.name)
        print(f"wrote {target / source.name}")
    local = target / f"{builtin.DEFAULT_TOPOLOGY}{builtin.SUFFIX}"
    print(f"next: edit {local}, then `cdn up {local}` or `cdn demo --topology {local}`")
    return 0
