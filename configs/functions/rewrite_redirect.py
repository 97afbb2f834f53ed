"""Lambda@Edge, viewer-request: redirect moved paths, rewrite directory URLs to their index page.

/old/<rest> answers 301 to /new/<rest> (the query string kept); a URI ending in "/" is
rewritten to ".../index.html" before the cache lookup, so /docs/ and /docs/index.html share
one cache entry. Everything else goes on unchanged.
"""

MOVED = {"/old/": "/new/"}


def handler(event, context):
    request = event["Records"][0]["cf"]["request"]
    uri = request["uri"]
    for old, new in MOVED.items():
        if uri.startswith(old):
            location = new + uri[len(old) :]
            if request["querystring"]:
                location += "?" + request["querystring"]
            return {
                "status": "301",
                "statusDescription": "Moved Permanently",
                "headers": {
                    "location": [{"key": "Location", "value": location}],
                    "cache-control": [{"key": "Cache-Control", "value": "max-age=3600"}],
                },
            }
    if uri.endswith("/"):
        request["uri"] = uri + "index.html"
    return request
