"""A CloudFront Function on viewer-request on the wire fast path, with request shapes (edge.functions).

A request seen again on the wire gets its event from its shape (built once, copied fresh per
invocation) and its unchanged answer read once: the function still runs on every request,
with an event of its own and a request id of its own, and every run is counted. Each test
repeats the same requests, so the shapes are in use from the second one on.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from cdn.functions import FunctionKind, FunctionSpec, Trigger
from cdn.functions.cloudfront_shapes import COMPILE_AFTER

VR = Trigger.VIEWER_REQUEST

# /alternate's runs alternate between /obj/1 and /obj/2 (module state); an event seen before (its request
# id, or the marks this function leaves on every event) goes to /seen-before (a 404).
STATEFUL = """
RUNS = [0]
IDS = set()


def handler(event, context):
    RUNS[0] += 1
    request = event["request"]
    request_id = event["context"]["requestId"]
    seen = request_id in IDS or "mark" in event["context"] or "mark" in event["viewer"]
    IDS.add(request_id)
    event["context"]["mark"] = event["viewer"]["mark"] = True
    if seen:
        request["uri"] = "/seen-before"
    elif request["uri"] == "/alternate":
        request["uri"] = "/obj/1" if RUNS[0] % 2 else "/obj/2"
    return request
"""

# What the answers may be, by uri.
VARIOUS = """
class Weird:
    def __eq__(self, other):
        raise ValueError("no comparing")


def handler(event, context):
    request = event["request"]
    uri = request["uri"]
    if uri == "/weird":
        request["querystring"] = Weird()
        return request
    if uri == "/same":
        request["uri"] = "/obj/1"
        return request
    if uri == "/sorted":
        query = request["querystring"]
        request["querystring"] = {name: query[name] for name in sorted(query)}
        request["uri"] = "/obj/1"
        return request
    if uri == "/header":
        request["headers"]["x-added"] = {"value": "1"}
        request["uri"] = "/obj/1"
        return request
    if uri == "/cookie":
        request["cookies"]["ab"] = {"value": "b"}
        request["uri"] = "/obj/1"
        return request
    if uri == "/gen":
        return {"statusCode": 302, "headers": {"location": {"value": "/obj/1"}}}
    if uri == "/bad":
        request["headers"]["x-cache"] = {"value": "HIT"}
        return request
    if uri == "/raise":
        raise ValueError("raised")
    return request
"""

_RUN_FIELDS = frozenset({"date", "age", "server"})


def function(directory: Path, source: str) -> FunctionSpec:
    path = directory / "cff.py"
    path.write_text(source)
    return FunctionSpec("cff", str(path), kind=FunctionKind.CLOUDFRONT_FUNCTION, budget=0.05)


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


async def get(http, url: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    async with http.get(url, allow_redirects=False, **kwargs) as response:
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


async def test_every_repeated_request_runs_the_function_on_a_fresh_event(
    start_origin, start_edge_server, http, tmp_path
):
    origin = await start_origin()
    server = await start_edge_server(origin, functions=((VR, function(tmp_path, STATEFUL)),))
    for target in ("/obj/1", "/obj/2"):  # stored first
        await get(http, server.url + target)
    bodies = {n: (await get(http, f"{origin}/obj/{n}"))[2] for n in (1, 2)}
    text = await (await http.get(server.url + "/_cdn/metrics")).text()
    before = metric(text, "cdnlab_function_invocations_total", function="cff")
    answers = [await get(http, server.url + "/alternate") for _ in range(8)]
    assert [status for status, _, _ in answers] == [200] * 8
    assert all(headers["X-Cache"] == "HIT" for _, headers, _ in answers)
    served = [body for _, _, body in answers]
    assert set(served) == {bodies[1], bodies[2]}
    assert all(a != b for a, b in itertools.pairwise(served))  # one run per request
    text = await (await http.get(server.url + "/_cdn/metrics")).text()
    assert metric(text, "cdnlab_function_invocations_total", function="cff") == before + 8


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/same?b=1&a=2", {}),
        ("/sorted?b=1&a=2&a=3&c", {"Cookie": "ab=a; s=1"}),
        ("/header", {"X-Twice": "1"}),
        ("/cookie", {"Cookie": "ab=a"}),
        ("/gen", {}),
        ("/bad", {}),
        ("/raise", {}),
        ("/weird", {}),
        ("/obj/1", {"X-Amz-Cf-Id": "hidden", "Accept": "a"}),
    ],
)
async def test_repeated_answers_and_counts_equal_the_full_paths(
    start_origin, start_edge_server, http, tmp_path, target, headers
):
    origin = await start_origin()
    functions = ((VR, function(tmp_path, VARIOUS)),)
    wire = await start_edge_server(origin, functions=functions)
    full = await start_edge_server(origin, functions=functions, fast_path=False)
    answers = []
    for edge in (wire, full):
        await get(http, edge.url + "/obj/1")  # stored
        answers.append([comparable(await get(http, edge.url + target, headers=headers))])
        answers[-1] += [comparable(await get(http, edge.url + target, headers=headers))]
        answers[-1] += [comparable(await get(http, edge.url + target, headers=headers))]
    assert answers[0] == answers[1]
    texts = [await (await http.get(edge.url + "/_cdn/metrics")).text() for edge in (wire, full)]
    for name in ("cdnlab_function_invocations_total", "cdnlab_function_errors_total"):
        assert metric(texts[0], name) == metric(texts[1], name), name


# ---- answers held to the end of the loop's pass (edge.wire, ``hold``) -----------------------


async def read_answer(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """(status line, {lowercased name: value}, body) of one response framed by Content-Length."""
    block = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = block.decode().split("\r\n")
    fields = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields[name.lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(fields["content-length"])), 10)
    return lines[0], fields, body


async def test_pipelined_hits_misses_and_generated_answers_keep_their_order(
    start_origin, start_edge_server, http, tmp_path
):
    origin = await start_origin()
    server = await start_edge_server(origin, functions=((VR, function(tmp_path, VARIOUS)),))
    for _ in range(COMPILE_AFTER + 2):  # stored, its shape kept and its event compiled
        await get(http, server.url + "/obj/1")
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    # Hits held for the end of the pass, a miss, a generated answer and a failure (aiohttp's
    # path) between them: written in the order asked.
    targets = ("/obj/1", "/same", "/obj/5", "/obj/1", "/gen", "/raise", "/obj/1")
    writer.write(b"".join(f"GET {t} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for t in targets))
    try:
        answers = [await read_answer(reader) for _ in targets]
    finally:
        writer.close()
    assert [(status.split()[1], fields.get("x-cache")) for status, fields, _ in answers] == [
        ("200", "HIT"),
        ("200", "HIT"),
        ("200", "MISS"),
        ("200", "HIT"),
        ("302", "FunctionGeneratedResponse"),
        ("503", "ERROR"),
        ("200", "HIT"),
    ]


async def test_many_pipelined_large_hits_are_held_no_further_than_the_high_water_mark(
    start_origin, start_edge_server, http, tmp_path
):
    # 40 x 100 KiB asked at once: what is held for the pass stops at the high-water mark, the
    # rest go through aiohttp's path (after the held ones), which waits for the client.
    origin = await start_origin()
    server = await start_edge_server(origin, functions=((VR, function(tmp_path, VARIOUS)),))
    target = "/obj/28?size=102400"
    for _ in range(3):
        _, _, body = await get(http, server.url + target)
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * 40)
    await asyncio.sleep(0.2)  # let the edge fill its buffers before anything is read
    try:
        for _ in range(40):
            status, fields, got = await read_answer(reader)
            assert (status, fields["x-cache"], got) == ("HTTP/1.1 200 OK", "HIT", body)
    finally:
        writer.close()
