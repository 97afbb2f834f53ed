"""The events a live edge hands its functions have CloudFront's shapes: each trigger's event,
captured at the edge, compared field by field with the golden file of tests/functions/golden/.

Values that depend on the run (request id, client address, the origin's port, which headers
the client and the origin send) differ from the golden sample; every field's presence, name
and type must not. Header, query-string and cookie maps are compared entry by entry.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdn.functions import FunctionKind, FunctionSpec, Trigger

GOLDEN = Path(__file__).resolve().parents[1] / "functions" / "golden"
NAME_MAPS = frozenset({"headers", "cookies", "customHeaders", "querystring"})

# A Lambda@Edge function on every trigger writing the event it got to a file per trigger.
CAPTURE = """
import json, pathlib


def handler(event, context):
    cf = event["Records"][0]["cf"]
    kind = cf["config"]["eventType"]
    pathlib.Path({directory!r}, kind + ".json").write_text(json.dumps(event))
    return cf["response"] if "response" in cf else cf["request"]
"""

# CloudFront Functions cannot write files: the viewer-response event goes back in a header,
# the viewer-request one (for /echo) as a generated body.
CAPTURE_CF_REQUEST = """
import json


def handler(event, context):
    if event["request"]["uri"] == "/echo":
        return {"statusCode": 200, "body": json.dumps(event)}
    return event["request"]
"""
CAPTURE_CF_RESPONSE = """
import json


def handler(event, context):
    response = event["response"]
    response["headers"]["x-event"] = {"value": json.dumps(event)}
    return response
"""

VIEWER = {
    "Host": "d111111abcdef8.cloudfront.net",
    "User-Agent": "curl/8.5.0",
    "Accept": "*/*",
    "Cookie": "session=abc; theme=dark",
}
TARGET = "/obj/1?shade=large&tag=a&tag=b"  # an object the origin has (a 200)


def shape_differences(
    golden: Any, actual: Any, path: str = "$", name_map: bool = False
) -> list[str]:
    """Where ``actual`` differs from ``golden`` in fields or types (not in values)."""
    if isinstance(golden, dict) and isinstance(actual, dict):
        if name_map:  # {name: entry}: each entry shaped like one of the golden's
            shapes = [g for g in golden.values()] or [None]
            problems = []
            for name, entry in actual.items():
                fits = [
                    shape_differences(s, entry, f"{path}.{name}") for s in shapes if s is not None
                ]
                if fits and all(fits):
                    problems += min(fits, key=len)
            return problems
        problems = [f"{path}.{key}: missing" for key in golden if key not in actual]
        problems += [f"{path}.{key}: unexpected" for key in actual if key not in golden]
        for key in golden.keys() & actual.keys():
            problems += shape_differences(
                golden[key], actual[key], f"{path}.{key}", key in NAME_MAPS
            )
        return problems
    if isinstance(golden, list) and isinstance(actual, list):
        if not golden:
            return [] if not actual else [f"{path}: {len(actual)} items, expected none"]
        return [
            p
            for i, item in enumerate(actual)
            for p in shape_differences(golden[0], item, f"{path}[{i}]")
        ]
    if type(golden) is not type(actual):
        return [f"{path}: {type(actual).__name__}, expected {type(golden).__name__}"]
    return []


def golden(name: str) -> Any:
    return json.loads((GOLDEN / f"{name}.json").read_text())


async def test_lambda_edge_events_at_the_edge_have_cloudfronts_shapes(
    start_origin, start_edge_server, http, tmp_path
):
    code = tmp_path / "capture.py"
    code.write_text(CAPTURE.format(directory=str(tmp_path)))
    spec = FunctionSpec("capture", str(code))
    origin = await start_origin()
    server = await start_edge_server(origin, functions=tuple((t, spec) for t in Trigger))
    async with http.get(
        server.url + TARGET, headers=VIEWER, skip_auto_headers=("Accept-Encoding",)
    ) as response:
        await response.read()
    for trigger in Trigger:
        event = json.loads((tmp_path / f"{trigger}.json").read_text())
        assert shape_differences(golden(f"lambda-edge-{trigger}"), event) == [], trigger
        request = event["Records"][0]["cf"]["request"]
        assert (request["method"], request["uri"]) == ("GET", "/obj/1")
        assert request["querystring"] == "shade=large&tag=a&tag=b"
        assert request["clientIp"] == "127.0.0.1"
        assert event["Records"][0]["cf"]["config"]["eventType"] == trigger.value
        assert "x-forwarded-proto" not in request["headers"]  # disallowed: never shown
    origin_request = json.loads((tmp_path / "origin-request.json").read_text())
    assert origin_request["Records"][0]["cf"]["request"]["origin"]["custom"]["domainName"] == (
        "origin"
    )


@pytest.mark.parametrize("trigger", [Trigger.VIEWER_REQUEST, Trigger.VIEWER_RESPONSE])
async def test_cloudfront_function_events_at_the_edge_have_cloudfronts_shapes(
    start_origin, start_edge_server, http, tmp_path, trigger
):
    source = CAPTURE_CF_REQUEST if trigger is Trigger.VIEWER_REQUEST else CAPTURE_CF_RESPONSE
    code = tmp_path / "capture_cf.py"
    code.write_text(source)
    spec = FunctionSpec("capture-cf", str(code), kind=FunctionKind.CLOUDFRONT_FUNCTION, budget=0.05)
    origin = await start_origin()
    server = await start_edge_server(origin, functions=((trigger, spec),))
    target = TARGET.replace("/obj/1", "/echo") if trigger is Trigger.VIEWER_REQUEST else TARGET
    async with http.get(
        server.url + target, headers=VIEWER, skip_auto_headers=("Accept-Encoding",)
    ) as response:
        body = await response.read()
        captured = response.headers.get("X-Event")
    event = json.loads(body if trigger is Trigger.VIEWER_REQUEST else captured)
    assert shape_differences(golden(f"cloudfront-function-{trigger}"), event) == []
    assert event["viewer"]["ip"] == "127.0.0.1"
    assert event["request"]["cookies"] == {"session": {"value": "abc"}, "theme": {"value": "dark"}}
    assert event["request"]["querystring"]["tag"]["multiValue"] == [{"value": "a"}, {"value": "b"}]
