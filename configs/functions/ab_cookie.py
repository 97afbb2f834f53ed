"""Lambda@Edge, viewer-request: an A/B split by cookie.

A viewer with cookie ``ab=a`` or ``ab=b`` keeps its group; one without is assigned by a stable
hash of its address (blake2b, the same answer in every process), 50/50. The group selects the
content (``/b/...`` for group b) and is passed on as ``X-Ab-Group``.
"""

import hashlib


def _group(request):
    for header in request["headers"].get("cookie", []):
        for part in header["value"].split(";"):
            name, _, value = part.strip().partition("=")
            if name == "ab" and value in ("a", "b"):
                return value
    digest = hashlib.blake2b(request["clientIp"].encode(), digest_size=1).digest()[0]
    return "a" if digest < 128 else "b"


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    group = _group(request)
    if group == "b":
        request["uri"] = "/b" + request["uri"]
    request["headers"]["x-ab-group"] = [{"key": "X-Ab-Group", "value": group}]
    return request
