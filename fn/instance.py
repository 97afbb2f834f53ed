"""One running worker process (fn/worker.py): start it, send it invokes, kill it.

Rules: the child gets a scrubbed environment built from an allow-list (never the parent's
environment, so never ``$CDNLAB_ADMIN_TOKEN``); its stderr is drained into a short tail (the
crash message); a closed channel means the process died (crash or ``sys.exit``).

The channel is two pipes (requests into the child's fd 0, answers out of its fd 1: pipes
cost the kernel less per message than a socket pair), carrying length-prefixed frames
(fn/worker.py says what is in them). The host side never blocks and never uses a thread: a
request frame is written with one non-blocking ``write(2)`` (the rest, for a big event, when
the pipe is writable again), and the answer is read by a reader callback the event loop runs
when the pipe is readable; the invoke awaits one future, and its hard timeout is one timer on
the loop. Per warm invoke that is a ``write``, an ``epoll`` wake-up and a ``read`` in the host:
no task, no stream objects, no lookup.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from cdn.functions.spec import FunctionSpec

__all__ = ["InitFailed", "WorkerDied", "WorkerInstance", "request_frame", "worker_environment"]

WORKER = Path(__file__).with_name("worker.py")
FRAME_LIMIT = 64 * 1024 * 1024  # answers carry bodies up to 1 MB (base64) and logs
_READ = 64 * 1024  # a pipe holds 64 KiB; a bigger read buffer costs an mmap per read
_EXIT_GRACE = 1.0  # seconds a worker whose channel closed gets to exit before it is killed
_scan = json.JSONDecoder().scan_once  # the C scanner, as JSONDecoder.raw_decode runs it


def _decode(body: bytes) -> Any:
    """A worker's answer: one JSON value, the whole frame (UTF-8, no surrounding space; what
    ``json.loads`` reads, without its encoding sniffing and whitespace passes per answer)."""
    text = body.decode()
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # no JSON value starts there
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("more than one JSON value")
    return value


class WorkerDied(Exception):
    """The worker process ended during an invoke (crash, ``sys.exit``, killed)."""


class InitFailed(Exception):
    """The handler's module could not be imported: ``error`` is Lambda's error object."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("errorMessage", "init failed"))
        self.error = error


class _ChannelClosed(Exception):
    """The worker's end of the channel closed (or it broke the framing)."""


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


def request_frame(event: Any, request_id: str, timeout: float) -> bytes:
    """An invoke's frame body: ``M`` + marshal of ``(event, request_id, timeout)`` (cheapest),
    or ``J`` + JSON when marshal refuses a value (a ``str`` or ``dict`` subclass)."""
    message = (event, request_id, timeout)
    try:
        return b"M" + marshal.dumps(message)
    except ValueError:
        return b"J" + json.dumps(message).encode()


def _expire(waiter: asyncio.Future[bytes]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class WorkerInstance:
    """A started worker: ``pid``, ``init_ms`` (process start + import + init, host-measured)."""

    def __init__(
        self, process: asyncio.subprocess.Process, to_worker: int, from_worker: int
    ) -> None:
        self.process = process
        self.pid = process.pid
        self.init_ms = 0.0
        self.init_log = ""
        self._loop = asyncio.get_running_loop()
        self._out = to_worker
        self._in = from_worker
        self._buffer = bytearray()
        self._waiter: asyncio.Future[bytes] | None = None
        self._unsent: memoryview | None = None
        self._closed = False
        self._stderr: collections.deque[str] = collections.deque(maxlen=40)
        self._drain = asyncio.ensure_future(self._drain_stderr())
        self._loop.add_reader(from_worker, self._readable)

    @classmethod
    async def start(cls, spec: FunctionSpec, clock: Any, init_timeout: float) -> WorkerInstance:
        """Start a worker for ``spec`` and wait until its handler is imported."""
        began = clock()
        worker_in, to_worker = os.pipe()  # requests: host -> worker's fd 0
        from_worker, worker_out = os.pipe()  # answers: worker's fd 1 -> host
        os.set_blocking(to_worker, False)
        os.set_blocking(from_worker, False)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-B",
                str(WORKER),
                spec.code,
                spec.handler,
                str(spec.memory),
                spec.name,
                stdin=worker_in,
                stdout=worker_out,
                stderr=asyncio.subprocess.PIPE,
                env=worker_environment(spec),
                start_new_session=True,
            )
        except BaseException:
            os.close(to_worker)
            os.close(from_worker)
            raise
        finally:
            os.close(worker_in)  # the child has its copies: EOF here means the child is gone
            os.close(worker_out)
        worker = cls(process, to_worker, from_worker)
        try:
            message = await worker._answer(init_timeout)
        except _ChannelClosed:
            await worker._ended()
            raise InitFailed(
                {
                    "errorMessage": f"Runtime exited with error: exit status {process.returncode}",
                    "errorType": "Runtime.ExitError",
                    "stackTrace": worker.stderr_tail.splitlines()[-20:],
                }
            ) from None
        except BaseException:
            await worker.stop()
            raise
        if message.get("type") != "ready":
            await worker._ended()
            raise InitFailed(message.get("error") or {"errorMessage": "init failed"})
        worker.init_ms = (clock() - began) * 1000
        worker.init_log = message.get("log", "")
        return worker

    # ---- the channel (loop callbacks) ----------------------------------------------------------
    def _readable(self) -> None:
        try:
            data = os.read(self._in, _READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_channel()
            return
        buffer = self._buffer
        if buffer:  # the rest of a frame bigger than one read: grown in place
            buffer += data
            data = buffer
        while len(data) >= 4:
            end = 4 + int.from_bytes(data[:4], "big")
            if end > FRAME_LIMIT:
                self._close_channel()
                return
            if len(data) < end:
                break
            waiter = self._waiter
            if waiter is None or waiter.done():  # an answer nobody asked for: framing is lost
                self._close_channel()
                return
            waiter.set_result(bytes(data[4:end]))
            data = data[end:]
        if data is not buffer:
            self._buffer = bytearray(data)

    def _writable(self) -> None:
        unsent = self._unsent
        if unsent is None:
            self._loop.remove_writer(self._out)
            return
        try:
            sent = os.write(self._out, unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close_channel()
            return
        if sent < len(unsent):
            self._unsent = unsent[sent:]
        else:
            self._unsent = None
            self._loop.remove_writer(self._out)

    def _send(self, body: bytes) -> None:
        data = len(body).to_bytes(4, "big") + body
        try:
            sent = os.write(self._out, data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close_channel()
            raise _ChannelClosed from None
        if sent < len(data):
            self._unsent = memoryview(data)[sent:]
            self._loop.add_writer(self._out, self._writable)

    def _close_channel(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._in)
        if self._unsent is not None:
            self._unsent = None
            self._loop.remove_writer(self._out)
        os.close(self._in)
        os.close(self._out)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(_ChannelClosed())

    async def _answer(self, timeout: float) -> dict[str, Any]:
        """The next frame from the worker as JSON, within ``timeout`` seconds."""
        if self._closed:
            raise _ChannelClosed
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_later(timeout, _expire, waiter)
        try:
            body = await waiter
        finally:
            timer.cancel()
            self._waiter = None
        try:
            message = _decode(body)
        except ValueError:  # UnicodeDecodeError is one
            message = None
        if not isinstance(message, dict):  # the worker (or a handler writing to it) broke it
            self._close_channel()
            raise _ChannelClosed
        return message

    async def _ended(self) -> None:
        """Reap a worker whose channel closed (killing it if it lingers)."""
        self._close_channel()
        try:
            await asyncio.wait_for(asyncio.shield(self.process.wait()), _EXIT_GRACE)
        except TimeoutError:
            _kill(self.process)
            await self.process.wait()
        await asyncio.wait([self._drain], timeout=1.0)

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
        """The worker's answer to one invoke; WorkerDied when the process ends first,
        TimeoutError after ``timeout`` seconds (the caller kills the instance)."""
        try:
            if self._closed:
                raise _ChannelClosed
            self._send(request_frame(event, request_id, timeout))
            return await self._answer(timeout)
        except _ChannelClosed:
            await self._ended()
            raise WorkerDied(
                f"Runtime exited with error: exit status {self.process.returncode}"
            ) from None

    async def stop(self) -> None:
        """End the process (SIGKILL) and reap it."""
        self._close_channel()
        _kill(self.process)
        await self.process.wait()
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drain


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
