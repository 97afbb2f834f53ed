"""CloudFront Function, viewer-request: normalise the query string for a better cache hit ratio.

Parameter names are lower-cased, tracking parameters (utm_*, fbclid, gclid) dropped, and the
rest sorted by name, so ?B=2&a=1&utm_source=x and ?a=1&b=2 share one cache key.
"""

DROP = ("utm_", "fbclid", "gclid")


def handler(event, context):
    request = event["request"]
    kept = {}
    for name, entry in request["querystring"].items():
        lowered = name.lower()
        if lowered.startswith(DROP):
            continue
        kept[lowered] = entry
    request["querystring"] = {name: kept[name] for name in sorted(kept)}
    return request
