"""The wire fast path's ``changes_now``: what a viewer-request CloudFront Function changed, as
``run_now``'s ContinueRequest would carry it, and nothing when that would not be one."""

from __future__ import annotations

from pathlib import Path

from fn_support import cloudfront_spec

from cdn.functions import ContinueRequest, EdgeRequest, FunctionInput, Trigger
from fn.chain import FunctionChain
from fn.cloudfront import CloudFrontFunction

VR = Trigger.VIEWER_REQUEST
GIVEN = FunctionInput(
    EdgeRequest(
        "GET",
        "/a",
        "B=2&a=1",
        (("Host", "cdn.example"), ("Cookie", "k=v"), ("Via", "1.1 x")),
        "198.51.100.7",
    ),
    "r1",
)
REWRITE = """
def handler(event, context):
    request = event["request"]
    request["uri"] = "/b"
    request["querystring"] = {"a": {"value": "1"}}
    request["headers"]["x-added"] = {"value": "yes"}
    return request
"""


def chain_of(tmp_path: Path, code: str) -> FunctionChain:
    return FunctionChain({VR: CloudFrontFunction(cloudfront_spec(tmp_path, code))})


def test_changes_now_are_run_nows_continue_request(tmp_path: Path) -> None:
    chain = chain_of(tmp_path, REWRITE)
    ran = chain.run_now(VR, GIVEN)
    assert ran is not None and isinstance(ran[0], ContinueRequest)
    changes = chain.changes_now(GIVEN)
    assert changes is not None
    request = ran[0].request
    assert changes[:3] == (request.uri, request.querystring, request.headers)
    assert changes[:2] == ("/b", "a=1") and changes[3] >= 0


def test_changes_now_keep_the_viewers_headers_when_unchanged(tmp_path: Path) -> None:
    chain = chain_of(tmp_path, "def handler(event, context):\n    return event['request']\n")
    given = FunctionInput(EdgeRequest("GET", "/a", "b=1", (("Host", "cdn.example"),)), "r1")
    changes = chain.changes_now(given)
    assert changes is not None
    assert changes[:2] == ("/a", "b=1") and changes[2] is given.request.headers


def test_changes_now_decline_a_generated_response(tmp_path: Path) -> None:
    chain = chain_of(tmp_path, "def handler(event, context):\n    return {'statusCode': 302}\n")
    assert chain.changes_now(GIVEN) is None


def test_changes_now_decline_an_invalid_answer(tmp_path: Path) -> None:
    code = "def handler(event, context):\n    event['request']['uri'] = 'x'\n    return event['request']\n"
    assert chain_of(tmp_path, code).changes_now(GIVEN) is None


def test_changes_now_decline_a_function_that_raises(tmp_path: Path) -> None:
    assert (
        chain_of(tmp_path, "def handler(event, context):\n    raise KeyError('x')\n").changes_now(
            GIVEN
        )
        is None
    )


def test_changes_now_decline_without_a_cloudfront_function() -> None:
    assert FunctionChain({}).changes_now(GIVEN) is None
