"""FunctionChain: the call the edge makes per trigger, with skipping and CloudFront's failure statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fn_support import lambda_spec

from cdn.functions import (
    ContinueRequest,
    EdgeRequest,
    EdgeResponse,
    FunctionFailed,
    FunctionInput,
    OriginTarget,
    Passage,
    Trigger,
)
from fn.chain import FunctionChain
from fn.pool import LambdaPool

ORIGIN = OriginTarget("origin", "origin", 8100)
REQUEST = EdgeRequest("GET", "/a", headers=(("Host", "example.com"),))

PASS_THROUGH = """
def handler(event, context):
    cf = event["Records"][0]["cf"]
    action = cf["request"]["headers"].get("x-action", [{"value": ""}])[0]["value"]
    if action == "raise":
        raise RuntimeError("boom")
    if action == "invalid":
        cf["request"]["uri"] = "no-slash"
    if action == "sleep":
        import time
        time.sleep(30)
    if action == "origin":
        cf["request"]["origin"]["custom"]["domainName"] = "evil.example.com"
    return cf.get("response", cf["request"])
"""


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[LambdaPool]:
    spec = lambda_spec(tmp_path, timeout=1.0)
    (tmp_path / "handler.py").write_text(PASS_THROUGH)
    pool = LambdaPool(spec)
    yield pool
    await pool.close()


def request_with(action: str) -> FunctionInput:
    request = EdgeRequest("GET", "/a", headers=(("Host", "example.com"), ("X-Action", action)))
    return FunctionInput(request, "r1", origin=ORIGIN)


async def test_no_function_on_a_trigger_runs_nothing(pool: LambdaPool) -> None:
    chain = FunctionChain({Trigger.VIEWER_REQUEST: pool})
    assert await chain.run(Trigger.ORIGIN_REQUEST, request_with("")) is None


async def test_skipped_trigger_does_not_invoke(pool: LambdaPool) -> None:
    chain = FunctionChain({Trigger.ORIGIN_RESPONSE: pool})
    given = FunctionInput(REQUEST, "r1", response=EdgeResponse(200), origin=ORIGIN)
    assert await chain.run(Trigger.ORIGIN_RESPONSE, given, Passage(to_origin=False)) is None
    assert chain.last_invocation is None


async def test_passing_request_goes_on(pool: LambdaPool) -> None:
    chain = FunctionChain({Trigger.VIEWER_REQUEST: pool})
    result = await chain.run(Trigger.VIEWER_REQUEST, request_with(""))
    assert isinstance(result, ContinueRequest) and result.request.uri == "/a"


@pytest.mark.parametrize(
    ("action", "status"),
    [("raise", 500), ("invalid", 502), ("sleep", 503)],
)
async def test_failures_map_to_cloudfronts_statuses(
    pool: LambdaPool, action: str, status: int
) -> None:
    chain = FunctionChain({Trigger.VIEWER_REQUEST: pool})
    result = await chain.run(Trigger.VIEWER_REQUEST, request_with(action))
    assert isinstance(result, FunctionFailed) and result.status == status


async def test_unknown_origin_is_refused_with_502(pool: LambdaPool) -> None:
    chain = FunctionChain({Trigger.ORIGIN_REQUEST: pool}, {"origin": ORIGIN})
    result = await chain.run(Trigger.ORIGIN_REQUEST, request_with("origin"))
    assert isinstance(result, FunctionFailed) and result.status == 502
    assert "evil.example.com" in result.message


async def test_throttled_invoke_is_a_503(tmp_path: Path) -> None:
    spec = lambda_spec(tmp_path, concurrency=1)
    pool = LambdaPool(spec)
    pool.model.acquire(0.0)  # the only instance is busy
    try:
        result = await FunctionChain({Trigger.VIEWER_REQUEST: pool}).run(
            Trigger.VIEWER_REQUEST, request_with("")
        )
    finally:
        await pool.close()
    assert isinstance(result, FunctionFailed) and result.status == 503


def test_cloudfront_function_on_an_origin_trigger_is_refused(tmp_path: Path) -> None:
    from fn_support import cloudfront_spec

    from fn.cloudfront import CloudFrontFunction

    runner = CloudFrontFunction(cloudfront_spec(tmp_path, "def handler(e, c):\n    return e\n"))
    with pytest.raises(ValueError, match="viewer triggers only"):
        FunctionChain({Trigger.ORIGIN_REQUEST: runner})
