"""One Lambda-style function instance: a child process that imports the handler once and runs invokes.

Run by fn/instance.py as ``python -I -B worker.py CODE HANDLER MEMORY_MB NAME`` with a scrubbed
environment and its end of a socket pair as fd 0; standard library only (it is not imported as
part of the ``fn`` package).

Rules:
- the address space is capped with RLIMIT_AS at MEMORY_MB before the handler's module is
  imported; a MemoryError is answered as ``Runtime.OutOfMemory`` and the process then exits
  (the instance is never reused);
- the protocol runs on a private copy of fd 0 (fd 0 then becomes /dev/null and fd 1 goes to
  stderr, so a handler's own reads and writes cannot corrupt it); ``print`` inside the handler
  is captured as the invoke's log;
- frames both ways: a 4-byte big-endian length, then the body. In: ``M`` + ``marshal`` of
  ``(event, request_id, timeout)`` (the host is trusted; marshal is the cheapest stdlib codec for
  JSON-shaped data), or ``J`` + JSON of it when marshal refused a value. Out: JSON, because the host must never unmarshal what handler code could
  have written, and because a payload that JSON cannot carry is Lambda's ``Runtime.MarshalError``;
- a result equal to the request of a Lambda@Edge request event as it was sent (the handler let
  the request go on unchanged) is answered ``{"type": "result", "echo": true, ...}`` without
  the payload: the host already has it (its JSON would be encoded here and decoded there);
- first frame out: ``{"type": "ready", "init_ms", "pid", "log"}`` or ``{"type": "init_error", ...}``;
- the loop does the least per invoke: one blocking ``read(2)`` of the frame, the handler, one
  ``write(2)`` of the answer (no thread, no per-invoke import or lookup);
- a ``sys.exit`` or a crash in the handler ends the process; the host sees the channel close.
"""

from __future__ import annotations

import gc
import importlib.util
import io
import json
import marshal
import os
import resource
import sys
import time
import traceback

LOG_TAIL = 4096
# The answer to an invoke whose handler let the request go on unchanged ("echo", see the
# rules). %r of a float is a JSON number (a duration is never nan or infinite).
ECHO = '{"type":"result","echo":true,"duration_ms":%r,"max_memory_mb":%d,"log":%s}'
json_string = json.encoder.encode_basestring_ascii  # a str as a JSON string (C, one call)
_READ = 64 * 1024  # a pipe holds 64 KiB; a bigger read buffer costs an mmap per read


class Context:
    """The Lambda context object handed to ``handler(event, context)``.

    What is the same for every invoke of this worker is set once on the class (``configure``):
    an invoke makes an object with its request id and deadline only."""

    function_name = ""
    function_version = "$LATEST"
    invoked_function_arn = ""
    memory_limit_in_mb = 0
    log_group_name = ""
    log_stream_name = ""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self._deadline = deadline

    @classmethod
    def configure(cls, name: str, memory_mb: int) -> None:
        """Set this worker's function name and memory (once, before the first invoke)."""
        cls.function_name = name
        cls.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        cls.memory_limit_in_mb = memory_mb
        cls.log_group_name = f"/aws/lambda/us-east-1.{name}"
        cls.log_stream_name = f"cdnlab/{os.getpid()}"

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


def _echoes(payload: dict, decode, body: bytes) -> bool:
    """Whether ``payload`` equals the request of the Lambda@Edge request event ``body`` holds
    (decoded again: a copy of the event as sent, which the handler never saw)."""
    try:
        event = decode(body)[0]
        return payload == event["Records"][0]["cf"]["request"]
    except Exception:  # not that shape, an object of the handler's whose __eq__ raises, or
        return False  # no memory left for the copy (the answer's encoding then says so)


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


class Channel:
    """Length-prefixed frames: read from the blocking pipe ``incoming``, written to ``outgoing``."""

    def __init__(self, incoming: int, outgoing: int) -> None:
        self.incoming = incoming
        self.outgoing = outgoing
        self.buffer = b""

    def receive(self) -> bytes | None:
        """The next frame's body; None when the host closed the channel."""
        buffer = self.buffer
        while len(buffer) < 4:
            chunk = os.read(self.incoming, _READ)
            if not chunk:
                return None
            buffer += chunk
        end = 4 + int.from_bytes(buffer[:4], "big")
        while len(buffer) < end:
            chunk = os.read(self.incoming, _READ)
            if not chunk:
                return None
            buffer += chunk
        self.buffer = buffer[end:]
        return buffer[4:end]

    def send(self, body: bytes) -> None:
        """Write one frame (one ``write(2)`` unless the socket buffer is full)."""
        view = memoryview(len(body).to_bytes(4, "big") + body)
        while view:
            view = view[os.write(self.outgoing, view) :]


def main(argv: list[str]) -> int:
    code, handler_name, memory_text, name = argv[1:5]
    memory_mb = int(memory_text)
    channel = Channel(os.dup(0), os.dup(1))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)

    def send(message: dict) -> None:
        channel.send(json.dumps(message).encode())

    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    capture = io.StringIO()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = capture
    try:
        handler = _load(code, handler_name)
    except MemoryError as exc:
        sys.stdout, sys.stderr = real_stdout, real_stderr
        send({"type": "init_error", "error": _error(exc, "Runtime.OutOfMemory")})
        return 1
    except BaseException as exc:  # a module that raises or exits while importing
        sys.stdout, sys.stderr = real_stdout, real_stderr
        send({"type": "init_error", "error": _error(exc, "Runtime.ImportModuleError")})
        return 1
    sys.stdout, sys.stderr = real_stdout, real_stderr
    Context.configure(name, memory_mb)
    send(
        {
            "type": "ready",
            "init_ms": (time.perf_counter() - started) * 1000,
            "pid": os.getpid(),
            "log": capture.getvalue()[-LOG_TAIL:],
        }
    )
    # What start-up built (modules, the handler's globals) lives as long as the worker: out of
    # the collector's way, so a full collection never walks it mid-invoke (as serving.server
    # does for the nodes). gc.freeze moves it to the permanent generation at no cost.
    gc.freeze()
    dumps, loads, unmarshal = json.dumps, json.loads, marshal.loads
    clock, monotonic = time.perf_counter, time.monotonic
    while (frame := channel.receive()) is not None:
        decode = unmarshal if frame[:1] == b"M" else loads
        event, request_id, timeout = decode(frame[1:])
        context = Context(request_id, monotonic() + timeout)
        capture = io.StringIO()
        fatal = False
        sys.stdout = sys.stderr = capture
        began = clock()
        try:
            answer = {"type": "result", "payload": handler(event, context)}
        except MemoryError as exc:
            answer = {"type": "error", "error": _error(exc, "Runtime.OutOfMemory")}
            fatal = True
        except Exception as exc:
            answer = {"type": "error", "error": _error(exc)}
        finally:
            duration_ms = (clock() - began) * 1000
            sys.stdout, sys.stderr = real_stdout, real_stderr
        max_memory_mb = _max_memory_mb()
        log_tail = capture.getvalue()[-LOG_TAIL:]
        payload = answer.get("payload")
        if type(payload) is dict and "uri" in payload and _echoes(payload, decode, frame[1:]):
            # A request trigger's handler that let the request go on as it came (the usual
            # case on hits): the answer says so instead of carrying the request back, in a
            # fixed form (no encoder run: the fewer code paths a warm invoke takes, the less
            # it pays for caches other processes emptied since the last one).
            text = ECHO % (duration_ms, max_memory_mb, json_string(log_tail))
        else:
            answer["duration_ms"] = duration_ms
            answer["max_memory_mb"] = max_memory_mb
            answer["log"] = log_tail
            try:
                text = dumps(answer)
            except (TypeError, ValueError) as exc:
                answer["type"] = "error"
                answer["error"] = _error(exc, "Runtime.MarshalError")
                answer.pop("payload", None)
                text = dumps(answer)
            except MemoryError as exc:
                text = dumps({"type": "error", "error": _error(exc, "Runtime.OutOfMemory")})
                fatal = True
        channel.send(text.encode())
        if fatal:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
