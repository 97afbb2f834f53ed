"""The Lambda invoke API of `cdn fn serve`, driven by boto3's lambda client and by raw HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from fn_support import lambda_client, lambda_spec, metric_value, wait_until

from fn.api import HOST, FunctionServer
from fn.host import FunctionHost

StartServer = Callable[..., Awaitable[FunctionServer]]


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    servers: list[FunctionServer] = []

    async def start(**changes: Any) -> FunctionServer:
        server = FunctionServer(FunctionHost([lambda_spec(tmp_path, **changes)]))
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


async def boto_invoke(url: str, **kwargs: Any) -> dict[str, Any]:
    """``lambda.invoke`` in a thread (boto3 blocks; the server runs on this loop)."""

    def call() -> dict[str, Any]:
        response = lambda_client(url).invoke(**kwargs)
        response["Body"] = response["Payload"].read()
        return response

    return await asyncio.to_thread(call)


async def test_boto3_invoke_returns_the_handlers_payload(start_server: StartServer) -> None:
    server = await start_server()
    response = await boto_invoke(server.url, FunctionName="probe", Payload=b'{"x": 1}')
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert json.loads(response["Body"])["pid"] > 0


async def test_boto3_sees_the_function_error_header(start_server: StartServer) -> None:
    server = await start_server()
    response = await boto_invoke(server.url, FunctionName="probe", Payload=b'{"action": "raise"}')
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Body"])
    assert (body["errorType"], body["errorMessage"]) == ("ValueError", "bad thing happened")


async def test_boto3_gets_the_tail_log(start_server: StartServer) -> None:
    server = await start_server()
    response = await boto_invoke(
        server.url, FunctionName="probe", Payload=b'{"action": "print"}', LogType="Tail"
    )
    log = base64.b64decode(response["LogResult"]).decode()
    assert "hello from the handler" in log and "REPORT RequestId:" in log


async def test_boto3_sees_resource_not_found_for_an_unknown_function(
    start_server: StartServer,
) -> None:
    server = await start_server()
    client = lambda_client(server.url)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        await asyncio.to_thread(client.invoke, FunctionName="nope", Payload=b"{}")


async def test_function_arn_names_the_function(start_server: StartServer) -> None:
    server = await start_server()
    arn = "arn:aws:lambda:us-east-1:000000000000:function:probe"
    response = await boto_invoke(server.url, FunctionName=arn, Payload=b"{}")
    assert response["StatusCode"] == 200


async def test_dry_run_answers_204(start_server: StartServer) -> None:
    server = await start_server()
    response = await boto_invoke(server.url, FunctionName="probe", InvocationType="DryRun")
    assert response["StatusCode"] == 204


async def test_event_invocation_answers_202(start_server: StartServer) -> None:
    server = await start_server()
    response = await boto_invoke(
        server.url, FunctionName="probe", InvocationType="Event", Payload=b"{}"
    )
    assert response["StatusCode"] == 202


async def test_timeout_is_an_unhandled_function_error(start_server: StartServer) -> None:
    server = await start_server(timeout=0.5)
    payload = json.dumps({"action": "sleep", "seconds": 30}).encode()
    response = await boto_invoke(server.url, FunctionName="probe", Payload=payload)
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 0.50 seconds" in json.loads(response["Body"])["errorMessage"]


async def test_body_that_is_not_json_is_a_400(start_server: StartServer) -> None:
    server = await start_server()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.url}/2015-03-31/functions/probe/invocations", data=b"{nope"
        ) as response,
    ):
        assert response.status == 400
        assert response.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"


async def test_twenty_concurrent_invokes_with_concurrency_5_run_5_and_throttle_15(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(concurrency=5, timeout=30.0)
    flag = tmp_path / "release"
    url = f"{server.url}/2015-03-31/functions/probe/invocations"
    done: list[int] = []

    async def one(session: aiohttp.ClientSession) -> tuple[int, dict[str, Any]]:
        payload = {"action": "wait", "path": str(flag)}
        async with session.post(url, json=payload) as response:
            done.append(response.status)
            return response.status, await response.json(content_type=None)

    async with aiohttp.ClientSession() as session:
        calls = [asyncio.ensure_future(one(session)) for _ in range(20)]
        await wait_until(lambda: done.count(429) == 15, "15 throttled answers")
        running = metric_value(
            server.app[HOST].metrics.exposition(),
            "cdnlab_function_concurrent_executions",
            function="probe",
        )
        assert running == 5 and len(done) == 15
        flag.touch()
        results = await asyncio.gather(*calls)
    ok = [body for status, body in results if status == 200]
    throttled = [body for status, body in results if status == 429]
    assert len(ok) == 5 and len({body["pid"] for body in ok}) == 5
    assert len(throttled) == 15


async def test_boto3_sees_too_many_requests_when_every_instance_is_busy(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = await start_server(concurrency=1, timeout=30.0)
    flag = tmp_path / "release"
    busy = asyncio.ensure_future(
        boto_invoke(
            server.url,
            FunctionName="probe",
            Payload=json.dumps({"action": "wait", "path": str(flag)}).encode(),
        )
    )
    pool = server.app[HOST].runner("probe")
    await wait_until(lambda: pool.busy == 1, "the only instance busy")
    client = lambda_client(server.url)
    try:
        with pytest.raises(client.exceptions.TooManyRequestsException):
            await asyncio.to_thread(client.invoke, FunctionName="probe", Payload=b"{}")
    finally:
        flag.touch()
        await busy


async def test_keep_warm_expiry_scales_to_zero_and_the_next_invoke_is_cold(
    start_server: StartServer,
) -> None:
    server = await start_server(keep_warm=0.2)
    await boto_invoke(server.url, FunctionName="probe", Payload=b"{}")
    async with aiohttp.ClientSession() as session:

        async def warm() -> int:
            async with session.get(f"{server.url}/_cdn/health") as response:
                return (await response.json())["functions"]["probe"]["warm"]

        for _ in range(300):
            if await warm() == 0:
                break
            await asyncio.sleep(0.02)
        assert await warm() == 0
    await boto_invoke(server.url, FunctionName="probe", Payload=b"{}")
    labels = {"function": "probe", "trigger": "invoke"}
    exposition = server.app[HOST].metrics.exposition()
    assert metric_value(exposition, "cdnlab_function_cold_starts_total", **labels) == 2


async def test_metrics_name_functions_and_triggers(start_server: StartServer) -> None:
    server = await start_server()
    await boto_invoke(server.url, FunctionName="probe", Payload=b'{"action": "raise"}')
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/_cdn/metrics") as response,
    ):
        text = await response.read()
    labels = {"function": "probe", "trigger": "invoke"}
    assert metric_value(text, "cdnlab_function_invocations_total", **labels) == 1
    assert metric_value(text, "cdnlab_function_errors_total", kind="raised", **labels) == 1
    assert metric_value(text, "cdnlab_function_duration_seconds_count", **labels) == 1


async def test_every_documented_function_metric_is_exported(start_server: StartServer) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    documented = set(re.findall(r"`(cdnlab_function_[a-z_]+)`", doc))
    server = await start_server()
    await boto_invoke(server.url, FunctionName="probe", Payload=b"{}")
    text = server.app[HOST].metrics.exposition().decode()
    assert len(documented) == 7
    families = set(re.findall(r"^# TYPE (\w+) ", text, re.M))
    for name in documented:
        assert name in families or name.removesuffix("_total") in families, name
