"""Built-in topologies and plans: the files of configs/, shipped inside the package.

Rules: configs/ of the clone is installed as the package ``cdnlab_configs`` (setup.py), so a
clone, a wheel, pipx and the Docker image read the same files, found with importlib.resources and
never by a path relative to the working directory. A built-in topology is ``<name>.toml``, a
built-in plan ``plan-<name>.toml``. Wherever a command takes a topology or plan file it also
takes a built-in name: a path that exists wins, then a name, else a ConfigError listing both.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from cdn.errors import ConfigError

PACKAGE = "cdnlab_configs"
DEFAULT_TOPOLOGY = "local"
PLAN_PREFIX = "plan-"
SUFFIX = ".toml"


def data_dir() -> Path:
    """The folder holding the built-in files (configs/ of a clone, or the installed package)."""
    root = importlib.resources.files(PACKAGE)
    if not isinstance(root, Path):  # a zipped install: the files are not on a file system
        raise ConfigError(
            PACKAGE, f"the built-in configs are not a folder ({root!r})", "a normal install"
        )
    return root


def _names(plans: bool) -> tuple[str, ...]:
    names = []
    for path in sorted(data_dir().glob(f"*{SUFFIX}")):
        stem = path.stem
        if stem.startswith(PLAN_PREFIX) == plans:
            names.append(stem.removeprefix(PLAN_PREFIX) if plans else stem)
    return tuple(names)


def topology_names() -> tuple[str, ...]:
    """Names of the built-in topologies, e.g. ``("local", "world")``."""
    return _names(plans=False)


def plan_names() -> tuple[str, ...]:
    """Names of the built-in capacity plans, e.g. ``("world",)`` for plan-world.toml."""
    return _names(plans=True)


def files() -> tuple[Path, ...]:
    """Every built-in topology and plan file (what `cdn init` copies out)."""
    return tuple(sorted(data_dir().glob(f"*{SUFFIX}")))


def default_topology() -> Path:
    """The built-in local topology (origin, a shield, three edges on loopback)."""
    return data_dir() / f"{DEFAULT_TOPOLOGY}{SUFFIX}"


def _looks_like_name(text: str) -> bool:
    return bool(text) and "/" not in text and "\\" not in text and not text.endswith(SUFFIX)


def topology_file(text: str) -> Path:
    """``text`` as a topology file: an existing path, or a built-in name like ``world``."""
    path = Path(text)
    if path.is_file() or not _looks_like_name(text):
        return path
    if text in topology_names():
        return data_dir() / f"{text}{SUFFIX}"
    raise ConfigError(
        text,
        "no such topology file or built-in topology",
        f"a TOML file or one of: {', '.join(topology_names())}",
    )


def plan_file(text: str) -> Path:
    """``text`` as a plan file: an existing path, or a built-in name like ``world``."""
    path = Path(text)
    if path.is_file() or not _looks_like_name(text):
        return path
    name = text.removeprefix(PLAN_PREFIX)
    if name in plan_names():
        return data_dir() / f"{PLAN_PREFIX}{name}{SUFFIX}"
    raise ConfigError(
        text,
        "no such plan file or built-in plan",
        f"a TOML file or one of: {', '.join(plan_names())}",
    )
