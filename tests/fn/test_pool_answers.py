"""What a worker hands back: the context it gave the handler, and a request let go on unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fn_support import handler_file, lambda_spec

from fn.metrics import FunctionMetrics
from fn.pool import LambdaPool

SOURCE = """
import copy


def handler(event, context):
    if "Records" not in event:
        return {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
            "request_id": context.aws_request_id,
            "log_group": context.log_group_name,
            "log_stream": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        }
    request = event["Records"][0]["cf"]["request"]
    action = request["querystring"]
    if action == "change":
        request["uri"] = "/changed"
    if action == "copy":
        return copy.deepcopy(request)
    if action == "set-same":
        request["uri"] = request["uri"][:]
    if action == "print":
        print('a "quoted" line, \\ and é')
    return request
"""


def viewer_request(querystring: str) -> dict[str, Any]:
    request = {
        "clientIp": "198.51.100.7",
        "method": "GET",
        "uri": "/obj/1",
        "querystring": querystring,
        "headers": {"host": [{"key": "Host", "value": "cdn.example"}]},
    }
    return {"Records": [{"cf": {"config": {"eventType": "viewer-request"}, "request": request}}]}


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[LambdaPool]:
    spec = lambda_spec(tmp_path, code=str(handler_file(tmp_path, SOURCE, "answers.py")))
    pool = LambdaPool(spec, metrics=FunctionMetrics())
    yield pool
    await pool.close()


async def test_the_context_names_the_function_and_the_invoke(pool: LambdaPool) -> None:
    first = await pool.invoke({}, "r1")
    second = await pool.invoke({}, "r2")
    assert first.payload["function_name"] == "probe" and first.payload["memory"] == 128
    assert first.payload["arn"] == "arn:aws:lambda:us-east-1:000000000000:function:probe"
    assert first.payload["function_version"] == "$LATEST"
    assert first.payload["log_group"] == "/aws/lambda/us-east-1.probe"
    assert first.payload["log_stream"].startswith("cdnlab/")
    assert (first.payload["request_id"], second.payload["request_id"]) == ("r1", "r2")
    assert 0 < second.payload["remaining_ms"] <= 3000


async def test_a_request_let_go_on_unchanged_is_the_request_sent(pool: LambdaPool) -> None:
    event = viewer_request("keep")
    sent = viewer_request("keep")["Records"][0]["cf"]["request"]
    invocation = await pool.invoke(event, "r1")
    assert invocation.ok and invocation.payload == sent


async def test_an_unchanged_request_comes_back_as_the_hosts_own_copy(pool: LambdaPool) -> None:
    """The worker answers "echo" instead of the request's JSON (nothing decoded here)."""
    event = viewer_request("keep")
    invocation = await pool.invoke(event, "r1")
    assert invocation.payload is event["Records"][0]["cf"]["request"]


async def test_an_equal_copy_of_the_request_is_the_request_sent(pool: LambdaPool) -> None:
    event = viewer_request("copy")
    sent = viewer_request("copy")["Records"][0]["cf"]["request"]
    invocation = await pool.invoke(event, "r1")
    assert invocation.payload == sent


async def test_a_field_set_to_its_own_value_is_the_request_sent(pool: LambdaPool) -> None:
    event = viewer_request("set-same")
    invocation = await pool.invoke(event, "r1")
    assert invocation.payload == viewer_request("set-same")["Records"][0]["cf"]["request"]


async def test_a_changed_request_comes_back_changed(pool: LambdaPool) -> None:
    event = viewer_request("change")
    invocation = await pool.invoke(event, "r1")
    assert invocation.payload["uri"] == "/changed"
    assert event["Records"][0]["cf"]["request"]["uri"] == "/obj/1"  # the host's copy as sent


async def test_an_unchanged_request_still_reports_its_log_and_figures(pool: LambdaPool) -> None:
    invocation = await pool.invoke(viewer_request("print"), "r1")
    assert invocation.payload["querystring"] == "print"
    assert invocation.log == 'a "quoted" line, \\ and é\n'
    assert invocation.duration_ms > 0 and invocation.max_memory_mb > 0
