"""One Lambda-style function instance: a child process that imports the handler once and runs invokes.

Run by fn/instance.py as ``python -I -B worker.py CODE HANDLER MEMORY_MB NAME`` with a scrubbed
environment; standard library only (it is not imported as part of the ``fn`` package).

Rules:
- the address space is capped with RLIMIT_AS at MEMORY_MB before the handler's module is
  imported; a MemoryError is answered as ``Runtime.OutOfMemory`` and the process then exits
  (the instance is never reused);
- the protocol runs on private copies of fds 0 and 1 (JSON lines: one request in, one answer
  out); fd 0 is /dev/null and fd 1 goes to stderr, so a handler's own reads and writes cannot
  corrupt it; ``print`` inside the handler is captured as the invoke's log;
- first line out: ``{"type": "ready", "init_ms", "pid"}`` or ``{"type": "init_error", ...}``;
- a ``sys.exit`` or a crash in the handler ends the process; the host sees the pipe close.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import resource
import sys
import time
import traceback

LOG_TAIL = 4096


class Context:
    """The Lambda context object handed to ``handler(event, context)``."""

    def __init__(self, name: str, memory_mb: int, request_id: str, deadline: float) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/us-east-1.{name}"
        self.log_stream_name = f"cdnlab/{os.getpid()}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the host kills this invoke."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict:
    return {
        "errorMessage": str(exc) or type(exc).__name__,
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__)[-20:],
    }


def _max_memory_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _load(code: str, handler_name: str):
    sys.path.insert(0, os.path.dirname(os.path.abspath(code)))
    module_name = os.path.splitext(os.path.basename(code))[0]
    spec = importlib.util.spec_from_file_location(module_name, code)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {code}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    handler = getattr(module, handler_name, None)
    if not callable(handler):
        raise AttributeError(f"handler {handler_name!r} missing on module {module_name!r}")
    return handler


def main(argv: list[str]) -> int:
    code, handler_name, memory_text, name = argv[1:5]
    memory_mb = int(memory_text)
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    incoming = os.fdopen(os.dup(0), "r", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)

    def send(message: dict) -> None:
        out.write(json.dumps(message) + "\n")

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    capture = io.StringIO()
    try:
        with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(capture):
            handler = _load(code, handler_name)
    except MemoryError as exc:
        send({"type": "init_error", "error": _error(exc, "Runtime.OutOfMemory")})
        return 1
    except BaseException as exc:  # a module that raises or exits while importing
        send({"type": "init_error", "error": _error(exc, "Runtime.ImportModuleError")})
        return 1
    send(
        {
            "type": "ready",
            "init_ms": (time.perf_counter() - started) * 1000,
            "pid": os.getpid(),
            "log": capture.getvalue()[-LOG_TAIL:],
        }
    )
    for line in incoming:
        request = json.loads(line)
        context = Context(
            name, memory_mb, request["request_id"], time.monotonic() + request["timeout"]
        )
        capture = io.StringIO()
        fatal = False
        with contextlib.redirect_stdout(capture), contextlib.redirect_stderr(capture):
            began = time.perf_counter()
            try:
                answer = {"type": "result", "payload": handler(request["event"], context)}
            except MemoryError as exc:
                answer = {"type": "error", "error": _error(exc, "Runtime.OutOfMemory")}
                fatal = True
            except Exception as exc:
                answer = {"type": "error", "error": _error(exc)}
            duration_ms = (time.perf_counter() - began) * 1000
        answer.update(
            duration_ms=duration_ms,
            max_memory_mb=_max_memory_mb(),
            log=capture.getvalue()[-LOG_TAIL:],
        )
        try:
            text = json.dumps(answer)
        except (TypeError, ValueError) as exc:
            answer["type"] = "error"
            answer["error"] = _error(exc, "Runtime.MarshalError")
            answer.pop("payload", None)
            text = json.dumps(answer)
        except MemoryError as exc:
            text = json.dumps({"type": "error", "error": _error(exc, "Runtime.OutOfMemory")})
            fatal = True
        out.write(text + "\n")
        if fatal:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
