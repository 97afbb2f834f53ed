"""Edge functions in the live edge: the four triggers around the cache step, over HTTP.

A real origin and edge run in-process on loopback (tests/live/conftest.py); the functions are
Lambda@Edge handlers in worker processes (tests/live/edge_function_handlers.py) or a CloudFront
Function in-process. Each test reads as one rule of docs/functions.md.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from cdn.functions import FunctionKind, FunctionSpec, OriginTarget, Trigger

sys.path.insert(0, str(Path(__file__).parent))
import edge_function_handlers as handlers

VR, OREQ, ORESP, VRESP = (
    Trigger.VIEWER_REQUEST,
    Trigger.ORIGIN_REQUEST,
    Trigger.ORIGIN_RESPONSE,
    Trigger.VIEWER_RESPONSE,
)


def spec(directory: Path, name: str, source: str, **changes: Any) -> FunctionSpec:
    path = directory / f"{name}.py"
    path.write_text(source)
    fields: dict[str, Any] = {"name": name, "code": str(path), "timeout": 3.0, "concurrency": 4}
    return FunctionSpec(**{**fields, **changes})


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus exposition (0 when absent)."""
    want = {f'{k}="{v}"' for k, v in labels.items()}
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        head, _, label_text = sample.partition("{")
        if head == name and want <= set(label_text.rstrip("}").split(",")):
            total += float(value)
    return total


@pytest.fixture
async def edge_with(start_origin, start_edge_server, tmp_path):
    """``await edge_with({trigger: spec}, **settings) -> (edge_url, origin_url)``."""

    async def start(functions: dict[Trigger, FunctionSpec], **changes: Any) -> tuple[str, str]:
        origin = await start_origin()
        server = await start_edge_server(origin, functions=tuple(functions.items()), **changes)
        return server.url, origin

    return start


@pytest.fixture
def four(tmp_path: Path) -> dict[Trigger, FunctionSpec]:
    """A function on every trigger."""
    return {
        VR: spec(tmp_path, "viewer", handlers.VIEWER),
        OREQ: spec(tmp_path, "oreq", handlers.ORIGIN_REQUEST),
        ORESP: spec(tmp_path, "oresp", handlers.ORIGIN_RESPONSE),
        VRESP: spec(tmp_path, "vresp", handlers.VIEWER_RESPONSE),
    }


async def get(http, url: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    async with http.get(url, **kwargs) as response:
        return response.status, dict(response.headers), await response.read()


async def metrics_text(http, edge: str) -> str:
    async with http.get(edge + "/_cdn/metrics") as response:
        return await response.text()


# ---- the four triggers -------------------------------------------------------------------------


async def test_viewer_request_rewrite_is_what_is_keyed_and_fetched(
    edge_with, four, http, origin_fetches
):
    edge, origin = await edge_with(four)
    status, headers, _ = await get(http, edge + "/rewrite/7")
    assert status == 200 and headers["X-Cache"] == "MISS"
    assert await origin_fetches(origin, "/obj/7") == 1
    status, headers, _ = await get(http, edge + "/obj/7")  # the same key: a hit
    assert status == 200 and headers["X-Cache"] == "HIT"
    assert await origin_fetches(origin, "/obj/7") == 1


async def test_viewer_request_generated_response_is_sent_and_not_cached(edge_with, four, http):
    edge, _ = await edge_with(four)
    for _ in range(2):
        status, headers, body = await get(http, edge + "/gen")
        assert (status, body) == (200, b"generated at the viewer")
        assert headers["X-Cache"] == "LambdaGeneratedResponse"
        assert "X-Viewer-Response" not in headers  # nothing else runs
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_invocations_total", function="viewer") == 2
    assert metric(text, "cdnlab_function_invocations_total", function="oreq") == 0


async def test_origin_triggers_run_on_a_miss_and_are_skipped_on_hits(edge_with, four, http):
    edge, _ = await edge_with(four)
    status, headers, _ = await get(http, edge + "/obj/3")
    assert status == 200 and headers["X-Origin-Response"] == "ran"  # stored with it
    assert headers["X-Viewer-Response"] == "ran"
    status, headers, _ = await get(http, edge + "/obj/3")
    assert headers["X-Cache"] == "HIT" and headers["X-Viewer-Response"] == "ran"
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_invocations_total", function="oreq") == 1
    assert metric(text, "cdnlab_function_invocations_total", function="oresp") == 1
    assert metric(text, "cdnlab_function_invocations_total", function="vresp") == 2


async def test_origin_request_changes_what_the_origin_receives(
    edge_with, tmp_path, http, origin_fetches
):
    oreq = spec(tmp_path, "oreq", handlers.ORIGIN_REQUEST)
    edge, origin = await edge_with({OREQ: oreq})
    status, _, _ = await get(http, edge + "/to/origin/obj/5")  # the shown origin: unchanged
    assert status == 200
    assert await origin_fetches(origin, "/obj/5") == 1


async def test_origin_request_generated_response_is_cached_and_hits_skip_the_function(
    edge_with, four, http
):
    edge, _ = await edge_with(four)
    status, headers, body = await get(http, edge + "/ogen/a")
    assert (status, body) == (200, b"made by origin-request for /ogen/a")
    assert headers["X-Viewer-Response"] == "ran"  # viewer-response runs on it
    assert "X-Origin-Response" not in headers  # origin-response does not
    status, headers, body = await get(http, edge + "/ogen/a")
    assert headers["X-Cache"] == "HIT" and body == b"made by origin-request for /ogen/a"
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_invocations_total", function="oreq") == 1


async def test_viewer_response_is_skipped_for_origin_errors(edge_with, four, http):
    edge, _ = await edge_with(four)
    status, headers, _ = await get(http, edge + "/no/such/path")
    assert status == 404
    assert "X-Viewer-Response" not in headers
    assert headers["X-Origin-Response"] == "ran"  # origin-response runs on any status


async def test_cloudfront_function_on_viewer_request(edge_with, tmp_path, http):
    cff = spec(tmp_path, "cff", handlers.CLOUDFRONT_VIEWER, kind=FunctionKind.CLOUDFRONT_FUNCTION)
    edge, _ = await edge_with({VR: cff})
    status, headers, _ = await get(http, edge + "/cf-gen", allow_redirects=False)
    assert status == 302 and headers["Location"] == "/obj/1"
    assert headers["X-Cache"] == "FunctionGeneratedResponse"
    for expected in ("MISS", "HIT"):
        status, headers, _ = await get(http, edge + "/obj/2")
        assert status == 200 and headers["X-Cache"] == expected


# ---- failures and their statuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "kind"),
    [
        ("/raise", 500, "raised"),
        ("/exit", 500, "crashed"),
        ("/bad-status", 502, "invalid"),
        ("/bad-header", 502, "invalid"),
        ("/read-only", 502, "invalid"),
        ("/too-big", 502, "invalid"),
        ("/no-content", 502, "invalid"),
        ("/bad-uri", 502, "invalid"),
    ],
)
async def test_viewer_request_failure_status(edge_with, four, http, path, status, kind):
    edge, _ = await edge_with({VR: four[VR]})
    got, headers, _ = await get(http, edge + path)
    assert got == status
    assert f"detail=function-{kind}" in headers["Cache-Status"]
    assert headers["Cache-Control"] == "no-store"
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_errors_total", function="viewer", kind=kind) == 1


async def test_viewer_response_may_not_change_the_status(edge_with, four, http):
    edge, _ = await edge_with(four)
    status, headers, _ = await get(http, edge + "/obj/13")
    assert status == 502 and "detail=function-invalid" in headers["Cache-Status"]


async def test_origin_request_that_raises_is_a_500_and_nothing_is_stored(edge_with, four, http):
    edge, _ = await edge_with(four)
    for _ in range(2):
        status, _, _ = await get(http, edge + "/oraise/1")
        assert status == 500
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_invocations_total", function="oreq") == 2


# ---- dynamic origin selection -------------------------------------------------------------------


async def test_origin_selection_refuses_origins_the_topology_does_not_name(
    edge_with, tmp_path, http
):
    oreq = spec(tmp_path, "oreq", handlers.ORIGIN_REQUEST)
    edge, _ = await edge_with({OREQ: oreq})
    status, headers, _ = await get(http, edge + "/to/evil.example/obj/1")
    assert status == 502 and "detail=function-invalid" in headers["Cache-Status"]


async def test_origin_selection_fetches_from_a_named_origin(
    start_origin, start_edge_server, tmp_path, http, origin_fetches
):
    first, second = await start_origin(), await start_origin()
    port = int(second.rsplit(":", 1)[1])
    oreq = spec(tmp_path, "oreq", handlers.ORIGIN_REQUEST)
    server = await start_edge_server(
        first,
        functions=((OREQ, oreq),),
        function_origins=(
            (OriginTarget("origin", "origin", int(first.rsplit(":", 1)[1])), first),
            (OriginTarget("backup", "backup", port), second),
        ),
    )
    status, _, _ = await get(http, server.url + "/to/backup/obj/9")
    assert status == 200
    assert await origin_fetches(second, "/obj/9") == 1
    assert await origin_fetches(first, "/obj/9") == 0


# ---- the runtime through the edge ---------------------------------------------------------------


async def test_timeout_is_a_503_and_the_instance_is_replaced(edge_with, tmp_path, http):
    viewer = spec(tmp_path, "viewer", handlers.VIEWER, timeout=0.5, concurrency=1)
    edge, _ = await edge_with({VR: viewer})
    _, _, before = await get(http, edge + "/pid")
    status, headers, _ = await get(http, edge + "/sleep")
    assert status == 503 and "detail=function-timeout" in headers["Cache-Status"]
    _, _, after = await get(http, edge + "/pid")
    assert after != before  # killed and replaced by a fresh instance
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_cold_starts_total", function="viewer") == 2


async def test_memory_limit_is_enforced_and_reported(edge_with, tmp_path, http):
    viewer = spec(tmp_path, "viewer", handlers.VIEWER, memory=128)
    edge, _ = await edge_with({VR: viewer})
    status, headers, _ = await get(http, edge + "/alloc")
    assert status == 500 and "detail=function-out_of_memory" in headers["Cache-Status"]
    status, _, _ = await get(http, edge + "/obj/1")  # the edge goes on
    assert status == 200


async def test_concurrency_limit_throttles_at_the_edge_without_serializing(
    edge_with, tmp_path, http
):
    viewer = spec(tmp_path, "viewer", handlers.VIEWER, concurrency=5, timeout=5.0)
    edge, _ = await edge_with({VR: viewer})
    flag = tmp_path / "go"
    url = f"{edge}/wait?flag={flag}"
    tasks = [asyncio.ensure_future(get(http, url)) for _ in range(20)]
    # 15 are refused at once, while 5 are still running (the flag is not there yet).
    for throttled, done in enumerate(asyncio.as_completed(tasks), start=1):
        status, headers, _ = await done
        assert status == 503 and "detail=function-throttled" in headers["Cache-Status"]
        if throttled == 15:
            break
    assert sum(not t.done() for t in tasks) == 5
    flag.write_text("go")
    results = await asyncio.gather(*tasks)
    assert sorted(r[0] for r in results) == [200] * 5 + [503] * 15
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_throttles_total", function="viewer") == 15
    status, _, _ = await get(http, edge + "/obj/1")
    assert status == 200


async def test_cold_starts_are_counted_and_keep_warm_expiry_stops_instances(
    edge_with, tmp_path, http
):
    viewer = spec(tmp_path, "viewer", handlers.VIEWER, keep_warm=0.2, concurrency=1)
    edge, _ = await edge_with({VR: viewer})
    await get(http, edge + "/obj/1")
    await get(http, edge + "/obj/1")
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_cold_starts_total", function="viewer") == 1
    assert metric(text, "cdnlab_function_warm_instances", function="viewer") == 1
    for _ in range(250):  # the reaper stops the idle instance (polling, 20 ms steps)
        text = await metrics_text(http, edge)
        if metric(text, "cdnlab_function_warm_instances", function="viewer") == 0:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the idle instance was never stopped")
    await get(http, edge + "/obj/1")
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_cold_starts_total", function="viewer") == 2


async def test_every_invoke_writes_a_report_line(edge_with, four, http, caplog):
    edge, _ = await edge_with({VR: four[VR]})
    with caplog.at_level(logging.INFO, logger="cdnlab.fn"):
        await get(http, edge + "/obj/1")
    reports = [r.getMessage() for r in caplog.records if r.name == "cdnlab.fn"]
    assert len(reports) == 1 and '"type": "platform.report"' in reports[0]
    assert '"initDurationMs"' in reports[0]  # the first invoke was cold


# ---- behaviors ---------------------------------------------------------------------------------

BEHAVIOR_VIEWER = """
def handler(event, context):
    return {"status": "200", "body": "the behavior's function"}
"""


async def test_a_behaviors_function_overrides_the_edges_for_its_paths(
    start_origin, start_edge_server, tmp_path, http
):
    from cdn.gateway.behaviors import Behavior, Gateway
    from cdn.gateway.patterns import PathPattern

    edge_fn = spec(tmp_path, "viewer", handlers.VIEWER)
    special = spec(tmp_path, "special", BEHAVIOR_VIEWER)
    gateway = Gateway(
        (
            Behavior(PathPattern("/special/*"), "origin", functions=((VR, "special"),)),
            Behavior(PathPattern("*"), "origin"),
        )
    )
    origin = await start_origin()
    server = await start_edge_server(
        origin, functions=((VR, edge_fn),), function_specs=(special,), gateway=gateway
    )
    status, _, body = await get(http, server.url + "/special/1")
    assert (status, body) == (200, b"the behavior's function")
    status, _, body = await get(http, server.url + "/gen")  # the edge's own function
    assert (status, body) == (200, b"generated at the viewer")
    for expected in ("MISS", "HIT"):  # hits still run the edge's viewer function
        status, headers, _ = await get(http, server.url + "/rewrite/4")
        assert headers["X-Cache"] == expected
    text = await metrics_text(http, server.url)
    assert metric(text, "cdnlab_function_invocations_total", function="viewer") == 3
    assert metric(text, "cdnlab_function_invocations_total", function="special") == 1


async def test_a_peers_request_runs_only_the_origin_triggers(edge_with, four, http):
    # In a peer group the viewer triggers ran at the edge the viewer reached; the owner
    # fetches, so it runs the origin triggers.
    edge, _ = await edge_with(four)
    status, headers, _ = await get(http, edge + "/gen", headers={"X-Cdnlab-Peer": "edge-b"})
    assert status == 404  # /gen went to the origin as it was: no viewer-request here
    assert "X-Viewer-Response" not in headers
    status, headers, _ = await get(http, edge + "/obj/8", headers={"X-Cdnlab-Peer": "edge-b"})
    assert headers["X-Origin-Response"] == "ran" and "X-Viewer-Response" not in headers


async def test_cloudfront_function_hits_are_keyed_as_it_left_them_and_counted_once(edge_with, http):
    # Hits of an edge whose viewer function is a CloudFront Function are answered on arrival
    # (the wire fast path runs it there): each request is one invocation all the same.
    root = Path(__file__).resolve().parents[2]
    normalize = FunctionSpec(
        "normalize",
        str(root / "configs" / "functions" / "normalize_query.py"),
        kind=FunctionKind.CLOUDFRONT_FUNCTION,
        budget=0.05,
    )
    edge, _ = await edge_with({VR: normalize})
    status, headers, _ = await get(http, edge + "/obj/6?B=2&utm_source=x&a=1")
    assert status == 200 and headers["X-Cache"] == "MISS"
    for target in ("/obj/6?a=1&b=2", "/obj/6?b=2&A=1&gclid=z", "/obj/6?a=1&b=2"):
        status, headers, _ = await get(http, edge + target)
        assert status == 200 and headers["X-Cache"] == "HIT"
    text = await metrics_text(http, edge)
    assert metric(text, "cdnlab_function_invocations_total", function="normalize") == 4
