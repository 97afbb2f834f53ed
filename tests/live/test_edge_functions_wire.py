"""A Lambda-style viewer-request function on the wire fast path (edge.wire, edge.functions).

With only a viewer-request function (Lambda-style) on an edge, the invoke starts as the
request is parsed and a plain hit of the request (as the function left it) is written when
the answer arrives, with no aiohttp request; any other answer is handed to ``Proxy.handle``
with the invoke's result (never a second invoke). Each test compares an edge with the fast
path on against one with it off (``fast_path=False``: every request through ``Proxy.handle``)
on the same origin: the viewer sees the same answers, the function the same events.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from cdn.functions import FunctionSpec, Trigger
from edge.app import PROXY

sys.path.insert(0, str(Path(__file__).parent))
from test_edge_function_events import GOLDEN, shape_differences

VR = Trigger.VIEWER_REQUEST

# Keyed by uri; ``x-capture: NAME`` writes the event the function got to DIRECTORY/NAME.json.
WIRE_VIEWER = """
import json, pathlib, time

DIRECTORY = {directory!r}


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    capture = request["headers"].get("x-capture")
    if capture:
        pathlib.Path(DIRECTORY, capture[0]["value"] + ".json").write_text(json.dumps(event))
    uri = request["uri"]
    if uri.startswith("/rewrite/"):
        request["uri"] = "/obj/" + uri[len("/rewrite/"):]
        request["headers"]["x-rewritten"] = [{{"key": "X-Rewritten", "value": "yes"}}]
        return request
    if uri == "/query":
        request["uri"] = "/obj/1"
        request["querystring"] = ""
        return request
    if uri == "/gen":
        return {{"status": "200", "body": "generated at the viewer"}}
    if uri == "/raise":
        raise ValueError("the viewer function raised")
    if uri == "/bad-header":
        request["headers"]["x-cache"] = [{{"key": "X-Cache", "value": "HIT"}}]
        return request
    if uri == "/wait":
        flag = pathlib.Path(request["querystring"].partition("=")[2])
        deadline = time.monotonic() + 20
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        request["uri"] = "/obj/3"
        request["querystring"] = ""
    return request
"""

# Fields whose value depends on when or where the answer was made.
_RUN_FIELDS = frozenset({"date", "age", "server"})


def viewer_spec(directory: Path, **changes: Any) -> FunctionSpec:
    path = directory / "wire_viewer.py"
    path.write_text(WIRE_VIEWER.format(directory=str(directory)))
    fields: dict[str, Any] = {"name": "viewer", "code": str(path), "timeout": 5.0}
    return FunctionSpec(**{**fields, "concurrency": 4, **changes})


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus exposition, summed over the other labels (0 when absent)."""
    want = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        head, _, label_text = sample.partition("{")
        if head == name and want <= set(label_text.rstrip("}").split(",")):
            total += float(value)
    return total


class Edge:
    """One edge and how many requests reached its full path's viewer-request step."""

    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.full_path_runs = 0
        functions = server.app[PROXY].functions
        viewer_request = functions.viewer_request

        async def counted(*args: Any) -> Any:
            self.full_path_runs += 1
            return await viewer_request(*args)

        functions.viewer_request = counted


@pytest.fixture
async def edge_pair(start_origin, start_edge_server, tmp_path):
    """``await edge_pair(**spec_changes) -> (wire edge, full-path edge)`` on one origin."""

    async def start(**changes: Any) -> tuple[Edge, Edge]:
        origin = await start_origin()
        functions = ((VR, viewer_spec(tmp_path, **changes)),)
        wire = await start_edge_server(origin, functions=functions)
        full = await start_edge_server(origin, functions=functions, fast_path=False)
        return Edge(wire), Edge(full)

    return start


async def get(http, url: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    async with http.get(url, **kwargs) as response:
        return response.status, dict(response.headers), await response.read()


def comparable(answer: tuple[int, dict[str, str], bytes]) -> tuple[Any, ...]:
    """An answer without what depends on the moment (Date, Age, a hit's remaining ttl)."""
    status, headers, body = answer
    kept = {
        name.lower(): re.sub(r"ttl=-?\d+", "ttl=N", value)
        for name, value in headers.items()
        if name.lower() not in _RUN_FIELDS
    }
    return status, kept, body


async def metrics_text(http, edge: Edge) -> str:
    async with http.get(edge.url + "/_cdn/metrics") as response:
        return await response.text()


# ---- answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "status", "x_cache", "wire_hit"),
    [
        ("/obj/1", 200, "HIT", True),  # continue unchanged: a hit
        ("/rewrite/1", 200, "HIT", True),  # changed uri and headers: the hit of /obj/1
        ("/query?drop=me", 200, "HIT", True),  # changed uri and query string
        ("/gen", 200, "LambdaGeneratedResponse", False),  # generated: full path, not cached
        ("/raise", 500, "ERROR", False),  # raised: full path
        ("/bad-header", 502, "ERROR", False),  # invalid answer: full path
        ("/obj/2", 200, "MISS", False),  # continue to a miss: full path
    ],
)
async def test_wire_answers_equal_the_full_paths(
    edge_pair, http, target, status, x_cache, wire_hit
):
    wire, full = await edge_pair()
    answers = []
    for edge in (wire, full):
        assert (await get(http, edge.url + "/obj/1"))[0] == 200  # stored (a miss)
        answers.append(comparable(await get(http, edge.url + target)))
    assert answers[0] == answers[1]
    assert answers[0][0] == status and answers[0][1]["x-cache"] == x_cache
    assert full.full_path_runs == 2
    assert wire.full_path_runs == (1 if wire_hit else 2)


async def test_a_hit_that_is_not_plain_is_served_by_the_full_path_with_one_invoke(edge_pair, http):
    wire, full = await edge_pair()
    answers = []
    for edge in (wire, full):
        await get(http, edge.url + "/obj/1")
        answers.append(
            comparable(await get(http, edge.url + "/obj/1", headers={"Range": "bytes=0-9"}))
        )
    assert answers[0] == answers[1] and answers[0][0] == 206
    assert wire.full_path_runs == 2  # the wire path handed the ranged hit over
    text = await metrics_text(http, wire)
    assert metric(text, "cdnlab_function_invocations_total") == 2


async def test_wire_invokes_are_counted_as_the_full_paths(edge_pair, http):
    wire, full = await edge_pair()
    targets = ("/obj/1", "/obj/1", "/rewrite/1", "/gen", "/raise", "/bad-header")
    for edge in (wire, full):
        for target in targets:
            await get(http, edge.url + target)
    texts = [await metrics_text(http, edge) for edge in (wire, full)]
    for name, labels in (
        ("cdnlab_function_invocations_total", {}),
        ("cdnlab_function_errors_total", {"kind": "raised"}),
        ("cdnlab_function_errors_total", {"kind": "invalid"}),
        ("cdnlab_edge_requests_total", {"cache_status": "hit"}),
    ):
        assert metric(texts[0], name, **labels) == metric(texts[1], name, **labels), name
    assert metric(texts[0], "cdnlab_function_invocations_total") == len(targets)


@pytest.mark.parametrize("target", ["/obj/1?shade=large&tag=a", "/gen?x=1"])
async def test_wire_events_equal_the_full_paths_and_the_golden_shape(
    edge_pair, http, tmp_path, target
):
    wire, full = await edge_pair()
    events = []
    for name, edge in (("wire", wire), ("full", full)):
        await get(http, edge.url + "/obj/1")
        headers = {"User-Agent": "curl/8.5.0", "Cookie": "a=b", "X-Capture": name}
        await get(http, edge.url + target, headers=headers)
        event = json.loads((tmp_path / f"{name}.json").read_text())
        config = event["Records"][0]["cf"]["config"]
        assert config.pop("requestId")
        headers = event["Records"][0]["cf"]["request"]["headers"]
        assert headers.pop("x-capture") and headers.pop("host")  # the host names each edge's port
        events.append(event)
    assert events[0] == events[1]
    golden = json.loads((GOLDEN / "lambda-edge-viewer-request.json").read_text())
    golden["Records"][0]["cf"]["config"].pop("requestId")
    assert shape_differences(golden, events[0]) == []


# ---- ordering, throttles, lost connections ------------------------------------------------------


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length from a raw connection."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    length = int(headers.get("Content-Length", "0"))
    return int(lines[0].split()[1]), headers, await reader.readexactly(length)


async def test_pipelined_requests_are_answered_in_order(edge_pair, http, tmp_path):
    wire, _ = await edge_pair()
    expected = {}
    for target in ("/obj/1", "/obj/2", "/obj/3", "/gen"):
        await get(http, wire.url + target)
        status, _, body = await get(http, wire.url + target)
        expected[target] = (status, body)
    flag = tmp_path / "go"
    host, port = wire.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    # The first invoke waits for the flag (then goes on to the hit of /obj/3): the requests
    # behind it must wait for its answer, each hit's invoke for the one before.
    targets = (f"/wait?flag={flag}", "/obj/1", "/gen", "/obj/2", "/obj/1")
    writer.write(b"".join(f"GET {t} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for t in targets))
    flag.write_text("go")
    try:
        answers = [await read_answer(reader) for _ in targets]
    finally:
        writer.close()
    assert [(s, b) for s, _, b in answers] == [expected[t] for t in ("/obj/3", *targets[1:])]
    assert [h["X-Cache"] for _, h, _ in answers] == [
        "HIT",
        "HIT",
        "LambdaGeneratedResponse",
        "HIT",
        "HIT",
    ]


async def test_a_throttled_wire_invoke_is_a_503(edge_pair, http, tmp_path):
    wire, _ = await edge_pair(concurrency=1)
    await get(http, wire.url + "/obj/1")  # stored; the one instance is warm
    flag = tmp_path / "go"
    holding = asyncio.ensure_future(get(http, f"{wire.url}/wait?flag={flag}"))
    for _ in range(500):  # until the one instance is busy (polling, 10 ms steps)
        text = await metrics_text(http, wire)
        if metric(text, "cdnlab_function_concurrent_executions", function="viewer") == 1:
            break
        await asyncio.sleep(0.01)
    status, headers, _ = await get(http, wire.url + "/obj/1")
    assert status == 503 and "detail=function-throttled" in headers["Cache-Status"]
    flag.write_text("go")
    assert (await holding)[0] == 200
    text = await metrics_text(http, wire)
    assert metric(text, "cdnlab_function_throttles_total", function="viewer") == 1


async def test_a_connection_closed_during_an_invoke_leaves_the_edge_serving(
    edge_pair, http, tmp_path
):
    wire, _ = await edge_pair()
    await get(http, wire.url + "/obj/1")
    flag = tmp_path / "go"
    host, port = wire.url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /wait?flag={flag} HTTP/1.1\r\nHost: x\r\n\r\nGET /obj/1 HTTP/1.1\r\n".encode()
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    flag.write_text("go")
    for _ in range(3):
        status, headers, _ = await get(http, wire.url + "/obj/1")
        assert status == 200 and headers["X-Cache"] == "HIT"
