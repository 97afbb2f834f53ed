"""The edge's wire fast path runs a CloudFront Function synchronously and records only what it uses."""

from __future__ import annotations

from pathlib import Path

from fn_support import cloudfront_spec

from cdn.functions import ContinueRequest, EdgeRequest, FunctionInput, Trigger
from fn.chain import FunctionChain
from fn.cloudfront import CloudFrontFunction

VR = Trigger.VIEWER_REQUEST
GIVEN = FunctionInput(EdgeRequest("GET", "/a", "b=1", (("Host", "cdn.example"),)), "r1")


def invocations(function: CloudFrontFunction) -> float:
    text = function.metrics.exposition().decode()
    for line in text.splitlines():
        if line.startswith("cdnlab_function_invocations_total{"):
            return float(line.rpartition(" ")[2])
    return 0.0


def test_run_now_gives_the_result_unrecorded(tmp_path: Path) -> None:
    function = CloudFrontFunction(
        cloudfront_spec(tmp_path, "def handler(event, context):\n    return event['request']\n")
    )
    ran = FunctionChain({VR: function}).run_now(VR, GIVEN)
    assert ran is not None and isinstance(ran[0], ContinueRequest)
    assert ran[0].request.querystring == "b=1" and ran[1] >= 0
    assert invocations(function) == 0


def test_record_now_counts_one_invocation(tmp_path: Path) -> None:
    function = CloudFrontFunction(
        cloudfront_spec(tmp_path, "def handler(event, context):\n    return event['request']\n")
    )
    chain = FunctionChain({VR: function})
    ran = chain.run_now(VR, GIVEN)
    assert ran is not None
    chain.record_now(VR, ran[1], GIVEN.request_id)
    assert invocations(function) == 1


def test_run_now_declines_a_function_that_raises(tmp_path: Path) -> None:
    function = CloudFrontFunction(
        cloudfront_spec(tmp_path, "def handler(event, context):\n    raise KeyError('x')\n")
    )
    assert FunctionChain({VR: function}).run_now(VR, GIVEN) is None


def test_run_now_declines_without_a_cloudfront_function() -> None:
    assert FunctionChain({}).run_now(VR, GIVEN) is None
