"""CloudFront Functions in-process: a CPU-time budget, no I/O builtins, errors as 503."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fn_support import cloudfront_spec

from cdn.errors import ConfigError
from cdn.functions import FailureKind, FunctionFailed
from fn.cloudfront import _GUARD, CloudFrontFunction

ECHO = "def handler(event, context):\n    return event\n"


def test_runs_in_process_and_returns_the_answer(tmp_path: Path) -> None:
    invocation = CloudFrontFunction(cloudfront_spec(tmp_path, ECHO)).invoke({"a": 1}, "r1")
    assert invocation.ok and invocation.payload == {"a": 1}


def test_runaway_loop_is_stopped_at_the_budget(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    while True:\n        pass\n"
    invocation = CloudFrontFunction(cloudfront_spec(tmp_path, source)).invoke({}, "r1")
    assert invocation.failure is FailureKind.OVER_BUDGET


def test_over_budget_is_a_503() -> None:
    assert FunctionFailed(FailureKind.OVER_BUDGET, "x").status == 503


def test_open_is_not_available(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    return open('/etc/hostname').read()\n"
    invocation = CloudFrontFunction(cloudfront_spec(tmp_path, source)).invoke({}, "r1")
    assert invocation.failure is FailureKind.EXECUTION_ERROR
    assert invocation.error["errorType"] == "NameError"


def test_importing_an_io_module_in_the_handler_is_refused(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    import socket\n    return 1\n"
    invocation = CloudFrontFunction(cloudfront_spec(tmp_path, source)).invoke({}, "r1")
    assert invocation.error["errorType"] == "ImportError"


def test_importing_an_io_module_at_load_names_the_file(tmp_path: Path) -> None:
    source = "import os\n" + ECHO
    with pytest.raises(ConfigError, match=r"cff\.py fails to load: ImportError"):
        CloudFrontFunction(cloudfront_spec(tmp_path, source))


def test_pure_modules_may_be_imported(tmp_path: Path) -> None:
    source = "import json, urllib.parse\ndef handler(event, context):\n    return json.dumps(urllib.parse.quote('a b'))\n"
    assert (
        CloudFrontFunction(cloudfront_spec(tmp_path, source)).invoke({}, "r1").payload == '"a%20b"'
    )


def test_raising_function_is_an_execution_error(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    raise KeyError('uri')\n"
    invocation = CloudFrontFunction(cloudfront_spec(tmp_path, source)).invoke({}, "r1")
    assert invocation.failure is FailureKind.EXECUTION_ERROR
    assert FunctionFailed(invocation.failure, "").status == 503


def test_code_over_10kb_is_refused(tmp_path: Path) -> None:
    source = ECHO + "# " + "x" * 10_300 + "\n"
    with pytest.raises(ConfigError, match="at most 10240 bytes"):
        CloudFrontFunction(cloudfront_spec(tmp_path, source))


def test_missing_handler_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="defines no function 'handler'"):
        CloudFrontFunction(cloudfront_spec(tmp_path, "x = 1\n"))


async def test_runaway_loop_off_the_main_thread_is_stopped_too(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    while True:\n        pass\n"
    function = CloudFrontFunction(cloudfront_spec(tmp_path, source))
    invocation = await asyncio.to_thread(function.invoke, {}, "r1")
    assert invocation.failure is FailureKind.OVER_BUDGET


def test_each_function_keeps_its_own_runaway_guard(tmp_path: Path) -> None:
    loop = "def handler(event, context):\n    while True:\n        pass\n"
    first = CloudFrontFunction(cloudfront_spec(tmp_path, loop))
    second = tmp_path / "second"
    second.mkdir()
    CloudFrontFunction(cloudfront_spec(second, ECHO))  # loaded later, must not take over the guard
    assert first.invoke({}, "r1").failure is FailureKind.OVER_BUDGET


def test_a_run_over_the_budget_short_of_the_hard_stop_is_over_budget(tmp_path: Path) -> None:
    source = "def handler(event, context):\n    return sum(range(200_000))\n"
    function = CloudFrontFunction(cloudfront_spec(tmp_path, source, budget=1e-6))
    invocation = function.invoke({}, "r1")
    assert invocation.failure is FailureKind.OVER_BUDGET
    assert "of a 0.001 ms budget" in invocation.error["errorMessage"]


def test_the_runaway_guard_stops_ticking_after_an_idle_tick(tmp_path: Path) -> None:
    _GUARD.stop()  # the invoke starts a fresh tick (10 ms of CPU away)
    CloudFrontFunction(cloudfront_spec(tmp_path, ECHO)).invoke({}, "r1")
    assert _GUARD.period > 0 and signal.getitimer(signal.ITIMER_VIRTUAL)[1] > 0
    _GUARD._fire(signal.SIGVTALRM, None)  # the tick after the invoke: it ran since the last
    assert _GUARD.period > 0
    _GUARD._fire(signal.SIGVTALRM, None)  # a tick with no invoke since: idle
    assert _GUARD.period == 0 and signal.getitimer(signal.ITIMER_VIRTUAL) == (0.0, 0.0)


def test_the_runaway_guard_stops_ticking_at_exit(tmp_path: Path) -> None:
    # A tick after the interpreter restored SIGVTALRM's default action would kill the process.
    code = tmp_path / "cff.py"
    code.write_text(ECHO)
    script = (
        "import atexit, signal\n"
        "from cdn.functions import FunctionKind, FunctionSpec\n"
        "from fn.cloudfront import CloudFrontFunction\n"
        f"spec = FunctionSpec('cff', {str(code)!r}, kind=FunctionKind.CLOUDFRONT_FUNCTION)\n"
        "CloudFrontFunction(spec).invoke({}, 'r1')\n"
        "assert signal.getitimer(signal.ITIMER_VIRTUAL)[1] > 0\n"
        "atexit._run_exitfuncs()\n"
        "print(signal.getitimer(signal.ITIMER_VIRTUAL))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "(0.0, 0.0)"), done.stderr


class _WallClock:
    """A stand-in for the runtime's wall clock: still, or half a second per reading (``slow``)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slow = False

    def __call__(self) -> float:
        if self.slow:
            self.now += 0.5
        return self.now


def test_runs_are_judged_on_the_cpu_clock_in_stretches(tmp_path: Path, monkeypatch) -> None:
    # The handler works (CPU) only when asked; the wall clock is the test's. Out of a
    # stretch, a run slow by the wall clock cannot be judged, so it passes and starts a
    # stretch: from the next run on, a run over the budget on the CPU clock fails.
    import fn.cloudfront as runtime

    source = (
        "def handler(event, context):\n"
        "    if event.get('work'):\n"
        "        return sum(range(300_000))\n"
        "    return event\n"
    )
    wall = _WallClock()
    monkeypatch.setattr(runtime, "_perf", wall)
    function = CloudFrontFunction(cloudfront_spec(tmp_path, source, budget=1e-4))
    for _ in range(runtime.PRECISE_RUNS):  # the first stretch: quick runs, judged exactly
        assert function.invoke({}, "quick").ok
    wall.slow = True
    assert function.invoke({"work": True}, "r1").ok  # slow by the wall: cannot tell; passes
    over = function.invoke({"work": True}, "r2")  # in the stretch it started: judged on CPU
    assert over.failure is FailureKind.OVER_BUDGET
    assert function.invoke({}, "r3").ok  # slow by the wall only (the clock): CPU says quick
