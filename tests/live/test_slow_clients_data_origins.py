"""Slow and idle clients on the storage (S3) and table (DynamoDB) servers: the same guard.

The origin and the edge are covered by test_slow_clients.py; these check that `cdn storage` and
`cdn kv` run on the same plumbing (serving.guard): a header that never completes gets 408 and a
close, a body that stalls gets 408, an idle keep-alive connection is closed, a connection past
the cap gets 503 while established ones are served, and the flags set the limits. Raw sockets
on loopback; timeouts are 1 s and the tests never assert how long anything took.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from live_support import PATIENCE, connect, get_head, read_to_close

from kv.server import KvServer
from kv.settings import KvSettings
from serving.limits import ConnectionLimits
from serving.server import AppServer
from storage.server import StorageServer
from storage.settings import StorageSettings

FAST = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, idle_timeout=1.0)
# A request each server answers 200 without credentials (authentication is off).
HEALTH = "/_cdn/health"

Start = Callable[[ConnectionLimits], Awaitable[str]]


@pytest.fixture(params=["storage", "kv"])
async def start_node(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Start]:
    """Start a storage or a kv server on port 0 with the given limits; stopped at the end."""
    started: list[AppServer] = []

    async def start(limits: ConnectionLimits) -> str:
        server: AppServer
        if request.param == "storage":
            server = StorageServer(
                StorageSettings(data=tmp_path / "buckets", port=0, limits=limits)
            )
        else:
            server = KvServer(KvSettings(data=str(tmp_path / "kv.sqlite"), port=0, limits=limits))
        await server.start()
        started.append(server)
        return server.url

    yield start
    for server in started:
        await server.stop()


async def test_an_incomplete_request_header_gets_408_and_the_connection_is_closed(
    start_node: Start,
) -> None:
    url = await start_node(FAST)
    reader, writer = await connect(url)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line: never complete
    answer = await read_to_close(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


# A request each server reads the body of: an object upload into a bucket made first (storage),
# a DynamoDB call (kv). Sent with 10 of its 100 body bytes, then nothing.
STALLED_BODY = {
    "storage": b"PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n",
    "kv": (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 100\r\n\r\n"
    ),
}


async def test_a_stalled_request_body_gets_408_and_the_connection_is_closed(
    start_node: Start, request: pytest.FixtureRequest
) -> None:
    url = await start_node(FAST)
    kind = request.node.callspec.params["start_node"]
    if kind == "storage":
        reader, writer = await connect(url)
        writer.write(b"PUT /bucket HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
        writer.close()
        assert head.startswith(b"HTTP/1.1 200 ")
    reader, writer = await connect(url)
    writer.write(STALLED_BODY[kind] + b"0123456789")
    answer = await read_to_close(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    start_node: Start,
) -> None:
    url = await start_node(FAST)
    reader, writer = await connect(url)
    assert (await get_head(reader, writer, HEALTH)).startswith(b"HTTP/1.1 200 ")
    rest = await read_to_close(reader)  # nothing more, then the server's close
    writer.close()
    assert rest == b""


async def test_a_connection_past_the_cap_gets_503_and_established_ones_are_served(
    start_node: Start,
) -> None:
    url = await start_node(ConnectionLimits(max_connections=2))
    held = [await connect(url) for _ in range(2)]
    for reader, writer in held:  # each is registered: it answered a request
        assert (await get_head(reader, writer, HEALTH)).startswith(b"HTTP/1.1 200 ")
    reader, writer = await connect(url)
    answer = await read_to_close(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Retry-After: 1\r\n" in answer
    assert (await get_head(*held[0], HEALTH)).startswith(b"HTTP/1.1 200 ")
    for _, held_writer in held:
        held_writer.close()


@pytest.mark.parametrize("command", ["storage", "kv"])
def test_the_limit_flags_set_the_limits_and_drain_deadline(command: str, tmp_path: Path) -> None:
    from cli.main import build_parser

    module = __import__(f"cli.commands.{command}", fromlist=["build_settings"])
    args = build_parser().parse_args(
        [
            command,
            "--data",
            str(tmp_path / "data"),
            "--header-timeout",
            "1s",
            "--max-connections",
            "5",
            "--drain-timeout",
            "20s",
        ]
    )
    settings = module.build_settings(args)
    assert (settings.limits.header_timeout, settings.limits.max_connections) == (1.0, 5)
    assert settings.limits.idle_timeout == ConnectionLimits().idle_timeout
    assert settings.drain_timeout == 20.0
