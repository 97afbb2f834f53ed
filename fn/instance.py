"""One running worker process (fn/worker.py): start it, send it invokes, kill it.

Rules: the child gets a scrubbed environment built from an allow-list (never the parent's
environment, so never ``$CDNLAB_ADMIN_TOKEN``); its stderr is drained into a short tail (the
crash message); a closed pipe means the process died (crash or ``sys.exit``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from cdn.functions.spec import FunctionSpec

__all__ = ["InitFailed", "WorkerDied", "WorkerInstance", "worker_environment"]

WORKER = Path(__file__).with_name("worker.py")
_LINE_LIMIT = 64 * 1024 * 1024  # answers carry bodies up to 1 MB (base64) and logs


class WorkerDied(Exception):
    """The worker process ended during an invoke (crash, ``sys.exit``, killed)."""


class InitFailed(Exception):
    """The handler's module could not be imported: ``error`` is Lambda's error object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage", "init failed"))
        self.error = error


def worker_environment(spec: FunctionSpec) -> dict[str, str]:
    """The environment a function sees: Lambda's variables only, nothing of the host's."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "cdnlab_python",
        "LAMBDA_TASK_ROOT": str(Path(spec.code).parent),
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "TZ": ":UTC",
    }


class WorkerInstance:
    """A started worker: ``pid``, ``init_ms`` (process start + import + init, host-measured)."""

    def __init__(self, process: asyncio.subprocess.Process, init_ms: float, log: str) -> None:
        self.process = process
        self.pid = process.pid
        self.init_ms = init_ms
        self.init_log = log
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._drain = asyncio.ensure_future(self._drain_stderr())

    @classmethod
    async def start(cls, spec: FunctionSpec, clock: Any, init_timeout: float) -> WorkerInstance:
        """Start a worker for ``spec`` and wait until its handler is imported."""
        began = clock()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-B",
            str(WORKER),
            spec.code,
            spec.handler,
            str(spec.memory),
            spec.name,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=worker_environment(spec),
            limit=_LINE_LIMIT,
            start_new_session=True,
        )
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), init_timeout)
        except BaseException:
            _kill(process)
            await process.wait()
            raise
        if not line:
            _kill(process)
            stderr = b""
            if process.stderr is not None:
                stderr = await process.stderr.read()
            await process.wait()
            raise InitFailed(
                {
                    "errorMessage": f"Runtime exited with error: exit status {process.returncode}",
                    "errorType": "Runtime.ExitError",
                    "stackTrace": stderr.decode(errors="replace").splitlines()[-20:],
                }
            )
        message = json.loads(line)
        if message["type"] != "ready":
            await process.wait()
            raise InitFailed(message["error"])
        return cls(process, (clock() - began) * 1000, message.get("log", ""))

    async def _drain_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        while line := await stream.readline():
            self._stderr.append(line.decode(errors="replace"))

    @property
    def stderr_tail(self) -> str:
        """The last lines the process wrote to stderr."""
        return "".join(self._stderr)

    async def invoke(self, event: Any, request_id: str, timeout: float) -> dict[str, Any]:
        """The worker's answer to one invoke; WorkerDied when the process ends first."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        request = {"event": event, "request_id": request_id, "timeout": timeout}
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            raise WorkerDied("the worker process is gone") from None
        line = await stdout.readline()
        if not line:
            await self.process.wait()
            await asyncio.wait([self._drain], timeout=1.0)
            raise WorkerDied(f"Runtime exited with error: exit status {self.process.returncode}")
        return json.loads(line)

    async def stop(self) -> None:
        """End the process (SIGKILL) and reap it."""
        _kill(self.process)
        await self.process.wait()
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drain


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
