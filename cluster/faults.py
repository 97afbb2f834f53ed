"""Acting out a fault scenario (``cdn.faults``) on a running cluster, at the scenario's times.

Rules: the cluster is the one a run-state file describes (``cdn up``'s): faults of a process
are signals to the node's process group (its pid leads the group), faults of the origin go
through the origin's admin API (``POST /_cdn/faults`` with the cluster's token). Each fault
is started at ``at`` and undone at ``at + for``:

- kill: SIGKILL (not undone); stop and partition: SIGSTOP, then SIGCONT;
- restart: SIGTERM (the node drains and exits), then after ``for`` the node is started again
  from the topology (``python -m cli.main origin|edge --topology FILE [--node NAME]``) in a
  session of its own; its new pid is written to the run-state file, where ``cdn up``'s stop
  finds it (``Cluster.stop``);
- origin_down: ``{"down": true, "down_mode": "refuse", "down_for": for}``: a refusing origin's
  admin API is closed too, so the origin itself comes back after ``for`` (an early end of the
  run cannot bring it back sooner);
- origin_slow: ``{"latency": s}``, then ``{"latency": 0}``;
- origin_errors: ``{"error_rate": r, "error_status": s}``, then ``{"error_rate": 0}``.

Every action is logged as a ``FaultAction`` (when, what, whether it worked); a failed action is
recorded, never raised, so a load run carries on. ``undo_all`` undoes what is still in force
(a run that ends or is interrupted inside a fault window leaves no node stopped).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from cdn.faults import Fault
from cdn.topology import load_topology
from cluster.plan import ADMIN_TOKEN_ENV, plan_launches
from cluster.state import RunState, write_state
from cluster.supervisor import child_environment

__all__ = ["FaultAction", "FaultActor"]

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class FaultAction:
    """One thing done to the cluster: ``at`` seconds into the run, ``what``, and how it went."""

    at: float
    what: str
    ok: bool
    detail: str = ""


class FaultActor:
    """Starts and undoes faults on the cluster of ``state`` (``state_path``: its run-state file)."""

    def __init__(
        self,
        state: RunState,
        *,
        state_path: Path | None = None,
        python: str = sys.executable,
        announce: Callable[[str], None] | None = None,
        health_timeout: float = 30.0,
    ) -> None:
        self.state = state
        self.state_path = state_path
        self.python = python
        self.announce = announce or (lambda message: None)
        self.health_timeout = health_timeout
        self.actions: list[FaultAction] = []
        self._in_force: list[Fault] = []
        self._session: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------------ schedule

    async def run(self, faults: tuple[Fault, ...], clock: Clock, t0: float) -> None:
        """Start and undo each fault at its time (seconds after ``t0`` on ``clock``)."""
        events: list[tuple[float, int, Fault]] = []
        for fault in faults:
            events.append((fault.at, 1, fault))
            if fault.end is not None and fault.kind != "kill":
                events.append((fault.end, 0, fault))
        events.sort(key=lambda event: (event[0], event[1]))
        try:
            for at, starting, fault in events:
                wait = t0 + at - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
                now = clock() - t0
                if starting:
                    await self.start(fault, now)
                elif fault in self._in_force:
                    await self.undo(fault, now)
        finally:
            await self.close()

    async def undo_all(self, now: float) -> None:
        """Undo every fault still in force (restarts start their node again at once)."""
        for fault in list(self._in_force):
            await self.undo(fault, now)
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session of the origin admin calls (if one was opened)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ actions

    async def start(self, fault: Fault, now: float) -> None:
        """Make ``fault`` happen."""
        what = fault.describe()
        try:
            if fault.kind == "kill":
                self._signal(fault.node, signal.SIGKILL)
            elif fault.kind in ("stop", "partition"):
                self._signal(fault.node, signal.SIGSTOP)
            elif fault.kind == "restart":
                await self._terminate(fault.node)
            else:
                await self._origin(fault.node, _ORIGIN_START[fault.kind](fault))
        except Exception as exc:
            self._log(now, what, ok=False, detail=f"{type(exc).__name__}: {exc}")
            return
        if fault.kind != "kill":
            self._in_force.append(fault)
        self._log(now, what, ok=True)

    async def undo(self, fault: Fault, now: float) -> None:
        """End ``fault`` (SIGCONT, start again, or switch the origin fault off)."""
        with contextlib.suppress(ValueError):
            self._in_force.remove(fault)
        what = f"end of {fault.kind} {fault.node}"
        try:
            if fault.kind in ("stop", "partition"):
                self._signal(fault.node, signal.SIGCONT)
            elif fault.kind == "restart":
                await self._respawn(fault.node)
            elif fault.kind in _ORIGIN_END:
                await self._origin(fault.node, _ORIGIN_END[fault.kind])
        except Exception as exc:
            self._log(now, what, ok=False, detail=f"{type(exc).__name__}: {exc}")
            return
        self._log(now, what, ok=True)

    def _log(self, now: float, what: str, *, ok: bool, detail: str = "") -> None:
        self.actions.append(FaultAction(now, what, ok, detail))
        self.announce(f"[{now:6.1f}s] {what}" + ("" if ok else f" FAILED: {detail}"))

    def _signal(self, name: str, signum: int) -> None:
        pid = self.state.node(name).pid
        os.killpg(pid, signum)

    async def _terminate(self, name: str) -> None:
        pid = self.state.node(name).pid
        os.killpg(pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30.0
        while loop.time() < deadline and _group_alive(pid):
            await asyncio.sleep(0.05)
        if _group_alive(pid):
            os.killpg(pid, signal.SIGKILL)

    async def _respawn(self, name: str) -> None:
        topology_file = self.state.topology_file
        topology = load_topology(topology_file)
        launch = next(
            launch
            for tier in plan_launches(topology, Path(topology_file), self.python)
            for launch in tier
            if launch.name == name
        )
        env = child_environment({ADMIN_TOKEN_ENV: self.state.token})
        process = subprocess.Popen(
            launch.argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        nodes = tuple(
            replace(node, pid=process.pid) if node.name == name else node
            for node in self.state.nodes
        )
        self.state = replace(self.state, nodes=nodes)
        if self.state_path is not None and self.state_path.exists():
            write_state(self.state, self.state_path)
        await self._wait_healthy(launch.health_url, process)

    async def _wait_healthy(self, url: str, process: subprocess.Popen[bytes]) -> None:
        session = self._client()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.health_timeout
        while loop.time() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the node exited with status {process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{url} did not answer 200 within {self.health_timeout:g}s")

    async def _origin(self, name: str, changes: dict[str, object]) -> None:
        url = self.state.node(name).url + "/_cdn/faults"
        headers = {"Authorization": f"Bearer {self.state.token}"}
        session = self._client()
        async with session.post(
            url, json=changes, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}: {text.strip()}")

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session


class _Run(Protocol):
    """What ``load_with_faults`` needs of a load run (loadgen.runner.LoadRun)."""

    clock: Callable[[], float]
    plan: Any
    t0: float  # on ``clock``: when the run's first request is due (0.0 until it starts)

    async def run(self) -> Any: ...


async def load_with_faults(run: _Run, actor: FaultActor, faults: tuple[Fault, ...]) -> Any:
    """Run the load ``run`` while ``actor`` acts out ``faults`` at their times from its start
    (the run's own ``t0``, set once its set-up is done: connections and schedule can take a
    second or two); what is still in force when the load ends is undone. Returns the report."""
    clock = run.clock
    loop = asyncio.get_running_loop()
    running = loop.create_task(run.run())
    while not run.t0 and not running.done():  # the run sets t0 when it starts sending
        await asyncio.sleep(0.002)
    t0 = run.t0 or clock()
    acting = loop.create_task(actor.run(faults, clock, t0))
    try:
        return await running
    finally:
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        acting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acting
        await actor.undo_all(clock() - t0)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_ORIGIN_START: dict[str, Callable[[Fault], dict[str, object]]] = {
    # Refusing closes the origin's port, admin API included: it comes back by itself.
    "origin_down": lambda fault: {
        "down": True,
        "down_mode": "refuse",
        "down_for": fault.duration or 0.0,
    },
    "origin_slow": lambda fault: {"latency": fault.latency},
    "origin_errors": lambda fault: {"error_rate": fault.rate, "error_status": fault.status},
}
_ORIGIN_END: dict[str, dict[str, object]] = {
    "origin_slow": {"latency": 0},
    "origin_errors": {"error_rate": 0},
}
