"""The run-state file: how `cdn purge`, `cdn load` and `cdn demo` find a cluster `cdn up` started.

One JSON file per topology name at ``$CDNLAB_STATE_DIR/<name>.json`` (default
``./.cdnlab/run/<name>.json``), readable only by its owner because it holds the admin token.
Written once every node is healthy, removed when the cluster stops.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "CDNLAB_STATE_DIR"
SCHEMA = "cdnlab.run-state/1"


@dataclass(frozen=True, slots=True)
class NodeState:
    """A running node: name, role, base URL and the pid of its process (group leader)."""

    name: str
    role: str
    url: str
    pid: int


@dataclass(frozen=True, slots=True)
class RunState:
    """What a running cluster publishes about itself."""

    topology: str
    topology_file: str
    launcher_pid: int
    token: str
    nodes: tuple[NodeState, ...]
    prometheus_url: str | None = None

    def node(self, name: str) -> NodeState:
        """The running node called ``name`` (KeyError when there is none)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The JSON document written to the state file."""
        data = asdict(self)
        data["schema"] = SCHEMA
        return data


def state_dir(base: str | Path | None = None) -> Path:
    """Directory of run-state files: ``base``, else $CDNLAB_STATE_DIR, else ./.cdnlab/run."""
    if base is not None:
        return Path(base)
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env) if env else Path.cwd() / ".cdnlab" / "run"


def state_path(topology_name: str, base: str | Path | None = None) -> Path:
    """Path of the run-state file of the cluster of topology ``topology_name``."""
    return state_dir(base) / f"{topology_name}.json"


def write_state(state: RunState, path: Path) -> None:
    """Write ``state`` atomically with mode 0600 (it holds the admin token)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state.to_json(), handle, indent=2)
        handle.write("\n")
    os.replace(tmp, path)


def read_state(path: Path) -> RunState | None:
    """The state at ``path``, or None when there is no (readable, well-formed) file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunState(
            topology=data["topology"],
            topology_file=data["topology_file"],
            launcher_pid=int(data["launcher_pid"]),
            token=data["token"],
            nodes=tuple(NodeState(**node) for node in data["nodes"]),
            prometheus_url=data.get("prometheus_url"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def process_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_state(topology_name: str, base: str | Path | None = None) -> RunState | None:
    """The state of a cluster of ``topology_name`` whose launcher is still alive, else None."""
    state = read_state(state_path(topology_name, base))
    if state is None or not process_alive(state.launcher_pid):
        return None
    return state


def remove_state(path: Path) -> None:
    """Delete the state file (nothing happens when it is already gone)."""
    path.unlink(missing_ok=True)
