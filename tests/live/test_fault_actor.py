"""FaultActor (cluster.faults): faults of a scenario acted out on running nodes at their times."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cdn.faults import Fault
from cluster.faults import FaultActor
from cluster.state import NodeState, RunState


def _state(nodes: list[NodeState], token: str = "test-origin-admin-token") -> RunState:
    return RunState(
        topology="test",
        topology_file="/nonexistent.toml",
        launcher_pid=0,
        token=token,
        nodes=tuple(nodes),
    )


def _process_state(pid: int) -> str:
    """The one-letter state of ``pid`` (R, S, T for stopped, ...) from /proc."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def sleeper() -> Any:
    """A process leading its own process group (as `cdn up` starts nodes)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    yield process
    process.kill()
    process.wait()


async def _until(predicate: Any) -> None:
    for _ in range(400):
        if predicate():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the condition never held")


async def test_a_stop_fault_stops_the_node_and_continues_it_at_its_end(sleeper: Any) -> None:
    actor = FaultActor(_state([NodeState("edge-par", "edge", "http://127.0.0.1:9", sleeper.pid)]))
    fault = Fault(at=0.0, kind="stop", node="edge-par", duration=0.3)
    acting = asyncio.create_task(actor.run((fault,), time.monotonic, time.monotonic()))
    await _until(lambda: _process_state(sleeper.pid) == "T")
    await acting
    assert _process_state(sleeper.pid) != "T"
    assert [action.ok for action in actor.actions] == [True, True]


async def test_a_kill_fault_kills_the_node(sleeper: Any) -> None:
    actor = FaultActor(_state([NodeState("edge-par", "edge", "http://127.0.0.1:9", sleeper.pid)]))
    await actor.run(
        (Fault(at=0.0, kind="kill", node="edge-par"),), time.monotonic, time.monotonic()
    )
    assert sleeper.wait(10) == -9


async def test_origin_errors_are_switched_on_and_off_through_the_admin_api(
    start_origin: Any, http: Any, origin_admin_headers: Any
) -> None:
    origin = await start_origin()
    actor = FaultActor(_state([NodeState("origin", "origin", origin, 0)]))
    fault = Fault(at=0.0, kind="origin_errors", node="origin", duration=60.0, rate=0.25, status=500)
    await actor.start(fault, 0.0)
    async with http.get(origin + "/_cdn/faults", headers=origin_admin_headers) as response:
        faults = await response.json()
    assert (faults["error_rate"], faults["error_status"]) == (0.25, 500)
    await actor.undo_all(1.0)
    async with http.get(origin + "/_cdn/faults", headers=origin_admin_headers) as response:
        assert (await response.json())["error_rate"] == 0


async def test_a_failed_action_is_recorded_not_raised() -> None:
    actor = FaultActor(_state([NodeState("origin", "origin", "http://127.0.0.1:9", 0)]))
    await actor.start(Fault(at=0.0, kind="origin_down", node="origin", duration=1.0), 0.0)
    await actor.close()
    (action,) = actor.actions
    assert not action.ok
    assert action.detail


async def test_an_origin_down_fault_refuses_then_comes_back_by_itself(
    start_origin: Any, http: Any
) -> None:
    import aiohttp

    origin = await start_origin()
    actor = FaultActor(_state([NodeState("origin", "origin", origin, 0)]))
    await actor.start(Fault(at=0.0, kind="origin_down", node="origin", duration=1.0), 0.0)
    await actor.close()
    with pytest.raises(aiohttp.ClientConnectorError):
        async with http.get(origin + "/obj/1"):
            pass

    async def up() -> bool:
        try:
            async with http.get(origin + "/obj/1") as response:
                return response.status == 200
        except aiohttp.ClientConnectorError:
            return False

    for _ in range(400):
        if await up():
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the origin never came back")
