"""Helpers of the runtime tests: a test handler file, specs for it, an injectable clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cdn.functions import FunctionKind, FunctionSpec

HANDLER = """
import gc, os, pathlib, sys, time

print("module imported")


def handler(event, context):
    action = event.get("action")
    if action == "raise":
        raise ValueError("bad thing happened")
    if action == "exit":
        sys.exit(3)
    if action == "crash":
        os._exit(9)
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "alloc":
        data = bytearray(event["mb"] * 1024 * 1024)
        return {"allocated": len(data)}
    if action == "env":
        return {"env": dict(os.environ)}
    if action == "print":
        print("hello from the handler")
    if action == "wait":
        flag = pathlib.Path(event["path"])
        deadline = time.monotonic() + 30
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    if action == "echo":
        return {"size": len(event["data"]), "data": event["data"]}
    if action == "unjsonable":
        return {"set": {1, 2}}
    if action == "frozen":
        return {"frozen": gc.get_freeze_count()}
    return {"pid": os.getpid(), "request_id": context.aws_request_id}
"""


def handler_file(directory: Path, source: str = HANDLER, name: str = "handler.py") -> Path:
    """Write ``source`` as ``name`` under ``directory``; the path."""
    path = directory / name
    path.write_text(source)
    return path


def lambda_spec(directory: Path, **changes: Any) -> FunctionSpec:
    """A Lambda-style spec for the test handler (3 s timeout, concurrency 2 unless changed)."""
    path = handler_file(directory)
    fields: dict[str, Any] = {
        "name": "probe",
        "code": str(path),
        "timeout": 3.0,
        "concurrency": 2,
        "keep_warm": 60.0,
    }
    return FunctionSpec(**{**fields, **changes})


def cloudfront_spec(directory: Path, source: str, **changes: Any) -> FunctionSpec:
    """A CloudFront Function spec for ``source``."""
    path = handler_file(directory, source, "cff.py")
    fields: dict[str, Any] = {
        "name": "cff",
        "code": str(path),
        "kind": FunctionKind.CLOUDFRONT_FUNCTION,
    }
    return FunctionSpec(**{**fields, **changes})


class FakeClock:
    """A clock that moves only when told (keep-warm expiry without sleeping)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def process_alive(pid: int) -> bool:
    """True while a process with ``pid`` exists (it is reaped once the pool stops it)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def wait_until(condition: Callable[[], bool], what: str, attempts: int = 600) -> None:
    """Poll ``condition`` every 20 ms; fail naming ``what`` if it never holds."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def metric_value(exposition: bytes, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in exposition.decode().splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        sample, _, label_text = metric.partition("{")
        got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if sample == name and got == want:
            return float(value)
    return 0.0


def lambda_client(url: str) -> Any:
    """boto3's lambda client for a `cdn fn serve` at ``url`` (dummy credentials, no retries:
    a throttle or an error is seen as it is answered)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )
