"""CloudFront Functions, run in the host process under a CPU-time budget, with no I/O builtins.

Rules:
- the code is compiled once; the module runs with a reduced ``__builtins__``: no ``open``,
  ``input``, ``exec``, ``eval``, ``compile``, ``breakpoint`` or ``exit``, and ``import`` only
  of a few pure modules (json, re, base64, urllib.parse, hashlib, hmac, math, ...): no
  sockets, files, subprocesses, clocks or threads;
- the budget (default 1 ms, an assumption: AWS says only "sub-millisecond") is CPU time of
  the running thread (``time.thread_time``), so a loaded machine's scheduling does not count;
  an invoke over it is a failure (503), like CloudFront's compute utilization over 100%;
  the duration reported (metrics, REPORT line) is the handler's wall time (``perf_counter``),
  which bounds its CPU time, so a run within the budget by the wall clock is within it;
- the CPU clock is a system call (as dear as a small handler on the edge's hit path), so on
  the main thread a function's runs read it only in stretches: its first ``PRECISE_RUNS`` runs, and
  the ``PRECISE_RUNS`` after any run whose wall time passed the budget. Outside a stretch a run
  whose wall time passes the budget cannot be told from a quick run the scheduler paused, so it
  is let through (never a false 503) and starts a stretch: a function over its budget fails
  from its next run on, each such episode lets one run through;
- a runaway Python loop is stopped after ``hard_stop(budget)`` of CPU, max(10 x budget, 20 ms):
  on the main thread by a periodic ITIMER_VIRTUAL tick (every half hard stop of the process's
  CPU time) whose SIGVTALRM handler raises inside a function that has run a hard stop since
  the first tick that saw it, so it is stopped between 1 and 1.5 x hard stop; the tick runs only
  while functions do (a tick that finds no invoke since the last one stops it) and adds no
  system call per invoke; on other threads (where Python delivers no signals) by a trace
  function checking the thread's CPU time on every line (slower).
  Not at the budget itself, because the kernel charges CPU time to interval timers a whole
  scheduler tick (1-10 ms) at a time, so a 30 us run caught by a tick would look like 4 ms;
  the verdict comes from the precise ``thread_time`` instead;
What it cannot stop: a single long C-level call (a huge ``str * n``, a catastrophic regex)
runs to its end before the signal is handled (it is still answered 503 afterwards); memory is
not capped in-process; and the reduced builtins are a guard against accidents, not a security
boundary (Python introspection can reach the real builtins). Untrusted code belongs in a
Lambda-style function (a worker process).
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cdn.errors import ConfigError
from cdn.functions.results import FailureKind
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind
from fn.invocation import Invocation
from fn.metrics import FunctionMetrics, InvokeTally
from fn.pool import log, log_report

__all__ = [
    "ALLOWED_IMPORTS",
    "PRECISE_RUNS",
    "CloudFrontFunction",
    "OverBudget",
    "RunFailed",
    "hard_stop",
]

ALLOWED_IMPORTS = frozenset(
    {
        "base64",
        "binascii",
        "collections",
        "functools",
        "hashlib",
        "hmac",
        "itertools",
        "json",
        "math",
        "operator",
        "re",
        "string",
        "urllib",
        "urllib.parse",
    }
)
_REMOVED = ("open", "input", "exec", "eval", "compile", "breakpoint", "exit", "quit", "help")
CODE_LIMIT = 10 * 1024  # CloudFront Functions: 10 KB of code
# Runs timed on the CPU clock after a function loads and after a run over its budget (wall).
PRECISE_RUNS = 100


def hard_stop(budget: float) -> float:
    """CPU seconds after which a run is interrupted (the verdict itself uses ``budget``)."""
    return max(10 * budget, 0.02)


class OverBudget(Exception):
    """Raised inside a CloudFront Function that ran past its time budget."""


class RunFailed(Exception):
    """A ``CloudFrontFunction.call`` without an answer: ``kind`` (OVER_BUDGET or
    EXECUTION_ERROR), the ``cause`` (the exception), and the CPU seconds ``used``."""

    def __init__(self, kind: FailureKind, cause: BaseException, used: float) -> None:
        super().__init__(f"{kind}: {type(cause).__name__}: {cause}")
        self.kind = kind
        self.cause = cause
        self.used = used


def _guarded_import(name: str, globals=None, locals=None, fromlist=(), level=0):
    if level != 0 or name not in ALLOWED_IMPORTS:
        raise ImportError(f"import of {name!r} is not allowed in a CloudFront Function")
    return importlib.__import__(name, globals, locals, fromlist, level)


def _safe_builtins() -> dict[str, Any]:
    safe = {name: getattr(builtins, name) for name in dir(builtins) if name not in _REMOVED}
    safe["__import__"] = _guarded_import
    return safe


class _Budget:
    """Interrupts a run that passes its hard stop: one guard per process, shared by every function.

    On the main thread a periodic ITIMER_VIRTUAL tick (its SIGVTALRM handler installed the first
    time a function runs there) looks at the running function: the first tick that sees a run
    notes the thread's CPU time then, and a later tick that sees the same run (``serial``)
    raises OverBudget inside it once it has run ``limit`` CPU seconds since, so an invoke only
    writes three attributes and reads no CPU clock. A tick that finds no invoke since the one
    before stops the timer (the next invoke starts it again), so an idle process gets no
    signals. On any other thread (where Python delivers no signals) a trace function checks the
    thread's CPU time on every line instead.
    """

    __slots__ = ("installed", "limit", "period", "running", "seen", "seen_cpu", "serial", "ticked")

    def __init__(self) -> None:
        self.running = False  # a function runs on the main thread now
        self.serial = 0  # invokes started on the main thread (tells one run from the next)
        self.limit = 0.0  # the running function's hard stop, CPU seconds
        self.period = 0.0  # the tick, CPU seconds of the process (0: not ticking)
        self.seen = -1  # the serial of the run a tick last saw running
        self.seen_cpu = 0.0  # the thread's CPU time when a tick first saw that run
        self.ticked = -1  # the serial at the last tick (unchanged at the next: idle)
        self.installed = False  # the stop at exit is registered

    def _fire(self, signum: int, frame: Any) -> None:
        serial = self.serial
        if self.running:
            now = time.thread_time()
            if self.seen != serial:  # the first tick in this run: its CPU is counted from here
                self.seen = serial
                self.seen_cpu = now
            elif now - self.seen_cpu >= self.limit:
                self.running = False
                raise OverBudget("the function ran past its time budget")
        elif serial == self.ticked:  # idle for a whole tick: stop ticking
            self.stop()
        self.ticked = serial

    def tick(self, period: float) -> None:
        """Tick every ``period`` CPU seconds (on the main thread; ``_fire`` checks the run)."""
        if not self.installed:
            # Stopped at exit: the interpreter's shutdown restores SIGVTALRM's default action
            # (terminate), which a tick after it would take.
            atexit.register(self.stop)
            self.installed = True
        signal.signal(signal.SIGVTALRM, self._fire)
        self.period = period
        self.ticked = self.serial - 1  # the first tick must not find the process idle
        signal.setitimer(signal.ITIMER_VIRTUAL, period, period)

    def stop(self) -> None:
        """Stop ticking."""
        self.period = 0.0
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)

    @contextlib.contextmanager
    def armed(self, seconds: float):
        """Off the main thread: a trace function stops the run past ``seconds`` of CPU."""
        deadline = time.thread_time() + seconds

        def tracer(frame: Any, event: str, arg: Any):
            if time.thread_time() > deadline:
                raise OverBudget("the function ran past its time budget")
            return tracer

        previous = sys.gettrace()
        sys.settrace(tracer)
        try:
            yield
        finally:
            sys.settrace(previous)


_GUARD = _Budget()
_MAIN = threading.main_thread().ident
_get_ident = threading.get_ident
_thread_time = time.thread_time
_perf = time.perf_counter


class CloudFrontFunction:
    """One CloudFront Function loaded from ``spec.code``, invoked in this process."""

    kind = FunctionKind.CLOUDFRONT_FUNCTION
    __slots__ = (
        "_budget",
        "_call",
        "_handler",
        "_hard_stop",
        "_tallies",
        "_tick",
        "metrics",
        "spec",
    )

    def __init__(self, spec: FunctionSpec, *, metrics: FunctionMetrics | None = None) -> None:
        self.spec = spec
        self.metrics = metrics or FunctionMetrics()
        path = Path(spec.code)
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                spec.where or str(path), f"cannot read {path}: {exc.strerror}"
            ) from None
        if len(source.encode()) > CODE_LIMIT:
            raise ConfigError(
                spec.where or str(path),
                f"{path} is {len(source.encode())} bytes",
                f"at most {CODE_LIMIT} bytes of code (CloudFront Functions' limit)",
            )
        namespace: dict[str, Any] = {"__builtins__": _safe_builtins(), "__name__": path.stem}
        try:
            exec(compile(source, str(path), "exec"), namespace)
        except Exception as exc:
            raise ConfigError(
                spec.where or str(path), f"{path} fails to load: {type(exc).__name__}: {exc}"
            ) from None
        handler = namespace.get(spec.handler)
        if not callable(handler):
            raise ConfigError(
                spec.where or str(path),
                f"{path} defines no function {spec.handler!r}",
                f"def {spec.handler}(event, context)",
            )
        self._handler = handler
        self._hard_stop = hard_stop(spec.budget)
        self._tick = self._hard_stop / 2  # the runaway guard's tick (``_Budget``)
        self._budget = spec.budget
        self._tallies: dict[str, InvokeTally] = {}
        self._call = self.caller()

    def invoke(self, event: Any, request_id: str, trigger: str = "invoke") -> Invocation:
        """Run the handler on ``event`` within the budget; counted in the metrics and logged."""
        invocation = self.run(event, request_id)
        self.record(invocation, trigger)
        return invocation

    def record(self, invocation: Invocation, trigger: str) -> None:
        """Count ``invocation`` (a ``run``'s) in the metrics and write its REPORT line."""
        self._count(trigger, invocation.duration_ms / 1000)
        if invocation.failure is not None:
            self.metrics.errors.labels(self.spec.name, trigger, invocation.failure).inc()
        log_report(invocation)

    def record_call(self, trigger: str, used: float, request_id: str) -> None:
        """Count a successful ``call`` that ran ``used`` seconds, as ``record`` counts
        its Invocation (the REPORT line, when logged, is built only then)."""
        self._count(trigger, used)
        if log.isEnabledFor(logging.INFO):
            self.report_call(used, request_id)

    def report_call(self, used: float, request_id: str) -> None:
        """Log the REPORT line of a successful ``call`` that ran ``used`` seconds (what
        ``record_call`` adds to counting it in ``tally(trigger)``, when INFO is logged)."""
        log_report(self._invocation(request_id, None, used))

    def tally(self, trigger: str) -> InvokeTally:
        """Where this function's invocations on ``trigger`` are counted (``observe``)."""
        tally = self._tallies.get(trigger)
        if tally is None:
            tally = self._tallies[trigger] = self.metrics.tally(self.spec.name, trigger)
        return tally

    def _count(self, trigger: str, seconds: float) -> None:
        self.tally(trigger).observe(seconds)

    def call(self, event: Any) -> tuple[Any, float]:
        """The handler's answer to ``event`` and the seconds it ran, unrecorded (``run``
        wraps it; the edge's wire fast path calls ``caller()``'s, the same call bound once).

        The verdict is CPU time (``thread_time``) against the budget; the seconds reported
        are the handler's wall time (``perf_counter``), which bounds its CPU time, so a run
        within the budget by the wall clock is within it. On the main thread the CPU clock is
        read only in stretches (the module's rules, ``PRECISE_RUNS``).

        Raises RunFailed (OVER_BUDGET: past the budget or stopped at the hard stop;
        EXECUTION_ERROR: the handler raised)."""
        return self._call(event)

    def caller(self) -> Callable[[Any], tuple[Any, float]]:
        """``call``, with this function's handler, budget and the guard bound once (a
        closure: per invoke, the guard's three writes and two wall-clock readings; the CPU
        clock only in a stretch of ``PRECISE_RUNS``, see the module's rules)."""
        handler = self._handler
        budget = self._budget
        limit = self._hard_stop
        tick = self._tick
        guard = _GUARD
        off_main = self._call_off_main
        over = self._over
        precise = PRECISE_RUNS  # runs left in this stretch timed on the CPU clock

        def call(event: Any) -> tuple[Any, float]:
            nonlocal precise
            if _get_ident() != _MAIN:
                return off_main(event)
            period = guard.period
            if period == 0.0 or period > tick:
                guard.tick(tick)
            guard.limit = limit
            guard.serial += 1
            began = _thread_time() if precise else 0.0
            started = _perf()
            guard.running = True
            try:
                payload = handler(event, None)
            except OverBudget as exc:  # stopped at the hard stop: its CPU is about its wall
                guard.running = False
                precise = PRECISE_RUNS
                raise RunFailed(FailureKind.OVER_BUDGET, exc, _perf() - started) from None
            except Exception as exc:
                guard.running = False
                raise RunFailed(FailureKind.EXECUTION_ERROR, exc, _perf() - started) from None
            guard.running = False
            took = _perf() - started
            if took > budget:  # CPU time <= wall time: only a run this long can be over
                if precise:
                    precise = PRECISE_RUNS
                    used = _thread_time() - began
                    if used > budget:
                        raise RunFailed(FailureKind.OVER_BUDGET, over(used), took)
                else:  # over, or paused by the scheduler: let through, time the next runs
                    precise = PRECISE_RUNS
            elif precise:
                precise -= 1
            return payload, took

        return call

    def _call_off_main(self, event: Any) -> tuple[Any, float]:
        began = _thread_time()
        started = _perf()
        try:
            with _GUARD.armed(self._hard_stop):
                payload = self._handler(event, None)
        except OverBudget as exc:
            raise RunFailed(FailureKind.OVER_BUDGET, exc, _thread_time() - began) from None
        except Exception as exc:
            raise RunFailed(FailureKind.EXECUTION_ERROR, exc, _perf() - started) from None
        took = _perf() - started
        if took > self._budget:
            used = _thread_time() - began
            if used > self._budget:
                raise RunFailed(FailureKind.OVER_BUDGET, self._over(used), took)
        return payload, took

    def _over(self, used: float) -> OverBudget:
        budget = self._budget
        return OverBudget(
            f"the function used {used * 1000:.3f} ms of a {budget * 1000:g} ms budget"
        )

    def run(self, event: Any, request_id: str) -> Invocation:
        """Run the handler on ``event`` within the budget, unrecorded (``record`` counts it)."""
        try:
            payload, used = self.call(event)
        except RunFailed as failed:
            error = {
                "errorMessage": str(failed.cause),
                "errorType": type(failed.cause).__name__,
                "stackTrace": [],
            }
            return self._invocation(request_id, None, failed.used, failed.kind, error)
        return self._invocation(request_id, payload, used)

    def _invocation(
        self,
        request_id: str,
        payload: Any,
        used: float,
        failure: FailureKind | None = None,
        error: dict[str, Any] | None = None,
    ) -> Invocation:
        return Invocation(self.spec.name, request_id, 2, payload, failure, error, used * 1000)
