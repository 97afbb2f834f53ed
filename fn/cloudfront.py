"""CloudFront Functions, run in the host process under a CPU-time budget, with no I/O builtins.

Rules:
- the code is compiled once; the module runs with a reduced ``__builtins__``: no ``open``,
  ``input``, ``exec``, ``eval``, ``compile``, ``breakpoint`` or ``exit``, and ``import`` only
  of a few pure modules (json, re, base64, urllib.parse, hashlib, hmac, math, ...): no
  sockets, files, subprocesses, clocks or threads;
- the budget (default 1 ms, an assumption: AWS says only "sub-millisecond") is CPU time of
  the running thread (``time.thread_time``), so a loaded machine's scheduling does not count;
  an invoke over it is a failure (503), like CloudFront's compute utilization over 100%;
- a runaway Python loop is stopped after ``hard_stop(budget)`` of CPU, max(10 x budget, 20 ms):
  by ITIMER_VIRTUAL (SIGVTALRM raises inside the function) on the main thread, by a trace
  function checking the thread's CPU time on other threads (slower, but signals reach only
  the main thread).
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

import builtins
import contextlib
import importlib
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cdn.errors import ConfigError
from cdn.functions.results import FailureKind
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind
from fn.invocation import Invocation
from fn.metrics import FunctionMetrics
from fn.pool import log_report

__all__ = ["ALLOWED_IMPORTS", "CloudFrontFunction", "OverBudget", "hard_stop"]

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


def hard_stop(budget: float) -> float:
    """CPU seconds after which a run is interrupted (the verdict itself uses ``budget``)."""
    return max(10 * budget, 0.02)


class OverBudget(Exception):
    """Raised inside a CloudFront Function that ran past its time budget."""


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

    On the main thread an ITIMER_VIRTUAL timer raises OverBudget from the SIGVTALRM handler
    (installed once, the first time a function runs there); on any other thread (where Python
    delivers no signals) a trace function checks the thread's CPU time on every line instead.
    """

    def __init__(self) -> None:
        self.running = False
        self.installed = False

    def _fire(self, signum: int, frame: Any) -> None:
        if self.running:
            self.running = False
            raise OverBudget("the function ran past its time budget")

    def arm_main(self, seconds: float) -> None:
        """``armed`` on the main thread, as two plain calls (the per-request path)."""
        if not self.installed:
            signal.signal(signal.SIGVTALRM, self._fire)
            self.installed = True
        self.running = True
        signal.setitimer(signal.ITIMER_VIRTUAL, seconds)

    def disarm_main(self) -> None:
        """End an ``arm_main``."""
        self.running = False
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)

    @contextlib.contextmanager
    def armed(self, seconds: float):
        on_main = threading.current_thread() is threading.main_thread()
        if on_main and not self.installed:
            signal.signal(signal.SIGVTALRM, self._fire)
            self.installed = True
        if on_main:
            self.running = True
            signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
            try:
                yield
            finally:
                self.running = False
                signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            return
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
_MAIN = threading.main_thread()


class CloudFrontFunction:
    """One CloudFront Function loaded from ``spec.code``, invoked in this process."""

    kind = FunctionKind.CLOUDFRONT_FUNCTION

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
        self._children: dict[str, tuple[Any, Any]] = {}

    def invoke(self, event: Any, request_id: str, trigger: str = "invoke") -> Invocation:
        """Run the handler on ``event`` within the budget; counted in the metrics and logged."""
        invocation = self.run(event, request_id)
        self.record(invocation, trigger)
        return invocation

    def record(self, invocation: Invocation, trigger: str) -> None:
        """Count ``invocation`` (a ``run``'s) in the metrics and write its REPORT line."""
        name = self.spec.name
        children = self._children.get(trigger)
        if children is None:
            metrics = self.metrics
            children = self._children[trigger] = (
                metrics.invocations.labels(name, trigger),
                metrics.duration.labels(name, trigger),
            )
        children[0].inc()
        children[1].observe(invocation.duration_ms / 1000)
        if invocation.failure is not None:
            self.metrics.errors.labels(name, trigger, invocation.failure).inc()
        log_report(invocation)

    def run(self, event: Any, request_id: str) -> Invocation:
        """Run the handler on ``event`` within the budget, unrecorded (``record`` counts it:
        the edge's wire fast path runs it first and records it only when it answers there)."""
        name, spec = self.spec.name, self.spec
        base = {"function": name, "request_id": request_id, "memory_mb": 2}
        began = time.thread_time()
        try:
            if threading.current_thread() is _MAIN:
                _GUARD.arm_main(self._hard_stop)
                try:
                    payload = self._handler(event, None)
                finally:
                    _GUARD.disarm_main()
            else:
                with _GUARD.armed(self._hard_stop):
                    payload = self._handler(event, None)
        except OverBudget as exc:
            invocation = self._failed(
                base, FailureKind.OVER_BUDGET, exc, time.thread_time() - began
            )
        except Exception as exc:
            invocation = self._failed(
                base, FailureKind.EXECUTION_ERROR, exc, time.thread_time() - began
            )
        else:
            used = time.thread_time() - began
            if used > spec.budget:
                error = OverBudget(
                    f"the function used {used * 1000:.3f} ms of a {spec.budget * 1000:g} ms budget"
                )
                invocation = self._failed(base, FailureKind.OVER_BUDGET, error, used)
            else:
                invocation = Invocation(**base, payload=payload, duration_ms=used * 1000)
        return invocation

    def _failed(
        self, base: dict[str, Any], kind: FailureKind, exc: Exception, used: float
    ) -> Invocation:
        error = {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []}
        return Invocation(**base, failure=kind, error=error, duration_ms=used * 1000)
