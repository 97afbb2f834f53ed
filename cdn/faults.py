"""Fault scenarios: what goes wrong, where and when, for the live cluster and the simulator alike.

Rules: pure (no clock, no I/O but ``load_fault_file`` reading its TOML). One format, in a
topology file or a scenario file of its own::

    [[fault]]
    at = "20s"            # seconds after the run starts
    kind = "kill"         # kill | stop | restart | origin_down | origin_slow | origin_errors | partition
    node = "edge-par"     # which node (origin_* faults: an origin, the first by default)
    for = "15s"           # how long it lasts (then it is undone)
    latency = "500ms"     # origin_slow: added delay per request
    rate = 0.1            # origin_errors: share of requests answered with ``status``
    status = 503          # origin_errors: that status

What each kind means (``cluster.faults`` acts them out on a running cluster):

- ``kill``: SIGKILL the node; it stays dead (``for`` is not allowed: nothing restarts it).
- ``stop``: SIGSTOP the node for ``for``, then SIGCONT (it hangs: connections open, no answers).
- ``partition``: the node is cut off for ``for``: to everyone else it neither answers nor
  closes, which locally (no root, no packet filter) is acted out as ``stop``.
- ``restart``: SIGTERM the node (it drains), start it again after ``for`` (default 0 s).
- ``origin_down``: the origin refuses connections for ``for`` (its admin ``down``).
- ``origin_slow``: every origin answer is ``latency`` late for ``for``.
- ``origin_errors``: a share ``rate`` of origin answers are ``status`` for ``for``.

Errors are ``ConfigError`` naming the file and key, e.g. ``chaos.toml:fault[1].kind``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdn.tables import TableReader, read_toml

__all__ = [
    "FAULT_KINDS",
    "NODE_KINDS",
    "ORIGIN_KINDS",
    "Fault",
    "load_fault_file",
    "parse_faults",
]

# Faults of a process: the node's pid gets signals.
NODE_KINDS = ("kill", "stop", "restart", "partition")
# Faults of the origin's behaviour: its admin API changes them.
ORIGIN_KINDS = ("origin_down", "origin_slow", "origin_errors")
FAULT_KINDS = NODE_KINDS + ORIGIN_KINDS


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: ``kind`` on ``node`` from ``at`` for ``duration`` seconds (None: for good)."""

    at: float
    kind: str
    node: str
    duration: float | None = None
    latency: float = 0.0
    rate: float = 0.0
    status: int = 503

    @property
    def end(self) -> float | None:
        """When the fault is undone (seconds from the start), None when it never is."""
        return None if self.duration is None else self.at + self.duration

    def active(self, now: float) -> bool:
        """True while the fault holds at ``now`` (seconds from the start)."""
        return self.at <= now and (self.end is None or now < self.end)

    def describe(self) -> str:
        """One line for people, e.g. ``stop edge-par at 20s for 10s``."""
        text = f"{self.kind} {self.node} at {self.at:g}s"
        if self.duration is not None:
            text += f" for {self.duration:g}s"
        if self.kind == "origin_slow":
            text += f" (+{self.latency * 1000:g} ms)"
        if self.kind == "origin_errors":
            text += f" ({self.rate:.0%} {self.status})"
        return text


def _fault(
    reader: TableReader, origin: str, nodes: Iterable[str] | None, origins: tuple[str, ...]
) -> Fault:
    kind = reader.text("kind", None, FAULT_KINDS)
    if kind is None:
        raise reader.fail("kind", "missing", f"one of {', '.join(FAULT_KINDS)}")
    at = reader.duration("at", -1.0)
    if at < 0:
        raise reader.fail("at", "missing", 'when it starts, e.g. "20s" after the run starts')
    default_node = origin if kind in ORIGIN_KINDS else None
    node = reader.text("node", default_node)
    if node is None:
        raise reader.fail("node", "missing", "the name of the node it happens to")
    known = tuple(nodes) if nodes is not None else None
    if known is not None and node not in known:
        raise reader.fail(
            "node", f"{node!r} is not a node of the topology", f"one of {', '.join(known)}"
        )
    if kind in ORIGIN_KINDS and node not in origins:
        raise reader.fail(
            "node", f"{kind} is a fault of an origin, not {node!r}", " or ".join(map(repr, origins))
        )
    duration: float | None = reader.duration("for", -1.0) if reader.has("for") else None
    if duration is not None and duration <= 0:
        raise reader.fail("for", f"{duration!r} is not > 0", 'how long it lasts, e.g. "15s"')
    if kind == "kill" and duration is not None:
        raise reader.fail("for", "kill is for good", 'no "for" (use kind = "restart" to come back)')
    if kind in ("stop", "partition", *ORIGIN_KINDS) and duration is None:
        raise reader.fail("for", "missing", f'how long the {kind} lasts, e.g. "15s"')
    if kind == "restart" and duration is None:
        duration = 0.0
    latency = reader.duration("latency", 0.5) if kind == "origin_slow" else 0.0
    if kind == "origin_slow" and latency <= 0:
        raise reader.fail("latency", f"{latency!r} is not > 0", 'the added delay, e.g. "500ms"')
    rate = 0.0
    status = 503
    if kind == "origin_errors":
        rate = reader.number("rate", 0.1, minimum=0.0, maximum=1.0)
        status = reader.integer("status", 503, minimum=400)
        if status > 599:
            raise reader.fail("status", f"{status} is out of range", "an error status, 400 to 599")
    reader.done()
    return Fault(
        at=at,
        kind=kind,
        node=node,
        duration=duration,
        latency=latency,
        rate=rate,
        status=status,
    )


def parse_faults(
    tables: list[TableReader],
    *,
    origin: str = "origin",
    nodes: Iterable[str] | None = None,
    origins: Iterable[str] = (),
) -> tuple[Fault, ...]:
    """The ``[[fault]]`` tables as Faults in start order; ``nodes`` (when given) are the names
    a fault may name; ``origin`` is the (first) origin's name, the default node of origin
    faults; ``origins`` the other origins an origin fault may name (an ``[[origin]]`` list)."""
    known = tuple(nodes) if nodes is not None else None
    allowed = (origin, *origins)
    faults = [_fault(reader, origin, known, allowed) for reader in tables]
    return tuple(sorted(faults, key=lambda fault: fault.at))


def load_fault_file(
    path: str | Path,
    *,
    origin: str = "origin",
    nodes: Iterable[str] | None = None,
    origins: Iterable[str] = (),
) -> tuple[Fault, ...]:
    """The faults of a scenario file (its ``[[fault]]`` tables; nothing else is allowed)."""
    data: Mapping[str, Any] = read_toml(path, "a scenario TOML file with [[fault]] tables")
    top = TableReader(str(path), "", data)
    faults = parse_faults(top.children("fault"), origin=origin, nodes=nodes, origins=origins)
    top.done()
    if not faults:
        raise top.fail("fault", "missing", "at least one [[fault]] table")
    return faults
