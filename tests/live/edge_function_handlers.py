"""Handlers the live edge-function tests attach to an edge (written to a temp dir as files).

Each is a Lambda@Edge handler keyed by the request's uri, so one file serves many tests.
"""

VIEWER = """
import os, pathlib, sys, time


def handler(event, context):
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    uri = request["uri"]
    if uri == "/gen":
        return {
            "status": "200",
            "headers": {"cache-control": [{"key": "Cache-Control", "value": "max-age=60"}]},
            "body": "generated at the viewer",
        }
    if uri == "/pid":
        return {"status": "200", "body": str(os.getpid())}
    if uri.startswith("/rewrite/"):
        request["uri"] = "/obj/" + uri[len("/rewrite/"):]
        request["headers"]["x-rewritten"] = [{"key": "X-Rewritten", "value": "yes"}]
        return request
    if uri == "/raise":
        raise ValueError("the viewer function raised")
    if uri == "/exit":
        sys.exit(3)
    if uri == "/bad-status":
        return {"status": "700"}
    if uri == "/bad-header":
        request["headers"]["x-cache"] = [{"key": "X-Cache", "value": "HIT"}]
        return request
    if uri == "/read-only":
        request["headers"]["host"] = [{"key": "Host", "value": "evil.example"}]
        return request
    if uri == "/too-big":
        return {"status": "200", "body": "x" * (41 * 1024)}
    if uri == "/no-content":
        return {"status": "204", "body": "not allowed"}
    if uri == "/bad-uri":
        request["uri"] = "no-slash"
        return request
    if uri == "/sleep":
        time.sleep(10)
    if uri == "/alloc":
        data = bytearray(400 * 1024 * 1024)
        return {"status": "200", "body": str(len(data))}
    if uri == "/wait":
        flag = pathlib.Path(request["querystring"].partition("=")[2])
        deadline = time.monotonic() + 20
        while not flag.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        return {"status": "200", "body": "waited"}
    return request
"""

ORIGIN_REQUEST = """
def handler(event, context):
    cf = event["Records"][0]["cf"]
    request = cf["request"]
    uri = request["uri"]
    if uri.startswith("/ogen/"):
        return {
            "status": "200",
            "headers": {
                "cache-control": [{"key": "Cache-Control", "value": "public, max-age=300"}],
                "content-type": [{"key": "Content-Type", "value": "text/plain"}],
            },
            "body": "made by origin-request for " + uri,
        }
    if uri.startswith("/to/"):
        # /to/<origin>/obj/N: fetch /obj/N from the origin named <origin>
        _, _, name, rest = uri.split("/", 3)
        request["origin"]["custom"]["domainName"] = name
        request["uri"] = "/" + rest
        return request
    if uri.startswith("/oraise/"):
        raise RuntimeError("origin-request raised")
    request["headers"]["x-origin-request"] = [{"key": "X-Origin-Request", "value": "ran"}]
    return request
"""

ORIGIN_RESPONSE = """
def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    response["headers"]["x-origin-response"] = [{"key": "X-Origin-Response", "value": "ran"}]
    return response
"""

VIEWER_RESPONSE = """
import os


def handler(event, context):
    cf = event["Records"][0]["cf"]
    response = cf["response"]
    if cf["request"]["uri"] == "/obj/13":
        response["status"] = "201"  # viewer-response may not change the status: 502
        return response
    response["headers"]["x-viewer-response"] = [{"key": "X-Viewer-Response", "value": "ran"}]
    return response
"""

CLOUDFRONT_VIEWER = """
def handler(event, context):
    request = event["request"]
    if request["uri"] == "/cf-gen":
        return {"statusCode": 302, "headers": {"location": {"value": "/obj/1"}}}
    request["headers"]["x-cf"] = {"value": "1"}
    return request
"""
