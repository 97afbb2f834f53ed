"""Lambda-style functions in worker processes: a warm pool per function, cold starts, throttling.

Rules (the decisions are cdn.functions.instances.InstancePool's; this module does the effects):
- an invoke takes a warm instance, or starts one (cold: process start + import + init,
  measured), or is throttled at once when ``concurrency`` instances are busy (never queued);
- instances idle for ``keep_warm`` (by the injectable ``clock``) are stopped by ``reap()``;
- a hard timeout kills the instance (SIGKILL) and retires it; so do a crash, ``sys.exit``
  and running out of memory (RLIMIT_AS in the worker); the next invoke starts a fresh one;
- the host process never runs handler code: nothing a handler does can take it down;
- every invoke is logged as one JSON ``platform.report`` line on the ``cdnlab.fn`` logger.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from cdn.functions.instances import InstancePool, Throttle
from cdn.functions.results import FailureKind
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind
from fn.instance import InitFailed, WorkerDied, WorkerInstance
from fn.invocation import Invocation
from fn.metrics import FunctionMetrics, InvokeTally

__all__ = ["INIT_TIMEOUT", "Clock", "LambdaPool", "log_report"]

log = logging.getLogger("cdnlab.fn")

Clock = Callable[[], float]
INIT_TIMEOUT = 10.0  # Lambda's init phase limit


def utc_stamp() -> str:
    """Now as ``2026-01-01T00:00:00.000Z`` (the REPORT record's ``time``)."""
    now = datetime.datetime.now(datetime.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log_report(invocation: Invocation) -> None:
    """Write the invoke's JSON REPORT line to the ``cdnlab.fn`` logger."""
    if log.isEnabledFor(logging.INFO):
        log.info(json.dumps(invocation.report().record(utc_stamp())))


class LambdaPool:
    """The instances of one Lambda-style function in this process."""

    kind = FunctionKind.LAMBDA_EDGE

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        metrics: FunctionMetrics | None = None,
        clock: Clock = time.monotonic,
        init_timeout: float = INIT_TIMEOUT,
    ) -> None:
        self.spec = spec
        self.metrics = metrics or FunctionMetrics()
        self.clock = clock
        self.init_timeout = init_timeout
        self.model = InstancePool(spec.concurrency, spec.keep_warm)
        self._workers: dict[int, WorkerInstance] = {}
        # The gauges read the pool when scraped: nothing to update per invoke.
        self.metrics.concurrent.labels(spec.name).set_function(lambda: self.model.busy)
        self.metrics.warm.labels(spec.name).set_function(lambda: self.model.warm)
        # Invocations and durations per trigger as plain numbers (no lock per invoke), added
        # to the counter and histogram at each scrape (fn.metrics.InvokeTally).
        self._tallies: dict[str, InvokeTally] = {}

    @property
    def warm(self) -> int:
        """Idle instances ready for an invoke."""
        return self.model.warm

    @property
    def busy(self) -> int:
        """Invokes running now."""
        return self.model.busy

    def pids(self) -> dict[int, int]:
        """Process id of every live instance, by instance id."""
        return {instance: worker.pid for instance, worker in self._workers.items()}

    def _tally(self, trigger: str) -> InvokeTally:
        """Where the invocations on ``trigger`` are counted (made at the first one)."""
        tally = self._tallies[trigger] = self.metrics.tally(self.spec.name, trigger)
        return tally

    async def reap(self) -> int:
        """Stop the instances idle for ``keep_warm``; how many were stopped."""
        expired = self.model.expire(self.clock())
        for instance in expired:
            worker = self._workers.pop(instance, None)
            if worker is not None:
                await worker.stop()
        return len(expired)

    async def close(self) -> None:
        """Stop every instance."""
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            await worker.stop()

    async def invoke(self, event: Any, request_id: str, trigger: str = "invoke") -> Invocation:
        """Run the handler on ``event`` in an instance of this function."""
        name = self.spec.name
        tally = self._tallies.get(trigger) or self._tally(trigger)
        tally.count += 1  # counted as it starts (throttled ones too), timed when it ends
        model = self.model
        now = self.clock()
        expiry = model.next_expiry()
        if expiry is not None and expiry <= now:
            await self.reap()
        grant = model.acquire(now)
        if isinstance(grant, Throttle):
            self.metrics.throttles.labels(name, trigger).inc()
            self.metrics.errors.labels(name, trigger, FailureKind.THROTTLED).inc()
            return Invocation(
                name,
                request_id,
                self.spec.memory,
                failure=FailureKind.THROTTLED,
                error={
                    "errorMessage": f"Rate Exceeded. {grant.busy} of {grant.concurrency}"
                    " concurrent executions are busy",
                    "errorType": "TooManyRequestsException",
                    "stackTrace": [],
                },
            )
        keep = False
        try:
            invocation, keep = await self._run(
                grant.instance, grant.cold, event, request_id, trigger
            )
        finally:
            if not keep:
                worker = self._workers.pop(grant.instance, None)
                if worker is not None:
                    await worker.stop()
            model.release(grant.instance, self.clock(), keep=keep)
        tally.time(invocation.duration_ms / 1000)
        if invocation.failure is not None:
            self.metrics.errors.labels(name, trigger, invocation.failure).inc()
        log_report(invocation)
        return invocation

    async def _run(
        self, instance: int, cold: bool, event: Any, request_id: str, trigger: str
    ) -> tuple[Invocation, bool]:
        spec = self.spec
        base = {"function": spec.name, "request_id": request_id, "memory_mb": spec.memory}
        init_ms = None
        worker = self._workers.get(instance)
        if worker is None:
            self.metrics.cold_starts.labels(spec.name, trigger).inc()
            try:
                worker = await WorkerInstance.start(spec, time.perf_counter, self.init_timeout)
            except InitFailed as exc:
                return Invocation(**base, failure=FailureKind.RAISED, error=exc.error), False
            except TimeoutError:
                error = _timeout_error(request_id, self.init_timeout, "Init")
                return Invocation(**base, failure=FailureKind.TIMEOUT, error=error), False
            self._workers[instance] = worker
            init_ms = worker.init_ms
        base.update(init_ms=init_ms, instance=instance)
        began = time.perf_counter()
        try:
            answer = await worker.invoke(event, request_id, spec.timeout)
        except TimeoutError:
            error = _timeout_error(request_id, spec.timeout, "Task")
            return Invocation(
                **base, failure=FailureKind.TIMEOUT, error=error, duration_ms=spec.timeout * 1000
            ), False
        except WorkerDied as exc:
            error = {
                "errorMessage": str(exc),
                "errorType": "Runtime.ExitError",
                "stackTrace": worker.stderr_tail.splitlines()[-20:],
            }
            elapsed = (time.perf_counter() - began) * 1000
            return Invocation(
                **base, failure=FailureKind.CRASHED, error=error, duration_ms=elapsed
            ), False
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await worker.stop()
            raise
        if answer.get("type") == "result":
            # "echo": the handler returned the event's request as it was sent (fn/worker.py):
            # the host's own copy is the payload (nothing of it went through JSON twice).
            payload = _sent_request(event) if answer.get("echo") else answer.get("payload")
            return Invocation(
                spec.name,
                request_id,
                spec.memory,
                payload,
                duration_ms=answer.get("duration_ms", 0.0),
                init_ms=init_ms,
                max_memory_mb=answer.get("max_memory_mb", 0),
                log=answer.get("log", ""),
                instance=instance,
            ), True
        timings = {
            "duration_ms": answer.get("duration_ms", 0.0),
            "max_memory_mb": answer.get("max_memory_mb", 0),
            "log": answer.get("log", ""),
        }
        error = answer.get("error") or {"errorMessage": "no answer", "errorType": "Runtime.Unknown"}
        if error.get("errorType") == "Runtime.OutOfMemory":
            return Invocation(
                **base, failure=FailureKind.OUT_OF_MEMORY, error=error, **timings
            ), False
        return Invocation(**base, failure=FailureKind.RAISED, error=error, **timings), True


def _sent_request(event: Any) -> Any:
    """``event["Records"][0]["cf"]["request"]``: what a worker's ``echo`` answer stands for."""
    return event["Records"][0]["cf"]["request"]


def _timeout_error(request_id: str, seconds: float, phase: str) -> dict[str, Any]:
    return {
        "errorMessage": f"{utc_stamp()} {request_id} {phase} timed out after {seconds:.2f} seconds",
        "errorType": "Sandbox.Timedout",
        "stackTrace": [],
    }
