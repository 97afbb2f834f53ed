"""Lambda@Edge, origin-request: a maintenance page instead of the origin while MAINTENANCE is on.

The generated 503 is cached under the request's key for 10 s (origin-request responses are
cached), so a flood of viewers costs one invocation per key per 10 s, and the origin none.
Paths under /health still reach the origin.
"""

MAINTENANCE = True

PAGE = """<!doctype html>
<title>Down for maintenance</title>
<h1>We'll be back soon</h1>
<p>This site is being updated. Please try again in a few minutes.</p>
"""


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    if not MAINTENANCE or "/health" in request["uri"]:  # also /b/health (ab-cookie)
        return request
    return {
        "status": "503",
        "statusDescription": "Service Unavailable",
        "headers": {
            "content-type": [{"key": "Content-Type", "value": "text/html; charset=utf-8"}],
            "cache-control": [{"key": "Cache-Control", "value": "max-age=10"}],
            "retry-after": [{"key": "Retry-After", "value": "120"}],
        },
        "body": PAGE,
        "bodyEncoding": "text",
    }
