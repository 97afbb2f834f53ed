"""A copy of a topology file with every node on a free port, for tests and side-by-side runs.

configs/local.toml uses fixed ports (8100-8123); two runs at once, or a test next to a developer's
`cdn up`, need other ports. The copy keeps every other line as written, so the topology name, and
hence the run-state file name, are unchanged.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from cdn.topology import load_topology
from cluster.ports import free_ports

_NODE_HEADER = re.compile(r"^\s*(\[origin\]|\[\[origin\]\]|\[\[shield\]\]|\[\[edge\]\])\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")
_PORT_LINE = re.compile(r"^(\s*port\s*=\s*)\d+(.*)$")


def with_ports(text: str, ports: list[int]) -> str:
    """TOML ``text`` with the port of each node table set, in file order, from ``ports``."""
    lines = text.splitlines()
    out: list[str] = []
    queue = list(ports)
    in_node = False
    has_port = False

    def close_node() -> None:
        if in_node and not has_port:
            out.insert(header_index + 1, f"port = {queue.pop(0)}")

    header_index = 0
    for line in lines:
        if _ANY_HEADER.match(line):
            close_node()
            in_node = bool(_NODE_HEADER.match(line))
            has_port = False
            out.append(line)
            header_index = len(out) - 1
            continue
        match = _PORT_LINE.match(line) if in_node else None
        if match and not has_port:
            out.append(f"{match.group(1)}{queue.pop(0)}{match.group(2)}")
            has_port = True
        else:
            out.append(line)
    close_node()
    return "\n".join(out) + "\n"


def relocate_topology(source: str | Path, directory: str | Path) -> Path:
    """Write ``source`` to ``directory`` (same file name) with free ports; return the new path."""
    source = Path(source)
    topology = load_topology(source)
    text = source.read_text(encoding="utf-8")
    target = Path(directory) / source.name
    target.write_text(with_ports(text, free_ports(len(topology.nodes))), encoding="utf-8")
    copy_function_code(topology.functions, source.parent, target.parent)
    moved = load_topology(target)
    if len({node.port for node in moved.nodes}) != len(moved.nodes):
        raise ValueError(f"{source}: could not give every node its own port")
    return target


def copy_function_code(functions, source_dir: Path, target_dir: Path) -> None:
    """Copy the [[function]] code files that sit under ``source_dir`` to the same relative
    places under ``target_dir``, so the copy's relative ``code`` paths still resolve (absolute
    paths resolve as they are)."""
    for spec in functions:
        code = Path(spec.code)
        try:
            relative = code.resolve().relative_to(source_dir.resolve())
        except ValueError:
            continue
        destination = target_dir / relative
        if code.is_file() and destination.resolve() != code.resolve():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(code, destination)
