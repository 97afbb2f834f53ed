"""``load_with_faults`` times the scenario from the load run's own start (its ``t0``), which is
set only once the run's set-up is done, and undoes what is in force at the end."""

from __future__ import annotations

import asyncio
from typing import Any

from cdn.faults import Fault
from cluster.faults import load_with_faults


class SlowStartingRun:
    """A load run whose set-up takes a while before its t0 is set."""

    def __init__(self) -> None:
        self.clock = asyncio.get_running_loop().time
        self.plan = None
        self.t0 = 0.0
        self.set_up = asyncio.Event()
        self.finish = asyncio.Event()

    async def run(self) -> str:
        await self.set_up.wait()
        self.t0 = self.clock() + 0.05
        await self.finish.wait()
        return "report"


class RecordingActor:
    """Records the t0 it is given and the undo at the end."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.undone: list[float] = []

    async def run(self, faults: Any, clock: Any, t0: float) -> None:
        self.t0 = t0
        await asyncio.Event().wait()  # acts until cancelled

    async def undo_all(self, now: float) -> None:
        self.undone.append(now)


async def test_faults_are_timed_from_the_runs_own_start() -> None:
    run = SlowStartingRun()
    actor = RecordingActor()
    fault = Fault(at=1.0, kind="kill", node="edge-a")
    task = asyncio.get_running_loop().create_task(load_with_faults(run, actor, (fault,)))
    await asyncio.sleep(0.05)
    assert actor.t0 is None  # nothing is scheduled while the run is still setting up
    run.set_up.set()
    for _ in range(1000):  # polling: the actor starts once the run has its t0
        if actor.t0 is not None:
            break
        await asyncio.sleep(0.005)
    run.finish.set()
    assert await task == "report"
    assert actor.t0 == run.t0
    assert len(actor.undone) == 1


async def test_a_run_that_fails_during_set_up_still_undoes_nothing_twice() -> None:
    class Broken(SlowStartingRun):
        async def run(self) -> str:
            raise RuntimeError("no edges")

    actor = RecordingActor()
    try:
        await load_with_faults(Broken(), actor, (Fault(at=1.0, kind="kill", node="edge-a"),))
    except RuntimeError as exc:
        assert "no edges" in str(exc)
    else:
        raise AssertionError("the run's error was swallowed")
    assert len(actor.undone) == 1
