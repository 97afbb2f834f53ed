"""Slow and idle clients (serving.limits): header, body and idle timeouts and the connection cap.

Every behaviour is checked on the origin and on the edge (the same plumbing, serving.guard),
over raw sockets on loopback. Timeouts are 1 s; the tests wait for the server's answer and
close with a generous bound and never assert how long it took.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from live_support import PATIENCE, connect, get_head, read_to_close

from serving.limits import ConnectionLimits

FAST = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, idle_timeout=1.0)

Start = Callable[[ConnectionLimits], Awaitable[str]]


@pytest.fixture(params=["origin", "edge"])
def start_node(request: pytest.FixtureRequest, start_origin: Any, start_edge: Any) -> Start:
    """Start an origin, or an edge in front of a default origin, with the given limits."""

    async def start(limits: ConnectionLimits) -> str:
        if request.param == "origin":
            return await start_origin(limits=limits)
        return await start_edge(await start_origin(), limits=limits)

    return start


async def test_an_incomplete_request_header_gets_408_and_the_connection_is_closed(
    start_node: Start,
) -> None:
    url = await start_node(FAST)
    reader, writer = await connect(url)
    writer.write(b"GET /obj/1 HTTP/1.1\r\nHost: test\r\n")  # no blank line: never complete
    answer = await read_to_close(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"header timeout" in answer


async def test_a_connection_that_sends_nothing_is_closed_by_the_header_timeout(
    start_node: Start,
) -> None:
    url = await start_node(FAST)
    reader, writer = await connect(url)
    answer = await read_to_close(reader)
    writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 ")


async def test_a_stalled_request_body_gets_408_and_the_connection_is_closed(
    start_node: Start,
) -> None:
    url = await start_node(FAST)
    reader, writer = await connect(url)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n0123456789")
    answer = await read_to_close(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"body timeout" in answer


async def test_a_request_body_sent_in_time_is_answered(start_node: Start) -> None:
    url = await start_node(ConnectionLimits(body_timeout=30.0))
    reader, writer = await connect(url)
    writer.write(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n01234")
    await asyncio.sleep(0.2)
    writer.write(b"56789")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
    writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
    start_node: Start,
) -> None:
    url = await start_node(FAST)
    reader, writer = await connect(url)
    head = await get_head(reader, writer, "/obj/1")
    assert head.startswith(b"HTTP/1.1 200 ")
    rest = await read_to_close(reader)  # nothing more, then the server's close
    writer.close()
    assert rest == b""


async def test_a_connection_past_the_cap_gets_503_and_established_ones_are_served(
    start_node: Start,
) -> None:
    url = await start_node(ConnectionLimits(max_connections=3))
    held = [await connect(url) for _ in range(3)]
    for reader, writer in held:  # each is registered: it answered a request
        assert (await get_head(reader, writer, "/obj/1")).startswith(b"HTTP/1.1 200 ")
    reader, writer = await connect(url)
    answer = await read_to_close(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"Retry-After: 1\r\n" in answer
    assert b"too many connections" in answer
    assert (await get_head(*held[0], "/obj/2")).startswith(b"HTTP/1.1 200 ")
    for _, held_writer in held:
        held_writer.close()


async def test_a_connection_under_the_cap_again_is_served(start_node: Start) -> None:
    url = await start_node(ConnectionLimits(max_connections=1))
    reader, writer = await connect(url)
    assert (await get_head(reader, writer, "/obj/1")).startswith(b"HTTP/1.1 200 ")
    writer.close()
    await writer.wait_closed()
    for _ in range(200):  # the server sees the close soon; poll until a new one is served
        reader, writer = await connect(url)
        writer.write(b"GET /obj/1 HTTP/1.1\r\nHost: test\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE)
        writer.close()
        if head.startswith(b"HTTP/1.1 200 "):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server never took a connection again under its cap")


# ---- slowloris ----------------------------------------------------------------------------

TRICKLERS = 2000


def _allow_open_files(needed: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE to ``needed`` if it is lower (within the hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        if ceiling < needed:
            pytest.skip(f"needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


async def _trickle(url: str) -> bytes:
    """A slowloris client: one header line every 0.2 s, never the blank line; what it got back.

    ``b"reset"``: the server closed while a line was on its way (the kernel answers that
    line with a reset, which may discard the 408 before it is read): closed all the same.
    """
    try:
        reader, writer = await connect(url)
    except OSError as exc:
        return f"connect failed: {exc}".encode()
    try:
        writer.write(b"GET /obj/1 HTTP/1.1\r\nHost: test\r\n")
        received = b""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 2 * PATIENCE
        while loop.time() < give_up:
            try:
                chunk = await asyncio.wait_for(reader.read(4096), 0.2)
            except TimeoutError:
                writer.write(b"X-Trickle: 1\r\n")
                continue
            if not chunk:
                return received
            received += chunk
        return b"still open: " + received
    except ConnectionError:
        return b"reset"
    finally:
        writer.close()


@pytest.mark.slow
async def test_slowloris_trickling_connections_are_closed_while_requests_are_served(
    start_origin: Any, http: Any
) -> None:
    # The test holds both ends: 2 fds per trickler plus the servers' and pytest's own.
    _allow_open_files(2 * TRICKLERS + 512)
    url = await start_origin(limits=ConnectionLimits(header_timeout=1.0))
    tricklers: list[asyncio.Task[bytes]] = []
    for _ in range(TRICKLERS // 100):  # in batches: the listen backlog is finite
        batch = [asyncio.create_task(_trickle(url)) for _ in range(100)]
        tricklers += batch
        await asyncio.sleep(0.02)
    served = []
    while not all(task.done() for task in tricklers):
        async with http.get(url + "/obj/1") as response:
            await response.read()
            served.append(response.status)
        await asyncio.sleep(0.05)
    answers = [task.result() for task in tricklers]
    closed = [answer for answer in answers if answer.startswith(b"HTTP/1.1 408 ")]
    reset = [answer for answer in answers if answer == b"reset"]
    assert len(closed) + len(reset) == TRICKLERS, {answer[:40] for answer in answers}
    assert len(closed) > len(reset)
    assert served and set(served) == {200}


# ---- flags ----------------------------------------------------------------------------------


def test_the_limit_flags_set_the_origins_limits() -> None:
    from cli.commands.origin import build_settings
    from cli.main import build_parser

    args = build_parser().parse_args(
        ["origin", "--header-timeout", "1s", "--body-timeout", "2s", "--max-connections", "5"]
    )
    limits = build_settings(args).limits
    assert (limits.header_timeout, limits.body_timeout, limits.max_connections) == (1.0, 2.0, 5)
    assert limits.idle_timeout == ConnectionLimits().idle_timeout


def test_the_limit_flags_set_the_edges_limits_and_drain_deadline() -> None:
    from cli.commands.edge import build_settings
    from cli.main import build_parser

    args = build_parser().parse_args(
        [
            "edge",
            "--origin",
            "http://127.0.0.1:8100",
            "--idle-timeout",
            "3s",
            "--drain-timeout",
            "20s",
        ]
    )
    settings = build_settings(args)
    assert settings.limits.idle_timeout == 3.0
    assert settings.shutdown_timeout == 20.0


@pytest.mark.parametrize(
    "flags", [["--header-timeout", "0"], ["--idle-timeout", "soon"], ["--max-connections", "0"]]
)
def test_a_bad_limit_flag_exits_2_naming_it(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["origin", *flags])
    assert info.value.code == 2
    assert flags[0] in capsys.readouterr().err
